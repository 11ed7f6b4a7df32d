"""Rendering a long clip on many GPUs or machines with Ray: split at keyframes, paint in parallel, join.

The clip is cut at keyframes into segments (twice as many as workers, so a slow or failed one costs
little); each segment is a Ray task that paints its frames (video only, the painter loaded in the
worker) into a hidden folder beside the output; the painted segments are then joined without
re-encoding, with the source's audio and subtitle tracks copied once (``infer.video.join_segments``), so
frame count, timestamps, size and audio are those of a single render. A task whose worker dies or fails
is retried by Ray; nothing appears at the output until the join is complete; a rerun with the same
settings reuses the finished segments. Without an address a local Ray is started on the spot; with
one, every node must see the project, the painters and the clip's folder at the same paths.

With the stabiliser on, each segment starts ``LEAD_IN_FRAMES`` early: those frames are painted but not
written, so its first frames are blended as a single render would blend them; and the driver follows the
scene's motion through the clip once (flow at the stabiliser's size), so each segment paints at the grid
phase a single render would have reached there.

Ray is optional (``pip install -r requirements-ray.txt``). The reference method's clips cannot be split:
each frame starts from the previous one's result.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from infer.steady import MotionTracker, Stabilizer
from infer.stylizer import Stylizer
from infer.video import RenderOptions, RenderStats, VideoError, clip_frames, join_segments, probe
from nets.errors import UserError
from nets.files import write_json

log = logging.getLogger(__name__)
SEGMENTS_PER_WORKER = 2
RETRIES = 3
#: Frames a stabilised segment paints before its start: the blend forgets (0.4 at strength 1)^12 of them.
LEAD_IN_FRAMES = 12


class RayError(UserError):
    """Ray is missing or cannot start; the message says what to do."""


@dataclass
class Painting:
    """How to build the Stylizer in a worker: the arguments of :class:`infer.stylizer.Stylizer`."""

    painter: list[str] | None
    engine: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)  # blend, strength, preserve_colors, tiling
    keyframes: str | None = None

    def stylizer(self) -> Stylizer:
        return Stylizer(self.painter, self.engine, self.device, self.precision, **self.settings)


def keyframe_times(src: Path, info_start: float) -> list[float]:
    """Seconds (from the clip's first frame) of the video keyframes: where a segment can start cleanly."""
    times = []
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.pts is not None:
                times.append(float(packet.pts * stream.time_base) - info_start)
    return sorted(times)


def plan_segments(src: Path, options: RenderOptions, pieces: int) -> list[tuple[float, float | None]]:
    """(start, duration) of up to ``pieces`` segments covering the range, each starting at a keyframe."""
    info = probe(src)
    start = options.start
    end = min(start + options.duration, info.duration) if options.duration is not None else info.duration
    inside = [t for t in keyframe_times(src, info.start) if start + 1e-6 < t < end - 1e-6]
    cuts = []
    for k in range(1, pieces):
        wanted = start + (end - start) * k / pieces
        nearest = min(inside, key=lambda t: abs(t - wanted), default=None)
        if nearest is not None and nearest not in cuts:
            cuts.append(nearest)
    bounds = [start, *sorted(cuts)]
    last = None if options.duration is None else end - bounds[-1]  # an open end stays open: to the clip's end
    return [(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)] + [(bounds[-1], last)]


def render_segment(src: str, dst: str, painting: Painting, options: RenderOptions) -> int:
    """One segment, in a Ray worker (the painter is loaded there)."""
    stats = painting.stylizer().video(src, dst, options, painting.keyframes, overwrite=True)  # a retry
    return stats.frames


@dataclass
class Plan:
    """The segments of one render and where they go; a segment whose file exists is finished."""

    work: Path  # the hidden folder beside the output
    segments: list[tuple[float, float | None]]  # (start, duration) in the clip's seconds
    options: RenderOptions
    lead_ins: list[float]  # seconds painted before each segment to settle the stabiliser
    phases: list[tuple[float, float]]  # the stabiliser's offset at each segment's first frame painted

    @property
    def files(self) -> list[Path]:
        return [self.work / f"segment_{k:04d}.mp4" for k in range(len(self.segments))]

    def todo(self) -> list[int]:
        return [k for k, path in enumerate(self.files) if not path.is_file()]

    def segment_options(self, k: int) -> RenderOptions:
        """Segment ``k`` alone: video only, and frame times as in the whole render (for keyframes)."""
        start, duration = self.segments[k]
        return dataclasses.replace(self.options, start=start, duration=duration, tracks=False, progress=False,
                                   clock=start - self.options.start, lead_in=self.lead_ins[k], phase=self.phases[k])


def steady_phases(src: Path, options: RenderOptions, firsts: list[float]) -> list[tuple[float, float]]:
    """The stabiliser's offset at the frame of each of ``firsts`` (seconds), as a single render of
    ``options``' range reaches it: the motion of every frame before, measured as the render measures it."""
    tracker, follower = MotionTracker(), Stabilizer()
    wanted, phases = sorted(set(firsts)), {}
    last = wanted[-1] if wanted else options.start
    for when, frame in clip_frames(src, options.start, last + 1, options.max_size):
        follower.advance(tracker(frame))
        for first in wanted:
            if first not in phases and when >= first - 1e-6:
                phases[first] = (float(follower.offset[0]), float(follower.offset[1]))
        if len(phases) == len(wanted):
            break
    return [phases.get(first, (0.0, 0.0)) for first in firsts]


def plan_render(src: Path, dst: Path, painting: Painting, options: RenderOptions, pieces: int) -> Plan:
    """The segments of ``src``, in a folder beside ``dst`` that keeps the finished ones of the same render."""
    segments = plan_segments(src, options, pieces)
    lead_ins, phases = [0.0] * len(segments), [(0.0, 0.0)] * len(segments)
    if options.stabilize is None or options.stabilize > 0:
        fps = float(probe(src).fps)
        lead_ins = [min(LEAD_IN_FRAMES / fps, start - options.start) for start, _ in segments]
        firsts = [start - lead for (start, _), lead in zip(segments, lead_ins, strict=True)]
        phases = steady_phases(src, options, firsts)
    work = dst.with_name(f".{dst.name}.segments")
    plan = json.loads(json.dumps({"source": str(src.resolve()), "painting": dataclasses.asdict(painting),
                                  "options": dataclasses.asdict(options), "segments": segments}, default=str))
    if (work / "plan.json").is_file() and json.loads((work / "plan.json").read_text()) != plan:
        log.info("%s holds segments of another render; starting over", work)
        shutil.rmtree(work)
    work.mkdir(exist_ok=True)
    write_json(work / "plan.json", plan)
    return Plan(work, segments, options, lead_ins, phases)


def render_with_ray(src: str | Path, dst: str | Path, painting: Painting, options: RenderOptions,
                    address: str | None = None, workers: int = 0) -> RenderStats:
    """Paint ``src`` into ``dst`` with Ray tasks (``workers`` at a time; 0: one per GPU, else one per CPU)."""
    try:
        import ray
    except ImportError:
        raise RayError("Ray is not installed: pip install -r requirements-ray.txt") from None
    src, dst = Path(src), Path(dst)
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayError(f"cannot reach Ray at {address or 'a local instance'}: {exc}") from None
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        workers = workers or gpus or int(resources.get("CPU", 1))
        per_task = {"num_gpus": 1} if gpus else {"num_cpus": max(1, int(resources.get("CPU", 1)) // workers)}
        tick = time.perf_counter()
        plan = plan_render(src, dst, painting, options, workers * SEGMENTS_PER_WORKER)
        todo = plan.todo()
        task = ray.remote(max_retries=RETRIES, retry_exceptions=True, **per_task)(render_segment)
        pending = [task.remote(str(src), str(plan.files[k]), painting, plan.segment_options(k)) for k in todo]
        log.info("%s: %d segments (%d finished before) on %d Ray workers", src.name, len(plan.segments),
                 len(plan.segments) - len(todo), workers)
        seconds = {"split": time.perf_counter() - tick}
        try:
            ray.get(pending)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, UserError) else None
            raise cause or VideoError(f"a segment failed {RETRIES + 1} times: {exc}") from None
        seconds["paint"] = time.perf_counter() - tick - seconds["split"]
        frames = join_segments(src, [(path, start) for path, (start, _) in zip(plan.files, plan.segments,
                                                                               strict=True)], dst, options)
        shutil.rmtree(plan.work)
        seconds["join"] = time.perf_counter() - tick - seconds["split"] - seconds["paint"]
        return RenderStats(frames, time.perf_counter() - tick, seconds)
    finally:
        if started_here:
            ray.shutdown()
