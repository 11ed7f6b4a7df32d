"""The studio's numbers as a user meets them, measured through Chromium on the running page (JSON + a table):

- a 12 MP photo: from dropping it to the first preview, and to the full-size painting's download link;
- a 10-second 720p clip (../shared's cockatoo) end to end: from Render to the result's download link;
- the server's memory (resident set) idle, and its peak while each job runs.

The live view has its own benchmark (scripts/bench/live.py).

    python -m scripts.bench.studio --shared ../shared --out docs/bench/studio_2core.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

from nets.device import cpu_kind
from nets.files import write_json
from scripts.helpers.studio_browser import WAIT_MS, PeakMemory, chromium, open_page, studio_server, upload


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("docs/bench/studio_2core.json"))
    parser.add_argument("--clip-seconds", type=float, default=10.0)
    args = parser.parse_args()
    results: dict[str, object] = {"machine": f"{cpu_kind()}, {len(os.sched_getaffinity(0))} cores"}
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
            results["memory_after_mb"] = round(server.rss_mb(), 1)
    write_json(args.out, results)
    print(json.dumps(results, indent=2))
    print(f"\n{'what':<44} {'figure':>12}")
    print(f"{'12 MP photo: drop -> first preview':<44} {results['photo_12mp']['first_preview_s']:>10} s")
    print(f"{'12 MP photo: drop -> full render':<44} {results['photo_12mp']['full_render_s']:>10} s")
    print(f"{'10 s 720p clip end to end':<44} {results['clip_720p']['end_to_end_s']:>10} s")
    print(f"{'server memory idle / peak (clip)':<44} {results['memory_idle_mb']:>6} / "
          f"{results['clip_720p']['server_peak_mb']} MB")


if __name__ == "__main__":
    main()
