"""The reference mode: the optimisation method of Gatys et al. (2016), as in jcjohnson/neural-style.

The output image itself is optimised (L-BFGS by default, or Adam) so that its VGG19 Gram matrices
(relu1_1 … relu5_1) match the style image's and its relu4_2 features match the photo's. No training is
needed and it follows the painting closely, but every image costs hundreds of VGG passes: it is the
quality and speed baseline the feed-forward painters are compared with.

Clips follow Ruder et al. (2016): every frame starts from the previous stylised frame warped by the
optical flow of the INPUT frames, and a temporal loss holds it to that warped frame wherever the flow
can be trusted (forward-backward check). ``ReferenceClipEngine`` does this frame by frame behind the
engine interface, so ``infer.video`` decodes, encodes and keeps the audio as for a painter; each finished
frame is kept as a PNG, so an interrupted clip resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from nets.device import describe_device, pick_device
from nets.errors import UserError
from nets.files import atomic_path
from nets.images import fit_longest_side, open_rgb, to_pil, to_tensor
from nets.losses import PerceptualLoss, total_variation
from nets.options import option
from nets.progress import progress_bar
from nets.vgg import VGGFeatures
from nets.warp import luminance, trusted_flow, warp

#: Gatys et al. / jcjohnson's neural-style defaults.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
OPTIMIZERS = ("lbfgs", "adam")
#: ``init`` is one of these or the path of an image.
INITS = ("content", "noise")
MIN_SCALE_SIDE = 32  # coarser scales are skipped: too small to hold a stroke


class ReferenceMethodError(UserError):
    """The reference run cannot go on as asked; the message says why."""


@dataclass
class ReferenceConfig:
    """Every setting of a reference run; saved beside clip frames and in compare reports."""

    style: str = option(None, "style image (the painting)")
    iterations: int = option(500, "optimizer iterations (per scale; for a clip's first frame)")
    frame_iterations: int = option(0, "iterations for a clip's later frames, which start near their result "
                                      "(0: --iterations)")
    optimizer: str = option("lbfgs", "L-BFGS converges in fewer iterations; Adam takes less memory",
                            choices=OPTIMIZERS)
    lr: float = option(0.02, "Adam step size in RGB units of [0, 1] (L-BFGS takes full steps)")
    init: str = option("content", "content, noise, or an image file to start from")
    content_weight: float = option(1.0, "weight of the content distance (relu4_2): higher keeps more of the photo")
    style_weight: float = option(20.0, "weight of the style distance (Gram, relu1_1..relu5_1): higher paints more")
    tv_weight: float = option(0.02, "weight of the total variation: higher smooths away speckle")
    temporal_weight: float = option(200.0, "clips: hold each frame to the previous one, warped by the input's "
                                           "optical flow")
    style_scale: float = option(1.0, "style image's longest side relative to the result's (bigger: larger strokes)")
    scales: int = option(1, "coarse to fine: optimise at 1/2^(N-1) of the size first, then upsample and go on")
    preserve_colors: bool = option(False, "keep the photo's colours: transfer luminance only (Gatys et al. 2017)")
    save_every: int = option(0, "photos: also save the image every N iterations, beside the output")
    seed: int = option(0, "seed of --init noise")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    vgg_weights: str = option("", "VGG19 weight file or folder (default: $VGG_WEIGHTS, else torchvision's download)")

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ReferenceMethodError(f"unknown optimizer {self.optimizer!r}; choose {' or '.join(OPTIMIZERS)}")
        if self.iterations < 1 or self.frame_iterations < 0 or self.scales < 1 or self.style_scale <= 0 or self.lr <= 0:
            raise ReferenceMethodError("--iterations, --scales, --style-scale and --lr must be positive")
        if self.save_every < 0:
            raise ReferenceMethodError("--save-every must be positive (0: no intermediate images)")
        if self.init not in INITS and not Path(self.init).is_file():
            raise ReferenceMethodError(f"--init is {' or '.join(INITS)} or an image file; {self.init} is neither")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def chroma_from(content: torch.Tensor, styled: torch.Tensor) -> torch.Tensor:
    """The content's colours under the stylised image's luminance (Gatys et al. 2017, luminance-only).

    Adding the same luminance change to R, G and B keeps every colour difference R−Y and B−Y of the
    content: only brightness comes from the style.
    """
    return (content + luminance(styled) - luminance(content)).clamp(0, 1)


def _grey(image: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
    """Luminance as three equal channels; with ``like``, shifted and scaled to its mean and spread."""
    y = luminance(image)
    if like is not None:
        target = luminance(like)
        y = (y - y.mean()) / (y.std() + 1e-6) * target.std() + target.mean()
    return y.clamp(0, 1).expand(-1, 3, -1, -1)


class ReferenceStylizer:
    """VGG19 loaded once; stylises photos and single clip frames by optimisation."""

    def __init__(self, cfg: ReferenceConfig) -> None:
        cfg.check()
        self.cfg = cfg
        self.device = pick_device(cfg.device)
        self.style = open_rgb(cfg.style)
        self.vgg = VGGFeatures("vgg19", STYLE_LAYERS + CONTENT_LAYERS, cfg.vgg_weights or None).to(self.device)
        self.description = f"{cfg.optimizer} {cfg.iterations} it, VGG19, {describe_device(self.device)}"

    def _criterion(self, content: torch.Tensor) -> PerceptualLoss:
        """The style's Gram targets at this output size (and, for preserved colours, this photo's grey)."""
        side = max(1, round(max(content.shape[-2:]) * self.cfg.style_scale))
        style = to_tensor(fit_longest_side(self.style, side)).to(self.device)
        if self.cfg.preserve_colors:
            style = _grey(style, like=content)
        return PerceptualLoss(self.vgg, style, CONTENT_LAYERS, STYLE_LAYERS)

    def _start(self, content: torch.Tensor) -> torch.Tensor:
        if self.cfg.init == "content":
            return content.clone()
        if self.cfg.init == "noise":
            generator = torch.Generator().manual_seed(self.cfg.seed)
            noise = 0.5 + 0.1 * torch.randn(content.shape, generator=generator)
            return noise.clamp(0, 1).to(self.device)
        start = to_tensor(open_rgb(self.cfg.init).resize((content.shape[-1], content.shape[-2]),
                                                        Image.Resampling.BICUBIC)).to(self.device)
        return _grey(start) if self.cfg.preserve_colors else start

    def optimise(self, content: torch.Tensor, start: torch.Tensor, iterations: int,
                 temporal: tuple[torch.Tensor, torch.Tensor] | None = None,
                 on_save: Callable[[int, torch.Tensor], None] | None = None, desc: str = "reference"
                 ) -> tuple[torch.Tensor, list[float]]:
        """Optimise ``start`` towards the content of ``content``; return the image and the loss per iteration.

        ``temporal`` is (previous stylised frame warped into place, mask of trusted pixels).
        """
        cfg = self.cfg
        criterion = self._criterion(content)
        with torch.no_grad():
            targets = self.vgg(content)
        image = start.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
        if cfg.optimizer == "lbfgs":  # one iteration per step() call, so progress and snapshots can follow
            optimizer: torch.optim.Optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=100)
        else:
            optimizer = torch.optim.Adam([image], lr=cfg.lr)

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            content_distance, style_distance = criterion.distances(self.vgg(image), targets)
            loss = (cfg.content_weight * content_distance + cfg.style_weight * style_distance
                    + cfg.tv_weight * total_variation(image)).sum()
            if temporal is not None:
                previous, mask = temporal
                loss = loss + cfg.temporal_weight * ((image - previous).pow(2) * mask).mean()
            loss.backward()
            return loss

        losses = []
        for iteration in progress_bar(range(1, iterations + 1), desc=desc, unit="it", leave=False):
            loss = optimizer.step(closure)
            losses.append(float(loss.detach()))
            if not math.isfinite(losses[-1]):
                raise ReferenceMethodError(f"the loss became {losses[-1]} at iteration {iteration}; lower --lr")
            if on_save and cfg.save_every and iteration % cfg.save_every == 0:
                on_save(iteration, image.detach().clamp(0, 1))
        return image.detach().clamp(0, 1), losses

    def image(self, photo: np.ndarray, on_save: Callable[[str, np.ndarray], None] | None = None
              ) -> tuple[np.ndarray, list[float]]:
        """Stylise an H×W×3 uint8 photo at its own size (coarse to fine over ``scales``).

        ``on_save(label, image)`` receives the intermediate images (``save_every``), labelled by scale
        and iteration, at the photo's size.
        """
        full = to_tensor(photo).to(self.device)
        h, w = full.shape[-2:]
        sizes = [(max(1, round(h / 2**k)), max(1, round(w / 2**k))) for k in reversed(range(self.cfg.scales))]
        sizes = [s for s in sizes if min(s) >= MIN_SCALE_SIDE] or [(h, w)]
        image, losses = None, []
        for number, size in enumerate(sizes, 1):
            content = F.interpolate(full, size=size, mode="area") if size != (h, w) else full
            if self.cfg.preserve_colors:
                content = _grey(content)
            if image is None:
                start = self._start(content)
            else:
                start = F.interpolate(image, size=size, mode="bicubic").clamp(0, 1)
            step = self._snapshot(on_save, full, number) if on_save else None
            image, scale_losses = self.optimise(content, start, self.cfg.iterations, on_save=step,
                                                desc=f"scale {number}/{len(sizes)}")
            losses += scale_losses
        return self._finish(image, full), losses

    def frame(self, frame: np.ndarray, previous: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """Stylise one clip frame; ``previous`` is (previous input frame, its stylised frame) or None."""
        if previous is None:
            return self.image(frame)[0]
        full = to_tensor(frame).to(self.device)
        flow, mask = trusted_flow(previous[0], frame, self.device)
        warped = warp(to_tensor(previous[1]).to(self.device), flow)
        content = _grey(full) if self.cfg.preserve_colors else full
        if self.cfg.preserve_colors:
            warped = _grey(warped)
        # Where the flow cannot be trusted (disocclusions), start from the photo rather than a smear.
        start = mask * warped + (1 - mask) * self._start(content)
        iterations = self.cfg.frame_iterations or self.cfg.iterations
        image, _ = self.optimise(content, start, iterations, temporal=(warped, mask), desc="frame")
        return self._finish(image, full)

    def _finish(self, image: torch.Tensor, full: torch.Tensor) -> np.ndarray:
        if self.cfg.preserve_colors:
            image = chroma_from(full, image)
        return np.asarray(to_pil(image))

    def _snapshot(self, on_save: Callable[[str, np.ndarray], None], full: torch.Tensor, scale: int
                  ) -> Callable[[int, torch.Tensor], None]:
        def save(iteration: int, image: torch.Tensor) -> None:
            if image.shape[-2:] != full.shape[-2:]:
                image = F.interpolate(image, size=full.shape[-2:], mode="bicubic").clamp(0, 1)
            on_save(snapshot_label(scale, iteration), self._finish(image, full))
        return save


def snapshot_label(scale: int, iteration: int) -> str:
    """The name of an intermediate image (``save_every``): ``scale2_it00100``."""
    return f"scale{scale}_it{iteration:05d}"


def snapshot_labels(cfg: ReferenceConfig) -> list[str]:
    """Every label ``image`` may save under with these settings (scales too small to run give fewer)."""
    if not cfg.save_every:
        return []
    return [snapshot_label(scale, iteration) for scale in range(1, cfg.scales + 1)
            for iteration in range(cfg.save_every, cfg.iterations + 1, cfg.save_every)]


class ReferenceClipEngine:
    """The engine interface over ``ReferenceStylizer.frame``: frames must come in order, one clip per engine.

    Every stylised frame is written to ``frames_dir`` as a PNG (atomically); a frame found there is
    read instead of computed, so a rerun skips the frames already done. ``max_side`` stylises at a
    smaller size and scales the result back to the clip's.
    """

    def __init__(self, reference: ReferenceStylizer, frames_dir: Path, max_side: int | None = None) -> None:
        self.reference = reference
        self.frames_dir = frames_dir
        self.max_side = max_side
        self.name = "reference"
        self.description = f"Gatys/Ruder optimisation ({reference.description})"
        self.index = 0
        self.previous: tuple[np.ndarray, np.ndarray] | None = None
        self.seconds = 0.0  # optimisation time of the frames so far, including those of an earlier run
        settings = frames_dir / "settings.json"
        wanted = json.dumps(reference.cfg.to_dict() | {"max_side": max_side}, indent=2, sort_keys=True)
        frames_dir.mkdir(parents=True, exist_ok=True)
        if settings.exists() and settings.read_text() != wanted:
            raise ReferenceMethodError(f"{frames_dir} holds frames made with other settings; delete it to start over")
        settings.write_text(wanted)

    def __call__(self, frames: np.ndarray, times: np.ndarray | None = None) -> np.ndarray:
        out = []
        for frame in frames:
            small = _shrink(frame, self.max_side)
            styled, seconds = cached_png(self.frames_dir / f"{self.index:06d}.png",
                                         lambda small=small: self.reference.frame(small, self.previous))
            self.seconds += seconds
            self.previous = (small, styled)
            self.index += 1
            h, w = frame.shape[:2]
            out.append(styled if styled.shape[:2] == (h, w)
                       else np.asarray(Image.fromarray(styled).resize((w, h), Image.Resampling.BICUBIC)))
        return np.stack(out)


def cached_png(path: Path, compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """A result kept as a PNG with the seconds it took (in a text chunk); computed only when missing.

    This is what makes long reference runs resumable: a rerun reads what is done and goes on.
    """
    if path.exists():
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB")), float(img.text.get("seconds", "nan"))
    tick = time.perf_counter()
    result = compute()
    seconds = time.perf_counter() - tick
    info = PngInfo()
    info.add_text("seconds", f"{seconds:.6f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(result).save(tmp, format="PNG", pnginfo=info)
    return result, seconds


def _shrink(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None or max(frame.shape[:2]) <= max_side:
        return frame
    return np.asarray(fit_longest_side(Image.fromarray(frame), max_side))


def frames_dir_for(output: str | os.PathLike) -> Path:
    """Where a clip's finished frames wait until the video is complete: beside the output, hidden."""
    output = Path(output)
    return output.with_name(f".{output.name}.frames")
