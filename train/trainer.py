"""The training loop: photos -> TransformerNet -> VGG perceptual losses -> Adam, for one painter or a family.

A family trains several painters in one network (conditional instance norm): each photo of a batch is
given a painter in turn and measured against that painter's style image. With a temporal weight, every
step also stylises ``temporal_pairs`` frame pairs in the same forward pass and adds the temporal term on
them. The perceptual losses see only the photo batch: frame pairs (zoomed crops, resampled and noisy
frames, cartoon clips) are a different image distribution, and letting them into the style loss cost
more style than the temporal term itself.

Fast by construction: photos are decoded once into a bank on the device and cropped there, frame pairs
are made there, the loss of a step is one compiled graph (on CUDA), and losses are read back once per
log step, so nothing in a step waits for the host.

Read top to bottom: set-up (device, data, networks, optimizer, resume), one loop with logging, samples
and periodic checkpoints, then the painter file, an evaluation on held-out photos and the model card.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid

from nets.device import describe_device, native_bf16
from nets.errors import UserError
from nets.files import atomic_path, file_sha256, write_json
from nets.images import ImageReadError, load_image
from nets.losses import (
    JOHNSON_CONTENT_LAYERS,
    JOHNSON_STYLE_LAYERS,
    PerceptualLoss,
    temporal_loss,
    total_variation,
)
from nets.painter import ModelCard, PainterFileError, painter_names, read_painter, save_painter
from nets.progress import progress_bar
from nets.transformer import Architecture, TransformerNet
from nets.vgg import VGGFeatures
from nets.warp import luminance
from train.config import TrainConfig
from train.consistency import NOISE_SIGMA, moved, random_offsets, shift_distance
from train.data import PhotoBank, center_crops, list_images
from train.distributed import Processes, join
from train.pairs import ClipPairs, Pairs, mixed_pairs, synthetic_pairs

log = logging.getLogger(__name__)
SAMPLE_COUNT = 4
#: How a run executes rather than what it trains: these may change on --resume, and a finished run whose
#: painter settings match is reused whatever they were.
RUN_OPTIONS = ("device", "amp", "channels_last", "compile", "workers", "time_limit", "log_every", "sample_every",
               "checkpoint_every", "resume", "overwrite", "out_dir", "log_dir")
#: The loss terms logged, in the order the step returns them (then one style distance per trained painter).
TERMS = ("total", "content", "style", "tv", "temporal", "shift", "noise", "light")
#: The light term compares lightness averaged over this many × this many cells of a crop.
LIGHT_CELLS = 8


class TrainError(UserError):
    """Bad input to a training run, reported as one line."""


def check_writable(folder: Path) -> None:
    """Whether ``folder`` can be made (and written) there, without making it: a refused run leaves nothing."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(existing))
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise TrainError(f"cannot write to {folder}: {exc.strerror or exc}") from None


def painter_settings(cfg: TrainConfig) -> dict[str, Any]:
    """What defines the painter (``steps`` included), without the run options."""
    return {k: v for k, v in cfg.to_dict().items() if k not in RUN_OPTIONS}


def one_hot(rows: torch.Tensor, painters: int) -> torch.Tensor:
    return F.one_hot(rows, painters).float()


@dataclass
class Perturbations:
    """What the shift and noise terms do to a step's photos, drawn outside the objective (its random numbers
    come from the run's generator, so a resumed run draws the same ones)."""

    offsets: torch.Tensor | None  # B×2 px, or None without the shift term
    noise: torch.Tensor | None  # B×3×S×S, or None without the noise term


