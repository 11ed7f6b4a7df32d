"""``python -m train.distill``: a small, fast family taught by a full one (knowledge distillation).

The teacher is any painter file; the student is a smaller ``TransformerNet`` (``Architecture``) with the
same painters, and it learns to give the teacher's pictures rather than to match the paintings itself:
that is a far easier target than the style losses, so a CPU can teach it in under an hour, and better in
a few (``--init`` goes on from a student taught before: the shipped fast family is six runs, 3.6 h;
``--widen`` makes that student wider first, painting the same pictures, to give it room to learn more).

- The teacher runs once: on fixed crops of the photos, each with one painter (in turn) or a random blend
  of them, and its pictures are cached in the run folder (``teacher.pt``); a resumed run reuses them.
- Each step: a pixel term (L1 to the teacher's picture), perceptual terms on a few crops (VGG costs ten
  times the student): content (relu2_2 features) and style (Gram matrices of Johnson et al.'s layers) of
  the teacher's picture, and the temporal term of the trainer (ReCoNet's, on synthetic frame pairs with
  known motion), so the student flickers no more than the teacher, which was trained with it. The pixel
  term alone gives a blurred average of strokes the student cannot place exactly (4× the teacher's style
  distance); the Gram term asks for the teacher's texture wherever its strokes land.
- ``--shift-weight``: the exact shift term of the trainer (``train.consistency``), so that an anti-aliased
  student (``--init`` a steady family) learns the teacher's look while keeping its strokes still when the
  scene moves by a pixel or two: the teacher's own strokes move with its 4-px grid, which no steady student can
  copy, so the pixel term alone would teach it that flicker.
- ``--graft``: a pixel-shuffle student twice as wide as Johnson's teacher holds the teacher's inner layers
  (everything at 1/4 resolution and the layers into and out of it) exactly; taken from the teacher, only
  its two outer layers are new. They first learn alone, against the teacher's features around the inner
  layers (minutes), then the whole student is taught as above (``--init``).
- Blends: the student has the teacher's conditional instance norms, so a weight row blends its painters
  the same way; the blended crops teach it what the teacher's blends look like.

    python -m train.distill --teacher checkpoints/four_painters.pt --photos ../shared/data/photos/train_short256 \\
        --name four_painters_fast --vgg-weights ../shared/weights --time-limit 40m
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nets.device import describe_device, native_bf16, pick_device
from nets.errors import UserError
from nets.files import atomic_path, file_sha256
from nets.losses import (
    JOHNSON_CONTENT_LAYERS,
    JOHNSON_STYLE_LAYERS,
    content_loss,
    gram_matrix,
    style_loss,
    temporal_loss,
)
from nets.options import OneLineErrorParser, add_dataclass_options, from_args, option
from nets.painter import ModelCard, load_painter, painter_names, save_painter
from nets.progress import progress_bar
from nets.transformer import Architecture, TransformerNet
from nets.vgg import VGGFeatures
from nets.widen import widened
from train.config import parse_duration
from train.consistency import moved, random_offsets, shift_distance
from train.data import PhotoBank, list_images
from train.pairs import synthetic_pairs

log = logging.getLogger(__name__)
PROG = "python -m train.distill"
#: How a lesson runs rather than what it teaches: these may change on --resume (``steps`` too: a longer lesson).
RUN_OPTIONS = ("device", "amp", "time_limit", "checkpoint_every", "resume", "overwrite", "out_dir", "log_dir", "steps")



@dataclass
class DistillConfig:
    teacher: str = option("checkpoints/four_painters.pt", "the painter file to learn from (one painter or a family)")
    photos: str = option(None, "folder of training photos, searched recursively")
    name: str = option("", "name of the student file; default: the teacher's name + _fast")
    out_dir: str = option("checkpoints", "where <name>.pt and the model card <name>.json are written")
    log_dir: str = option("runs", "the teacher's cached pictures and the resumable state go to <log-dir>/<name>")
    vgg_weights: str = option("", "VGG16 weight file or folder (default: $VGG_WEIGHTS, else torchvision's download)")
    width: int = option(32, "student: channels of its first convolution")
    residual_blocks: int = option(5, "student: residual blocks")
    outer_kernel: int = option(3, "student: kernel of its first and last convolutions")
    separable: bool = option(False, "student: depthwise-separable residual blocks")
    pixel_shuffle: bool = option(True, "student: pixel (un)shuffle instead of full-resolution outer layers")
    tail_convolutions: int = option(0, "student: 3×3 convolutions at half resolution before its last one")
    smooth_upsampling: bool = option(False, "student: bilinear rather than nearest upsampling (anti-aliased: it "
                                            "repaints less when the scene moves by a pixel); with --init, grafted "
                                            "into that student")
    blur_downsampling: bool = option(False, "student: a low-pass before each stride-2 convolution (anti-aliased); "
                                            "with --init, grafted into that student")
    init: str = option("", "start the student from this painter file (a student of the same teacher, e.g. the "
                         "shipped fast family, to teach it longer; or of the family the teacher grew from: the "
                         "painters added since are added and only they are taught; or the teacher itself, with "
                         "--smooth-upsampling, to teach it to keep still); its shape replaces --width … "
                         "--pixel-shuffle")
    widen: int = option(0, "with --init: widen that student to this --width first, painting the same pictures "
                        "(Net2Net), so that a larger student goes on from what the smaller one learnt")
    graft: bool = option(False, "a new student starts with the teacher's layers that fit it (same place and "
                         "shape: with --width twice the teacher's, its inner layers) and learns only the others; "
                         "go on with --init to teach it all")
    painters: list[str] = option([], "with --init: teach only these painters' (γ, β) rows, everything else stays "
                                 "as it is (default: every painter, or the painters the teacher has in addition)")
    image_size: int = option(192, "side of the cached crops in px")
    crops_per_photo: int = option(6, "crops the teacher paints per photo (each with one painter or a blend)")
    blend_share: float = option(0.2, "share of the crops painted with a random blend of the painters")
    batch_size: int = option(8, "crops per step")
    steps: int = option(5000, "optimizer steps")
    lr: float = option(2e-3, "Adam learning rate (cosine decay to a tenth)")
    pixel_weight: float = option(1.0, "weight of the L1 distance to the teacher's picture")
    content_weight: float = option(0.05, "weight of the VGG feature distance to the teacher's picture (relu2_2)")
    style_weight: float = option(1.0, "weight of the Gram distance to the teacher's picture (relu1_2 … relu4_3)")
    perceptual_crops: int = option(2, "crops of each step that the content and style terms see")
    temporal_weight: float = option(30.0, "weight of the temporal term (the teacher's training used 30)")
    temporal_pairs: int = option(2, "synthetic frame pairs a step")
    shift_weight: float = option(0.0, "weight of the exact shift term: each crop also painted moved by up to 3 px "
                                      "(whole and sub-pixel), against the student's picture moved the same way, "
                                      "so an anti-aliased student keeps its strokes still when the scene moves")
    seed: int = option(0, "random seed")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    amp: str = option("auto", "bfloat16 autocast: auto (on CUDA and CPUs with bf16 in hardware), on, off",
                      choices=("auto", "on", "off"))
    time_limit: str = option("", "stop after teaching this long (e.g. 40m; a resumed run gets as long again) and "
                             "write the student as at the last step")
    checkpoint_every: int = option(200, "steps between resumable checkpoints")
    resume: bool = option(False, "continue from <log-dir>/<name>/state.pt")
    overwrite: bool = option(False, "start over even if the student or its run state exists")

    def __post_init__(self) -> None:
        parse_duration(self.time_limit)
        for flag, value, low in (("steps", self.steps, 1), ("batch-size", self.batch_size, 1),
                                 ("image-size", self.image_size, 32), ("crops-per-photo", self.crops_per_photo, 1),
                                 ("width", self.width, 4), ("tail-convolutions", self.tail_convolutions, 0)):
            if value < low:
                raise DistillError(f"--{flag} must be at least {low}, not {value}")
        if self.image_size % 4:
            raise DistillError(f"--image-size must be a multiple of 4, not {self.image_size}")
        try:
            _ = self.architecture
        except ValueError as exc:  # a shape no network has (--tail-convolutions with --no-pixel-shuffle)
            raise DistillError(f"the student's shape: {exc}") from None
        if self.widen and not self.init:
            raise DistillError("--widen widens the student of --init; give --init, or --width for a new student")
        if self.graft and self.init:
            raise DistillError("--graft starts a new student from the teacher; --init goes on from one taught before")
        if self.painters and not self.init:
            raise DistillError("--painters teaches some painters of a student taught before: give --init")

    @property
    def architecture(self) -> Architecture:
        return Architecture(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Architecture)})

    @property
    def student_name(self) -> str:
        return self.name or f"{Path(self.teacher).stem}_fast"


class DistillError(UserError):
    """Bad input to a distillation run, reported as one line."""


def teacher_weights(count: int, painters: int, rows: list[int], blend_share: float, generator: torch.Generator
                    ) -> torch.Tensor:
    """count×P painter weights: each painter of ``rows`` in turn, and a ``blend_share`` of random blends of
    all of them (Dirichlet: every painter has a share, so a blend teaches each row taught)."""
    weights = F.one_hot(torch.tensor(rows)[torch.arange(count) % len(rows)], painters).float()
    if painters > 1:
        blends = torch.rand(count, generator=generator) < blend_share
        mixed = -torch.log(torch.rand(count, painters, generator=generator))  # Dirichlet(1) by normalising
        weights[blends] = (mixed / mixed.sum(1, keepdim=True))[blends]
    return weights


@torch.inference_mode()
def paint_crops(cfg: DistillConfig, teacher: TransformerNet, rows: list[int], device: torch.device
                ) -> dict[str, torch.Tensor]:
    """The teacher's pictures of fixed random crops of every photo: uint8 crops, weights, uint8 pictures."""
    generator = torch.Generator().manual_seed(cfg.seed)
    bank = PhotoBank(list_images(cfg.photos), cfg.image_size, torch.device("cpu"))
    crops = bank.crops(len(bank) * cfg.crops_per_photo, generator)
    weights = teacher_weights(len(crops), teacher.painters, rows, cfg.blend_share, generator)
    pictures = torch.empty_like(crops)
    teacher = teacher.to(device)
    for start in progress_bar(range(0, len(crops), 8), desc="teacher", unit="batch"):
        part = slice(start, start + 8)
        out = teacher(crops[part].to(device).float() / 255, weights[part].to(device))
        pictures[part] = (out * 255).round().byte().cpu()
    return {"crops": crops, "weights": weights, "pictures": pictures}


