"""The training loop: photos -> TransformerNet -> VGG perceptual losses -> Adam.

With a temporal weight, every step also stylises ``temporal_pairs`` frame pairs in the same forward pass and
adds the temporal term on them. The perceptual losses see only the photo batch, exactly as without the
term: frame pairs (zoomed crops, resampled and noisy frames, cartoon clips) are a different image
distribution, and letting them into the style loss cost more style than the temporal term itself.

Read top to bottom: set-up (device, data, networks, optimizer, resume), one loop with logging, samples
and periodic checkpoints, then the painter file, an evaluation on held-out photos and the model card.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import ConcatDataset, Dataset
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid
from tqdm import tqdm

from nets.device import describe_device, pick_device
from nets.files import atomic_path
from nets.images import ImageReadError, load_image
from nets.losses import (
    JOHNSON_CONTENT_LAYERS,
    JOHNSON_STYLE_LAYERS,
    PerceptualLoss,
    temporal_loss,
    total_variation,
)
from nets.painter import load_painter, save_painter
from nets.transformer import TransformerNet
from nets.vgg import VGGFeatures
from train.config import TrainConfig
from train.data import PhotoDataset, center_crops, endless_batches, list_images
from train.pairs import ClipPairs, SyntheticPairs

log = logging.getLogger(__name__)
SAMPLE_COUNT = 4
#: Settings that a resumed run takes from the command line; all others come from the saved run.
RESUME_MAY_CHANGE = ("steps", "resume", "overwrite")


class TrainError(ValueError):
    """Bad input to a training run, reported as one line."""


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise TrainError(f"cannot write to {folder}: {exc.strerror or exc}") from None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@torch.no_grad()
def evaluate(model: TransformerNet, criterion: PerceptualLoss, paths: Iterable[Path], size: int) -> dict[str, float]:
    """Mean content and style distance on whole photos (longest side ``size``), before and after stylising.

    "Before" is the identity: the photo itself, whose style distance is where training starts from.
    """
    device = next(model.parameters()).device
    sums = {"identity_style": 0.0, "content": 0.0, "style": 0.0}
    count = 0
    for path in paths:
        photo = load_image(path, size).to(device)
        _, identity_style = criterion(photo, photo)
        content, style = criterion(model(photo), photo)
        sums["identity_style"] += identity_style.item()
        sums["content"] += content.item()
        sums["style"] += style.item()
        count += 1
    return {key: value / count for key, value in sums.items()} | {"photos": count, "size": size}


def load_state(path: Path, cfg: TrainConfig) -> tuple[TrainConfig, dict[str, Any]]:
    """The saved run state and its config; only ``steps`` may change on resume (to train longer)."""
    if not path.is_file():
        raise TrainError(f"nothing to resume: {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = TrainConfig(**state["config"])
    except Exception as exc:
        raise TrainError(f"cannot resume from {path} ({exc.__class__.__name__}); start over with --overwrite") from None
    differs = [k for k, v in cfg.to_dict().items() if k not in RESUME_MAY_CHANGE and getattr(saved, k) != v]
    if differs:
        log.warning("resuming with the saved settings; ignoring changed %s", ", ".join(differs))
    saved.steps, saved.resume = cfg.steps, True
    return saved, state


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run one training job and return its model card (also written to ``<out_dir>/<name>.json``)."""
    # ---- set-up -----------------------------------------------------------------------------------
    name = cfg.painter_name
    run_dir = Path(cfg.log_dir) / name
    state_path = run_dir / "state.pt"
    state: dict[str, Any] = {}
    out_dir = Path(cfg.out_dir)
    if cfg.resume:
        cfg, state = load_state(state_path, cfg)
    elif not cfg.overwrite:
        for existing in (out_dir / f"{name}.pt", state_path):
            if existing.exists():
                raise TrainError(f"{existing} exists; continue it with --resume or start over with --overwrite")
    style_path = Path(cfg.style)
    for folder in (out_dir, run_dir):
        check_writable(folder)
    try:
        style_image = load_image(style_path, cfg.style_size)
    except ImageReadError as exc:
        raise TrainError(f"style image: {exc}") from None
    photo_paths = list_images(cfg.photos)
    pairs: Dataset | None = None
    if cfg.temporal_weight > 0:
        if cfg.temporal_pairs < 1:
            raise TrainError("--temporal-pairs must be at least 1 when --temporal-weight is above 0")
        sources: list[Dataset] = [SyntheticPairs(photo_paths, cfg.image_size)]
        if cfg.clips:
            sources.append(ClipPairs(cfg.clips, cfg.image_size, Path(cfg.log_dir) / "flow_cache"))
        pairs = ConcatDataset(sources)
    dataset = PhotoDataset(photo_paths, cfg.image_size)
    val_paths = list_images(cfg.val_photos) if cfg.val_photos else []
    device = pick_device(cfg.device)
    use_amp = cfg.amp and device.type == "cuda"
    memory_format = torch.channels_last if use_amp else torch.contiguous_format

    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS, cfg.vgg_weights or None)
    criterion = PerceptualLoss(vgg, style_image).to(device, memory_format=memory_format)
    torch.manual_seed(cfg.seed)  # right before the network, so the seed alone fixes its initial weights
    model = TransformerNet().to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step, elapsed = 0, 0.0
    if cfg.init and not state:
        model.load_state_dict(load_painter(cfg.init)[0].state_dict())
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed = state["step"], state["elapsed"]
        log.info("resuming %s at step %d", name, step)

    samples = center_crops((val_paths or photo_paths)[:SAMPLE_COUNT], cfg.image_size)
    batches = endless_batches(dataset, cfg.batch_size, cfg.workers, cfg.seed + step)
    pair_batches = endless_batches(pairs, cfg.temporal_pairs, cfg.workers, cfg.seed + step + 1) if pairs else None
    writer = SummaryWriter(run_dir)
    log.info("training %s on %s (%d photos%s, VGG16 from %s)", name, describe_device(device), len(dataset),
             f" + {len(pairs)} frame pairs" if pairs else "", vgg.source)

    def save_state() -> None:
        payload = {
            "config": cfg.to_dict(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "elapsed": elapsed + time.perf_counter() - started,
        }
        with atomic_path(state_path) as tmp:
            torch.save(payload, tmp)

    # ---- the loop ---------------------------------------------------------------------------------
    started = time.perf_counter()
    window: dict[str, torch.Tensor] = {}
    last_logged: dict[str, float] = {}
    seen = 0
    window_start = started
    progress = tqdm(total=cfg.steps, initial=step, desc=name, unit="step", dynamic_ncols=True)
    try:
        while step < cfg.steps:
            photos = next(batches).to(device, memory_format=memory_format, non_blocking=True)
            inputs = photos
            if pair_batches:  # (current, previous, flow current->previous, mask)
                current, previous, flow, mask = (t.to(device, non_blocking=True) for t in next(pair_batches))
                inputs = torch.cat([photos, current, previous]).contiguous(memory_format=memory_format)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                outputs = model(inputs)
                stylized = outputs[: len(photos)]
                content, style = criterion(stylized, photos)
                tv = total_variation(stylized.float())
            terms = {
                "content": cfg.content_weight * content.mean(),
                "style": cfg.style_weight * style.mean(),
                "tv": cfg.tv_weight * tv.mean(),
            }
            if pair_batches:
                out_current, out_previous = outputs[len(photos):].float().chunk(2)
                flicker = temporal_loss(out_current, out_previous, current, previous, flow, mask)
                terms["temporal"] = cfg.temporal_weight * flicker.mean()
            loss = sum(terms.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            progress.update()

            # Summed on the device and read once per log step: a .item() per step would stall the GPU.
            for key, value in terms.items():
                window[key] = window.get(key, 0) + value.detach().float()
            window["total"] = window.get("total", 0) + loss.detach().float()
            seen += 1
            if step % cfg.log_every == 0 or step == cfg.steps:
                totals = dict(zip(window, torch.stack(list(window.values())).tolist(), strict=True))
                if not math.isfinite(totals["total"]):
                    raise TrainError(f"the loss became {totals['total']} before step {step}; lower --lr")
                last_logged = {key: value / seen for key, value in totals.items()}
                for key, value in last_logged.items():
                    writer.add_scalar(f"loss/{key}", value, step)
                now = time.perf_counter()
                writer.add_scalar("speed/images_per_s", seen * cfg.batch_size / (now - window_start), step)
                window_start = now
                progress.set_postfix(loss=f"{last_logged['total']:.3f}", style=f"{last_logged['style']:.3f}")
                window = {}
                seen = 0
            if step % cfg.sample_every == 0 or step == cfg.steps:
                model.eval()
                with torch.no_grad():
                    out = model(samples.to(device)).float().cpu()
                model.train()
                writer.add_image("samples", make_grid(torch.cat([samples, out]), nrow=len(samples)), step)
            if step % cfg.checkpoint_every == 0:
                save_state()
    except KeyboardInterrupt:
        save_state()
        progress.close()
        raise TrainError(f"interrupted at step {step}; continue with the same command and --resume") from None
    progress.close()
    save_state()
    wall_time = elapsed + time.perf_counter() - started

    # ---- results ----------------------------------------------------------------------------------
    model.eval()
    metrics = {f"final_{key}": value for key, value in last_logged.items()}
    if val_paths:
        log.info("evaluating on %d photos from %s", len(val_paths), cfg.val_photos)
        metrics |= {f"val_{k}": v for k, v in evaluate(model, criterion, val_paths, cfg.val_size).items()}
    save_painter(out_dir / f"{name}.pt", model, name, cfg.to_dict(), step, metrics)
    card = {
        "name": name,
        "style_image": str(style_path),
        "style_image_sha256": sha256(style_path),
        "init_sha256": sha256(Path(cfg.init)) if cfg.init else None,  # the painter it was fine-tuned from
        "steps": step,
        "samples_seen": step * cfg.batch_size,
        "wall_time_s": round(wall_time, 1),
        "device": describe_device(device),
        "torch": torch.__version__,
        "vgg": vgg.source,
        "metrics": metrics,
        "config": cfg.to_dict(),
    }
    with atomic_path(out_dir / f"{name}.json") as tmp:
        tmp.write_text(json.dumps(card, indent=2) + "\n")
    writer.close()
    return card


def train_or_reuse(cfg: TrainConfig) -> dict[str, Any]:
    """The model card of a finished run with exactly these settings, else a new run's card.

    Lets a script that trains several painters pick up where it stopped. A setting added to TrainConfig
    after the card was written takes its default, so old cards still match.
    """
    card_path = Path(cfg.out_dir) / f"{cfg.painter_name}.json"
    if card_path.is_file():
        card = json.loads(card_path.read_text())
        if TrainConfig(**card["config"]) == cfg:
            return card
    return train(cfg)
