"""Networks: a painter file on a back end, every painter it holds chosen or blended per frame by weights.

- ``OnnxNetwork``: ONNX Runtime with the CUDA execution provider (tuned: cuDNN algorithm search, NHWC,
  CUDA graphs over device buffers bound once per frame shape) when a GPU is there, the CPU provider
  otherwise. Runs the exported ``.onnx`` file.
- ``TorchNetwork``: PyTorch on the painter's ``.pt``, eager or compiled by Inductor (CUDA graphs on a GPU),
  or prebuilt for this CPU; fp16 on CUDA, bf16 on CPUs that compute it in hardware.
Both run frames whole while they fit the memory budget, else in tiles that share the frame's statistics. A
lower-precision network is checked against fp32 on the first frames of every size before its output is used
(``infer.precision.PrecisionCheck``, set by ``infer.plan``).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from infer import prebuilt
from infer.engines import EngineError, check_frames
from infer.painters import stale_export
from infer.precision import PrecisionCheck
from infer.tiles import BYTES_PER_PIXEL, CPU_BUDGET, Measuring, Tiling, free_memory, stylize_tiled
from nets.painter import PainterFileError, load_painter
from nets.transformer import MIN_SIDE, FrameTransformer, Measured, NormStats

log = logging.getLogger(__name__)
#: ONNX Runtime's CUDA provider tuned for throughput: cuDNN tries every convolution algorithm once per
#: shape and may use all the workspace it wants; NHWC convolutions where the build has them (tensor cores
#: read that layout). CUDA graphs are asked for on top, where the graph allows them.
CUDA_TUNING = {"cudnn_conv_algo_search": "EXHAUSTIVE", "cudnn_conv_use_max_workspace": "1", "prefer_nhwc": "1"}
#: Compiled graphs a process may hold for the painter's forward (one per frame shape, batch and precision).
RECOMPILE_LIMIT = 64
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class _TiledNetwork(ABC):
    """What both back ends share: frames run whole while they fit the memory budget, else in tiles that
    share one set of instance-norm statistics (``infer.tiles``), so no size ends in an allocation failure."""

    tiling: Tiling
    bytes_per_pixel: float
    cuda_device: torch.device | None
    description: str
    check: PrecisionCheck | None = None  # set by open_network on a lower-precision network

    def budget(self) -> int:
        """Half the memory free now on the GPU; on the CPU that too, at most ``CPU_BUDGET``."""
        if self.cuda_device is not None:
            return torch.cuda.mem_get_info(self.cuda_device)[0] // 2
        return min(free_memory() // 2, CPU_BUDGET)

    def __call__(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        frames = check_frames(frames)
        count, h, w, _ = frames.shape
        if min(h, w) < MIN_SIDE:
            raise EngineError(f"image of {w}×{h} px is too small: both sides must be at least {MIN_SIDE} px")
        weights = np.ascontiguousarray(weights, dtype=np.float32)  # C order: a compiled graph guards on strides
        if self.check is None:
            return self.paint(frames, weights)
        failed = self.check.fallback is not None
        out = self.check(frames, weights, self.paint)
        if self.check.fallback is not None and not failed:
            self.description = f"{self.description} -> fp32 ({self.check.precision} failed its check)"
        return out

    def paint(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Whole while the batch fits the memory budget, else frame by frame, else in tiles."""
        count, h, w, _ = frames.shape
        budget = self.budget()
        if self.tiling.tile_side(h * count, w, budget, self.bytes_per_pixel) is None:
            return self.whole(frames, weights)
        core = self.tiling.tile_side(h, w, budget, self.bytes_per_pixel)
        if core is None:  # one frame at a time fits
            return np.concatenate([self.whole(frames[k:k + 1], weights[k:k + 1]) for k in range(count)])
        pixels = self.tiling.working_pixels(budget, self.bytes_per_pixel)  # the biggest thumbnail that fits
        return np.stack([stylize_tiled(frame, row, core, self.statistics, self.tile, thumbnail_pixels=pixels,
                                       progress=count == 1, measuring=self.measuring())
                         for frame, row in zip(frames, weights, strict=True)])

    @abstractmethod
    def whole(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``frames`` in one pass, each normalised with its own statistics."""

    @abstractmethod
    def statistics(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """N×S instance-norm statistics of a pass over ``frames`` (see ``nets.transformer.NormStats``)."""

    @abstractmethod
    def tile(self, frames: np.ndarray, weights: np.ndarray, stats: np.ndarray) -> np.ndarray:
        """``frames`` (tiles of one frame) normalised with the frame's statistics ``stats`` (1×S)."""

    def measuring(self) -> Measuring | None:
        """How passes over the tiles take a frame's own statistics (``infer.tiles.exact_statistics``): the
        eager PyTorch network of this painter; None where there is none to run (a thumbnail's are used)."""
        return None

    @staticmethod
    def _measuring(module: FrameTransformer, device: torch.device) -> Measuring:
        return Measuring(functools.partial(_TiledNetwork._measure, module, device), len(module.net.norm_channels))

    @staticmethod
    @torch.inference_mode()
    def _measure(module: FrameTransformer, device: torch.device, tile: np.ndarray, weights: np.ndarray,
                 values: dict, region: tuple[int, int, int, int, int], index: int) -> torch.Tensor:
        given = NormStats(False, {k: (mean.to(device), var.to(device)) for k, (mean, var) in values.items()},
                          region, index)
        try:
            module(torch.from_numpy(tile).to(device), torch.from_numpy(weights).to(device), given)
        except Measured:
            return given.sums.cpu()
        raise ValueError(f"the network has no norm {index}")


class TorchNetwork(_TiledNetwork):
    """PyTorch on the painter's ``.pt`` in ``precision``: ``eager``, ``compiled`` by Inductor (with CUDA graphs
    on a GPU), or ``prebuilt``: compiled once per machine for any frame size (``infer.prebuilt``, CPU only).

    Compiled, there is one graph per frame shape and batch (fixed shapes are what CUDA graphs replay); a
    batch shorter than the largest one seen (a clip's last) is padded to it instead of compiling another.
    The first call of a shape compiles (its seconds are in ``compile_seconds``); if compiling fails, the
    network says why and runs eager. Prebuilt, the package is built first if this machine has none (about
    90 s on 2 cores). Tiles and statistics always run eager: each tile size would compile.
    """

    def __init__(self, path: Path, device: torch.device, precision: str = "fp32", tiling: Tiling | None = None,
                 mode: str = "eager") -> None:
        model, payload = load_painter(path)
        self.painters: list[dict] = payload["painters"]
        self.device = device
        self.channels = model.norm_channels
        cuda = device.type == "cuda"
        # Contiguous (NCHW), not channels_last: on an H100 channels_last made fp16 eager 26% slower for this
        # network (instance norm and reflection padding copy between layouts), and on a CPU bf16 eager 27%
        # slower. Compiled bf16 on a CPU is the exception: 1.3× faster in channels_last (docs/PERFORMANCE.md).
        self.eager = FrameTransformer(model.to(DTYPES[precision])).to(device).eval()
        self.module: Callable = self.eager  # or the compiled one, until compiling fails
        self.mode = mode
        if mode == "prebuilt":
            if cuda or precision not in prebuilt.DTYPES:
                raise EngineError(f"prebuilt painters run on the CPU in {' or '.join(prebuilt.DTYPES)}; use "
                                  f"--engine compiled on a GPU")
            package = prebuilt.package_path(path, precision)
            if not package.is_file():
                log.info("building %s in %s for this machine, once (about 2 minutes on 2 cores; "
                         "python -m infer prebuild does it ahead)", path.stem, precision)
                package = prebuilt.build(path, precision)
            self.module = prebuilt.load(package)
        elif mode == "compiled":
            channels_last = not cuda and precision == "bf16"
            layout = torch.channels_last if channels_last else torch.contiguous_format
            fast = copy.deepcopy(self.eager).to(memory_format=layout) if channels_last else self.eager
            self.module = (torch.compile(fast, mode="reduce-overhead", dynamic=False) if cuda else
                           torch.compile(fast, dynamic=False, options=prebuilt.INDUCTOR_CPU_OPTIONS))
            # Every frame shape, batch and precision is a graph of one shared forward; past PyTorch's limit of
            # 8 it silently runs eager, which a process painting several sizes (a studio) reaches soon.
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
            # Inductor's C++ build looks for CUDA on every CPU compile and warns "No CUDA runtime is found"
            # wherever a CUDA toolkit is installed: noise for someone painting on the CPU.
            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        kind = {"eager": "", "prebuilt": " prebuilt", "compiled": " compiled" + (" + CUDA graphs" if cuda else "")}
        self.description = f"torch {device.type} {precision}{kind[mode]}"
        self.batch = 0  # the largest batch seen: shorter ones are padded to it
        self.compile_seconds: dict[tuple[int, ...], float] = {}
        self.tiling = tiling or Tiling()
        self.bytes_per_pixel = BYTES_PER_PIXEL["torch"] * (1.0 if precision == "fp32" else 0.6)
        self.cuda_device = device if cuda else None

    @torch.inference_mode()
    def run(self, frames: np.ndarray, weights: np.ndarray, stats: NormStats | None = None,
            module: Callable | None = None) -> np.ndarray:
        x = torch.from_numpy(np.require(frames, requirements=["C_CONTIGUOUS", "WRITEABLE"])).to(self.device)
        mix = torch.tensor(np.asarray(weights, dtype=np.float32), device=self.device)
        module = self.eager if module is None else module
        return (module(x, mix) if stats is None else module(x, mix, stats)).cpu().numpy()

    def whole(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if self.module is self.eager:
            return self.run(frames, weights)
        if self.mode == "prebuilt":  # any size and batch: only the sides are padded to what the package takes
            h, w, step = *frames.shape[1:3], prebuilt.MAX_BATCH
            return np.concatenate([self.run(prebuilt.padded(frames[k:k + step]), weights[k:k + step],
                                            module=self.module)[:, :h, :w] for k in range(0, len(frames), step)])
        count = len(frames)
        self.batch = max(self.batch, count)
        if count < self.batch:
            frames = np.concatenate([frames, np.repeat(frames[-1:], self.batch - count, axis=0)])
            weights = np.concatenate([weights, np.repeat(weights[-1:], self.batch - count, axis=0)])
        if frames.shape in self.compile_seconds:
            return self.run(frames, weights, module=self.module)[:count]
        tick = time.perf_counter()
        try:
            out = self.run(frames, weights, module=self.module)
        except Exception as exc:  # noqa: BLE001 - any compiler failure: the eager network gives the same frames
            log.warning("compiling the painter failed (%s): running it eager", str(exc).strip().splitlines()[0][:200])
            self.module = self.eager
            self.description = self.description.split(" compiled")[0] + " (compiling failed)"
            return self.run(frames, weights)[:count]
        self.compile_seconds[frames.shape] = seconds = time.perf_counter() - tick
        log.info("compiled for %s frames in %.1f s", "×".join(map(str, frames.shape[:3])), seconds)
        return out[:count]

    def statistics(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        stats = NormStats(record=True)
        self.run(frames, weights, stats)
        return stats.flat().cpu().numpy()

    def tile(self, frames: np.ndarray, weights: np.ndarray, stats: np.ndarray) -> np.ndarray:
        return self.run(frames, weights, NormStats.from_flat(torch.from_numpy(stats).to(self.device), self.channels))

    def measuring(self) -> Measuring:
        return self._measuring(self.eager, self.device)


class OnnxNetwork(_TiledNetwork):
    """An exported graph; frames that need tiles run on its companion ``<name>.tiles.onnx`` graph.

    On CUDA (``tuned``, the default) the provider runs with ``CUDA_TUNING`` and CUDA graphs where ONNX
    Runtime can capture them (every compute node on the GPU), else without; ``tuned=False`` is the plain
    provider, for comparison.
    """

    def __init__(self, path: Path, device: torch.device, tiling: Tiling | None = None, tuned: bool = True) -> None:
        self.path, self.device_id = path, device.index or 0
        self.cuda_graphs = tuned and device.type == "cuda"  # until a session says it cannot
        self.cuda_options: dict[str, str] = CUDA_TUNING if tuned else {}
        if device.type == "cuda" and hasattr(ort, "preload_dlls"):  # onnxruntime-gpu >= 1.21: CUDA/cuDNN from pip
            ort.preload_dlls()
        self.wants_cuda = device.type == "cuda"
        self.session = self._session(path)
        meta = self.session.get_modelmeta().custom_metadata_map
        if "painter" not in meta:
            raise PainterFileError(f"{path} is an ONNX file but not an exported painter (no painter metadata)")
        if "painters" in meta:
            self.painters = json.loads(meta["painters"])
        else:  # exported before families: one painter, its training settings beside it
            config = json.loads(meta.get("train_config", "{}"))
            self.painters = [{"name": meta["painter"], "style_image": config.get("style"),
                              "style_size": config.get("style_size")}]
        inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]
        if inputs not in (["frames"], ["frames", "painter_weights"]) or self.outputs[0] != "stylized":
            raise PainterFileError(f"{path} has painter metadata but takes {', '.join(inputs)} and gives "
                                   f"{', '.join(self.outputs)}: not a graph exported by this tool")
        self.takes_weights = len(inputs) > 1
        self.provider = self.session.get_providers()[0]
        self.on_gpu = self.provider == "CUDAExecutionProvider"
        if device.type == "cuda" and not self.on_gpu:
            log.warning("onnxruntime could not use CUDA here; running on the CPU")
        self.cuda_graphs = self.cuda_graphs and self.on_gpu
        self.precision = precision = meta.get("precision", "fp32")
        self.description = f"onnxruntime {self.provider} {precision}" + (" + CUDA graphs" if self.cuda_graphs else "")
        self.tiling = tiling or Tiling()
        self.bytes_per_pixel = BYTES_PER_PIXEL["onnx"] * (0.6 if precision == "fp16" else 1.0)
        self.cuda_device = device if self.on_gpu else None
        self.tiles: ort.InferenceSession | None = None  # opened when a frame first needs tiles
        self.bound: dict[tuple, BoundBuffers] = {}  # per session and input shapes, on the GPU
        self.measurer: FrameTransformer | bool | None = None  # the .pt it was exported from, once looked for

    def _session(self, path: Path) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the CPU fallback warning is reported by us, once
        # ONNX Runtime's CPU arena keeps the largest block it ever took, for every frame size it has seen:
        # tiles of several sizes then add up to far more than the budget a frame was cut to fit.
        options.enable_cpu_mem_arena = False
        cpu: list = ["CPUExecutionProvider"]
        cuda = {"device_id": str(self.device_id)} | self.cuda_options
        if self.cuda_graphs:
            try:
                return ort.InferenceSession(str(path), options, providers=[
                    ("CUDAExecutionProvider", cuda | {"enable_cuda_graph": "1"}), *cpu])
            except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own Fail for a graph it cannot capture
                log.info("ONNX Runtime cannot use CUDA graphs for %s (%s); running without them", path.name,
                         str(exc).splitlines()[0][:200])
                self.cuda_graphs = False
        providers = ([("CUDAExecutionProvider", cuda)] if self.wants_cuda else []) + cpu
        try:
            return ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:
            raise PainterFileError(f"{path} is not a painter ONNX file ({str(exc).splitlines()[0][:200]})") from None

    def run(self, session: ort.InferenceSession, output: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if not self.on_gpu:
            return session.run([output], inputs)[0]
        key = (id(session), *((name, value.shape) for name, value in inputs.items()))
        if key not in self.bound:
            graph = len(self.bound) if self.cuda_graphs else -1  # -1: no graph
            self.bound[key] = BoundBuffers(session, inputs, self.device_id, graph)
        return self.bound[key](inputs)[output]

    def _inputs(self, frames: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
        return {"frames": frames} | ({"painter_weights": weights} if self.takes_weights else {})

    def whole(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self.run(self.session, "stylized", self._inputs(frames, weights))

    def statistics(self, frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if "norm_stats" not in self.outputs:
            raise EngineError(f"{self.path} was exported before tiling; export it again (python -m infer export)")
        return self.run(self.session, "norm_stats", self._inputs(frames, weights))

    def tile(self, frames: np.ndarray, weights: np.ndarray, stats: np.ndarray) -> np.ndarray:
        if self.tiles is None:
            tiles = tiles_graph(self.path)
            if not tiles.is_file():
                raise EngineError(f"{self.path.name} has no tile graph {tiles.name} for frames this big; export "
                                  "it again (python -m infer export), or use --engine torch")
            self.tiles = self._session(tiles)
        return self.run(self.tiles, "stylized", self._inputs(frames, weights) | {"norm_stats": stats})

    def measuring(self) -> Measuring | None:
        """The painter file this graph was exported from, on the CPU in fp32, where it is beside it."""
        if self.measurer is None:
            pt = self.path.with_suffix(".pt")
            self.measurer = False
            if pt.is_file() and self.takes_weights and stale_export(pt, self.path) is None:
                self.measurer = FrameTransformer(load_painter(pt)[0]).eval()
            else:
                log.info("%s: no painter file it was exported from beside it; tiles take the statistics of a "
                         "thumbnail (a little off the untiled painting)", self.path.name)
        if self.measurer is False:
            return None
        return self._measuring(self.measurer, torch.device("cpu"))


class BoundBuffers:
    """Device buffers for one session and input shape, bound once: a CUDA graph replays reading and writing
    the addresses it was captured with, and reused buffers spare two allocations a call in any case."""

    _TYPES = {"tensor(uint8)": np.uint8, "tensor(float)": np.float32}

    def __init__(self, session: ort.InferenceSession, inputs: dict[str, np.ndarray], device_id: int,
                 graph: int, device: str = "cuda") -> None:
        self.session, self.binding = session, session.io_binding()
        self.inputs = {name: ort.OrtValue.ortvalue_from_numpy(value, device, device_id)
                       for name, value in inputs.items()}
        for name, value in self.inputs.items():
            self.binding.bind_ortvalue_input(name, value)
        frames = inputs["frames"].shape
        for out in session.get_outputs():  # symbolic dimensions follow the frames (batch, height, width)
            shape = [d if isinstance(d, int) else frames[k] for k, d in enumerate(out.shape)]
            value = ort.OrtValue.ortvalue_from_shape_and_type(shape, self._TYPES[out.type], device, device_id)
            self.binding.bind_ortvalue_output(out.name, value)
        self.names = [out.name for out in session.get_outputs()]
        self.options = ort.RunOptions()
        if graph >= 0:
            self.options.add_run_config_entry("gpu_graph_id", str(graph))

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for name, value in inputs.items():
            self.inputs[name].update_inplace(np.ascontiguousarray(value))
        self.session.run_with_iobinding(self.binding, self.options)
        return dict(zip(self.names, self.binding.copy_outputs_to_cpu(), strict=True))


def tiles_graph(path: Path) -> Path:
    """Where the tile graph of an exported painter lives: ``x.onnx`` -> ``x.tiles.onnx``."""
    return path.with_name(path.name.removesuffix(".onnx") + ".tiles.onnx")