class Objective(nn.Module):
    """One step's loss: stylise the photos (and frame pairs), weigh content, style, smoothness and flicker.

    Returns one tensor: the weighted terms in ``TERMS`` order, then each trained painter's mean style
    distance in this batch. Kept as one module so that ``torch.compile`` makes the whole forward (network
    and VGG) and its backward one graph.
    """

    def __init__(self, model: TransformerNet, criterion: PerceptualLoss, cfg: TrainConfig, rows: list[int],
                 use_amp: bool, memory_format: torch.memory_format) -> None:
        super().__init__()
        self.model = model
        self.criterion = criterion
        self.cfg = cfg
        self.use_amp = use_amp
        self.memory_format = memory_format
        device = next(model.parameters()).device
        self.register_buffer("rows", torch.tensor(rows, device=device), persistent=False)
        self.register_buffer("style_weights", torch.tensor(cfg.style_weights(), device=device), persistent=False)

    def forward(self, photos: torch.Tensor, styles: torch.Tensor, pairs: Pairs | None = None,
                pair_styles: torch.Tensor | None = None, perturbed: Perturbations | None = None) -> torch.Tensor:
        """``photos``: B×3×S×S uint8; ``styles``: each photo's trained painter (index into the styles).

        The photos, their moved and noisy copies and the frame pairs are painted in one pass; only the photos
        enter the perceptual terms, so the look is trained as without the consistency terms.
        """
        cfg, device = self.cfg, photos.device
        photos = (photos.float() / 255).contiguous(memory_format=self.memory_format)
        photo_mix = one_hot(self.rows[styles], self.model.painters)
        inputs, mixes = [photos], [photo_mix]
        offsets = noise = None
        if perturbed is not None:
            offsets, noise = perturbed.offsets, perturbed.noise
        if offsets is not None:
            inputs.append(moved(photos, offsets))
            mixes.append(photo_mix)
        if noise is not None:
            inputs.append((photos + noise).clamp(0, 1))
            mixes.append(photo_mix)
        if pairs is not None and pair_styles is not None:
            current, previous, flow, mask = pairs
            pair_mix = one_hot(self.rows[pair_styles], self.model.painters)
            inputs += [current, previous]
            mixes += [pair_mix, pair_mix]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.use_amp):
            outputs = self.model(torch.cat(inputs).contiguous(memory_format=self.memory_format), torch.cat(mixes))
            stylized = outputs[: len(photos)]
            content, style = self.criterion(stylized, photos, styles)
            tv = total_variation(stylized.float())
        rest = outputs[len(photos):].float()
        zero = torch.zeros((), device=device)
        shift = noisy = flicker = zero
        painted = stylized.float()
        if offsets is not None:
            out_moved, rest = rest[: len(photos)], rest[len(photos):]
            shift = cfg.shift_weight * shift_distance(out_moved, painted, offsets)
        if noise is not None:
            out_noisy, rest = rest[: len(photos)], rest[len(photos):]
            noisy = cfg.noise_weight * (out_noisy - painted).abs().mean()
        if pairs is not None:
            out_current, out_previous = rest.chunk(2)
            flicker = cfg.temporal_weight * temporal_loss(out_current, out_previous, current, previous, flow,
                                                          mask).mean()
        light = cfg.light_weight * (light_layout(painted) - light_layout(photos)).abs().mean() \
            if cfg.light_weight > 0 else zero
        terms = [cfg.content_weight * content.mean(), (self.style_weights[styles] * style).mean(),
                 cfg.tv_weight * tv.mean(), flicker, shift, noisy, light]
        chosen = one_hot(styles, len(self.style_weights))
        per_painter = (chosen * style.float()[:, None]).sum(0) / chosen.sum(0).clamp(min=1)
        return torch.cat([torch.stack([sum(terms), *terms]), per_painter])


def light_layout(images: torch.Tensor) -> torch.Tensor:
    """Where an image is lit: its lightness over ``LIGHT_CELLS``² cells, less its mean. Why less the mean: a
    network whose first layer is instance-normalised cannot see how brightly a photo is lit overall (that is
    ``--keep-light``'s work at render time), but it can keep a bright sky bright over a dark street."""
    cells = F.adaptive_avg_pool2d(luminance(images), LIGHT_CELLS)
    return cells - cells.mean((2, 3), keepdim=True)


