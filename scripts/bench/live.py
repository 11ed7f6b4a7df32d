"""The live view as a user meets it: Chromium's fake camera on the running studio, measured in the page (JSON +
a table).

- frames/s in the page, the delay from camera to painting, and the server's painting time at each size, once the
  painter is prepared for it (medians of the page's readings over ``--seconds``);
- the painting step alone (fit and paint a 640×480 camera frame with the fast family) in this process, after the
  server has stopped: the baseline. Targets: the page at ≥ 0.8× its frames/s, a delay of ≤ 2 of its times;
- two viewers at once at the first size: each one's frames/s (they take turns at the painter);
- the server's memory over ``--memory-minutes`` of live painting at the first size: the first minute's mean
  against the last minute's;
- where the cores go meanwhile (cores busy, from /proc: the browser's processes, the studio's, the rest), which
  says how much of the gap to the painting step alone is the page sharing the painter's cores.

    python -m scripts.bench.live --out docs/bench/live_2core.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nets.device import cpu_kind
from nets.files import write_json
from scripts.helpers.studio_browser import LIVE, WAIT_MS, chromium, live_readings, open_page, start_live, studio_server
from studio.config import StudioConfig
from studio.context import Studio
from studio.live_socket import SIZES, fit


def cpu_seconds(studio_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the browser's processes, the studio's (its server and what it started) and
    the rest of the machine's live processes (from /proc/*/stat: user + system time)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, used = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = stat.read_text()
            name, fields = text[text.index("(") + 1: text.rindex(")")], text[text.rindex(")") + 2:].split()
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            used[pid] = (name, (int(fields[11]) + int(fields[12])) / tick)
    totals = {"browser": 0.0, "studio": 0.0, "rest": 0.0}
    for pid, (name, seconds) in used.items():
        ancestor = pid
        while ancestor not in (studio_pid, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        group = "studio" if ancestor == studio_pid else "browser" if name.startswith(("chrom", "headless")) else "rest"
        totals[group] += seconds
    return totals


def readings_over(pages: list, seconds: float, studio_pid: int) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Each page's median frames/s, delay and painting ms, sampled every half second for ``seconds``, and the
    cores the browser, the studio and the rest kept busy meanwhile."""
    samples: list[list[dict[str, float]]] = [[] for _ in pages]
    before, tick = cpu_seconds(studio_pid), time.monotonic()
    deadline = tick + seconds
    while time.monotonic() < deadline:
        for page, kept in zip(pages, samples, strict=True):
            if len(reading := live_readings(page)) == 3:
                kept.append(reading)
        time.sleep(0.5)
    after, elapsed = cpu_seconds(studio_pid), time.monotonic() - tick
    cores = {group: round((after[group] - before[group]) / elapsed, 2) for group in after}
    return [{name: round(statistics.median(r[name] for r in kept), 1) for name in kept[0]} if kept else {}
            for kept in samples], cores


def started(browser, url: str, size: str) -> object:
    """A page whose live view paints at ``size`` (the first frames of a size may wait for the painter)."""
    page = open_page(browser, url, "Live")
    start_live(page, size)
    page.locator(LIVE.format("stats")).get_by_text("frames/s").wait_for(timeout=2 * WAIT_MS)
    time.sleep(5)  # past the first frames
    return page


def painting_step(output: Path, size: str, frames: int = 40) -> float:
    """Frames/s of the live view's painting step alone (fit, paint) on a 640×480 camera frame, in this process."""
    studio = Studio.create(StudioConfig(output=str(output), device="cpu"))
    camera = np.asarray(Image.fromarray(studio.example).resize((640, 480)))
    name = studio.default_family()
    stylizer = studio.library.stylizer(name, {"vangogh_starry_night": 1.0}, fast=True, stream=True)
    for _ in range(5):  # compiles for the size, where the machine compiles
        stylizer.image(fit(camera, SIZES[size]))
    tick = time.perf_counter()
    for _ in range(frames):
        stylizer.image(fit(camera, SIZES[size]))
    return round(frames / (time.perf_counter() - tick), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/bench/live_2core.json"))
    parser.add_argument("--sizes", nargs="+", default=["320×240", "640×360"], choices=list(SIZES))
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--memory-minutes", type=float, default=5.0)
    args = parser.parse_args()
    results: dict[str, object] = {"machine": f"{cpu_kind()}, {len(os.sched_getaffinity(0))} cores", "sizes": {}}
    sizes: dict[str, dict[str, float]] = results["sizes"]  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with studio_server(folder / "studio_output", "--device", "cpu", "--no-prebuild") as server, \
                chromium() as browser:
            for size in args.sizes:
                page = started(browser, server.url, size)
                readings, cores = readings_over([page], args.seconds, server.process.pid)
                sizes[size] = {**readings[0], "cores_busy": cores}
                page.context.close()
            pages = [started(browser, server.url, args.sizes[0]) for _ in range(2)]
            readings, _ = readings_over(pages, args.seconds, server.process.pid)
            results["two_viewers_frames_per_s"] = [r.get("frames_per_s") for r in readings]
            pages[1].context.close()
            memory = []
            deadline = time.monotonic() + 60 * args.memory_minutes
            while time.monotonic() < deadline:
                memory.append((time.monotonic(), server.rss_mb()))
                time.sleep(5)
            pages[0].context.close()
        end = memory[-1][0]
        first = [mb for t, mb in memory if t - memory[0][0] < 60]
        last = [mb for t, mb in memory if end - t < 60]
        results["memory_mb"] = {"first_minute": round(statistics.mean(first), 1),
                                "last_minute": round(statistics.mean(last), 1), "minutes": args.memory_minutes}
        for size in args.sizes:
            step = painting_step(folder / "baseline", size)
            page = sizes[size]
            page["painting_step_frames_per_s"] = step
            page["page_to_step"] = round(page["frames_per_s"] / step, 2)
            page["delay_in_steps"] = round(page["delay_ms"] / (1000 / step), 2)
    write_json(args.out, results)
    print(json.dumps(results, indent=2))
    print(f"\nlive view on {results['machine']}")
    print(f"{'size':<10} {'page f/s':>9} {'step f/s':>9} {'ratio':>6} {'delay ms':>9} {'in steps':>9} {'paint ms':>9} "
          f"{'cores: studio':>14} {'browser':>8} {'rest':>5}")
    for size, r in sizes.items():
        cores = r["cores_busy"]
        print(f"{size:<10} {r['frames_per_s']:>9} {r['painting_step_frames_per_s']:>9} {r['page_to_step']:>6} "
              f"{r['delay_ms']:>9} {r['delay_in_steps']:>9} {r['painting_ms']:>9} {cores['studio']:>14} "
              f"{cores['browser']:>8} {cores['rest']:>5}")
    print(f"two viewers at {args.sizes[0]}: {results['two_viewers_frames_per_s']} frames/s")
    print(f"server memory, first / last minute of {args.memory_minutes:g}: {results['memory_mb']['first_minute']} / "
          f"{results['memory_mb']['last_minute']} MB")


if __name__ == "__main__":
    main()
