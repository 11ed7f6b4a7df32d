"""Wall time of one clip rendered in one process and by 1, 2 … Ray workers, with the split and join overhead.

The clip is made here: a camera pan across a photo (``--seconds`` at ``--fps``, 640×360, a keyframe every
two seconds, a sound track). Each way renders the same clip with the same painter; the Ray runs start a
local Ray of their own, which is counted (that is what a user waits for). Writes JSON and prints a table.

    python -m scripts.bench.ray --photo ../shared/data/photos/val/bsds300_img_001.jpg --workers 1 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from infer.ray_render import Painting, render_with_ray
from infer.video import RenderOptions, probe
from nets.files import write_json

WIDTH, HEIGHT = 640, 360


def make_pan(path: Path, photo: Path, seconds: float, fps: int) -> None:
    """A pan from left to right across ``photo`` (scaled to twice the frame's width), with a 440 Hz tone."""
    image = Image.open(photo).convert("RGB")
    image = np.asarray(image.resize((2 * WIDTH, round(image.height * 2 * WIDTH / image.width))))
    top = (image.shape[0] - HEIGHT) // 2
    count = round(seconds * fps)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"keyint": str(2 * fps), "min-keyint": str(2 * fps), "scenecut": "0"}
        audio = out.add_stream("aac", rate=48000, layout="mono")
        samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(48000 * seconds)) / 48000)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[start:start + 1024][None], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
        for k in range(count):
            left = round(k * (image.shape[1] - WIDTH) / max(count - 1, 1))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[top:top + HEIGHT, left:left + WIDTH]),
                                               format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument("-m", "--painter", default="vangogh_starry_night")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=Path("bench_ray.json"))
    args = parser.parse_args()
    painting = Painting([args.painter], args.engine, "cpu")
    options = RenderOptions(progress=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "pan.mp4"
        make_pan(clip, args.photo, args.seconds, args.fps)
        info = probe(clip)
        tick = time.perf_counter()
        stats = painting.stylizer().video(clip, Path(tmp) / "single.mp4", options)
        rows.append({"way": "one process", "wall_s": time.perf_counter() - tick, "frames": stats.frames})
        for workers in args.workers:
            tick = time.perf_counter()
            stats = render_with_ray(clip, Path(tmp) / f"ray{workers}.mp4", painting, options, workers=workers)
            rows.append({"way": f"Ray, {workers} worker{'s' if workers > 1 else ''}",
                         "wall_s": time.perf_counter() - tick, "frames": stats.frames, **stats.stage_seconds})
    base = rows[0]["wall_s"]
    write_json(args.out, {"clip": f"{info.width}x{info.height}, {info.frames} frames, {float(info.fps):g} fps",
                          "painter": args.painter, "engine": args.engine, "rows": rows})
    print(f"clip: {info.width}x{info.height}, {info.frames} frames at {float(info.fps):g} fps; painter {args.painter}")
    print("| way | wall s | × one process | split s | paint s | join s |\n|---|---|---|---|---|---|")
    for row in rows:
        stages = " | ".join(f"{row[k]:.1f}" if k in row else "–" for k in ("split", "paint", "join"))
        print(f"| {row['way']} | {row['wall_s']:.1f} | {base / row['wall_s']:.2f} | {stages} |")


if __name__ == "__main__":
    main()