@torch.no_grad()
def evaluate(model: TransformerNet, criterion: PerceptualLoss, rows: list[int], paths: list[Path], size: int
             ) -> list[dict[str, float]]:
    """Per trained painter: mean content and style distance on whole photos (longest side ``size``).

    ``identity_style`` is the photo's own distance to the painting: where training starts from.
    """
    device = next(model.parameters()).device
    sums = [{"identity_style": 0.0, "content": 0.0, "style": 0.0} for _ in rows]
    count = 0
    for path in paths:
        try:
            photo = load_image(path, size).to(device)
        except ImageReadError as exc:  # a finished run must not be lost to one bad validation photo
            log.warning("skipping validation photo: %s", exc)
            continue
        count += 1
        for k, row in enumerate(rows):
            style_index = torch.tensor([k], device=device)
            identity = criterion(photo, photo, style_index).style
            content, style = criterion(model(photo, one_hot(torch.tensor([row], device=device), model.painters)),
                                       photo, style_index)
            for key, value in (("identity_style", identity), ("content", content), ("style", style)):
                sums[k][key] += value.item()
    return [{key: value / max(count, 1) for key, value in s.items()} | {"photos": count, "size": size}
            for s in sums]


def load_state(path: Path, cfg: TrainConfig) -> tuple[TrainConfig, dict[str, Any]]:
    """The saved run state and its config; run options (device, time limit …) and ``steps`` may change."""
    if not path.is_file():
        raise TrainError(f"nothing to resume: {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = TrainConfig.from_dict(state["config"])
    except Exception as exc:
        raise TrainError(f"cannot resume from {path} ({exc.__class__.__name__}); start over with --overwrite") from None
    differs = [k for k, v in painter_settings(cfg).items() if k != "steps" and getattr(saved, k) != v]
    if differs:
        log.warning("resuming with the saved settings; ignoring changed %s", ", ".join(differs))
    changed = {k: getattr(cfg, k) for k in (*RUN_OPTIONS, "steps")}
    return TrainConfig.from_dict(saved.to_dict() | changed | {"resume": True}), state


def plan_family(cfg: TrainConfig, init: dict[str, Any] | None) -> tuple[list[str], list[int], bool]:
    """(every painter of the network, the rows trained here, whether only those rows train).

    Without ``--init`` the styles are the family (a lone painter is called ``--name`` if given). With it,
    a style image is an init painter's when it has that painter's name or is its recorded style image;
    naming every painter of the init fine-tunes the whole network, naming some of them, or new ones
    (appended to the family), trains only their (γ, β) rows, so the other painters stay exactly as they were.
    """
    names = cfg.painter_names
    if len(set(names)) != len(names):
        raise TrainError(f"two style images give the same painter name: {', '.join(names)}")
    if init is None:
        if len(names) > 1 and not cfg.name:
            raise TrainError("a family of several painters needs a --name")
        return names if len(names) > 1 else [cfg.painter_name], list(range(len(names))), False
    family = painter_names(init)
    rows = []
    for style, name in zip(cfg.style, names, strict=True):
        digest = file_sha256(style) if Path(style).is_file() else None
        row = next((k for k, p in enumerate(init["painters"]) if p["name"] == name or p["style_image"] == style
                    or (digest is not None and p.get("style_image_sha256") == digest)), None)
        if row is None:
            family.append(name)
            row = len(family) - 1
        rows.append(row)
    if len(set(rows)) != len(rows):
        raise TrainError(f"two style images are the same painter of {cfg.init}")
    return family, rows, sorted(rows) != list(range(len(family)))


def with_antialias(architecture: Architecture, antialias: str) -> Architecture:
    """``architecture`` with the resampling ``--antialias`` asks for ("keep": as it is)."""
    if antialias == "keep":
        return architecture
    return dataclasses.replace(architecture, smooth_upsampling=antialias in ("upsampling", "both"),
                               blur_downsampling=antialias in ("downsampling", "both"))


def build_model(painters: int, init: dict[str, Any] | None, rows: list[int] | None, cfg: TrainConfig
                ) -> TransformerNet:
    """The network at its initial weights: random (seeded by the caller), or the init's, in its shape.

    Painters new to the init's family start from the mean of its rows; with ``rows`` only those (γ, β)
    rows train and everything else stays as it was. ``--antialias`` other than "keep" grafts the init's weights
    into the anti-aliased network (no weight is added), which a fine-tune then repairs.
    """
    if init is None:
        return TransformerNet(painters, with_antialias(Architecture(), cfg.antialias))
    model = TransformerNet(len(init["painters"]), with_antialias(Architecture.from_dict(init.get("architecture")),
                                                                 cfg.antialias))
    model.load_state_dict(init["model"])
    model = model.with_painters(painters)
    if rows is not None:
        model.train_only_rows(rows)
    return model


@dataclass
class Session:
    """A training run once set up: everything the steps and the finish share. Made by :func:`set_up`."""

    cfg: TrainConfig
    procs: Processes  # this process among those of a torchrun run (one, usually)
    names: list[str]  # every painter of the network
    rows: list[int]  # the rows trained here, one per style image
    init: dict[str, Any] | None
    val_paths: list[Path]
    device: torch.device
    vgg_source: str
    model: TransformerNet
    criterion: PerceptualLoss
    eager: nn.Module  # the objective (under torchrun wrapped in DistributedDataParallel)
    step_loss: nn.Module  # the same, compiled where that pays
    optimizer: torch.optim.Optimizer
    bank: PhotoBank
    clips: ClipPairs | None
    photo_generator: torch.Generator
    generator: torch.Generator
    samples: torch.Tensor  # a few fixed crops, stylised into TensorBoard as training goes
    step: int = 0
    elapsed: float = 0.0  # training seconds of the sessions before a resume

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg.log_dir) / self.cfg.painter_name

    def painters_of(self, count: int, offset: int) -> torch.Tensor:
        """Trained painters in turn, continuing across steps: every painter gets the same share."""
        return (torch.arange(count, device=self.device) + offset) % len(self.rows)

    def save_state(self, elapsed: float) -> None:
        """What ``--resume`` needs: config, weights, optimizer, step and training time so far."""
        payload = {"config": self.cfg.to_dict(), "model": self.model.state_dict(),
                   "optimizer": self.optimizer.state_dict(), "step": self.step, "elapsed": elapsed}
        with atomic_path(self.run_dir / "state.pt") as tmp:
            torch.save(payload, tmp)