def cached_pictures(cfg: DistillConfig, run_dir: Path, teacher: TransformerNet, rows: list[int],
                    device: torch.device) -> dict[str, torch.Tensor]:
    """The teacher's pictures, painted now or read back from an earlier run with the same data settings."""
    path = run_dir / "teacher.pt"
    key = {k: getattr(cfg, k) for k in ("photos", "image_size", "crops_per_photo", "blend_share", "seed")}
    key |= {"teacher_sha256": file_sha256(cfg.teacher), "rows": rows}  # a teacher retrained in place paints anew
    if path.is_file():
        cache = torch.load(path, weights_only=True)
        if cache.get("key") == key:
            return cache
    log.info("painting the crops with the teacher (once)")
    tick = time.perf_counter()
    cache = paint_crops(cfg, teacher, rows, device)
    cache |= {"key": key, "seconds": time.perf_counter() - tick}
    with atomic_path(path) as tmp:
        torch.save(cache, tmp)
    return cache


def start_student(cfg: DistillConfig, teacher: TransformerNet, teacher_payload: dict[str, Any]
                  ) -> tuple[TransformerNet, dict[str, Any], list[int]]:
    """The student at its first step, the file whose runs it continues (its history goes on in the card),
    and the teacher's painters (rows) it is taught.

    Random weights (seeded by the caller) in ``cfg.architecture``, with ``--graft`` the teacher's layers
    that fit it, kept fixed; or, with ``--init``, a student taught before, in its own shape (anti-aliased
    where asked; widened to ``--widen``), so that a longer lesson needs no new start. A student of fewer
    painters than the teacher, the first of them (a family that grew since, as the studio grows one), gets
    rows for the others and is taught only those; ``--painters`` names the rows to teach (a painter
    retrained in the teacher since).
    """
    every = list(range(teacher.painters))
    if not cfg.init:
        student = TransformerNet(teacher.painters, cfg.architecture)
        if cfg.graft:
            grafted = set(student.graft(teacher))
            inner = {id(p) for p in student.parts()[1].parameters()}
            if teacher.architecture.pixel_shuffle or any(id(p) in inner and name not in grafted
                                                         for name, p in student.named_parameters()):
                raise DistillError(f"--graft: no layer of the teacher fits a student of {cfg.architecture}: it takes "
                                   f"a pixel-shuffle student twice as wide as Johnson's teacher, with at most its "
                                   f"residual blocks")
            log.info("grafted %d of the teacher's tensors, kept fixed in this run", len(grafted))
            for name, parameter in student.named_parameters():
                parameter.requires_grad_(name not in grafted)
        return student, teacher_payload, every
    try:
        student, payload = load_painter(cfg.init)
    except UserError as exc:
        raise DistillError(f"--init: {exc}") from None
    names, taught = painter_names(payload), painter_names(teacher_payload)
    if names != taught[: len(names)]:
        raise DistillError(f"--init: {cfg.init} paints {', '.join(names)}, not the teacher's "
                           f"{', '.join(taught)} (nor the first of them)")
    student = antialiased(student, cfg.smooth_upsampling, cfg.blur_downsampling)
    if cfg.widen:
        if cfg.widen < student.architecture.width:
            raise DistillError(f"--widen {cfg.widen}: {cfg.init} is already {student.architecture.width} wide")
        student = widened(student, cfg.widen, torch.Generator().manual_seed(cfg.seed))
    if unknown := [name for name in cfg.painters or () if name not in taught]:
        raise DistillError(f"--painters: the teacher has no painter {', '.join(unknown)}")
    rows = [taught.index(name) for name in cfg.painters] if cfg.painters else every[len(names):] or every
    student = student.with_painters(len(taught))
    if rows != every:
        student.train_only_rows(rows)
    return student, payload, rows


