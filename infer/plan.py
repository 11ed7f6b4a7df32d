"""How a painter is opened: the engine, precision and file, decided in one place, with the reasons.

``plan`` weighs the painter's files, the device, the work ahead and what is prebuilt for this machine;
``Plan.explain`` says what it chose and why (``--explain``); ``open_network`` opens it.
"""

from __future__ import annotations

import importlib.util
import logging
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime as ort
import torch

from infer import prebuilt
from infer.engines import ENGINES, PRECISIONS, EngineError, Network
from infer.networks import OnnxNetwork, TorchNetwork
from infer.painters import CHECKPOINTS, PainterFiles, stale_export
from infer.precision import PrecisionCheck
from infer.tiles import Tiling
from nets.device import cpp_compiler_found, native_bf16, pick_device

log = logging.getLogger(__name__)
#: Pixels to paint (frames × pixels a frame) from which compiling pays, by device type. CUDA: on an H100
#: the compiled engine saved about 4 ns a pixel over ONNX Runtime fp16 (128.6 against 64.2 frames/s at
#: 1080p, 34.9 against 16.0 at 4K; docs/PERFORMANCE.md); with about 20 s to compile, that is 5 gigapixels:
#: 2,400 frames of 1080p, 600 of 4K. CPU (2 cores): compiled bf16 saves 0.76 µs a pixel over eager bf16 at
#: 720p (compiled fp32 0.75 over ONNX Runtime), against 4–20 s of compiling: 10⁸ pixels (about 110 frames
#: of 720p) leaves a margin.
COMPILE_PAYS_PIXELS = {"cuda": 5e9, "cpu": 1e8}
#: The painter files (names of the shipped ones, else paths) and precisions that ``auto`` ran on this CPU
#: without a package for this machine, in this process: ``prebuild_tip`` names them.
_UNBUILT: set[tuple[str, str]] = set()

@dataclass
class Plan:
    """What opens a painter file: the engine, the precision and the file it runs, with why each was chosen."""

    files: PainterFiles
    device: torch.device
    engine: str  # onnx, torch, compiled or prebuilt
    precision: str  # what is asked of the network (an ONNX file computes in its own)
    onnx_file: Path | None
    tiling: Tiling | None
    reasons: list[str] = field(default_factory=list)

    def explain(self) -> str:
        """The plan in a few lines, for ``--explain``."""
        tiles = "tiles only for frames too big for the memory budget"
        if self.tiling is not None and self.tiling.tile:
            tiles = f"tiles of {self.tiling.tile} px"
        run = self.onnx_file if self.engine == "onnx" else self.files.pt
        lines = [f"{self.files.first.stem}: {self.engine} engine, {self.precision}, on {self.device}, {tiles}",
                 f"  runs {run}"]
        return "\n".join(lines + [f"  - {reason}" for reason in self.reasons])