def set_up(cfg: TrainConfig) -> Session:
    """Check everything a run needs, then load data and networks (the slow part last) and resume if asked."""
    procs, device = join(cfg.device)
    for option, count in (("batch-size", cfg.batch_size), ("temporal-pairs", cfg.temporal_pairs)):
        if count % procs.world:
            raise TrainError(f"--{option} ({count}) must divide among the {procs.world} processes")
    name = cfg.painter_name
    out_dir, run_dir = Path(cfg.out_dir), Path(cfg.log_dir) / name
    state: dict[str, Any] = {}
    if cfg.resume:
        cfg, state = load_state(run_dir / "state.pt", cfg)
    elif not cfg.overwrite:
        for existing in (out_dir / f"{name}.pt", run_dir / "state.pt"):
            if existing.exists():
                raise TrainError(f"{existing} exists; continue it with --resume or start over with --overwrite")
    for folder in (out_dir, run_dir):
        check_writable(folder)
    if cfg.temporal_weight > 0 and cfg.temporal_pairs < 1:
        raise TrainError("--temporal-pairs must be at least 1 when --temporal-weight is above 0")
    try:
        init = read_painter(cfg.init) if cfg.init else None
    except PainterFileError as exc:
        raise TrainError(f"--init: {exc}") from None
    names, rows, rows_only = plan_family(cfg, init)
    style_images = []
    for path in cfg.style:
        try:
            style_images.append(load_image(path, cfg.style_size, cfg.style_crop))
        except ImageReadError as exc:
            raise TrainError(f"style image: {exc}") from None
    photo_paths = list_images(cfg.photos)
    val_paths = list_images(cfg.val_photos) if cfg.val_photos else []
    use_amp = cfg.amp == "on" or (cfg.amp == "auto" and (device.type == "cuda" or native_bf16()))
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    clips = ClipPairs(cfg.clips, cfg.image_size, Path(cfg.log_dir) / "flow_cache").to(device) \
        if cfg.temporal_weight > 0 and cfg.clips else None
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, cfg.vgg_weights or None)
    criterion = PerceptualLoss(vgg, style_images).to(device, memory_format=memory_format)
    bank = PhotoBank(photo_paths, cfg.image_size, device, cfg.workers)  # last: the slow step, once all is checked
    torch.manual_seed(cfg.seed)  # right before the network, so the seed alone fixes its initial weights
    if rows_only and cfg.antialias != "keep":
        raise TrainError("--antialias changes the whole network: name every painter of the --init to fine-tune it")
    model = build_model(len(names), init, rows if rows_only else None, cfg)
    if state:
        model.load_state_dict(state["model"])
    model.to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                 fused=device.type == "cuda")
    step, elapsed = 0, 0.0
    if state:
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed = state["step"], state["elapsed"]
        log.info("resuming %s at step %d", name, step)
    for folder in (out_dir, run_dir):  # everything is checked and loaded: now the run leaves its traces
        folder.mkdir(parents=True, exist_ok=True)
    eager: nn.Module = Objective(model, criterion, cfg, rows, use_amp, memory_format)
    if procs.world > 1:
        eager = DistributedDataParallel(eager, device_ids=[device] if device.type == "cuda" else None)
    use_compile = cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda")
    return Session(cfg, procs, names, rows, init, val_paths, device, vgg.source, model, criterion, eager,
                   torch.compile(eager) if use_compile else eager, optimizer, bank, clips,
                   bank.generator_for(cfg.seed + step), torch.Generator(device).manual_seed(cfg.seed + step + 1),
                   center_crops(val_paths + photo_paths, cfg.image_size, SAMPLE_COUNT).to(device), step, elapsed)


