"""The studio in a real browser: Debian's Chromium, headless, driven by Playwright, against ``python -m studio``
started as a user starts it. What a user does: drop a photo, pick a painter, move a slider, render a clip,
cancel one, upload something broken, start two jobs at once, reload the page, use the camera, add a painter,
compare with the reference method. The upload checks themselves are tested without a browser at the end."""

from __future__ import annotations

import io
import json
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from infer.controls import STROKE_REFERENCE_SIDE
from infer.stylizer import Stylizer
from infer.tiles import thumbnail
from nets.painter import load_painter
from scripts.helpers.studio_browser import (
    LIVE,
    WAIT_MS,
    Server,
    add_painter,
    chromium,
    downloaded,
    image_bytes,
    live_frames,
    live_key,
    live_readings,
    open_page,
    painter_joined,
    set_slider,
    start_live,
    start_painter,
    studio_server,
    upload,
    wait_text,
)
from studio.tabs.photo import PREVIEW_SIDE, stroke_sizes
from studio.uploads import UploadError, read_clip, read_photo
from tests.clips import decoded_frames, make_clip
from tests.conftest import ROOT, assert_one_line_error, run_cli, shared

MUNCH = "munch_the_scream"
#: The test server's upload limit: above every photo and clip the tests upload.
UPLOAD_LIMIT_MB = 4
#: Each browser test starts the server (once), a window, and a job: all over ~10 s.
browser_test = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, photo_dir: Path, weights_dir: Path) -> Iterator[Server]:
    out = tmp_path_factory.mktemp("studio") / "studio_output"
    # No background prebuild here (tests/test_prebuilt.py has it): its compiler would share the 2 cores.
    with studio_server(out, "--device", "cpu", "--photos", str(photo_dir), "--vgg-weights", str(weights_dir),
                       "--no-prebuild", "--max-upload-mb", str(UPLOAD_LIMIT_MB)) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser, server):
    page = open_page(browser, server.url)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photo") / "street.png"
    src = sorted(shared("data", "photos", "val").glob("*.jpg"))[2]
    Image.open(src).convert("RGB").resize((240, 160), Image.Resampling.LANCZOS).save(path)
    return path


def make_walk(folder: Path, frames: int = 24, name: str = "walk.mp4") -> Path:
    """A panning clip with a tone, 200×120 at 12 frames/s."""
    photo_path = sorted(shared("data", "photos", "val").glob("*.jpg"))[3]
    still = cv2.resize(cv2.cvtColor(cv2.imread(str(photo_path)), cv2.COLOR_BGR2RGB), (200, 120))
    path = folder / name
    make_clip(path, [np.roll(still, 2 * k, axis=1) for k in range(frames)], fps=12, audio_hz=440.0)
    return path


def start_render(page, clip: Path) -> None:
    page.get_by_role("tab", name="Video").click()
    upload(page, "video-input", clip)
    page.locator("#video-input video").first.wait_for(timeout=WAIT_MS)
    page.locator("#video-render").click()


@browser_test
def test_the_page_loads_with_every_tab_and_the_painters(page):
    for tab in ("Photo", "Video", "Live", "Your painter", "Compare", "Your results"):
        assert page.get_by_role("tab", name=tab).is_visible()
    cards = page.locator("#painter-gallery img")
    cards.nth(3).wait_for(timeout=WAIT_MS)
    assert cards.count() == 4  # the shipped family's four painters, each with its painting and an example


