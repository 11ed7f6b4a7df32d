"""The reference mode (Gatys et al. optimisation) and the compare report, on real photos at small sizes."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from infer.reference import ReferenceClipEngine, ReferenceConfig, ReferenceStylizer, frames_dir_for
from infer.steady import DEFAULT_STRENGTH
from nets.images import fit_longest_side, open_rgb, to_tensor
from nets.warp import luminance
from tests.clips import decoded_frames, make_clip, packets
from tests.conftest import assert_one_line_error, run_cli, shared


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(fit_longest_side(open_rgb(shared("data", "photos", "val", "bsds300_img_003.jpg")), 64))


def reference(style_image, weights_dir, **overrides) -> ReferenceStylizer:
    settings = dict(style=str(style_image), vgg_weights=str(weights_dir), device="cpu", iterations=15)
    return ReferenceStylizer(ReferenceConfig(**(settings | overrides)))


@pytest.mark.parametrize("optimizer, drop", [("lbfgs", 0.5), ("adam", 0.9)])
def test_the_optimiser_lowers_the_loss(photo, style_image, weights_dir, optimizer, drop):
    result, losses = reference(style_image, weights_dir, optimizer=optimizer, lr=0.05).image(photo)
    assert result.shape == photo.shape and result.dtype == np.uint8
    assert losses[-1] < drop * losses[0], losses
    assert np.abs(result.astype(int) - photo).mean() > 5  # it painted something


def test_coarse_to_fine_saves_intermediate_images(style_image, weights_dir):
    photo = np.asarray(fit_longest_side(open_rgb(shared("data", "photos", "val", "bsds300_img_003.jpg")), 128))
    saved = {}
    result, losses = reference(style_image, weights_dir, scales=2, iterations=6, save_every=3).image(
        photo, lambda label, image: saved.setdefault(label, image))
    assert len(losses) == 12 and result.shape == photo.shape
    assert list(saved) == ["scale1_it00003", "scale1_it00006", "scale2_it00003", "scale2_it00006"]
    assert all(image.shape == photo.shape for image in saved.values())
    assert np.abs(saved["scale2_it00006"].astype(int) - result).max() <= 1  # the last snapshot is the result


def test_init_modes_start_where_asked(photo, style_image, weights_dir, tmp_path):
    """One tiny Adam step leaves each start point nearly as it was."""
    other = np.asarray(Image.open(shared("data", "photos", "val", "bsds300_img_001.jpg")).convert("RGB"))
    Image.fromarray(other).save(tmp_path / "start.png")
    starts = {}
    for init in ("content", "noise", str(tmp_path / "start.png")):
        ref = reference(style_image, weights_dir, optimizer="adam", lr=1e-5, iterations=1, init=init)
        starts[init] = ref.image(photo)[0].astype(int)
    assert np.abs(starts["content"] - photo).max() <= 1
    noise = starts["noise"]
    assert abs(noise.mean() - 127.5) < 5 and noise.std() > 15 and np.abs(noise - photo).mean() > 30
    resized = np.asarray(Image.fromarray(other).resize(photo.shape[1::-1], Image.Resampling.BICUBIC)).astype(int)
    assert np.abs(starts[str(tmp_path / "start.png")] - resized).max() <= 1


def test_preserve_colors_keeps_the_photos_chrominance(photo, style_image, weights_dir):
    def chroma(image: np.ndarray) -> np.ndarray:
        rgb = to_tensor(image)
        return (rgb - luminance(rgb))[0].numpy()  # R−Y, G−Y, B−Y

    kept = reference(style_image, weights_dir, preserve_colors=True).image(photo)[0]
    painted = reference(style_image, weights_dir).image(photo)[0]
    unclipped = (kept > 2).all(-1) & (kept < 253).all(-1)
    assert unclipped.mean() > 0.8
    error = np.abs(chroma(kept) - chroma(photo))[:, unclipped]
    assert error.mean() < 1.5 / 255, error.mean()
    assert np.abs(chroma(painted) - chroma(photo)).mean() > 10 * error.mean()  # the plain mode takes the colours
    assert (luminance(to_tensor(kept)) - luminance(to_tensor(photo))).abs().mean().item() > 0.03  # and stylised


@pytest.fixture
def clip(tmp_path, photo) -> tuple:
    """Three frames of a photo panning right by 2 px a frame, with an AAC tone."""
    wide = np.asarray(Image.fromarray(photo).resize((96, 64), Image.Resampling.BICUBIC))
    frames = [wide[:, 2 * t:2 * t + 64][:48] for t in range(3)]
    path = tmp_path / "clip.mp4"
    make_clip(path, frames, fps=10, audio_hz=440)
    return path, frames


def test_clip_resumes_from_finished_frames(clip, tmp_path, style_image, weights_dir):
    path, frames = clip
    out = tmp_path / "out.mp4"
    args = ["--style", str(style_image), "--vgg-weights", str(weights_dir), "--device", "cpu", "--iterations", "8",
            "--frame-iterations", "4"]
    cfg = ReferenceConfig(style=str(style_image), vgg_weights=str(weights_dir), device="cpu", iterations=8,
                          frame_iterations=4)
    # An earlier run that stopped after two frames; its second frame is marked so a re-computation shows.
    folder = frames_dir_for(out)
    engine = ReferenceClipEngine(ReferenceStylizer(cfg), folder)
    engine(np.stack(decoded_frames(path)[:2]))
    Image.fromarray(np.full((48, 64, 3), (0, 255, 0), np.uint8)).save(folder / "000001.png")

    result = run_cli("infer", "reference", str(path), "-o", str(out), *args)
    assert result.returncode == 0, result.stderr
    styled = decoded_frames(out)
    assert len(styled) == 3 and styled[0].shape == (48, 64, 3)
    assert np.abs(styled[1].astype(int) - (0, 255, 0)).mean() < 8  # read back, not recomputed
    assert np.abs(styled[2].astype(int) - (0, 255, 0)).mean() > 50  # computed now
    assert packets(out, "audio") == packets(path, "audio")
    assert not folder.exists()  # the frames are gone once the clip is complete


@pytest.mark.slow
def test_bad_reference_input_gives_one_line(tmp_path, style_image, weights_dir):
    photo = shared("data", "photos", "val", "bsds300_img_003.jpg")
    base = ["infer", "reference", str(photo), "-o", str(tmp_path / "out.png"), "--vgg-weights", str(weights_dir)]
    assert_one_line_error(run_cli(*base, "--style", str(tmp_path / "nope.jpg")), "nope.jpg", tmp_path)
    assert_one_line_error(run_cli(*base, "--style", str(style_image), "--init", "sometimes"), "--init", tmp_path)
    assert_one_line_error(run_cli(*base, "--style", str(style_image), "--iterations", "0"), "positive", tmp_path)
    tiny = run_cli("infer", "compare", str(photo), "-m", "vangogh_starry_night", "-o", str(tmp_path / "report"),
                   "--size", "8", "--vgg-weights", str(weights_dir))
    assert_one_line_error(tiny, "--size 8 makes bsds300_img_003 5×8 px; both sides must be at least 16 px", tmp_path)
    assert list(tmp_path.iterdir()) == []  # refused before the report's hidden folder is made


def report_numbers(report: str) -> list[list[float]]:
    """The numeric cells of each table row of report.md."""
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line][1:]
    return [[float(cell) for cell in re.findall(r"\| ([-0-9.e]+)(?= )", row)] for row in rows]


@pytest.mark.slow
def test_compare_photos_writes_a_consistent_report(tmp_path, tiny_painter, weights_dir, val_dir):
    painter = tiny_painter
    out = tmp_path / "report"
    result = run_cli("infer", "compare", str(val_dir), "-m", str(painter), "-o", str(out), "--size", "64",
                     "--reference-iterations", "5", "--vgg-weights", str(weights_dir), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} >= {"metrics.json", "report.md", "contact_sheet.png", "images"}
    metrics = json.loads((out / "metrics.json").read_text())
    methods = metrics["methods"]
    assert [m["method"] for m in methods] == ["feed-forward", "reference"] and metrics["count"] == 3
    expected = [[m["style_distance"], m["content_distance"], m["seconds_per_frame"]] for m in methods]
    assert report_numbers((out / "report.md").read_text()) == expected
    assert len(list((out / "images" / "reference-tiny").glob("*.png"))) == 3
    assert Image.open(out / "contact_sheet.png").size[1] > 3 * 150
    assert not (tmp_path / ".report.part").exists()


@pytest.mark.slow
def test_compare_clip_reports_flicker(clip, tmp_path, tiny_painter, weights_dir):
    path, _ = clip
    painter = tiny_painter
    out = tmp_path / "report"
    result = run_cli("infer", "compare", str(path), "-m", str(painter), "-o", str(out), "--size", "64",
                     "--reference-iterations", "5", "--reference-frame-iterations", "3",
                     "--vgg-weights", str(weights_dir), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "flicker.png").is_file()
    floor = metrics["input_warping_error"]
    for method in metrics["methods"]:
        assert len(method["warping_error_per_frame"]) == 2
        assert method["warping_error"] > floor
    methods = {m["method"]: m for m in metrics["methods"]}
    plain, steady = methods["feed-forward"], methods[f"feed-forward steady {DEFAULT_STRENGTH:g}"]
    assert steady["warping_error"] < plain["warping_error"]  # the stabiliser, reported beside the plain painter
    expected = [[m["style_distance"], m["content_distance"], m["warping_error"], m["seconds_per_frame"]]
                for m in metrics["methods"]] + [[floor]]
    assert report_numbers((out / "report.md").read_text()) == expected
    again = run_cli("infer", "compare", str(path), "-m", str(painter), "-o", str(out))
    assert_one_line_error(again, "exists", tmp_path)


@pytest.mark.slow
def test_snapshots_never_overwrite_files_without_overwrite(tmp_path, style_image, weights_dir):
    photo = tmp_path / "photo.png"
    Image.open(shared("data", "photos", "val", "bsds300_img_003.jpg")).resize((48, 32)).save(photo)
    before = photo.read_bytes()
    out = tmp_path / "p.png"
    taken = tmp_path / "p_scale1_it00002.png"
    taken.write_bytes(b"keep me")
    args = ["infer", "reference", str(photo), "-o", str(out), "--style", str(style_image), "--vgg-weights",
            str(weights_dir), "--iterations", "2", "--save-every", "2", "--scales", "1", "--device", "cpu"]
    assert_one_line_error(run_cli(*args), "p_scale1_it00002.png exists; pass --overwrite", tmp_path)
    assert taken.read_bytes() == b"keep me" and not out.exists() and photo.read_bytes() == before
    same = tmp_path / "photo_scale1_it00002.png"
    photo.rename(same)  # now the snapshot of -o photo.png would be the input
    result = run_cli("infer", "reference", str(same), "-o", str(photo), *args[5:], "--overwrite")
    assert_one_line_error(result, "inputs are never overwritten", tmp_path)
    assert same.read_bytes() == before


@pytest.mark.slow
def test_compare_finds_the_style_image_from_any_folder_and_a_failed_run_blocks_nothing(
        tmp_path, tiny_painter, style_image, weights_dir, val_dir):
    project = tmp_path / "project"  # a painter trained in another folder: its card holds "styles/<name>.jpg"
    (project / "checkpoints").mkdir(parents=True)
    (project / "styles").mkdir()
    shutil.copy(style_image, project / "styles" / style_image.name)
    payload = torch.load(tiny_painter, weights_only=True)
    payload["painters"][0]["style_image"] = f"styles/{style_image.name}"
    moved = project / "checkpoints" / "moved.pt"
    torch.save(payload, moved)
    lost = tmp_path / "lost.pt"
    payload["painters"][0]["style_image"] = "styles/gone.jpg"
    torch.save(payload, lost)
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(sorted(val_dir.iterdir())[0], photos)
    out = tmp_path / "report"
    common = [str(photos), "-o", str(out), "--size", "48", "--reference-iterations", "2",
              "--vgg-weights", str(weights_dir), "--device", "cpu"]

    failed = run_cli("infer", "compare", *common, "-m", str(lost))  # run from the repo, not from project/
    assert_one_line_error(failed, "cannot find the style image of tiny (styles/gone.jpg); give it with --style",
                          tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lost.pt", "photos", "project"]  # nothing left behind
    (tmp_path / ".report.part").mkdir()  # an interrupted compare with other settings does not block either
    (tmp_path / ".report.part" / "config.json").write_text("{}")
    fixed = run_cli("infer", "compare", *common, "-m", str(lost), "--style", str(style_image))
    assert fixed.returncode == 0, fixed.stderr

    found = run_cli("infer", "compare", *common, "-m", str(moved))
    assert_one_line_error(found, "report exists; pass --overwrite", tmp_path)
    found = run_cli("infer", "compare", *common, "-m", str(moved), "--overwrite")
    assert found.returncode == 0, found.stderr
    style = json.loads((out / "metrics.json").read_text())["methods"][0]["style"]
    assert style == str(project / "styles" / style_image.name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lost.pt", "photos", "project", "report"]


@pytest.mark.slow
def test_an_animated_gif_is_a_clip_and_a_photo_format_this_pillow_cannot_read_is_named(
        tmp_path, style_image, weights_dir):
    photo = Image.open(shared("data", "photos", "val", "bsds300_img_003.jpg")).resize((32, 24))
    gif = tmp_path / "moving.gif"
    photo.save(gif, save_all=True, append_images=[photo.rotate(5), photo.rotate(10)], duration=100, loop=0)
    args = ["--style", str(style_image), "--vgg-weights", str(weights_dir), "--iterations", "2",
            "--frame-iterations", "1", "--device", "cpu"]
    as_photo = run_cli("infer", "reference", str(gif), "-o", str(tmp_path / "still.png"), *args)
    assert_one_line_error(as_photo, "cannot write still.png: .png is not supported for this output", tmp_path)
    done = run_cli("infer", "reference", str(gif), "-o", str(tmp_path / "moving.mp4"), *args)
    assert done.returncode == 0 and "3 frames" in done.stdout, done.stderr
    heic = tmp_path / "phone.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic")  # Pillow has no HEIC decoder without a plug-in
    refused = run_cli("infer", "reference", str(heic), "-o", str(tmp_path / "phone.png"), *args)
    assert_one_line_error(refused, "cannot read .heic photos here; convert phone.heic to PNG or JPEG first", tmp_path)
