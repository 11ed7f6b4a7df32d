"""Making small test clips with PyAV: the shared clips have no audio, odd sizes or empty tracks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_clip(path: Path, frames: list[np.ndarray], fps: int = 10, audio_hz: float | None = None) -> None:
    """Encode RGB frames as H.264 (4:4:4 when odd-sized), with a mono AAC tone of the same length if asked."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.height, video.width = frames[0].shape[:2] if frames else (48, 64)
        video.pix_fmt = "yuv420p" if video.width % 2 == 0 and video.height % 2 == 0 else "yuv444p"
        if audio_hz is not None:
            audio = out.add_stream("aac", rate=48000)
            audio.layout = "mono"
            seconds = len(frames) / fps
            samples = np.sin(2 * np.pi * audio_hz * np.arange(int(48000 * seconds)) / 48000).astype(np.float32)
            for i, start in enumerate(range(0, len(samples), 1024)):
                chunk = samples[start:start + 1024][None]
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = 48000, i * 1024, Fraction(1, 48000)
                out.mux(audio.encode(frame))
            out.mux(audio.encode(None))
        out.start_encoding()  # writes the header even for a clip without frames
        for i, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def packets(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as container:
        streams = getattr(container.streams, kind)
        return [bytes(p) for p in container.demux(streams[0]) if p.size] if streams else []


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
