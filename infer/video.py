"""Stylising a whole clip: decode, stylise in batches and encode at the same time, keeping its timing.

A reader thread decodes frames (and passes audio packets through untouched), the calling thread runs
the engine on batches, and a writer thread encodes and muxes, with small queues between them so the
engine waits on I/O as little as possible. Frame timestamps are copied, so frame count, frame rate and
duration stay those of the input; the audio track is copied without re-encoding. The output is written
to a temporary file and renamed only when complete.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from tqdm import tqdm

from infer.engines import Engine
from nets.files import atomic_path

log = logging.getLogger(__name__)
_END = object()


class VideoError(ValueError):
    """A clip cannot be read or written; the message says which and why."""


@dataclass
class ClipInfo:
    width: int
    height: int
    fps: Fraction
    frames: int
    duration: float
    audio: str | None  # codec name of the first audio track, if any


@dataclass
class RenderOptions:
    batch_size: int = 4
    crf: int = 18  # x264 quality: 0 lossless, 18 visually lossless, 23 x264's default, 51 worst
    preset: str = "medium"
    start: float = 0.0  # seconds
    duration: float | None = None  # seconds; None: to the end
    progress: bool = True


@dataclass
class RenderStats:
    frames: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise VideoError(f"no such file: {path}")
    try:
        return av.open(str(path))
    except av.FFmpegError as exc:
        raise VideoError(f"{path} is not a readable video ({exc.strerror or exc})") from None


def probe(path: str | os.PathLike) -> ClipInfo:
    """Size, frame rate, frame count and duration of a clip; a clear VideoError if it is not one."""
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise VideoError(f"{path} has no video stream")
        stream = container.streams.video[0]
        frames = stream.frames
        try:
            if not frames:  # not in the header: count the packets
                frames = sum(1 for packet in container.demux(stream) if packet.size)
        except av.FFmpegError as exc:
            raise VideoError(f"{path} is damaged ({exc.strerror or exc})") from None
        if not frames or not stream.width:
            raise VideoError(f"{path} has no video frames")
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)
        if stream.duration is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = frames / float(fps)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return ClipInfo(stream.width, stream.height, Fraction(fps), frames, duration, audio)


class _Pipeline:
    """Three stages joined by bounded queues: reader thread -> engine (calling thread) -> writer thread.

    Audio packets travel through the same queues, so they reach the muxer in roughly their demuxed
    order. Any stage that fails sets ``stop``; the others notice within 0.1 s and end.
    """

    def __init__(self, inp: av.container.InputContainer, out: av.container.OutputContainer, engine: Engine,
                 options: RenderOptions, expected: int) -> None:
        self.inp, self.out, self.engine, self.options, self.expected = inp, out, engine, options, expected
        self.in_video = inp.streams.video[0]
        self.in_video.thread_type = "AUTO"
        self.in_audio = inp.streams.audio[0] if inp.streams.audio else None
        self.out_video = out.streams.video[0]
        self.out_audio = out.streams.audio[0] if out.streams.audio else None
        self.end = options.start + options.duration if options.duration is not None else float("inf")
        self.stop = threading.Event()
        self.decoded: queue.Queue = queue.Queue(maxsize=4 * options.batch_size)
        self.encoded: queue.Queue = queue.Queue(maxsize=4 * options.batch_size)
        self.timings = {"decode": 0.0, "stylize": 0.0, "encode": 0.0}
        self.first_time: float | None = None
        self.errors: list[BaseException] = []

    # -- queue helpers that give up when another stage has failed -----------------------------------
    def put(self, q: queue.Queue, item: Any) -> None:
        while not self.stop.is_set():
            try:
                return q.put(item, timeout=0.1)
            except queue.Full:
                continue

    def get(self, q: queue.Queue) -> Any:
        while not self.stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return _END

    def offset(self, time_base: Fraction) -> int:
        """Timestamps shift by the start of the range, the same for every stream, so sync is kept."""
        return int(self.options.start / time_base)

    # -- stages ---------------------------------------------------------------------------------------
    def read(self) -> None:
        start, end = self.options.start, self.end
        if start > 0:
            self.inp.seek(int(start / self.in_video.time_base), stream=self.in_video, backward=True)
        streams = [s for s in (self.in_video, self.in_audio) if s is not None]
        tick = time.perf_counter()
        try:
            for packet in self.inp.demux(*streams):
                if self.stop.is_set():
                    return
                if packet.stream is self.in_audio:
                    when = packet.pts * packet.time_base if packet.pts is not None else None
                    # Keep the encoder-priming packets (negative pts) of an untrimmed clip too.
                    if when is not None and (start == 0 or when >= start) and when < end:
                        self.put(self.decoded, packet)
                    continue
                for frame in packet.decode():
                    if frame.time is None or not start - 1e-6 <= frame.time < end - 1e-6:
                        continue
                    array = frame.to_ndarray(format="rgb24")
                    self.timings["decode"] += time.perf_counter() - tick
                    self.put(self.decoded, (frame.pts, array))
                    tick = time.perf_counter()
        except av.FFmpegError as exc:
            raise VideoError(f"{self.inp.name} is damaged ({exc.strerror or exc})") from None
        self.put(self.decoded, _END)

    def write(self) -> None:
        video_offset = self.offset(self.in_video.time_base)
        while (item := self.get(self.encoded)) is not _END:
            tick = time.perf_counter()
            if isinstance(item, av.Packet):
                shift = self.offset(item.time_base)
                item.pts -= shift
                if item.dts is not None:
                    item.dts -= shift
                item.stream = self.out_audio
                self.out.mux(item)
            else:
                pts, array = item
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                frame.pts, frame.time_base = pts - video_offset, self.in_video.time_base
                self.out.mux(self.out_video.encode(frame))
            self.timings["encode"] += time.perf_counter() - tick
        if not self.stop.is_set():
            self.out.mux(self.out_video.encode(None))

    def stylize(self, bar: tqdm) -> int:
        """Batch frames through the engine; return how many were stylised."""
        count, batch, finished = 0, [], False
        while not finished:
            item = self.get(self.decoded)
            if self.stop.is_set():
                return count
            if isinstance(item, av.Packet):
                self.put(self.encoded, item)
                continue
            finished = item is _END
            if not finished:
                if self.first_time is None:  # the output's second 0
                    self.first_time = float(item[0] * self.in_video.time_base)
                batch.append(item)
            if batch and (finished or len(batch) == self.options.batch_size):
                tick = time.perf_counter()
                times = np.array([float(pts * self.in_video.time_base) for pts, _ in batch]) - self.first_time
                styled = self.engine(np.stack([array for _, array in batch]), times)
                self.timings["stylize"] += time.perf_counter() - tick
                for (pts, _), array in zip(batch, styled, strict=True):
                    self.put(self.encoded, (pts, array))
                count += len(batch)
                bar.update(len(batch))
                batch = []
        self.put(self.encoded, _END)
        return count

    def guarded(self, stage: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                stage()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                self.errors.append(exc)
                self.stop.set()
        return run

    def run(self) -> RenderStats:
        threads = [threading.Thread(target=self.guarded(stage), daemon=True) for stage in (self.read, self.write)]
        started = time.perf_counter()
        bar = tqdm(total=self.expected, unit="frame", desc=f"{self.engine.name} ({self.engine.description})",
                   disable=not self.options.progress, dynamic_ncols=True)
        try:
            for thread in threads:
                thread.start()
            count = self.stylize(bar)
            threads[1].join()  # the writer drains the queue and flushes the encoder
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
            bar.close()
        if self.errors:
            raise self.errors[0]
        if count == 0:
            raise VideoError(f"{self.inp.name} has no decodable video frames")
        return RenderStats(count, time.perf_counter() - started, self.timings)


def _add_video_stream(out: av.container.OutputContainer, width: int, height: int, fps: Fraction,
                      time_base: Fraction, options: RenderOptions) -> av.video.stream.VideoStream:
    """H.264 at this size and time base: yuv420p, or yuv444p for odd sizes (x264 needs even ones for 4:2:0)."""
    video = out.add_stream("libx264", rate=fps)
    video.width, video.height = width, height
    even = width % 2 == 0 and height % 2 == 0
    video.pix_fmt = "yuv420p" if even else "yuv444p"
    if not even:
        log.warning("%dx%d is odd-sized: encoding yuv444p to keep every pixel", width, height)
    video.codec_context.time_base = time_base
    video.options = {"crf": str(options.crf), "preset": options.preset}
    return video


def _add_streams(out: av.container.OutputContainer, inp: av.container.InputContainer, info: ClipInfo,
                 options: RenderOptions) -> None:
    """H.264 video at the input's size and time base, and a copy of the input's first audio track."""
    _add_video_stream(out, info.width, info.height, info.fps, inp.streams.video[0].time_base, options)
    if inp.streams.audio:
        out.add_stream_from_template(inp.streams.audio[0])


def write_video(dst: str | os.PathLike, frames: Iterable[np.ndarray], fps: int,
                options: RenderOptions | None = None) -> int:
    """Encode H×W×3 uint8 RGB frames as an H.264 clip (written atomically); return the frame count."""
    options = options or RenderOptions()
    count = 0
    with atomic_path(dst) as tmp, av.open(str(tmp), "w") as out:
        video = None
        for array in frames:
            if video is None:
                video = _add_video_stream(out, array.shape[1], array.shape[0], Fraction(fps), Fraction(1, fps), options)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = count, Fraction(1, fps)
            out.mux(video.encode(frame))
            count += 1
        if video is None:
            raise VideoError(f"no frames to write to {dst}")
        out.mux(video.encode(None))
    return count


def stylize_video(src: str | os.PathLike, dst: str | os.PathLike, engine: Engine,
                  options: RenderOptions | None = None) -> RenderStats:
    """Stylise every frame of ``src`` (within the time range) into ``dst`` with ``engine``."""
    options = options or RenderOptions()
    src, dst = Path(src), Path(dst)
    info = probe(src)
    end = options.start + options.duration if options.duration is not None else float("inf")
    expected = min(info.frames, round((min(end, info.duration) - options.start) * float(info.fps)))
    if expected <= 0:
        raise VideoError(f"no frames between {options.start:g} s and {end:g} s (the clip lasts {info.duration:.2f} s)")
    with atomic_path(dst) as tmp, _open(src) as inp:
        try:
            out = av.open(str(tmp), "w")
        except (av.FFmpegError, ValueError) as exc:
            raise VideoError(f"cannot write {dst} ({exc}); use an .mp4, .mkv or .mov name") from None
        with out:
            try:
                _add_streams(out, inp, info, options)
            except (av.FFmpegError, ValueError) as exc:
                raise VideoError(f"cannot write this clip as {dst.suffix} ({exc})") from None
            return _Pipeline(inp, out, engine, options, expected).run()
