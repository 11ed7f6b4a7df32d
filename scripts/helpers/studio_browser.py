"""The studio driven as a user drives it: ``python -m studio`` started in its own process and Debian's
Chromium (headless, through Playwright) on its page. Shared by the browser tests and the studio benchmark."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Chromium on a closed network (no background connections), as root in CI (no sandbox), with a fake
#: camera that it may use without asking (the live view).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
WAIT_MS = 180_000


@dataclass
class Server:
    url: str
    output: Path
    process: subprocess.Popen

    def rss_mb(self) -> float:
        """The server's resident memory now (MB)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def studio_server(output: Path, *options: str, start_s: float = 180) -> Iterator[Server]:
    """``python -m studio`` on a free port, writing into ``output``; its log is ``output``/../studio.log."""
    port = free_port()
    log_path = output.parent / f"{output.name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "studio", "--port", str(port), "--output", str(output),
                                    *options], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_s
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the studio stopped: {log_path.read_text()[-2000:]}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the studio did not start in {start_s:.0f} s")
                time.sleep(0.5)
            yield Server(f"http://127.0.0.1:{port}/", output, process)
        finally:
            process.terminate()
            process.wait(30)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Browser, url: str, tab: str = "Photo") -> Page:
    """A new browser window (its own session) on the studio, showing ``tab``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"])
    page = context.new_page()
    page.goto(url)
    page.get_by_role("tab", name=tab).click(timeout=WAIT_MS)
    return page


def upload(page: Page, elem_id: str, path: Path) -> None:
    """Drop a file on an upload component."""
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))


def image_bytes(page: Page, elem_id: str) -> bytes:
    """The picture an output image shows, fetched as the browser fetches it."""
    img = page.locator(f"#{elem_id} img").first
    img.wait_for(timeout=WAIT_MS)
    return page.request.get(img.get_attribute("src")).body()


def downloaded(page: Page, elem_id: str, folder: Path) -> Path:
    """The file behind an output's download link, saved into ``folder``."""
    link = page.locator(f"#{elem_id} a[download]").first
    link.wait_for(timeout=WAIT_MS)
    path = folder / link.get_attribute("download")
    path.write_bytes(page.request.get(link.get_attribute("href")).body())
    return path


def set_slider(page: Page, label: str, value: float, elem_id: str = "") -> None:
    """Type a value into a slider's number box, as a user does to set it exactly (``elem_id``: the slider's, where
    several tabs have one of that label)."""
    box = page.locator(f"#{elem_id} input[type=number]") if elem_id else page.get_by_label(f"number input for {label}")
    box = box.first
    box.fill(f"{value:g}")
    box.press("Enter")


def wait_text(page: Page, elem_id: str, pattern: str, seen: list[str] | None = None) -> str:
    """The text of an element once it matches ``pattern``; every text it showed on the way goes to ``seen``."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        text = page.locator(f"#{elem_id}").inner_text()
        if seen is not None and (not seen or seen[-1] != text):
            seen.append(text)
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"#{elem_id} never showed {pattern!r}; it showed {seen}")


#: The live view's parts (studio/tabs/live.py), as the page's script finds them.
LIVE = "#live-view [data-live={}]"


def start_live(page: Page, size: str = "320×240") -> None:
    """Open the Live tab, pick ``size`` and press Start camera (Chromium's fake camera, allowed without asking)."""
    page.get_by_role("tab", name="Live").click()
    page.get_by_text(size, exact=True).click()
    page.locator(LIVE.format("start")).click()


def live_key(page: Page) -> str:
    """The key the studio gave this page for the live view's socket (once the page has loaded)."""
    page.get_by_role("tab", name="Live").click()
    page.wait_for_function("document.querySelector('#live-view [data-key]')?.dataset.key", timeout=WAIT_MS)
    return page.locator("#live-view [data-key]").get_attribute("data-key")


def live_frames(page: Page) -> int:
    """How many paintings the live view has drawn."""
    return int(page.locator(LIVE.format("painted")).get_attribute("data-frames") or 0)


def live_readings(page: Page) -> dict[str, float]:
    """What the live view's line says now: frames/s, delay and painting ms (those it shows)."""
    text = page.locator(LIVE.format("stats")).inner_text()
    patterns = {"frames_per_s": r"([\d.]+) frames/s",
                "delay_ms": r"delay (\d+) ms", "painting_ms": r"painting (\d+) ms"}
    found = {name: re.search(pattern, text) for name, pattern in patterns.items()}
    return {name: float(match.group(1)) for name, match in found.items() if match}


def start_painter(page: Page, painting: Path, name: str, minutes: float) -> None:
    """Start training a painter in the "Your painter" tab."""
    page.get_by_role("tab", name="Your painter").click()
    upload(page, "painter-input", painting)
    page.locator("#painter-name").locator("textarea, input").first.fill(name)
    set_slider(page, "Time budget (minutes)", minutes)
    page.locator("#painter-train").click()


def painter_joined(page: Page, name: str) -> str:
    """The "Your painter" tab's last line once the painter has joined its family and, after that, been
    taught to the fast family (while that runs, the line says "teaching")."""
    return wait_text(page, "painter-status", rf"{name}\*?\*? joined(?![\s\S]*[Tt]eaching)")


def add_painter(page: Page, painting: Path, name: str, minutes: float) -> str:
    """Train a painter in the "Your painter" tab; the tab's last line when done."""
    start_painter(page, painting, name, minutes)
    return painter_joined(page, name)