def plan(files: PainterFiles, engine: str = "auto", device: str = "auto", precision: str = "auto",
         tiling: Tiling | None = None, workload: float = 0) -> Plan:
    """How to open a painter file, and why.

    ``auto`` precision: fp16 on CUDA; on the CPU bf16 where the CPU computes it in hardware and a PyTorch
    engine may run (ONNX Runtime's CPU provider has no bf16 convolutions), else fp32 (``default_precision``).
    ``auto`` engine: on the CPU the painter prebuilt for this machine where it has been (``infer.prebuilt``);
    else the compiled PyTorch engine when ``workload`` (the pixels to paint: frames × pixels a frame) repays
    compiling (``COMPILE_PAYS_PIXELS``); otherwise PyTorch eager in bf16, or ONNX Runtime when an exported file
    exists, else PyTorch eager.
    """
    if engine not in ENGINES or precision not in PRECISIONS:
        raise EngineError(f"engine must be one of {ENGINES} and precision one of {PRECISIONS}")
    dev = pick_device(device)
    reasons = []
    if precision == "auto":
        precision = default_precision(dev, engine, files.pt is not None)
        reasons.append(f"precision {precision}: " + ("fp16 on a GPU" if dev.type == "cuda" else
                       "this CPU computes bf16 in hardware" if precision == "bf16" else
                       "this CPU has no bf16 in hardware (AVX-512 BF16 or AMX)" if not native_bf16() else
                       "an ONNX engine or no .pt file (no bf16 there)"))
    if precision == "bf16" and engine == "onnx":
        raise EngineError("bf16 runs on the torch and compiled engines (ONNX Runtime has no bf16 convolutions "
                          "on the CPU): use --engine torch, or --precision fp32")
    half = precision == "fp16"
    onnx_file = (files.onnx_fp16 or files.onnx) if half else (files.onnx or files.onnx_fp16)
    might_use = engine in ("auto", "onnx") and precision != "bf16" and files.pt is not None and onnx_file is not None
    stale = stale_export(files.pt, onnx_file) if might_use else None
    if stale is not None:
        again = f"python -m infer export {files.pt} --overwrite"
        if engine == "onnx":
            raise EngineError(f"{stale}: export it again ({again}), or use --engine torch")
        log.warning("%s: painting with PyTorch instead (%s makes a matching one)", stale, again)
        reasons.append(f"the ONNX file is left out: {stale}")
        onnx_file = None
    if engine == "auto":
        can_prebuild = files.pt is not None and dev.type == "cpu" and precision in prebuilt.DTYPES
        ready = can_prebuild and prebuilt.package_path(files.pt, precision).is_file()
        if can_prebuild and not ready:  # a painter outside checkpoints/ is named by its path: found from anywhere
            shipped = files.pt.resolve().parent == CHECKPOINTS.resolve()
            _UNBUILT.add((files.pt.stem if shipped else str(files.pt.resolve()), precision))
        engine = default_engine(files.pt is not None, onnx_file is not None and precision != "bf16", dev, workload,
                                ready)
        reasons.append(f"engine {engine}: " + engine_reason(engine, dev, workload, can_prebuild))
    else:
        reasons.append(f"engine {engine}: asked for")
    if engine == "onnx" and onnx_file is None:
        raise EngineError(f"{files.pt} has no ONNX file; make one with: python -m infer export {files.pt}")
    if engine != "onnx" and files.pt is None:
        raise EngineError(f"the {engine} engine needs the painter's .pt file; there are only ONNX files")
    if precision != "fp32":
        reasons.append(f"{precision} is checked against fp32 on the first frames of each size (fp32 if it fails)")
    return Plan(files, dev, engine, precision, onnx_file, tiling, reasons)


def engine_reason(engine: str, device: torch.device, workload: float, could_prebuild: bool) -> str:
    """Why ``default_engine`` chose ``engine``, in words."""
    pays = COMPILE_PAYS_PIXELS.get(device.type, float("inf"))
    if engine == "prebuilt":
        return "a package prebuilt for this machine is there (compiled speed, nothing to compile)"
    if engine == "compiled":
        return f"{workload / 1e6:.0f} Mpixels to paint repay compiling (from {pays / 1e6:.0f})"
    unbuilt = " (python -m infer prebuild makes a prebuilt one)" if could_prebuild else ""
    small = f"{workload / 1e6:.1f} Mpixels to paint do not repay compiling (from {pays / 1e6:.0f}){unbuilt}; "
    return small + ("an ONNX export is there" if engine == "onnx" else "PyTorch eager")


def open_network(files: PainterFiles, engine: str = "auto", device: str = "auto", precision: str = "auto",
                 tiling: Tiling | None = None, workload: float = 0) -> Network:
    """A painter file on the back end ``plan`` chooses; a network that computes in fp16 or bf16 is checked
    against fp32 before its frames are used (``PrecisionCheck``)."""
    return open_planned(plan(files, engine, device, precision, tiling, workload))


