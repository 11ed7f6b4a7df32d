"""The studio in a real browser: Debian's Chromium, headless, driven by Playwright, against ``python -m studio``
started as a user starts it. What a user does: drop a photo, pick a painter, move a slider, render a clip,
upload something broken, start two jobs at once."""

from __future__ import annotations

import io
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from tests.clips import decoded_frames, make_clip
from tests.conftest import ROOT, run_cli, shared

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Chromium's flags for a closed network: no background connections, no sandbox (tests run as root in CI).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
MUNCH = "munch_the_scream"
WAIT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The studio on a free port with its own output folder: (its address, the output folder)."""
    out = tmp_path_factory.mktemp("studio_output")
    port = free_port()
    log = open(out.parent / "studio.log", "w")  # noqa: SIM115 - closed when the server stops
    proc = subprocess.Popen([sys.executable, "-m", "studio", "--port", str(port), "--output", str(out),
                             "--device", "cpu"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, (out.parent / "studio.log").read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    else:
        pytest.fail("the studio did not start in 180 s")
    yield url, out
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server[0])
    page.get_by_role("tab", name="Photo").wait_for(timeout=WAIT_MS)
    yield page
    context.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "street.png"
    src = sorted(shared("data", "photos", "val").glob("*.jpg"))[2]
    Image.open(src).convert("RGB").resize((240, 160), Image.Resampling.LANCZOS).save(path)
    return path


def upload(page, elem_id: str, path: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))


def image_bytes(page, elem_id: str) -> bytes:
    """The picture an output image shows, fetched as the browser fetches it."""
    img = page.locator(f"#{elem_id} img").first
    img.wait_for(timeout=WAIT_MS)
    return page.request.get(img.get_attribute("src")).body()


def downloaded(page, elem_id: str, folder: Path) -> Path:
    """The file behind an output's download link, saved into ``folder``."""
    link = page.locator(f"#{elem_id} a[download]").first
    link.wait_for(timeout=WAIT_MS)
    href = link.get_attribute("href")
    path = folder / link.get_attribute("download")
    path.write_bytes(page.request.get(href).body())
    return path


def set_slider(page, label: str, value: float) -> None:
    box = page.get_by_label(f"number input for {label}").first  # the slider's number box
    box.fill(f"{value:g}")
    box.press("Enter")


def test_the_page_loads_with_every_tab_and_the_painters(page):
    for tab in ("Photo", "Video", "Live", "Your painter", "Compare", "Your results"):
        assert page.get_by_role("tab", name=tab).is_visible()
    cards = page.locator("#painter-gallery img")
    cards.nth(3).wait_for(timeout=WAIT_MS)
    assert cards.count() == 4  # the shipped family's four painters, each with its painting and an example


def test_a_photo_painted_in_the_page_is_the_command_lines_picture(page, photo, tmp_path):
    upload(page, "photo-input", photo)
    page.locator("#painter-gallery img").nth(1).click()  # Munch
    page.locator("#photo-preview img").first.wait_for(timeout=WAIT_MS)
    page.locator("#photo-paint").click()
    painted = downloaded(page, "photo-download", tmp_path)
    expected = tmp_path / "cli.png"
    result = run_cli("infer", "image", str(photo), "-o", str(expected), "-m", "four_painters", "--blend", MUNCH,
                     "--device", "cpu")
    assert result.returncode == 0, result.stderr
    ours, theirs = (np.asarray(Image.open(p).convert("RGB")).astype(int) for p in (painted, expected))
    assert ours.shape == theirs.shape == (160, 240, 3)
    assert np.abs(ours - theirs).max() <= 1
    assert "munch_the_scream" in page.locator("#photo-info").inner_text()


def test_moving_a_blend_slider_changes_the_preview(page, photo):
    upload(page, "photo-input", photo)
    before = image_bytes(page, "photo-preview")
    set_slider(page, "hokusai_great_wave", 1)
    deadline = time.monotonic() + WAIT_MS / 1000
    while image_bytes(page, "photo-preview") == before and time.monotonic() < deadline:
        time.sleep(0.3)
    after = image_bytes(page, "photo-preview")
    pictures = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")).astype(int) for b in (before, after)]
    assert pictures[0].shape == pictures[1].shape
    assert np.abs(pictures[0] - pictures[1]).mean() > 5  # half Van Gogh, half Hokusai: another picture


def _clip(folder: Path, frames: int = 24) -> Path:
    photo_path = sorted(shared("data", "photos", "val").glob("*.jpg"))[3]
    still = cv2.resize(cv2.cvtColor(cv2.imread(str(photo_path)), cv2.COLOR_BGR2RGB), (200, 120))
    path = folder / "walk.mp4"
    make_clip(path, [np.roll(still, 2 * k, axis=1) for k in range(frames)], fps=12, audio_hz=440.0)
    return path


def test_a_clip_renders_with_its_progress_and_keeps_frames_and_audio(page, tmp_path):
    clip = _clip(tmp_path)
    page.get_by_role("tab", name="Video").click()
    upload(page, "video-input", clip)
    page.locator("#video-input video").first.wait_for(timeout=WAIT_MS)
    page.locator("#video-render").click()
    seen = set()
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        text = page.locator("#video-status").inner_text()
        seen.update(re.findall(r"frame (\d+) of 24", text))
        if "frames in" in text:
            break
        time.sleep(0.1)
    assert seen, "no progress was shown"
    result = downloaded(page, "video-download", tmp_path)
    assert len(decoded_frames(result)) == 24
    with av.open(str(result)) as container:
        assert len(container.streams.audio) == 1


def test_a_bad_upload_is_a_message_and_the_next_job_works(page, photo, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a photo")
    upload(page, "photo-input", fake)
    page.locator("#photo-paint").click()
    page.get_by_text(re.compile("not a photo this studio can read|drop a photo first")).first.wait_for(
        timeout=WAIT_MS)
    assert page.get_by_text("Traceback").count() == 0
    upload(page, "photo-input", photo)
    page.locator("#photo-paint").click()
    assert downloaded(page, "photo-download", tmp_path).stat().st_size > 0


def test_two_jobs_queue_one_behind_the_other(browser, server, tmp_path):
    clip = _clip(tmp_path, frames=36)
    pages = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server[0])
        page.get_by_role("tab", name="Video").click()
        upload(page, "video-input", clip)
        page.locator("#video-input video").first.wait_for(timeout=WAIT_MS)
        pages.append(page)
    for page in pages:
        page.locator("#video-render").click()
    page.get_by_text(re.compile(r"queue: ?\d+/\d+")).first.wait_for(timeout=WAIT_MS)  # the second one waits
    for page in pages:
        page.get_by_text("frames in").first.wait_for(timeout=WAIT_MS)
        page.context.close()
