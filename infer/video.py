"""Stylising a whole clip: decode, stylise in batches and encode at the same time, keeping its timing.

A reader thread decodes frames (and passes audio and subtitle packets through untouched), the calling
thread runs the engine on batches, and a writer thread encodes and muxes, with small queues between them
so the engine waits on I/O as little as possible. Frame timestamps are copied, so frame count, frame rate
and duration stay those of the input; every audio and subtitle track the output container can hold is
copied without re-encoding (audio it cannot hold is re-encoded to AAC, a subtitle track named in a
warning), with the clip's and the streams' tags (language, creation time). Video is encoded as H.264 by NVENC (the
GPU's encoder chip, idle otherwise) where it opens, else by x264, with the same quality setting. A phone
clip's rotation is applied, so the painting is made and written upright, and the pixel aspect ratio of
anamorphic clips is kept. Unless told otherwise the painting is steadied (``infer.steady``): the reader
measures each frame's motion beside the engine, and the engine's frames are aligned and blended. Times
(``start``, ``duration``, keyframes) count from the clip's first frame, whatever timestamp the container
starts at. The output is written to a temporary file and renamed only when complete.
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import io
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
import cv2
import numpy as np
import torch
from tqdm import tqdm

from infer.engines import Engine
from infer.steady import DEFAULT_STRENGTH, MotionTracker, Stabilizer
from nets.errors import UserError
from nets.files import atomic_path
from nets.progress import progress_bar

log = logging.getLogger(__name__)
#: Containers the painted clip may be written in (H.264 video).
WRITABLE_CLIP_SUFFIXES = (".mp4", ".mkv", ".mov")
#: ``--encoder`` words: auto is NVENC where it opens, else x264.
ENCODERS: dict[str, str | None] = {"auto": None, "nvenc": "h264_nvenc", "x264": "libx264"}
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
#: Each x264 preset as the NVENC preset of about the same speed-for-quality trade (p1 fastest … p7 best).
NVENC_PRESETS = dict(zip(X264_PRESETS, ("p1", "p1", "p2", "p3", "p3", "p4", "p5", "p6", "p7", "p7"), strict=True))
#: Pixels a batch of frames may hold by default: four 1080p frames, one 4K frame (GPU memory stays ~ fixed).
BATCH_PIXELS = 4 * 1920 * 1080
#: ``--pixel-format`` choices: 4:2:0 plays everywhere (odd sizes padded by a pixel); 4:4:4 keeps every pixel.
PIXEL_FORMATS = ("yuv420p", "yuv444p")
_END = object()


class VideoError(UserError):
    """A clip cannot be read or written; the message says which and why."""


class RenderCancelled(UserError):
    """The render was cancelled (``RenderOptions.cancel``); nothing was written."""


@dataclass
class ClipInfo:
    width: int  # as shown: after the clip's rotation
    height: int
    fps: Fraction
    frames: int
    duration: float
    audio: str | None  # codec name of the first audio track, if any
    rotation: int = 0  # degrees counter-clockwise that turn the stored frames upright: 0, 90, 180, 270
    start: float = 0.0  # the first frame's timestamp in seconds: where the clip's own time 0 is
    sample_aspect_ratio: Fraction | None = None  # of the pixels, as shown; None or 1: square
    codec: str = ""  # the video track's codec (FFmpeg's name: h264, mjpeg …)


@dataclass
class RenderOptions:
    batch_size: int | None = None  # frames per engine call; None: as many as fit BATCH_PIXELS, 1 to 4
    crf: int = 18  # quality: 0 lossless, 18 visually lossless, 23 x264's default, 51 worst (NVENC: its cq)
    preset: str = "medium"  # an x264 preset name; NVENC takes the nearest of its own
    encoder: str = "auto"  # a key of ENCODERS
    start: float = 0.0  # seconds
    duration: float | None = None  # seconds; None: to the end
    progress: bool = True
    tracks: bool = True  # copy the audio and subtitle tracks (a segment of a longer render has none)
    clock: float = 0.0  # seconds added to frame times before the engine sees them (a segment's place)
    stabilize: float | None = None  # the stabiliser's strength (infer.steady), 0 off; None: DEFAULT_STRENGTH
    lead_in: float = 0.0  # seconds before ``start`` painted only to settle the stabiliser (a segment's overlap)
    phase: tuple[float, float] = (0.0, 0.0)  # the scene's motion before the first frame decoded (a segment's)
    steady_device: str | None = None  # where the stabiliser's arithmetic runs: None, the host (OpenCV); a GPU
    max_size: int | None = None  # scale frames down so the longest side is at most this (a quick preview)
    pixel_format: str = "yuv420p"  # or yuv444p: full colour resolution, any size, but few players play it
    on_frames: Callable[[int, int], None] | None = None  # after each batch: (frames written, frames expected)
    cancel: threading.Event | None = None  # set from another thread: the render stops and leaves no output


@dataclass
class RenderStats:
    frames: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)
    encoder: str = ""  # the FFmpeg encoder that wrote the video

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
        sar = stream.sample_aspect_ratio
        codec = stream.codec_context.name
    with _open(path) as container:  # again from the start: raw streams cannot seek
        try:
            first = next(container.decode(video=0), None)
        except av.FFmpegError:
            first = None
    if first is None:
        raise VideoError(f"{path} has no decodable video frames")
    rotation = round(first.rotation / 90) * 90 % 360 if first.rotation == first.rotation else 0  # NaN: none
    width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
    if sar is not None and rotation in (90, 270):
        sar = 1 / sar
    return ClipInfo(width, height, Fraction(fps), frames, duration, audio, rotation,
                    first.time if first.time is not None else 0.0, sar, codec)


def _in_range(packet: av.Packet, info: ClipInfo, start: float, end: float) -> bool:
    """Whether a copied (audio, subtitle) packet belongs to the range rendered; an untrimmed clip keeps its
    encoder-priming packets (negative times) too."""
    if packet.pts is None:
        return False
    when = packet.pts * packet.time_base - info.start
    return (start == 0 or when >= start) and when < end


def _origin(info: ClipInfo, start: float, time_base: Fraction) -> int:
    """The input timestamp, in ``time_base``, that becomes the output's 0 when rendering from ``start``."""
    return round((info.start + start) / time_base)