def antialiased(student: TransformerNet, smooth_upsampling: bool, blur_downsampling: bool) -> TransformerNet:
    """``student`` with the anti-aliased resampling asked for added to what it has (a graft: no weight is added,
    so it paints nearly as before, only blurred, until the lesson teaches its strokes back)."""
    shape = student.architecture
    wanted = dataclasses.replace(shape, smooth_upsampling=shape.smooth_upsampling or smooth_upsampling,
                                 blur_downsampling=shape.blur_downsampling or blur_downsampling)
    if wanted == shape:
        return student
    grafted = TransformerNet(student.painters, wanted)
    grafted.load_state_dict(student.state_dict())
    return grafted


def lesson_terms(cfg: DistillConfig, student: TransformerNet, vgg: VGGFeatures, x: torch.Tensor,
                 want: torch.Tensor, mix: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The terms of one step of the lesson (see the module's docstring), by name, before their weights."""
    current, previous, flow, mask = synthetic_pairs(x[: cfg.temporal_pairs], generator)
    pair_mix = mix[: cfg.temporal_pairs].repeat(2, 1)
    offsets = random_offsets(len(x), generator) if cfg.shift_weight > 0 else None
    inputs, mixes = [x, current, previous], [mix, pair_mix]
    if offsets is not None:
        inputs, mixes = inputs + [moved(x, offsets)], mixes + [mix]
    got = student(torch.cat(inputs), torch.cat(mixes)).float()
    got, pair_out, got_moved = got[: len(x)], got[len(x): len(x) + 2 * len(current)], got[len(x) + 2 * len(current):]
    seen = slice(0, cfg.perceptual_crops)
    with torch.no_grad():
        target = vgg(want[seen])
    feats = vgg(got[seen])
    content = torch.stack([content_loss(feats[n], target[n]).mean() for n in JOHNSON_CONTENT_LAYERS]).mean()
    style = torch.stack([style_loss(feats[n], gram_matrix(target[n])).mean() for n in JOHNSON_STYLE_LAYERS]).mean()
    out_current, out_previous = pair_out.chunk(2)
    with torch.autocast(x.device.type, enabled=False):
        flicker = temporal_loss(out_current, out_previous, current, previous, flow, mask).mean()
    terms = {"pixel": (got - want).abs().mean(), "content": content, "style": style, "temporal": flicker}
    if offsets is not None:
        terms["shift"] = shift_distance(got_moved, got, offsets)
    return terms


def graft_terms(student: TransformerNet, teacher: TransformerNet, x: torch.Tensor, want: torch.Tensor,
                mix: torch.Tensor) -> dict[str, torch.Tensor]:
    """A grafted student's first lesson: each of its outer parts against the teacher's features around the
    inner layers they share, rather than the picture through them all.

    Why: through the whole network a random first layer sends the grafted blocks features they were never
    trained on, and the pictures stay far off for minutes (Van Gogh after 3 min on 2 cores, the pixel term
    alone: 18.9 dB from the teacher's pictures; this way 23.1 dB). Here the first layer learns to give the
    teacher's features after its first two layers, and the last layers learn to paint the teacher's picture
    from what the grafted layers make of those features (the teacher's own features before its last two
    layers, unless the student has fewer blocks).
    The two terms train disjoint layers, so Adam needs no weights between them.
    """
    first, inner, last = student.parts()
    with torch.no_grad():
        given = teacher.parts()[0](x, mix)
        painted_from = inner(given, mix)
    features = first(x, mix)
    picture = torch.sigmoid(last(painted_from, mix))
    return {"features": F.mse_loss(features.float(), given.float()), "pixel": (picture.float() - want).abs().mean()}


def resumed_state(cfg: DistillConfig, path: Path) -> dict[str, Any]:
    """The saved lesson, refused if it taught anything else than ``cfg`` asks: a lesson goes on only as it
    began (its run options aside)."""
    if not path.is_file():
        raise DistillError(f"nothing to resume: {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = state["config"]
    except Exception as exc:
        raise DistillError(f"cannot resume from {path} ({exc.__class__.__name__}); start over with "
                           "--overwrite") from None
    changed = [f"--{k.replace('_', '-')}" for k, v in dataclasses.asdict(cfg).items()
               if k not in RUN_OPTIONS and saved.get(k) != v]
    if changed:
        raise DistillError(f"{path} was taught with another {', '.join(changed)}: resume with the same settings, "
                           "or start over with --overwrite")
    return state


def distill(cfg: DistillConfig, stop: threading.Event | None = None) -> dict[str, Any]:
    """Teach the student, write it and its model card, and return the card. ``stop``, set from another
    thread (the studio's Stop), ends the lesson as the time limit does: the student as it is then is written."""
    device = pick_device(cfg.device)
    use_amp = cfg.amp == "on" or (cfg.amp == "auto" and (device.type == "cuda" or native_bf16()))
    name = cfg.student_name
    out, run_dir = Path(cfg.out_dir) / f"{name}.pt", Path(cfg.log_dir) / name
    if not (cfg.resume or cfg.overwrite) and out.exists():
        raise DistillError(f"{out} exists; start over with --overwrite")
    state_path = run_dir / "state.pt"
    state = resumed_state(cfg, state_path) if cfg.resume else None  # checked before the slow part
    teacher, payload = load_painter(cfg.teacher)
    torch.manual_seed(cfg.seed)  # right before the student, so the seed alone fixes its initial weights
    student, start_from, rows = start_student(cfg, teacher, payload)
    for folder in (out.parent, run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    cache = cached_pictures(cfg, run_dir, teacher, rows, device)
    crops, weights, pictures = cache["crops"], cache["weights"], cache["pictures"]

    student, teacher = student.to(device).train(), teacher.to(device).eval().requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=cfg.lr)
    layers = JOHNSON_STYLE_LAYERS + JOHNSON_CONTENT_LAYERS
    # The graft lesson has no perceptual terms: no VGG to load (2 s and its weights' memory).
    vgg = None if cfg.graft else VGGFeatures("vgg16", layers, cfg.vgg_weights or None).to(device)
    step, elapsed = 0, 0.0
    if state is not None:
        student.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed = state["step"], state["elapsed"]
    generator = torch.Generator().manual_seed(cfg.seed + step)
    limit = parse_duration(cfg.time_limit)
    log.info("student %s: %d parameters taught (painters %s), %d cached crops, bf16 %s", student.architecture,
             sum(p.numel() for p in student.parameters() if p.requires_grad),
             ", ".join(painter_names(payload)[r] for r in rows), len(crops), use_amp)

    def save_state() -> None:
        with atomic_path(state_path) as tmp:
            torch.save({"model": student.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                        "elapsed": elapsed, "config": dataclasses.asdict(cfg)}, tmp)

    term_weights = {} if cfg.graft else {"pixel": cfg.pixel_weight, "content": cfg.content_weight,
                                         "style": cfg.style_weight, "temporal": cfg.temporal_weight,
                                         "shift": cfg.shift_weight}
    curve: list[dict[str, float]] = []
    started, stopped_early = time.perf_counter(), False  # the limit is this run's; the card counts every run's
    start = started - elapsed
    bar = progress_bar(total=cfg.steps, initial=step, desc="distil", unit="step")
    while step < cfg.steps:
        if (limit and time.perf_counter() - started > limit) or (stop is not None and stop.is_set()):
            stopped_early = True
            break
        lr = cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / cfg.steps)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        pick = torch.randint(len(crops), (cfg.batch_size,), generator=generator)
        x = crops[pick].to(device).float() / 255
        want = pictures[pick].to(device).float() / 255
        mix = weights[pick].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            if vgg is None:
                terms = graft_terms(student, teacher, x, want, mix)
            else:
                terms = lesson_terms(cfg, student, vgg, x, want, mix, generator)
        loss = sum(term_weights.get(name, 1.0) * term for name, term in terms.items())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        bar.update()
        if step % 25 == 0:
            curve.append({"step": step, "loss": loss.item()} | {k: v.item() for k, v in terms.items()}
                         | {"seconds": time.perf_counter() - start})
            bar.set_postfix({k: f"{v.item():.4g}" for k, v in terms.items()})
        if step % cfg.checkpoint_every == 0:
            elapsed = time.perf_counter() - start
            save_state()
    bar.close()
    elapsed = time.perf_counter() - start
    save_state()
    student.eval()
    run = {"steps": step, "wall_time_s": round(elapsed, 1), "teacher_painting_s": cache.get("seconds"),
           "stopped_early": stopped_early,  # by --time-limit, or by the studio's Stop
           "device": describe_device(device), "torch": str(torch.__version__), "teacher": cfg.teacher,
           "config": dataclasses.asdict(cfg), "architecture": student.architecture.to_dict(), "curve": curve}
    painters = [p | {"metrics": {}, "distilled_from": payload["name"]} for p in payload["painters"]]
    history = start_from.get("history", []) + [{k: v for k, v in run.items() if k != "curve"}]
    save_painter(out, student, name, painters, dataclasses.asdict(cfg), step, history)
    card = ModelCard(name, painters, run, history)
    card.write(out.with_suffix(".json"))
    return card.to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(prog=PROG, description="Teach a small, fast family the pictures of a full one.")
    add_dataclass_options(parser, DistillConfig)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    logging.getLogger("train").setLevel(logging.INFO)
    try:
        cfg = from_args(DistillConfig, args)
        if not cfg.photos:
            raise DistillError("--photos is required")
        card = distill(cfg)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {cfg.out_dir}/{card['name']}.pt and .json after {card['steps']} steps in {card['wall_time_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