def train_step(run: Session) -> torch.Tensor:
    """One optimizer step on a fresh batch; the loss values (``TERMS``, then per painter), on the device.

    Under torchrun every process draws the whole batch and stylises its part of it.
    """
    cfg, mine = run.cfg, run.procs.part(run.cfg.batch_size)
    photos = run.bank.crops(cfg.batch_size, run.photo_generator, mine)
    styles = run.painters_of(cfg.batch_size, run.step * cfg.batch_size)[mine]
    pairs = pair_styles = None
    if cfg.temporal_weight > 0:
        crops = run.bank.crops(cfg.temporal_pairs, run.photo_generator).float() / 255
        pairs = synthetic_pairs(crops, run.generator)
        if run.clips:
            real_share = len(run.clips) / (len(run.clips) + len(run.bank))
            pairs = mixed_pairs(pairs, run.clips.sample(cfg.temporal_pairs, run.generator), real_share,
                                run.generator)
        mine_pairs = run.procs.part(cfg.temporal_pairs)
        current, previous, flow, mask = (x[mine_pairs] for x in pairs)
        pairs = (current, previous, flow, mask)
        pair_styles = run.painters_of(cfg.temporal_pairs, run.step * cfg.temporal_pairs)[mine_pairs]
    perturbed = None
    if cfg.shift_weight > 0 or cfg.noise_weight > 0:
        count = len(photos)
        perturbed = Perturbations(
            random_offsets(count, run.generator) if cfg.shift_weight > 0 else None,
            torch.randn(photos.shape, generator=run.generator, device=run.device) * NOISE_SIGMA
            if cfg.noise_weight > 0 else None)
    run.optimizer.zero_grad(set_to_none=True)
    try:
        values = run.step_loss(photos, styles, pairs, pair_styles, perturbed)
        values[0].backward()
    except Exception as exc:  # a compiler failure must not cost the run: go on without it
        if run.step_loss is run.eager:
            raise
        log.warning("torch.compile failed (%s: %s); training without it", exc.__class__.__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "")
        run.step_loss = run.eager
        run.optimizer.zero_grad(set_to_none=True)
        values = run.step_loss(photos, styles, pairs, pair_styles, perturbed)
        values[0].backward()
    run.optimizer.step()
    run.step += 1
    return values.detach()