@browser_test
def test_a_photo_painted_in_the_page_is_the_command_lines_picture(page, photo, tmp_path):
    upload(page, "photo-input", photo)
    page.locator("#photo-preview img").first.wait_for(timeout=WAIT_MS)
    munch = page.get_by_label(f"number input for {MUNCH}").first
    deadline = time.monotonic() + WAIT_MS / 1000
    while munch.input_value() != "1" and time.monotonic() < deadline:  # a click before the gallery listens is lost
        page.locator("#painter-gallery img").nth(1).click()  # Munch
        time.sleep(1)
    page.locator("#photo-paint").click()
    painted = downloaded(page, "photo-download", tmp_path)
    expected = tmp_path / "cli.png"
    result = run_cli("infer", "image", str(photo), "-o", str(expected), "-m", "four_painters", "--blend", MUNCH,
                     "--device", "cpu")
    assert result.returncode == 0, result.stderr
    ours, theirs = (np.asarray(Image.open(p).convert("RGB")).astype(int) for p in (painted, expected))
    assert ours.shape == theirs.shape == (160, 240, 3)
    assert np.abs(ours - theirs).max() <= 1
    assert MUNCH in page.locator("#photo-info").inner_text()


@browser_test
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


@browser_test
def test_a_clip_renders_with_its_progress_keeps_frames_and_audio_and_stays_after_a_reload(page, tmp_path):
    start_render(page, make_walk(tmp_path))
    seen: list[str] = []
    wait_text(page, "video-status", r"24 frames in", seen)
    assert any(re.search(r"frame \d+ of 24 · [\d.]+ frames/s", text) for text in seen), seen
    result = downloaded(page, "video-download", tmp_path)
    assert len(decoded_frames(result)) == 24
    with av.open(str(result)) as container:
        assert len(container.streams.audio) == 1
    page.reload()
    page.get_by_role("tab", name="Your results").click()
    page.locator(f"#results-files a[download='{result.name}']").wait_for(timeout=WAIT_MS)


@browser_test
def test_a_transport_stream_the_browser_will_not_offer_renders_from_the_other_picker(page, tmp_path):
    """A .ts is left out by the browser's video picker (it offers what it can play): the second picker takes
    it, says the player cannot show it, and Render paints it."""
    photo_path = sorted(shared("data", "photos", "val").glob("*.jpg"))[3]
    still = cv2.resize(cv2.cvtColor(cv2.imread(str(photo_path)), cv2.COLOR_BGR2RGB), (160, 96))
    clip = tmp_path / "camcorder.ts"
    make_clip(clip, [np.roll(still, 2 * k, axis=1) for k in range(12)], fps=12, container="mpegts")
    page.get_by_role("tab", name="Video").click()
    upload(page, "video-file", clip)
    wait_text(page, "video-status", r"cannot play camcorder\.ts")
    page.locator("#video-render").click()
    wait_text(page, "video-status", r"12 frames in")


