"""Making small test clips with PyAV: the shared clips have no audio, odd sizes, rotation or odd containers."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_clip(path: Path, frames: list[np.ndarray], fps: int = 10, audio_hz: float | None = None, *,
              audio: Sequence[str] = (), container: str | None = None, video_codec: str = "libx264",
              rotation: int | None = None, sample_aspect_ratio: Fraction | None = None,
              options: dict[str, str] | None = None, keyframe_every: int | None = None,
              tags: dict[str, str] | None = None, language: str | None = None) -> None:
    """Encode RGB frames (H.264, 4:4:4 when odd-sized, unless another ``video_codec``), with tones.

    ``audio_hz``: one mono AAC tone of the clip's length; ``audio``: one tone track per codec named
    (440 Hz, 550 Hz …). ``container`` forces a format (``mpegts``, raw ``h264`` …); ``rotation`` is the
    display matrix angle (counter-clockwise degrees), ``sample_aspect_ratio`` the pixels' shape,
    ``keyframe_every`` the distance between keyframes in frames; ``tags`` the clip's metadata, ``language``
    every stream's.
    """
    codecs = list(audio) + (["aac"] if audio_hz is not None else [])
    with av.open(str(path), "w", format=container, options=options or {}) as out:
        video = out.add_stream(video_codec, rate=fps)
        video.height, video.width = frames[0].shape[:2] if frames else (48, 64)
        video.pix_fmt = "yuv420p" if video.width % 2 == 0 and video.height % 2 == 0 else "yuv444p"
        if keyframe_every is not None:
            video.codec_context.gop_size = keyframe_every
            video.options = {"keyint": str(keyframe_every), "min-keyint": str(keyframe_every), "scenecut": "0"}
        if rotation is not None:
            video.set_display_rotation(rotation)
        if sample_aspect_ratio is not None:
            video.codec_context.sample_aspect_ratio = sample_aspect_ratio
        seconds = len(frames) / fps
        tracks = [out.add_stream(codec, rate=48000, layout="mono") for codec in codecs]  # all before the header
        out.metadata.update(tags or {})
        for stream in (video, *tracks) if language else ():
            stream.metadata["language"] = language
        out.start_encoding()  # writes the header even for a clip without frames
        for k, track in enumerate(tracks):
            hz = audio_hz if audio_hz is not None and k == len(codecs) - 1 else 440 + 110 * k
            samples = 0.3 * np.sin(2 * np.pi * hz * np.arange(int(48000 * seconds)) / 48000)
            sample_format = track.codec_context.format.name
            samples = (samples * 32767).astype(np.int16) if sample_format.startswith("s16") else samples.astype(
                np.float32)
            size = track.codec_context.frame_size or 1024
            for start in range(0, len(samples), size):
                frame = av.AudioFrame.from_ndarray(samples[start:start + size][None], format=sample_format,
                                                   layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
                out.mux(track.encode(frame))
            out.mux(track.encode(None))
        for i, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def packets(path: Path, kind: str, track: int = 0) -> list[bytes]:
    with av.open(str(path)) as container:
        streams = getattr(container.streams, kind)
        return [bytes(p) for p in container.demux(streams[track]) if p.size] if len(streams) > track else []


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