@dataclass
class Outcome:
    """What the loop measured, for the model card."""

    wall_time: float
    stopped_early: bool
    first_step_s: float | None  # includes compiling the step
    last_logged: dict[str, float]
    last_styles: list[float]  # each trained painter's style distance over the last log window
    curve: list[dict[str, float]]


def finish(run: Session, outcome: Outcome) -> dict[str, Any]:
    """Write the painter file, evaluate on the held-out photos, write and return the model card."""
    cfg, step = run.cfg, run.step
    run.model.eval()
    write_json(run.run_dir / "curve.json", outcome.curve)
    painters = [dict(p) for p in run.init["painters"]] if run.init is not None else []
    for k, row in enumerate(run.rows):
        record = {"name": run.names[row], "style_image": cfg.style[k], "style_image_sha256": file_sha256(cfg.style[k]),
                  "style_size": cfg.style_size, "style_crop": cfg.style_crop, "style_weight": cfg.style_weights()[k],
                  "metrics": {"final_style": outcome.last_styles[k]}}  # its own photos' style distance, unweighted
        painters[row:row + 1] = [record]
    if run.val_paths:
        log.info("evaluating on %d photos from %s", len(run.val_paths), cfg.val_photos)
        for row, values in zip(run.rows, evaluate(run.model, run.criterion, run.rows, run.val_paths, cfg.val_size),
                               strict=True):
            painters[row]["metrics"] |= {f"val_{k}": v for k, v in values.items()}
    speeds = [c["images_per_s"] for c in outcome.curve[1:]]
    last = {
        "trained": [run.names[row] for row in run.rows],
        "init_sha256": file_sha256(cfg.init) if cfg.init else None,  # the painter file it started from
        "steps": step,
        "samples_seen": step * cfg.batch_size,
        "wall_time_s": round(outcome.wall_time, 1),
        "stopped_early": outcome.stopped_early,  # by --time-limit, or by a stop request (the studio's Stop)
        "first_step_s": outcome.first_step_s,
        "images_per_s": statistics.median(speeds) if speeds else None,
        "device": run.procs.describe(describe_device(run.device)),
        "processes": run.procs.world,
        "torch": str(torch.__version__),
        "vgg": run.vgg_source,
        "final_losses": outcome.last_logged,
        "config": cfg.to_dict(),
    }
    history = (run.init.get("history", []) if run.init is not None else []) + [last]  # every run behind the file
    out_dir = Path(cfg.out_dir)
    save_painter(out_dir / f"{cfg.painter_name}.pt", run.model, cfg.painter_name, painters, cfg.to_dict(), step,
                 history)
    card = ModelCard(cfg.painter_name, painters, last, history)
    card.write(out_dir / f"{cfg.painter_name}.json")
    return card.to_dict()


