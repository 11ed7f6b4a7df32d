"""Painters compiled ahead of time for every frame size (AOTInductor), built once per machine and kept.

``torch.compile`` compiles for each frame shape again in every process (5–35 s on 2 cores), which only a
long clip repays, so photos and short clips ran ONNX Runtime or eager PyTorch. Exported with a symbolic
batch, height and width, a painter compiles once (about 90 s on 2 cores) into a package that any later
process loads in a fraction of a second and runs at compiled speed on frames of any size
(docs/PERFORMANCE.md, "Prebuilt painters").

A package holds machine code for this CPU and this torch build, so it lives in a per-user cache
(``$PAINTERS_CACHE``, default ``~/.cache/painters``), named by the painter file's content, the precision,
the way it is built (``RECIPE``), the torch version and the CPU's instruction sets: a changed painter file,
recipe, torch or machine finds no package, and ``python -m infer prebuild`` makes one.
"""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path

import numpy as np
import torch
from torch.export import Dim

from nets.device import cpp_compiler_found, cpu_flags
from nets.errors import UserError
from nets.files import atomic_path, file_sha256
from nets.painter import load_painter
from nets.transformer import MIN_SIDE, SIZE_MULTIPLE, FrameTransformer

CACHE_VARIABLE = "PAINTERS_CACHE"
#: The instruction sets that change the code Inductor writes for this CPU (vector width, bf16, int8).
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "asimd", "sve")
#: Frame sides a package takes, in px (larger frames are painted in tiles, which run eager).
MAX_SIDE = 16384
MAX_BATCH = 64
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
#: What ``python -m infer prebuild`` builds when no painter is named (and the studio builds at start).
SHIPPED_FAMILIES = ("four_painters", "four_painters_fast")
#: How Inductor compiles a painter for a CPU, ahead of time here and just in time in ``infer.networks``. A
#: residual block's output is a sum of every earlier block's, and Inductor keeps such a sum unwritten while
#: it reads at most 12 buffers, so each later block's kernels read them all again. Written out once it reads
#: more than 2, and with the norms' statistics as plain sums (``CondInstanceNorm.channels_last_statistics``),
#: compiled bf16 paints 1.3-1.5× the frames a second on 2 cores (scripts/bench/cpu_compile.py); fp32 is
#: bound by its convolutions and gains nothing.
INDUCTOR_CPU_OPTIONS = {"realize_acc_reads_threshold": 2}
#: Part of a package's name: a new way of building (options, example, the network's code) builds anew.
RECIPE = "r2"


class PrebuildError(UserError):
    """A painter could not be prebuilt or loaded here (no C++ compiler, a damaged package …)."""


class Package:
    """A loaded package: uint8 frames N×H×W×3 (H and W multiples of ``SIZE_MULTIPLE``) and painter weights N×P
    in, frames out.

    Opened by torch's own AOTI runner rather than ``torch._inductor.aoti_load_package``: that one imports
    Inductor first (1.5 s on 2 cores, more than a single photo gains), and the runner needs none of it
    (7 ms to open a package).
    """

    def __init__(self, path: Path) -> None:
        self.runner = torch._C._aoti.AOTIModelPackageLoader(str(path), "model", False, 1, -1)

    def __call__(self, frames: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
        return self.runner.boxed_run([frames, mix])[0]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "painters") / "prebuilt"


def package_path(pt: Path, precision: str) -> Path:
    """Where the package of painter file ``pt`` in ``precision`` for this machine and torch is kept."""
    digest = file_sha256(pt)[:16]
    machine = "-".join([platform.machine(), *(f for f in ISA_FLAGS if f in cpu_flags())])
    return cache_dir() / f"{Path(pt).stem}-{digest}-{precision}-{RECIPE}-torch{torch.__version__}-{machine}.pt2"