def _move(packet: av.Packet, by: int, stream: av.stream.Stream) -> av.Packet:
    """``packet`` moved by ``by`` ticks of its time base and handed to the output ``stream``."""
    packet.pts += by
    if packet.dts is not None:
        packet.dts += by
    packet.stream = stream
    return packet


def _mux_time(packet: av.Packet) -> float:
    """Seconds by which packets of several streams are muxed in order: decode time where known."""
    return float((packet.dts if packet.dts is not None else packet.pts) * packet.time_base)


def _upright(frame: av.VideoFrame, info: ClipInfo, size: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded frame as H×W×3 RGB, turned upright by the clip's rotation (and scaled down to ``size``)."""
    array = frame.to_ndarray(format="rgb24")
    array = np.ascontiguousarray(np.rot90(array, info.rotation // 90)) if info.rotation else array
    if size is not None and size != (array.shape[1], array.shape[0]):
        array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    return array


def frame_size(info: ClipInfo, max_size: int | None) -> tuple[int, int]:
    """(width, height) of the painted frames: the clip's, or scaled down so the longest side is at most
    ``max_size`` (then even, for 4:2:0)."""
    if max_size is None or max(info.width, info.height) <= max_size:
        return info.width, info.height
    scale = max_size / max(info.width, info.height)
    return max(2, 2 * round(info.width * scale / 2)), max(2, 2 * round(info.height * scale / 2))


def frame_pts(frame: av.VideoFrame, index: int, info: ClipInfo, time_base: Fraction, container_format: str) -> int:
    """A decoded frame's timestamp. A raw stream has none, and AVI's are frame numbers in decoding order
    (with B-frames they come out of order): there frames follow one another at the clip's rate."""
    if frame.pts is None or container_format == "avi":
        return round((info.start + index / float(info.fps)) / time_base)
    return frame.pts


def clip_frames(src: str | os.PathLike, start: float = 0.0, end: float = float("inf"), max_size: int | None = None
                ) -> Iterable[tuple[float, np.ndarray]]:
    """(second from the clip's first frame, upright RGB frame) of every frame in [start, end), in order,
    chosen exactly as a render chooses them (a Ray render's driver follows the scene's motion with it)."""
    info = probe(src)
    with _open(Path(src)) as container:
        base = container.streams.video[0].time_base
        for index, frame in enumerate(container.decode(video=0)):
            when = float(frame_pts(frame, index, info, base, container.format.name) * base) - info.start
            if when >= end - 1e-6:
                return
            if when >= start - 1e-6:
                yield when, _upright(frame, info, frame_size(info, max_size))


class _Pipeline:
    """Three stages joined by bounded queues: reader thread -> engine (calling thread) -> writer thread.

    Audio and subtitle packets travel through the same queues, so they reach the muxer in roughly their
    demuxed order. Any stage that fails sets ``stop``; the others notice within 0.1 s and end.
    """

    def __init__(self, inp: av.container.InputContainer, out: av.container.OutputContainer, engine: Engine,
                 options: RenderOptions, info: ClipInfo, expected: int, copied: dict[int, Track]) -> None:
        self.inp, self.out, self.engine, self.options, self.info = inp, out, engine, options, info
        self.expected, self.copied = expected, copied  # input stream index -> where its packets go
        self.in_video = inp.streams.video[0]
        self.in_video.thread_type = "AUTO"
        self.out_video = out.streams.video[0]
        self.end = options.start + options.duration if options.duration is not None else float("inf")
        self.origin = info.start + options.start  # the input's timestamp of the output's second 0
        self.size = frame_size(info, options.max_size)
        strength = DEFAULT_STRENGTH if options.stabilize is None else options.stabilize
        self.steady = Stabilizer(strength, options.phase,
                                 None if options.steady_device is None else torch.device(options.steady_device))
        self.stop = threading.Event()
        self.decoded: queue.Queue = queue.Queue(maxsize=4 * options.batch_size)
        self.encoded: queue.Queue = queue.Queue(maxsize=4 * options.batch_size)
        self.timings = {"decode": 0.0, "stylize": 0.0, "encode": 0.0}
        self.errors: list[BaseException] = []
        self.reopened: av.container.InputContainer | None = None  # when read() had to start again

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

    def shift(self, time_base: Fraction) -> int:
        """Timestamps shift by where the output starts, the same for every stream, so sync is kept."""
        return _origin(self.info, self.options.start, time_base)

    # -- stages ---------------------------------------------------------------------------------------
    def read(self) -> None:
        """Decode the range into the queue. A seek that lands past it (MPEG-TS seeks by bytes) or a stream
        that cannot seek (raw H.264) is read again from the first frame instead."""
        start, sent = self.options.start, 0
        try:
            if start - self.options.lead_in > 0:
                self.inp.seek(int((self.origin - self.options.lead_in) / self.in_video.time_base), stream=self.in_video,
                              backward=True)
            sent = self.demux()
        except av.FFmpegError:  # only with start > 0 (demux reports damage itself otherwise): go again from 0
            pass
        if sent == 0 and start > 0 and not self.stop.is_set():
            self.reopened = _open(Path(self.inp.name))
            self.inp, self.in_video = self.reopened, self.reopened.streams.video[0]
            self.demux()
        self.put(self.decoded, _END)

    def demux(self) -> int:
        """One pass over the container from where it stands; the number of frames in the range queued.

        With the stabiliser on, each frame's motion from the one before is measured here, beside the engine."""
        start, end, info = self.options.start, self.end, self.info
        first = start - self.options.lead_in  # frames before ``start`` only settle the stabiliser
        video_base = self.in_video.time_base
        streams = [self.in_video] + [self.inp.streams[index] for index in self.copied]
        tick, index, sent = time.perf_counter(), 0, 0
        tracker = MotionTracker() if self.steady.strength > 0 else None
        try:
            for packet in self.inp.demux(*streams):
                if self.stop.is_set():
                    return sent
                if packet.stream is not self.in_video:
                    if _in_range(packet, info, start, end):
                        self.put(self.decoded, packet)
                    continue
                for frame in packet.decode():
                    pts = frame_pts(frame, index, info, video_base, self.inp.format.name)
                    index += 1
                    when = float(pts * video_base) - info.start
                    if not first - 1e-6 <= when < end - 1e-6:
                        continue
                    array = _upright(frame, info, self.size)
                    self.timings["decode"] += time.perf_counter() - tick
                    motion = None
                    if tracker is not None:
                        tick = time.perf_counter()
                        motion = tracker(array)
                        self.timings["flow"] = self.timings.get("flow", 0.0) + time.perf_counter() - tick
                    self.put(self.decoded, (pts - self.shift(video_base), array, motion, when < start - 1e-6))
                    sent += 1
                    tick = time.perf_counter()
        except av.FFmpegError as exc:
            if sent == 0 and start > 0:
                raise  # read() tries again from the start
            raise VideoError(f"{self.inp.name} is damaged ({exc.strerror or exc})") from None
        return sent

    def write(self) -> None:
        while (item := self.get(self.encoded)) is not _END:
            tick = time.perf_counter()
            if isinstance(item, av.Packet):
                self.copied[item.stream.index].mux(self.out, item, self.shift)
            else:
                pts, array = item
                frame = _video_frame(array, self.out_video)
                frame.pts, frame.time_base = pts, self.in_video.time_base
                self.out.mux(self.out_video.encode(frame))
            self.timings["encode"] += time.perf_counter() - tick
        if not self.stop.is_set():
            self.out.mux(self.out_video.encode(None))
            for track in self.copied.values():
                track.flush(self.out)

    def stylize(self, bar: tqdm) -> int:
        """Batch frames through the engine (with each frame's second in the output); return how many."""
        count, batch, finished = 0, [], False
        while not finished:
            if self.options.cancel is not None and self.options.cancel.is_set():
                raise RenderCancelled(f"cancelled after {count} of {self.expected} frames; nothing was written")
            item = self.get(self.decoded)
            if self.stop.is_set():
                return count
            if isinstance(item, av.Packet):
                self.put(self.encoded, item)
                continue
            finished = item is _END
            if not finished:
                batch.append(item)
            if batch and (finished or len(batch) == self.options.batch_size):
                tick = time.perf_counter()
                times = np.array([float(item[0] * self.in_video.time_base) + self.options.clock for item in batch])
                styled = self.steady(self.engine, np.stack([item[1] for item in batch]), times,
                                     [item[2] for item in batch])
                self.timings["stylize"] += time.perf_counter() - tick
                kept = [(item[0], array) for item, array in zip(batch, styled, strict=True) if not item[3]]
                for pts_array in kept:
                    self.put(self.encoded, pts_array)
                count += len(kept)
                bar.update(len(kept))
                if self.options.on_frames is not None:
                    self.options.on_frames(count, self.expected)
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
        bar = progress_bar(total=self.expected, unit="frame", desc=f"{self.engine.name} ({self.engine.description})",
                          disable=not self.options.progress)
        try:
            for thread in threads:
                thread.start()
            count = self.stylize(bar)
            threads[1].join()  # the writer drains the queue and flushes the encoder
        finally:
            self.stop.set()
            for thread in threads:
                if thread.is_alive():  # an interrupt may land before the second one starts: it has nothing to join
                    thread.join()
            bar.close()
            if self.reopened is not None:
                self.reopened.close()
        if self.errors:
            raise self.errors[0]
        if count == 0:
            raise VideoError(f"{self.inp.name} has no decodable video frames")
        whole = self.options.duration is None and self.options.start == 0
        if whole and count < self.info.frames:
            log.warning("%s ended after %d of its %d frames: it may be truncated or damaged", self.inp.name,
                        count, self.info.frames)
        elif not whole and count < self.expected - 1:  # a range's ends may round either way by a frame
            log.warning("%s ended after %d of the %d frames expected in the range: it may be truncated or damaged",
                        self.inp.name, count, self.expected)
        return RenderStats(count, time.perf_counter() - started, self.timings, self.out_video.codec_context.name)


@functools.cache
def nvenc_opens() -> str | None:
    """Why NVENC cannot encode here (no NVIDIA GPU or driver, a wheel without it), or None if it can."""
    try:
        context = av.CodecContext.create(ENCODERS["nvenc"], "w")
        context.width, context.height, context.pix_fmt = 256, 256, "yuv420p"
        context.time_base = Fraction(1, 25)
        context.open()
    except (av.FFmpegError, ValueError) as exc:  # ValueError: FFmpeg has no such encoder
        return str(exc)
    return None


def choose_encoder(word: str) -> str:
    """The FFmpeg encoder for an ``--encoder`` word; a VideoError if NVENC is asked for and cannot run."""
    if word not in ENCODERS:
        raise VideoError(f"--encoder must be one of {', '.join(ENCODERS)}, not {word!r}")
    if word == "x264" or (word == "auto" and nvenc_opens() is not None):
        return ENCODERS["x264"]
    if word == "nvenc" and (why := nvenc_opens()) is not None:
        raise VideoError(f"NVENC cannot encode here ({why}); it needs an NVIDIA GPU and its driver: use --encoder x264")
    return ENCODERS["nvenc"]


def _add_video_stream(out: av.container.OutputContainer, width: int, height: int, fps: Fraction,
                      time_base: Fraction, options: RenderOptions) -> av.video.stream.VideoStream:
    """H.264 at this size and time base, in ``options.pixel_format``. 4:2:0 (what browsers, phones and
    QuickTime play) needs even sides: an odd-sized clip gets one more row or column, its edge repeated;
    4:4:4 keeps any size."""
    encoder = choose_encoder(options.encoder)
    if options.pixel_format not in PIXEL_FORMATS:
        raise VideoError(f"--pixel-format must be one of {', '.join(PIXEL_FORMATS)}, not {options.pixel_format!r}")
    video = out.add_stream(encoder, rate=fps)
    padded = (width + width % 2, height + height % 2) if options.pixel_format == "yuv420p" else (width, height)
    video.width, video.height = padded
    video.pix_fmt = options.pixel_format
    if padded != (width, height):
        log.warning("%dx%d is odd-sized: written as %dx%d (the last row or column repeated) so that 4:2:0 plays "
                    "everywhere; --pixel-format yuv444p keeps the size", width, height, *padded)
    video.codec_context.time_base = time_base
    if encoder == ENCODERS["x264"]:
        video.options = {"crf": str(options.crf), "preset": options.preset}
    else:  # constant quality at the same number (0: lossless), no bitrate cap
        quality = {"tune": "lossless"} if options.crf == 0 else {"rc": "vbr", "cq": str(options.crf), "b": "0"}
        video.options = {"preset": NVENC_PRESETS[options.preset]} | quality
    return video


def _video_frame(array: np.ndarray, stream: av.video.stream.VideoStream) -> av.VideoFrame:
    """An RGB frame for ``stream``, its edge repeated up to the stream's size (an odd size padded for 4:2:0)."""
    extra = (stream.height - array.shape[0], stream.width - array.shape[1])
    if any(extra):
        array = np.pad(array, ((0, extra[0]), (0, extra[1]), (0, 0)), mode="edge")
    return av.VideoFrame.from_ndarray(array, format="rgb24")


def _holds(container_format: str, stream: av.stream.Stream, packet: av.Packet | None) -> bool:
    """Whether a container of this format can hold a copy of ``stream``: its header and first packet are
    written in memory (some muxers take the header, then refuse the packets: PCM from an AVI into MP4)."""
    try:
        with av.open(io.BytesIO(), "w", format=container_format) as trial:
            copy = trial.add_stream_from_template(stream)
            trial.start_encoding()
            if packet is not None:
                packet.stream = copy
                trial.mux(packet)
    except (av.FFmpegError, ValueError, TypeError):
        return False
    return True


@dataclass
class Track:
    """Where an input audio or subtitle track goes: copied packet by packet, or (audio the container cannot
    hold as it is) re-encoded to AAC."""

    stream: av.stream.Stream  # in the output
    reencode: bool = False

    def mux(self, out: av.container.OutputContainer, packet: av.Packet, shift: Callable[[Fraction], int]) -> None:
        """``packet`` into ``out``, its time moved back by ``shift(time base)`` ticks (where the output starts)."""
        if not self.reencode:
            out.mux(_move(packet, -shift(packet.time_base), self.stream))
            return
        for frame in packet.decode():
            frame.pts -= shift(frame.time_base)
            out.mux(self.stream.encode(frame))

    def flush(self, out: av.container.OutputContainer) -> None:
        if self.reencode:
            out.mux(self.stream.encode(None))


def _first_packets(path: str, indexes: list[int], most: int = 1000) -> dict[int, av.Packet]:
    """The first packet of each of these streams (what ``_holds`` tries), from a fresh read of the file's
    first ``most`` packets: a track silent at the start (subtitles, say) is not looked for to the end."""
    found: dict[int, av.Packet] = {}
    with av.open(path) as container:
        for count, packet in enumerate(container.demux(*[container.streams[i] for i in indexes])):
            if packet.size and packet.stream.index not in found:
                found[packet.stream.index] = packet
            if len(found) == len(indexes) or count >= most:
                break
    return found


def _add_streams(out: av.container.OutputContainer, inp: av.container.InputContainer, info: ClipInfo,
                 options: RenderOptions) -> tuple[av.video.stream.VideoStream, dict[int, Track]]:
    """H.264 video at the shown size, pixel aspect and the input's time base, and (with ``options.tracks``)
    a copy of every audio and subtitle track the container can hold."""
    video = _add_video_stream(out, *frame_size(info, options.max_size), info.fps, inp.streams.video[0].time_base,
                              options)
    out.metadata.update(inp.metadata)  # creation time, title …
    video.metadata.update({k: v for k, v in inp.streams.video[0].metadata.items() if k in ("language", "title")})
    if info.sample_aspect_ratio and info.sample_aspect_ratio != 1:
        video.codec_context.sample_aspect_ratio = info.sample_aspect_ratio
    return video, copy_tracks(out, inp) if options.tracks else {}


def copy_tracks(out: av.container.OutputContainer, inp: av.container.InputContainer) -> dict[int, Track]:
    """Where every audio and subtitle track of ``inp`` goes in ``out``: a copy where the container can hold
    it, else audio re-encoded to AAC (with a note); a subtitle track it cannot hold is named in a warning.
    Language tags and the like go along. Returns input stream index -> Track."""
    tracks, dropped = {}, []
    streams = [*inp.streams.audio, *inp.streams.subtitles]
    first = _first_packets(inp.name, [s.index for s in streams]) if streams else {}
    suffix = Path(out.name).suffix or out.format.name
    for stream in streams:
        if _holds(out.format.name, stream, first.get(stream.index)):
            tracks[stream.index] = Track(out.add_stream_from_template(stream))
        elif stream.type == "audio":
            channels = stream.codec_context.layout.nb_channels  # in a standard order: AAC refuses "1 channels"
            layout = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels, "stereo")
            aac = out.add_stream("aac", rate=stream.codec_context.sample_rate, layout=layout)
            tracks[stream.index] = Track(aac, reencode=True)
            log.warning("%s cannot hold audio track %d (%s) as it is: re-encoded to AAC", suffix, stream.index,
                        stream.codec_context.name)
        else:
            dropped.append(f"{stream.type} track {stream.index} ({stream.codec_context.name})")
            continue
        tracks[stream.index].stream.metadata.update(stream.metadata)
    if dropped:
        log.warning("%s cannot hold %s: left out (an .mkv output keeps nearly any track)", suffix, ", ".join(dropped))
    return tracks


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
            frame = _video_frame(array, video)
            frame.pts, frame.time_base = count, Fraction(1, fps)
            out.mux(video.encode(frame))
            count += 1
        if video is None:
            raise VideoError(f"no frames to write to {dst}")
        out.mux(video.encode(None))
    return count


def rendered_seconds(info: ClipInfo, start: float, duration: float | None) -> float:
    """How long the output of rendering ``duration`` seconds (None: to the end) from ``start`` lasts."""
    end = start + duration if duration is not None else float("inf")
    return min(end, info.duration) - start


def default_batch(width: int, height: int) -> int:
    """Frames per engine call when none is given: 1 to 4, as many as ``BATCH_PIXELS`` holds."""
    return max(1, min(4, BATCH_PIXELS // (width * height)))


def stylize_video(src: str | os.PathLike, dst: str | os.PathLike, engine: Engine,
                  options: RenderOptions | None = None) -> RenderStats:
    """Stylise every frame of ``src`` (within the time range) into ``dst`` with ``engine``."""
    src, dst = Path(src), Path(dst)
    info = probe(src)
    options = dataclasses.replace(options or RenderOptions())
    options.batch_size = options.batch_size or default_batch(*frame_size(info, options.max_size))
    end = options.start + options.duration if options.duration is not None else float("inf")
    expected = min(info.frames, round(rendered_seconds(info, options.start, options.duration) * float(info.fps)))
    if expected <= 0:
        span = f"between {options.start:g} s and {end:g} s" if options.duration is not None \
            else f"after {options.start:g} s"
        raise VideoError(f"no frames {span} (the clip lasts {info.duration:.2f} s)")
    with atomic_path(dst) as tmp, _open(src) as inp:
        try:
            out = av.open(str(tmp), "w")
        except (av.FFmpegError, ValueError) as exc:
            raise VideoError(f"cannot write {dst} ({exc}); use an .mp4, .mkv or .mov name") from None
        with out:
            try:
                _, copied = _add_streams(out, inp, info, options)
                out.start_encoding()  # the header, now: a container that cannot hold a track says so before the work
            except (av.FFmpegError, ValueError) as exc:
                raise VideoError(f"cannot write this clip as {dst.suffix} ({exc})") from None
            if info.rotation:
                log.info("%s is stored turned by %d°: painting it upright", src.name, info.rotation)
            return _Pipeline(inp, out, engine, options, info, expected, copied).run()


def join_segments(src: str | os.PathLike, segments: list[tuple[Path, float]], dst: str | os.PathLike,
                  options: RenderOptions | None = None) -> int:
    """Painted segments of ``src`` as one clip at ``dst``, without re-encoding; returns the frame count.

    ``segments``: (file, the clip second it starts at) in order, each rendered with ``tracks=False`` and
    that start. Their timestamps are moved to where a single render of ``options``' range puts them, and
    the source's audio and subtitle tracks are copied once, as a single render copies them.
    """
    options = options or RenderOptions()
    src, dst = Path(src), Path(dst)
    info = probe(src)
    end = options.start + options.duration if options.duration is not None else float("inf")
    frames = 0
    with atomic_path(dst) as tmp, _open(src) as inp, av.open(str(tmp), "w") as out:
        with av.open(str(segments[0][0])) as first:
            video = out.add_stream_from_template(first.streams.video[0])
        copied = copy_tracks(out, inp)
        out.start_encoding()
        input_base = inp.streams.video[0].time_base

        def video_packets() -> Iterable[tuple[float, av.Packet]]:
            for path, start in segments:
                with av.open(str(path)) as part:
                    stream = part.streams.video[0]
                    moved = (_origin(info, start, input_base) - _origin(info, options.start, input_base)) * input_base
                    shift = round(moved / stream.time_base)
                    for packet in part.demux(stream):
                        if packet.pts is None:  # the demuxer's end-of-stream marker
                            continue
                        yield _mux_time(_move(packet, shift, video)), packet

        def shift(time_base: Fraction) -> int:
            return _origin(info, options.start, time_base)

        def track_packets() -> Iterable[tuple[float, av.Packet]]:
            for packet in inp.demux(*[inp.streams[index] for index in copied]) if copied else ():
                if _in_range(packet, info, options.start, end):
                    yield _mux_time(packet) - float(shift(packet.time_base) * packet.time_base), packet

        for _, packet in heapq.merge(video_packets(), track_packets(), key=lambda item: item[0]):
            if packet.stream is video:
                frames += 1
                out.mux(packet)
            else:
                copied[packet.stream.index].mux(out, packet, shift)
        for track in copied.values():
            track.flush(out)
    return frames