def train(cfg: TrainConfig, on_log: Callable[[list[dict[str, float]], torch.Tensor | None], None] | None = None,
          stop: threading.Event | None = None) -> dict[str, Any]:
    """Run one training job and return its model card (also written to ``<out_dir>/<name>.json``).

    Under torchrun, process 0 writes and returns the card; the others return an empty dict. ``on_log`` (for a
    page that shows the run) gets the loss curve so far at every log step, with the sample grid (3×H×W,
    photos above their paintings) at sample steps; ``stop``, set from another thread (the page's Stop),
    ends the run after the current step as the time limit does: the painter as it is then is written.
    """
    run = set_up(cfg)
    cfg, main = run.cfg, run.procs.main  # on resume: the saved settings; main: the process that writes
    writer = SummaryWriter(run.run_dir) if main else None
    log.info("training %s (%s) on %s: %d photos%s, VGG16 from %s", cfg.painter_name, ", ".join(cfg.painter_names),
             run.procs.describe(describe_device(run.device)), len(run.bank),
             f" + {len(run.clips)} clip pairs" if run.clips else "",
             run.vgg_source)
    started = time.perf_counter()
    window: torch.Tensor | None = None
    last_logged: dict[str, float] = {}
    last_styles: list[float] = []
    curve: list[dict[str, float]] = []
    seen, window_start, stopped_early = 0, started, False
    first_step_s = None
    progress = progress_bar(total=cfg.steps, initial=run.step, desc=cfg.painter_name, unit="step", disable=not main)
    try:
        while run.step < cfg.steps:
            values = train_step(run)
            step = run.step
            progress.update()
            if first_step_s is None:  # compilation happens in the first step: its duration says what that cost
                first_step_s = round(time.perf_counter() - started, 2)
            # Summed on the device and read once per log step: a .item() per step would stall the GPU.
            window = values if window is None else window + values
            seen += 1
            # Every process stops together; a run with neither a limit nor a stop event asks none of them.
            out_of_time = (bool(cfg.time_limit_s) or stop is not None) and run.procs.any(
                (bool(cfg.time_limit_s) and time.perf_counter() - started >= cfg.time_limit_s)
                or (stop is not None and stop.is_set()), run.device)
            logged = step % cfg.log_every == 0 or step == cfg.steps or out_of_time
            if logged:
                means = run.procs.mean(window / seen).tolist()
                if not math.isfinite(means[0]):
                    raise TrainError(f"the loss became {means[0]} before step {step}; lower --lr")
                last_logged = dict(zip(TERMS, means, strict=False))
                last_styles = means[len(TERMS):]
                now = time.perf_counter()
                speed = seen * cfg.batch_size / (now - window_start)
                if writer:
                    for key, value in last_logged.items():
                        writer.add_scalar(f"loss/{key}", value, step)
                    for painter, value in zip(cfg.painter_names, last_styles, strict=True):
                        writer.add_scalar(f"style/{painter}", value, step)
                    writer.add_scalar("speed/images_per_s", speed, step)
                curve.append({"step": step, "time_s": round(run.elapsed + now - started, 2), "images_per_s": speed,
                              **last_logged})
                progress.set_postfix(loss=f"{last_logged['total']:.3f}", style=f"{last_logged['style']:.3f}",
                                     refresh=False)
                window, seen, window_start = None, 0, now
            grid = None
            if writer and (step % cfg.sample_every == 0 or step == cfg.steps or out_of_time):
                with torch.no_grad():
                    rendered = [run.model(run.samples, one_hot(torch.full((len(run.samples),), row, device=run.device),
                                                               run.model.painters)).float() for row in run.rows]
                grid = make_grid(torch.cat([run.samples, *rendered]).cpu(), nrow=len(run.samples))
                writer.add_image("samples", grid, step)
            if on_log is not None and main and (logged or grid is not None):
                on_log(curve, grid)
            if main and step % cfg.checkpoint_every == 0:
                run.save_state(run.elapsed + time.perf_counter() - started)
            if out_of_time:
                asked = stop is not None and stop.is_set()
                log.info("%s at step %d of %d", "asked to stop" if asked else f"time limit of {cfg.time_limit} reached",
                         step, cfg.steps)
                stopped_early = True
                break
    except KeyboardInterrupt:
        if main:
            run.save_state(run.elapsed + time.perf_counter() - started)
        progress.close()
        log.warning("interrupted at step %d; continue with the same command and --resume", run.step)
        raise
    progress.close()
    wall_time = run.elapsed + time.perf_counter() - started
    card: dict[str, Any] = {}
    if writer:
        run.save_state(wall_time)
        card = finish(run, Outcome(wall_time, stopped_early, first_step_s, last_logged, last_styles, curve))
        writer.close()
    run.procs.wait()  # the other processes end once the painter is written
    return card


def train_or_reuse(cfg: TrainConfig) -> dict[str, Any]:
    """The model card of a finished run with the same painter settings, else a new run's card.

    Lets a script that trains several painters pick up where it stopped. Run options (device, workers …)
    do not count, and a setting added to TrainConfig after the card was written takes its default.
    """
    card_path = Path(cfg.out_dir) / f"{cfg.painter_name}.json"
    if card_path.is_file():
        card = ModelCard.read(card_path)
        if painter_settings(TrainConfig.from_dict(card.run["config"])) == painter_settings(cfg):
            return card.to_dict()
    return train(cfg)