def open_planned(chosen: Plan) -> Network:
    """The network of a plan."""
    files, dev, precision, tiling = chosen.files, chosen.device, chosen.precision, chosen.tiling
    network: OnnxNetwork | TorchNetwork
    if chosen.engine == "onnx":
        network = OnnxNetwork(chosen.onnx_file, dev, tiling)
        if precision == "fp16" and network.precision != "fp16":
            raise EngineError(f"--precision fp16 with the onnx engine needs an fp16 export, and {files.first.stem} "
                              f"has none: python -m infer export {files.pt or files.first.stem} --fp16 (or use "
                              f"--engine torch)")
        precision = network.precision
    else:
        network = TorchNetwork(files.pt, dev, precision, tiling, mode={"torch": "eager"}.get(chosen.engine,
                                                                                           chosen.engine))
    if precision != "fp32":
        network.check = _precision_check(files, dev, tiling, network.description, precision,
                                         on_probe=chosen.engine in ("torch", "prebuilt") and precision == "bf16")
    return network


def default_precision(device: torch.device, engine: str, has_pt: bool) -> str:
    """fp16 on CUDA; bf16 on a CPU with bf16 arithmetic in hardware (AVX-512 BF16 or AMX) where a PyTorch
    engine can run; fp32 otherwise (fp16 on a CPU and bf16 without hardware support are slower than fp32)."""
    if device.type == "cuda":
        return "fp16"
    return "bf16" if has_pt and engine != "onnx" and native_bf16() else "fp32"


def default_engine(has_pt: bool, has_onnx: bool, device: torch.device, workload: float,
                   prebuilt_ready: bool = False) -> str:
    """What ``auto`` runs: the painter prebuilt for this machine where it is (compiled speed, nothing to
    compile, opened in milliseconds: worth it for one small photo); compiled PyTorch for a workload that
    repays compiling, where the compiler's back end is there (Triton on CUDA, a C++ compiler on the CPU);
    else ONNX Runtime where there is an export and it can use the device; else PyTorch eager (fp16 on a GPU
    beats ONNX Runtime on the CPU)."""
    if prebuilt_ready:
        return "prebuilt"
    cuda = device.type == "cuda"
    backend = importlib.util.find_spec("triton") is not None if cuda else cpp_compiler_found()
    if has_pt and backend and workload >= COMPILE_PAYS_PIXELS.get(device.type, float("inf")):
        return "compiled"
    ort_runs_here = not cuda or "CUDAExecutionProvider" in ort.get_available_providers()
    return "onnx" if has_onnx and (ort_runs_here or not has_pt) else "torch"


def prebuild_tip() -> str | None:
    """How to prebuild the painters ``auto`` opened on this CPU without a package for it, for a command to say
    once it has finished: few CPU users read that a prebuilt painter paints 1.2–4× faster."""
    if not _UNBUILT or not cpp_compiler_found():
        return None
    default = default_precision(torch.device("cpu"), "prebuilt", True)
    commands = []
    for precision in sorted({p for _, p in _UNBUILT}):
        words = ["python", "-m", "infer", "prebuild", *sorted(name for name, p in _UNBUILT if p == precision)]
        commands.append(shlex.join(words + (["--precision", precision] if precision != default else [])))
    return f"tip: {' and '.join(commands)} (once, 1–2 minutes a painter file) makes this machine paint faster"


def _precision_check(files: PainterFiles, device: torch.device, tiling: Tiling | None, label: str, precision: str,
                     on_probe: bool) -> PrecisionCheck | None:
    """The check of a lower-precision network against the same painter in fp32: PyTorch eager, or the fp32
    export where there is no ``.pt``."""
    pt, onnx_file = files.pt, files.onnx
    if pt is not None:
        return PrecisionCheck(lambda: TorchNetwork(pt, device, "fp32", tiling), label, precision, on_probe)
    if onnx_file is not None:
        return PrecisionCheck(lambda: OnnxNetwork(onnx_file, device, tiling), label, precision, on_probe)
    log.warning("%s cannot be checked against fp32: there is no fp32 file of this painter", label)
    return None