@browser_test
def test_keyframes_hide_the_blend_sliders_and_the_render_says_steadied(page, tmp_path):
    page.get_by_role("tab", name="Video").click()
    sliders = page.get_by_label(f"number input for {MUNCH}")
    assert sum(box.is_visible() for box in sliders.all()) == 1  # the Video tab's mixer
    page.get_by_label("Keyframes").check()
    page.get_by_text("Keyframes: at each second").first.wait_for(timeout=WAIT_MS)
    deadline = time.monotonic() + 10
    while any(box.is_visible() for box in sliders.all()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(box.is_visible() for box in sliders.all())  # ignored in this mode, so not shown
    clip = make_walk(tmp_path, frames=108, name="keyed.mp4")  # 9 s: the table's keyframes at 0, 4 and 8 s
    upload(page, "video-input", clip)
    page.locator("#video-input video").first.wait_for(timeout=WAIT_MS)
    page.locator("#video-render").click()
    said = wait_text(page, "video-status", r"108 frames in")
    assert "steadied at 0.75" in said, said


@browser_test
def test_a_slider_value_typed_past_its_ends_is_one_line_in_the_page_and_no_traceback(page, server, photo):
    log = server.output.parent / f"{server.output.name}.log"
    before = log.read_text().count("Traceback")
    upload(page, "photo-input", photo)
    page.locator("#photo-preview img").first.wait_for(timeout=WAIT_MS)
    set_slider(page, "Stroke size (×)", 10)
    page.get_by_text("Stroke size (×) is from 0.5 to 4, not 10").first.wait_for(timeout=WAIT_MS)
    time.sleep(1)
    assert log.read_text().count("Traceback") == before


@browser_test
def test_a_cancelled_render_leaves_nothing(page, server, tmp_path):
    start_render(page, make_walk(tmp_path, frames=240, name="long.mp4"))
    wait_text(page, "video-status", r"frame \d+ of 240")
    page.locator("#video-cancel").click()
    wait_text(page, "video-status", "cancel")
    deadline = time.monotonic() + 30
    while list(server.output.glob("videos/.*part*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not list(server.output.glob("videos/long-*")) and not list(server.output.glob("videos/.*part*"))


@browser_test
def test_a_reload_mid_render_says_the_render_was_stopped(page, server, tmp_path):
    start_render(page, make_walk(tmp_path, frames=240, name="reloaded.mp4"))
    wait_text(page, "video-status", r"frame \d+ of 240")
    said = ""
    for _ in range(5):  # the server notices the closed page within a few seconds
        page.reload()
        page.get_by_role("tab", name="Video").click()
        time.sleep(2)
        said = page.locator("#video-status").inner_text()
        if "reloaded.mp4" in said:
            break
    assert "The render of reloaded.mp4 was stopped when its page was closed or reloaded" in said, said
    assert not list(server.output.glob("videos/reloaded-*"))


@browser_test
def test_a_bad_upload_is_a_message_and_the_next_job_works(page, photo, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is not a photo")
    upload(page, "photo-input", photo)
    page.locator("#photo-preview img").first.wait_for(timeout=WAIT_MS)
    upload(page, "photo-input", fake)
    said = "holiday.jpg is not a photo this studio can read"
    wait_text(page, "photo-preview-note", said)  # said once, under the preview, which the last photo's left
    assert page.locator("#photo-preview img").count() == 0
    assert page.get_by_text(said).count() == 1
    page.locator("#photo-paint").click()
    page.get_by_text("holiday.jpg is not a photo this studio can read").first.wait_for(timeout=WAIT_MS)
    assert page.get_by_text("Traceback").count() == 0
    upload(page, "photo-input", photo)
    page.locator("#photo-paint").click()
    assert downloaded(page, "photo-download", tmp_path).stat().st_size > 0


@browser_test
def test_two_jobs_queue_one_behind_the_other(browser, server, tmp_path):
    clip = make_walk(tmp_path, frames=36)
    pages = [open_page(browser, server.url) for _ in range(2)]
    for page in pages:
        start_render(page, clip)
    pages[1].get_by_text(re.compile(r"queue: ?\d+/\d+")).first.wait_for(timeout=WAIT_MS)  # it waits its turn
    for page in pages:
        wait_text(page, "video-status", r"36 frames in")
        page.context.close()


#: The painted canvas against the camera's picture at the same size and crop (mean |difference|, levels).
DIFFERENCE_FROM_CAMERA = """() => {
  const view = document.querySelector("#live-view");
  const painted = view.querySelector("[data-live=painted]"), video = view.querySelector("[data-live=camera]");
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [painted.width, painted.height];
  const scale = Math.max(canvas.width / video.videoWidth, canvas.height / video.videoHeight);
  const [cw, ch] = [canvas.width / scale, canvas.height / scale];
  const context = canvas.getContext("2d");
  context.drawImage(video, (video.videoWidth - cw) / 2, (video.videoHeight - ch) / 2, cw, ch, 0, 0,
                    canvas.width, canvas.height);
  const a = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const b = painted.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < a.length; i += 4) for (let c = 0; c < 3; c++) sum += Math.abs(a[i + c] - b[i + c]);
  return sum / (a.length / 4 * 3);
}"""


def wait_live_frames(page, more: int) -> None:
    """Until the live view has drawn ``more`` paintings beyond those it had."""
    start = live_frames(page)
    page.wait_for_function(f"Number(document.querySelector('#live-view [data-live=painted]').dataset.frames || 0)"
                           f" >= {start + more}", timeout=WAIT_MS)


@browser_test
def test_the_live_view_paints_the_camera_and_a_slider_acts_on_the_next_frames(page):
    start_live(page)
    seen: list[str] = []
    text = wait_text(page, "live-view [data-live=stats]", r"[1-9][\d.]* frames/s at 320×240", seen)
    if "compiled" in text:  # a minute's compiling for the first frame is said, not silent
        assert any("preparing the painter for 320×240" in said for said in seen), seen
    assert "fp32" in text or "bf16" in text
    readings = live_readings(page)
    assert readings["delay_ms"] > 0 and readings["painting_ms"] > 0, text
    assert page.locator(LIVE.format("painted")).evaluate("c => [c.width, c.height]") == [320, 240]
    wait_live_frames(page, 2)
    painted = page.evaluate(DIFFERENCE_FROM_CAMERA)
    set_slider(page, "Strength", 0, "live-strength")  # the camera's own picture, from the next frames on
    wait_live_frames(page, 3)
    plain = page.evaluate(DIFFERENCE_FROM_CAMERA)
    assert plain < 12 and plain < 0.3 * painted, (painted, plain)
    wait_live_frames(page, 10)  # the camera is asked for about twice the painter's frames/s, not 15 whatever it is
    asked, rate = page.evaluate("""() => {
      const part = (name) => document.querySelector(`#live-view [data-live=${name}]`);
      const track = part("camera").srcObject.getVideoTracks()[0];
      return [track.getSettings().frameRate, parseFloat(part("stats").textContent)];
    }""")  # read together: the rate shown is the one the camera was last paced by
    assert asked <= min(15, 2 * rate + 4), (asked, rate)


@browser_test
def test_a_closed_live_tab_frees_its_place_within_seconds(page, server):
    start_live(page)
    wait_text(page, "live-view [data-live=stats]", r"[1-9][\d.]* frames/s")
    log = server.output.parent / f"{server.output.name}.log"
    assert "a viewer joined (1 now)" in log.read_text()
    page.context.close()
    deadline = time.monotonic() + 5
    while not log.read_text().rstrip().endswith("a viewer left (0 now)"):
        assert time.monotonic() < deadline, log.read_text()[-1000:]
        time.sleep(0.1)


@browser_test
def test_the_live_socket_refuses_what_is_not_a_camera_frame_and_keeps_serving(page):
    key = live_key(page)
    codes = page.evaluate("""async (key) => {
      const url = new URL(`live/socket?key=${key}`, location.href);
      url.protocol = "ws:";
      const refused = (send) => new Promise((resolve) => {
        const socket = new WebSocket(url);
        socket.onmessage = (event) => {
          if (typeof event.data === "string" && JSON.parse(event.data).next) send(socket);
        };
        socket.onclose = (event) => resolve(event.code);
      });
      return [await refused((s) => s.send("hello")), await refused((s) => s.send(new Uint8Array(5000).fill(7))),
              await refused((s) => s.send(new Uint8Array(3 * 1024 * 1024)))];
    }""", key)
    assert codes == [1003, 1003, 1009], codes  # text, not a JPEG, over the size limit
    start_live(page)  # and the studio still paints
    wait_text(page, "live-view [data-live=stats]", r"[1-9][\d.]* frames/s")


@browser_test
def test_the_live_socket_takes_only_the_studios_own_page(page, server):
    key = live_key(page)
    url = server.url.replace("http://", "ws://") + f"live/socket?key={key}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="http://elsewhere.example", open_timeout=30)
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):  # the studio's own origin, without a key its page was given
        connect(url.replace(key, "guessed"), origin=server.url.rstrip("/"), open_timeout=30)
    with connect(url, origin=server.url.rstrip("/"), open_timeout=30) as socket:
        assert json.loads(socket.recv(timeout=30))["size"] == [320, 240]


@browser_test
def test_your_own_painter_joins_a_copy_of_the_family_and_of_its_fast_version(page, server, browser):
    shipped = {name: (ROOT / "checkpoints" / name).read_bytes()
               for name in ("four_painters.pt", "four_painters_fast.pt")}
    said = add_painter(page, shared("data", "styles", "picabia_udnie.jpg"), "my_udnie", 0.25)
    assert (server.output / "painters" / "four_painters_my_udnie.pt").is_file()
    assert all((ROOT / "checkpoints" / name).read_bytes() == data for name, data in shipped.items())
    # Taught to a copy of the fast family too: the shipped fast painters as they were, and the newcomer.
    assert "Previews and the live view paint it with four_painters_my_udnie_fast" in said, said
    fast, payload = load_painter(server.output / "painters" / "four_painters_my_udnie_fast.pt")
    shipped_fast, _ = load_painter(ROOT / "checkpoints" / "four_painters_fast.pt")
    assert [p["name"] for p in payload["painters"]][-1] == "my_udnie" and fast.painters == 5
    for key, value in shipped_fast.state_dict().items():
        assert torch.equal(fast.state_dict()[key][:4] if value.dim() == 2 else fast.state_dict()[key], value), key
    assert not list((server.output / "runs").rglob("teacher.pt"))  # the lesson's 100 MB cache is not kept
    chart, legend = (page.locator("#painter-curve").bounding_box(),
                     page.locator("#painter-curve svg text").filter(has_text="content").first.bounding_box())
    assert legend and legend["y"] + legend["height"] <= chart["y"] + chart["height"], (legend, chart)  # not cut off
    page.get_by_role("tab", name="Photo").click()
    page.get_by_label("Family of painters").first.click()
    page.get_by_role("option", name="four_painters_my_udnie").wait_for(timeout=WAIT_MS)
    other = open_page(browser, server.url)  # another window, opened after it was made, lists it too
    try:
        other.get_by_label("Family of painters").first.click()
        other.get_by_role("option", name="four_painters_my_udnie").wait_for(timeout=WAIT_MS)
    finally:
        other.context.close()


@browser_test
def test_stop_ends_a_long_training_early_and_keeps_the_painter(page, server):
    start_painter(page, shared("data", "styles", "signac_riverscape.jpg"), "stopped_early", 30)
    wait_text(page, "painter-status", r"step \d+ ·")
    stopped = time.monotonic()
    page.locator("#painter-stop").click()
    said = painter_joined(page, "stopped_early")
    assert time.monotonic() - stopped < 60, "the 30-minute budget ran on"
    assert "Stopped before its fast version was made" in said, said
    painters = server.output / "painters"
    assert (painters / "four_painters_stopped_early.pt").is_file()
    assert not (painters / "four_painters_stopped_early_fast.pt").exists()


@browser_test
def test_compare_shows_both_pictures_and_their_numbers(page, photo):
    page.get_by_role("tab", name="Compare").click()
    upload(page, "compare-input", photo)
    set_slider(page, "Reference iterations (L-BFGS)", 10)
    set_slider(page, "Size (longest side, px)", 128)
    page.locator("#compare-go").click()
    table = page.locator("#compare-table")
    table.get_by_text("reference").first.wait_for(timeout=WAIT_MS)
    assert table.get_by_text("feed-forward").count() >= 1
    page.locator("#compare-report a[download='report.md']").wait_for(timeout=WAIT_MS)  # a link, not a server path


@browser_test
def test_a_result_can_be_deleted_for_good(page, server, photo, tmp_path):
    upload(page, "photo-input", photo)
    page.locator("#photo-paint").click()
    painted = downloaded(page, "photo-download", tmp_path)
    on_disk = server.output / "photos" / painted.name
    assert on_disk.is_file()
    page.get_by_role("tab", name="Your results").click()
    page.get_by_label("Delete a result (from the disk, for good)").click()
    page.get_by_role("option", name=painted.name).click()
    page.locator("#results-delete").click()
    wait_text(page, "results-said", f"deleted {re.escape(painted.name)}")
    assert not on_disk.exists()
    assert page.locator(f"#results-files a[download='{painted.name}']").count() == 0


def test_only_a_listed_result_can_be_deleted(tmp_path):
    from studio.results import remove

    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "kept.png").write_bytes(b"x")
    (tmp_path / "secret.txt").write_bytes(b"x")
    for name in ("../secret.txt", "kept.png/..", ".hidden", "nothing.png"):
        with pytest.raises(UploadError, match="is not one of your results"):
            remove(tmp_path, name, ("photos", "videos"))
    remove(tmp_path, "kept.png", ("photos", "videos"))
    assert not (tmp_path / "photos" / "kept.png").exists() and (tmp_path / "secret.txt").exists()


def test_uploads_too_big_are_scaled_down_and_said(tmp_path):
    big = tmp_path / "huge.png"
    Image.new("RGB", (8000, 6000), (120, 80, 40)).save(big, compress_level=1)
    photo = read_photo(big, 4096)
    assert photo.pixels.shape == (3072, 4096, 3) and "8000×6000" in photo.note
    clip = tmp_path / "uhd.mp4"
    make_clip(clip, [np.full((2160, 3840, 3), 90, np.uint8)] * 2, fps=2)
    found = read_clip(clip, 1920)
    assert found.max_size == 1920 and "3840×2160" in found.note and "1920×1080" in found.note


def test_a_cut_short_jpeg_is_called_damaged_not_a_wrong_format(tmp_path, photo):
    whole = io.BytesIO()
    Image.open(photo).save(whole, "JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    with pytest.raises(UploadError, match="cut.jpg is a damaged or incomplete JPEG file"):
        read_photo(cut, 512)
    text = tmp_path / "notes.jpg"
    text.write_text("shopping list")
    with pytest.raises(UploadError, match="notes.jpg is not a painting this studio can read"):
        read_photo(text, 512, kind="painting")


def test_a_photo_too_narrow_for_the_preview_is_said_in_its_own_size(tmp_path):
    thin = tmp_path / "banner.png"
    Image.new("RGB", (4000, 40), (200, 30, 30)).save(thin)
    with pytest.raises(UploadError, match=re.escape("banner.png is 4000×40 px, too narrow to be previewed at 512 px")):
        read_photo(thin, 512, "previewed")
    assert read_photo(thin, 4096).pixels.shape == (40, 4000, 3)  # painted full size, it is whole


def sintel_mosaic() -> np.ndarray:
    """A 2048×872 picture with real detail all over it: four 1024×436 frames of Sintel, 2 by 2."""
    folders = (("market_5_final_0001-0004", 1), ("alley_1_clean_0001-0004", 1), ("cave_2_final_0001-0004", 1),
               ("temple_3_final_0021-0024", 21))
    frames = [np.asarray(Image.open(shared("data", "video", "sintel", name, f"frame_{i:04d}.png")).convert("RGB"))
              for name, i in folders]
    return np.concatenate([np.concatenate(frames[:2], 1), np.concatenate(frames[2:], 1)], 0)


def test_a_big_photos_preview_is_its_painting_smaller(tmp_path):
    """Strokes follow the photo's size: a 2048-px photo is painted with strokes ×2 by default (and says so),
    and its preview, as the Photo tab paints it, is that painting at 512 px within 3 levels mean. At the
    trained stroke size (the old default) the painting at 512 px and a 512-px preview differed by ~15
    levels: the big painting was nearly the photo, tinted."""
    path = tmp_path / "big.png"
    Image.fromarray(sintel_mosaic()).save(path)
    result = run_cli("infer", "image", str(path), "-o", str(tmp_path / "out.png"), "-m", "munch_the_scream",
                     "--precision", "fp32", "--engine", "torch")
    assert result.returncode == 0, result.stderr
    assert "strokes ×2 for its 2048 px" in result.stdout + result.stderr
    painting = np.asarray(Image.open(tmp_path / "out.png"))

    def paint(picture: np.ndarray, stroke_size: float) -> np.ndarray:
        return Stylizer("munch_the_scream", "torch", "cpu", "fp32", stroke_size=stroke_size).image(picture)

    photo = read_photo(path, STROKE_REFERENCE_SIDE, "previewed")
    _, strokes = stroke_sizes(1.0, photo.side, max(photo.pixels.shape[:2]))
    preview = thumbnail(paint(photo.pixels, strokes), PREVIEW_SIDE)  # as the Photo tab shows it
    assert preview.shape == (218, 512, 3)

    def at_preview_size(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, (512, 218), interpolation=cv2.INTER_AREA).astype(float)

    agree = np.abs(at_preview_size(painting) - preview).mean()
    as_trained = np.abs(at_preview_size(paint(np.asarray(Image.open(path)), 1.0))
                        - paint(read_photo(path, 512, "previewed").pixels, 1.0)).mean()
    assert agree < 3 and as_trained > 4 * agree, (agree, as_trained)


@pytest.mark.parametrize("name, content, expected", [
    ("empty.mp4", b"", "empty (0 bytes)"),
    ("notes.mp4", b"shopping list", "not a clip this studio can read"),
])
def test_a_bad_clip_is_one_message(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UploadError, match=re.escape(expected)):
        read_clip(path, 1920)


def test_a_bad_setting_is_one_line_and_exit_2(tmp_path):
    result = run_cli("studio", "--port", "70000", "--output", str(tmp_path / "out"))
    assert_one_line_error(result, "--port is from 1 to 65535", tmp_path)


@browser_test
def test_an_upload_over_the_limit_is_refused(server, tmp_path):
    import urllib.error
    import urllib.request

    body = b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.jpg\"\r\n\r\n"
    body += b"\0" * (UPLOAD_LIMIT_MB + 1) * 2**20 + b"\r\n--x--\r\n"
    request = urllib.request.Request(server.url + "gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=x"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    small = body.replace(b"\0" * (UPLOAD_LIMIT_MB + 1) * 2**20, b"\0" * 1024)
    request = urllib.request.Request(server.url + "gradio_api/upload", data=small, method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=x"})
    with urllib.request.urlopen(request, timeout=60) as answer:  # the server still serves
        assert answer.status == 200


def test_the_photo_tabs_command_is_quoted_and_paints_the_same_run(tmp_path):
    """A file name with quotes, spaces and a semicolon is one word when pasted; the page's scaling and a painter
    made in the studio go along (--max-size, --painters-dir)."""
    import shlex
    import subprocess

    from studio.tabs.photo import command_line

    name = "x'; touch INJECTED; echo 'y it's a café.png"
    command = command_line(name, "four_painters", {MUNCH: 1.0}, 0.5, True, 2.0, Path("out put.png"), 4096,
                           tmp_path / "my painters")
    words = shlex.split(command)
    assert words[:5] == ["python", "-m", "infer", "image", name]
    assert words[words.index("--max-size") + 1] == "4096"
    assert words[words.index("--painters-dir") + 1] == str(tmp_path / "my painters")
    assert words[words.index("-o") + 1] == "out put.png" and "--preserve-colors" in words
    echoed = subprocess.run(["bash", "-c", "printf '%s\\n' " + command.removeprefix("python ")], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert echoed == words[1:] and not (tmp_path / "INJECTED").exists()


def test_old_uploads_and_lesson_caches_are_swept_and_results_kept(tmp_path):
    import os

    from studio.housekeeping import sweep

    day = 24 * 3600
    old = [tmp_path / "uploads" / "abc" / "photo.jpg", tmp_path / "runs" / "mine_fast" / "teacher.pt"]
    kept = [tmp_path / "uploads" / "def" / "today.jpg", tmp_path / "photos" / "painted.png",
            tmp_path / "runs" / "mine_fast" / "state.pt", tmp_path / "painters" / "mine.pt"]
    for path in old + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
    for path in old + kept[1:]:
        os.utime(path, (time.time() - 2 * day, time.time() - 2 * day))
    assert sweep(tmp_path, day) == (2, 200)
    assert not any(p.exists() for p in old) and all(p.exists() for p in kept)


def test_a_studio_others_can_reach_warns_unless_it_has_a_password(tmp_path, monkeypatch):
    from studio.config import StudioConfig

    monkeypatch.delenv("STUDIO_PASSWORD", raising=False)
    assert StudioConfig().exposure_warning() == "" and StudioConfig(host="::1").exposure_warning() == ""
    assert "no password" in StudioConfig(host="0.0.0.0").exposure_warning()
    assert StudioConfig(host="0.0.0.0", password="s3cret").exposure_warning() == ""
    monkeypatch.setenv("STUDIO_PASSWORD", "from-env")
    assert StudioConfig(host="192.168.1.5").password == "from-env"
    result = run_cli("studio", "--max-upload-mb", "0", "--output", str(tmp_path / "out"))
    assert_one_line_error(result, "--max-upload-mb must be at least 1", tmp_path)


def test_result_names_keep_their_numbers_and_stay_file_names():
    from studio.results import SLUG_LENGTH, slug

    name = slug("street-four_painters: vangogh_starry_night 50% + munch_the_scream 50% (strength 0.5, strokes ×1.5)")
    assert name == "street-four_painters-vangogh_starry_night-50-munch_the_scream-50-strength-0.5-strokes-1.5"
    long = slug("photo " + "hokusai_great_wave 12.5% + " * 10)
    assert len(long) <= SLUG_LENGTH and long.endswith("12.5")  # cut after a whole word, not inside a number
    for hostile in ("../../etc/passwd", ".hidden", "a/b\\c", "…"):
        made = slug(hostile)
        assert "/" not in made and "\\" not in made and not made.startswith(".") and made


def test_a_clip_the_browser_cannot_play_is_said_to_render_all_the_same(tmp_path):
    from studio.uploads import playable_note

    frames = [np.full((48, 64, 3), 40 * k, np.uint8) for k in range(3)]
    old_camera = tmp_path / "camera.avi"  # MPEG-4 Part 2 in AVI, as old cameras write: no browser plays it
    make_clip(old_camera, frames, video_codec="mpeg4")
    assert "Your browser cannot play camera.avi (mpeg4, 64×48)" in playable_note(old_camera)
    assert "Render paints it all the same" in playable_note(old_camera)
    h264 = tmp_path / "walk.mp4"
    make_clip(h264, frames)
    assert playable_note(h264) == "" and playable_note(None) == ""


@browser_test
def test_a_stop_request_ends_the_studio_promptly_while_it_teaches(browser, tmp_path, photo_dir, weights_dir):
    """Ctrl-C or a stop request while a painter is being taught (and its page is open) ends the studio within
    seconds, without a traceback: the lesson is stopped as Stop would stop it, not run to its 30-minute end."""
    out = tmp_path / "studio_output"
    with studio_server(out, "--device", "cpu", "--photos", str(photo_dir), "--vgg-weights", str(weights_dir),
                       "--no-prebuild") as own:
        page = open_page(browser, own.url)
        try:
            start_painter(page, shared("data", "styles", "signac_riverscape.jpg"), "interrupted", 30)
            wait_text(page, "painter-status", r"step \d+ ·")
            asked = time.monotonic()
            own.process.send_signal(signal.SIGINT)
            own.process.wait(timeout=60)
            assert time.monotonic() - asked < 30
        finally:
            page.context.close()
    said = (tmp_path / "studio_output.log").read_text()
    assert "asked to stop" in said and "Traceback" not in said, said[-3000:]
