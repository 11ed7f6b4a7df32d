"""The studio's numbers as a user meets them, measured through Chromium on the running page (JSON + a table):

- a 12 MP photo: from dropping it to the first preview, and to the full-size painting's download link;
- a 10-second 720p clip (../shared's cockatoo) end to end: from Render to the result's download link;
- the live view's frames/s at 320×240 and 640×360 with the fastest painter (the fast family): as the page
  receives them (Chromium's fake camera), and the painting step alone in the same process (the baseline:
  what the server could do without the browser's round trip);
- the server's memory (resident set) idle, and its peak while each job runs.

    python -m scripts.bench_studio --shared ../shared --out docs/bench/studio_2core.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nets.files import write_json
from scripts.studio_browser import WAIT_MS, Server, chromium, open_page, studio_server, upload
from studio.config import StudioConfig
from studio.context import Studio
from studio.tabs.live import SIZES, fit


class PeakMemory:
    """The server's resident memory sampled every 0.2 s while a job runs; ``peak`` in MB."""

    def __init__(self, server: Server) -> None:
        self.server, self.peak, self.stop = server, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.server.rss_mb())
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def twelve_mp_photo(shared: Path, folder: Path) -> Path:
    src = sorted((shared / "data" / "photos" / "val").glob("*.jpg"))[0]
    path = folder / "twelve_mp.jpg"
    Image.open(src).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(path, quality=92)
    return path


def measure_photo(page, photo: Path) -> dict[str, float]:
    tick = time.perf_counter()
    upload(page, "photo-input", photo)
    page.locator("#photo-preview img").first.wait_for(timeout=WAIT_MS)
    preview = time.perf_counter() - tick
    page.locator("#photo-paint").click()
    page.locator("#photo-download a[download]").first.wait_for(timeout=10 * WAIT_MS)
    return {"first_preview_s": round(preview, 2), "full_render_s": round(time.perf_counter() - tick, 2),
            "info": page.locator("#photo-info").inner_text().splitlines()[0]}


def measure_clip(page, clip: Path, seconds: float) -> dict[str, object]:
    page.get_by_role("tab", name="Video").click()
    upload(page, "video-input", clip)
    page.locator("#video-input video").first.wait_for(timeout=WAIT_MS)
    box = page.get_by_label("Length (s; 0: to the end)")
    box.fill(f"{seconds:g}")
    box.press("Tab")
    tick = time.perf_counter()
    page.locator("#video-render").click()
    page.locator("#video-download a[download]").first.wait_for(timeout=60 * WAIT_MS)
    return {"end_to_end_s": round(time.perf_counter() - tick, 2), "seconds_of_clip": seconds,
            "status": page.locator("#video-status").inner_text().strip()}


def measure_live(page, size: str, seconds: float) -> dict[str, object]:
    """Frames/s the page shows after ``seconds`` of streaming (the first ones compile for the size)."""
    page.get_by_role("tab", name="Live").click()
    page.get_by_text(size, exact=True).click()
    page.get_by_text("Click to Access Webcam").click()
    page.locator("#live-camera button", has_text="Record").click()
    readings = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(r"([\d.]+) frames/s", page.locator("#live-rate").inner_text())
        if found:
            readings.append(float(found.group(1)))
        time.sleep(0.5)
    settled = readings[len(readings) // 2:]
    return {"page_frames_per_s": round(float(np.median(settled)), 2) if settled else 0.0,
            "engine": page.locator("#live-rate").inner_text().strip()}


def live_baseline(output: Path, photo: Path, size: str, frames: int = 30) -> float:
    """The live view's painting step alone (crop, scale, paint) on a 640×480 camera frame, in this process."""
    studio = Studio.create(StudioConfig(output=str(output), device="cpu"))
    camera = np.asarray(Image.open(photo).convert("RGB").resize((640, 480)))
    stylizer = studio.library.stylizer(studio.default_family(), {"vangogh_starry_night": 1.0}, fast=True, stream=True)
    for _ in range(5):  # compiles for the size, where the machine compiles
        stylizer.image(fit(camera, SIZES[size]))
    tick = time.perf_counter()
    for _ in range(frames):
        stylizer.image(fit(camera, SIZES[size]))
    return round(frames / (time.perf_counter() - tick), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("docs/bench/studio_2core.json"))
    parser.add_argument("--clip-seconds", type=float, default=10.0)
    parser.add_argument("--live-seconds", type=float, default=40.0)
    args = parser.parse_args()
    results: dict[str, object] = {"machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = twelve_mp_photo(args.shared, folder)
        options = ("--device", "cpu", "--no-prebuild")  # painters prebuilt ahead are used; none is built meanwhile
        with studio_server(folder / "studio_output", *options) as server, chromium() as browser:
            page = open_page(browser, server.url)
            time.sleep(5)
            results["memory_idle_mb"] = round(server.rss_mb(), 1)
            with PeakMemory(server) as peak:
                results["photo_12mp"] = measure_photo(page, photo)
            results["photo_12mp"]["server_peak_mb"] = round(peak.peak, 1)
            with PeakMemory(server) as peak:
                results["clip_720p"] = measure_clip(page, args.shared / "data" / "video" / "cockatoo_1280x720.mp4",
                                                    args.clip_seconds)
            results["clip_720p"]["server_peak_mb"] = round(peak.peak, 1)
            results["live"] = {}
            for size in SIZES:
                live_page = open_page(browser, server.url, "Live")
                with PeakMemory(server) as peak:
                    results["live"][size] = measure_live(live_page, size, args.live_seconds)
                results["live"][size]["server_peak_mb"] = round(peak.peak, 1)
                live_page.context.close()
            results["memory_after_mb"] = round(server.rss_mb(), 1)
        for size in SIZES:
            results["live"][size]["painting_step_frames_per_s"] = live_baseline(folder / "baseline", photo, size)
    write_json(args.out, results)
    print(json.dumps(results, indent=2))
    print(f"\n{'what':<44} {'figure':>12}")
    print(f"{'12 MP photo: drop -> first preview':<44} {results['photo_12mp']['first_preview_s']:>10} s")
    print(f"{'12 MP photo: drop -> full render':<44} {results['photo_12mp']['full_render_s']:>10} s")
    print(f"{'10 s 720p clip end to end':<44} {results['clip_720p']['end_to_end_s']:>10} s")
    for size, live in results["live"].items():
        print(f"{'live ' + size + ' in the page / painting step':<44} "
              f"{live['page_frames_per_s']:>5} / {live['painting_step_frames_per_s']} frames/s")
    print(f"{'server memory idle / peak (clip)':<44} {results['memory_idle_mb']:>6} / "
          f"{results['clip_720p']['server_peak_mb']} MB")


if __name__ == "__main__":
    main()