def example_batch() -> int:
    """The batch of the frames a painter is exported with, which Inductor takes as the batch it will run.

    Not 1: PyTorch would fix the batch at 1 (it specialises sizes 0 and 1). And more frames than threads:
    Inductor parallelises a kernel's outer loops until their sizes make work for every thread, so an example
    of 2 frames on 2 threads made every norm split the frames of a batch and nothing more, and a single frame
    (a photo, the live view) ran them on one core. It stops at exactly the threads or twice them; at one more
    than the threads it splits the pixels too: 1.4× the frames a second for a single frame, as fast as the
    engine compiled for its size (docs/PERFORMANCE.md).
    """
    return min(torch.get_num_threads() + 1, MAX_BATCH)


#: Seconds one family takes to build on 2 cores (the shipped families: 135 s and 250 s on a 2-core Xeon):
#: what ``prebuild`` tells a user to expect, scaled by the cores this machine gives the compiler.
BUILD_SECONDS_2_CORES = 190


def expected_build_seconds() -> float:
    """About how long one painter file takes to build here."""
    return max(60.0, BUILD_SECONDS_2_CORES * 2 / max(1, torch.get_num_threads()))


def build(pt: Path, precision: str) -> Path:
    """Export the painter with symbolic batch and frame size, compile it for this CPU, and keep it.

    bf16 runs channels-last, as the compiled engine does (1.3× NCHW on a 2-core EPYC with AVX-512 BF16).
    """
    if precision not in DTYPES:
        raise ValueError(f"prebuilt painters compute in {' or '.join(DTYPES)}, not {precision}")
    path = package_path(pt, precision)
    path.parent.mkdir(parents=True, exist_ok=True)
    model, payload = load_painter(pt)
    frames = FrameTransformer(model.to(DTYPES[precision])).eval()
    if precision == "bf16":
        frames = frames.to(memory_format=torch.channels_last)
    painters = len(payload["painters"])
    batch_size = example_batch()
    example = (torch.zeros(batch_size, 64, 64, 3, dtype=torch.uint8), torch.full((batch_size, painters), 1 / painters))
    batch = Dim("batch", min=1, max=MAX_BATCH)
    sides = [Dim(name, min=MIN_SIDE // SIZE_MULTIPLE, max=MAX_SIDE // SIZE_MULTIPLE) for name in ("rows", "columns")]
    if not cpp_compiler_found():
        raise PrebuildError("prebuilding a painter needs a C++ compiler (Debian/Ubuntu: apt install g++)")
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "No CUDA runtime": noise on a CPU
    try:
        with torch.inference_mode():
            program = torch.export.export(frames, example, dynamic_shapes={
                "frames": {0: batch, 1: SIZE_MULTIPLE * sides[0], 2: SIZE_MULTIPLE * sides[1]}, "mix": {0: batch}})
        with atomic_path(path) as tmp:
            torch._inductor.aoti_compile_and_package(program, package_path=str(tmp),
                                                     inductor_configs=INDUCTOR_CPU_OPTIONS)
    except Exception as exc:  # noqa: BLE001 - any exporter or compiler failure: the other engines still paint
        raise PrebuildError(f"could not prebuild {Path(pt).name} ({str(exc).strip().splitlines()[0][:200]}); "
                            f"paint with --engine torch or onnx") from None
    return path


def load(path: Path) -> Package:
    try:
        return Package(path)
    except Exception as exc:  # noqa: BLE001 - a damaged package: say which file to remove
        raise PrebuildError(f"cannot load the prebuilt painter {path} ({str(exc).strip().splitlines()[0][:200]}); "
                            f"delete it and run python -m infer prebuild again") from None


def padded(frames: np.ndarray) -> np.ndarray:
    """Frames reflected at the bottom and right to a multiple of ``SIZE_MULTIPLE``: what the network does
    inside (``TransformerNet.forward``), done before the package, whose sizes are multiples of it."""
    h, w = frames.shape[1:3]
    pad = ((0, 0), (0, -h % SIZE_MULTIPLE), (0, -w % SIZE_MULTIPLE), (0, 0))
    return np.pad(frames, pad, mode="reflect") if any(p for _, p in pad) else frames
