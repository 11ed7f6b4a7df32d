import dataclasses
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nets.images import load_image
from nets.losses import PerceptualLoss
from nets.painter import load_painter, read_painter
from nets.transformer import TransformerNet
from nets.vgg import VGGFeatures
from tests.conftest import ROOT, assert_one_line_error, run_cli, shared, tiny_config
from train.config import ConfigError, parse_duration
from train.data import PhotoBank, list_images
from train.trainer import TERMS, TrainError, set_up, train, train_or_reuse, train_step


def weighted_loss(model: TransformerNet, cfg, photos: torch.Tensor) -> float:
    vgg = VGGFeatures("vgg16", ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], cfg.vgg_weights)
    criterion = PerceptualLoss(vgg, load_image(cfg.style[0], cfg.style_size))
    with torch.no_grad():
        content, style = criterion(model(photos), photos)
    return (cfg.content_weight * content + cfg.style_weight[0] * style).mean().item()


def test_training_lowers_the_loss_and_writes_a_safe_checkpoint(trained_painter):
    path, card, cfg = trained_painter
    model, payload = load_painter(path)  # weights_only=True inside
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "painter/2" and raw["step"] == 20
    assert payload["config"]["image_size"] == 64 and payload["config"]["style_weight"] == cfg.style_weight

    torch.manual_seed(cfg.seed)
    untrained = TransformerNet().eval()  # the trainer's initial weights: same seed, same construction
    bank = PhotoBank(list_images(cfg.photos), 64, torch.device("cpu"))
    photos = bank.crops(4, bank.generator_for(5)).float() / 255
    before, after = weighted_loss(untrained, cfg, photos), weighted_loss(model, cfg, photos)
    assert after < 0.9 * before, (before, after)

    written = json.loads(Path(cfg.out_dir, "tiny.json").read_text())
    assert written == card
    assert card["steps"] == 20 and card["samples_seen"] == 40 and card["wall_time_s"] > 0
    assert card["device"].startswith("CPU") and card["config"]["style"] == cfg.style
    [painter] = card["painters"]
    assert painter["name"] == "tiny" and painter["style_image"] == cfg.style[0]
    metrics = painter["metrics"]
    assert metrics["val_photos"] == 3 and metrics["val_style"] < metrics["val_identity_style"]
    assert payload["painters"] == card["painters"]  # the painter file carries its painters' records too
    assert list(Path(cfg.log_dir, "tiny").glob("events.out.tfevents.*")), "no TensorBoard log"
    curve = json.loads(Path(cfg.log_dir, "tiny", "curve.json").read_text())
    assert [point["step"] for point in curve] == [5, 10, 15, 20] and curve[-1]["style"] < curve[0]["style"]


def test_resume_continues_from_the_saved_step(tmp_path, style_image, photo_dir, weights_dir, caplog):
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=10, checkpoint_every=5)
    train(cfg)
    first, _ = load_painter(Path(cfg.out_dir) / "tiny.pt")
    state = torch.load(Path(cfg.log_dir) / "tiny" / "state.pt", weights_only=True)
    assert state["step"] == 10

    with caplog.at_level(logging.INFO):
        card = train(tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=12, resume=True))
    assert "resuming tiny at step 10" in caplog.text
    assert card["steps"] == 12 and card["samples_seen"] == 24
    second, _ = load_painter(Path(cfg.out_dir) / "tiny.pt")
    # Two Adam steps move each weight by at most about 2·lr; a restart from scratch would differ by far more.
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    change = max((a - b).abs().max().item() for a, b in pairs)
    assert 0 < change <= 2.5 * cfg.lr


def test_unreadable_photos_are_skipped_with_a_warning(tmp_path, photo_dir, caplog):
    for path in list(photo_dir.iterdir())[:2]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "broken.jpg").write_text("not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored: not an image name")
    with caplog.at_level(logging.WARNING):
        paths = list_images(tmp_path)
    assert [p.name for p in paths] == sorted(p.name for p in list(photo_dir.iterdir())[:2])
    assert "broken.jpg" in caplog.text and "notes.txt" not in caplog.text


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing_style", "style image: no such file"),
        ("empty_photos", "no readable images"),
        ("unwritable_output", "cannot write to"),
        ("bad_option", "invalid int value"),
        ("painter_exists", "continue it with --resume"),
        ("bad_clip", "not a readable video"),
        ("no_pairs", "--temporal-pairs must be at least 1"),
        ("no_steps", "--steps must be at least 1"),
        ("weight_count", "--style-weight takes one value or one per style image (2), not 3"),
        ("family_unnamed", "a family of several painters needs a --name"),
        ("bad_time", "cannot read the duration"),
        ("name_is_a_path", "--name is a file name, not a path"),
        ("no_batch", "--batch-size must be at least 1"),
        ("negative_lr", "--lr must be above 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, expected, tmp_path, style_image, photo_dir, weights_dir):
    args = {"--style": str(style_image), "--photos": str(photo_dir), "--out-dir": str(tmp_path / "out"),
            "--log-dir": str(tmp_path / "runs"), "--vgg-weights": str(weights_dir), "--steps": "1"}
    if case == "missing_style":
        args["--style"] = str(tmp_path / "nope.jpg")
    elif case == "empty_photos":
        (tmp_path / "empty").mkdir()
        args["--photos"] = str(tmp_path / "empty")
    elif case == "unwritable_output":
        (tmp_path / "file").write_text("a file, not a folder")
        args["--out-dir"] = str(tmp_path / "file" / "out")
    elif case == "bad_clip":
        (tmp_path / "clip.mp4").write_text("not a video")
        args |= {"--temporal-weight": "10", "--clips": str(tmp_path / "clip.mp4")}
    elif case == "no_pairs":
        args |= {"--temporal-weight": "10", "--temporal-pairs": "0"}
    elif case == "no_steps":
        args["--steps"] = "0"
    elif case in ("weight_count", "family_unnamed"):
        args["--style"] = f"{style_image} {shared('data', 'styles', 'munch_the_scream.jpg')}"
        if case == "weight_count":
            args["--style-weight"] = "1 2 3"
    elif case == "bad_time":
        args["--time-limit"] = "soon"
    elif case == "name_is_a_path":
        args["--name"] = "../escaped"
    elif case == "no_batch":
        args["--batch-size"] = "0"
    elif case == "negative_lr":
        args["--lr"] = "-1"
    elif case == "painter_exists":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "vangogh_starry_night.pt").write_bytes(b"an earlier painter")
    else:
        args["--steps"] = "many"
    result = run_cli("train", *[part for key, value in args.items() for part in (key, *value.split(" "))])
    assert_one_line_error(result, expected, tmp_path)
    written = sorted(p.name for p in (tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert not (tmp_path / "escaped.pt").exists()
    assert written == (["vangogh_starry_night.pt"] if case == "painter_exists" else [])
    assert not (tmp_path / "runs" / "vangogh_starry_night").exists()  # a refused run leaves no folder behind
    if case == "painter_exists":
        assert (tmp_path / "out" / "vangogh_starry_night.pt").read_bytes() == b"an earlier painter"


def test_a_diverging_loss_stops_the_run_at_the_next_log_step(tmp_path, style_image, photo_dir, weights_dir):
    # Losses are read from the GPU once per log step, so that is where a NaN is caught; no painter is written.
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=6, log_every=2,
                      content_weight=float("nan"))
    with pytest.raises(TrainError, match="the loss became nan before step 2"):
        train(cfg)
    assert not Path(cfg.out_dir, "tiny.pt").exists()


def test_a_finished_run_with_the_same_settings_is_reused(tmp_path, style_image, photo_dir, weights_dir):
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=2, overwrite=True)
    card = train(cfg)
    painter = Path(cfg.out_dir, "tiny.pt")
    written = painter.stat().st_mtime_ns
    assert train_or_reuse(cfg) == card and painter.stat().st_mtime_ns == written
    assert train_or_reuse(dataclasses.replace(cfg, steps=3))["steps"] == 3  # other settings: a new run


def test_temporal_training_mixes_synthetic_and_clip_pairs(tmp_path, style_image, photo_dir, weights_dir):
    clips = shared("data", "video", "sintel", "alley_1_clean_0001-0004")
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=6, log_every=3, temporal_weight=50.0,
                      clips=str(clips))
    card = train(cfg)
    assert card["final_losses"]["temporal"] > 0
    assert len(list((tmp_path / "runs" / "flow_cache").rglob("pair_*.npz"))) == 3  # the clip's 3 pairs, cached


def test_photo_bank_crops_are_real_crops_flipped_at_random(photo_dir):
    paths = list_images(photo_dir)[:2]
    bank = PhotoBank(paths, 48, torch.device("cpu"), workers=2)
    assert len(bank) == 2 and bank.pixels.dtype == torch.uint8
    crops = bank.crops(64, bank.generator_for(0))
    assert crops.shape == (64, 3, 48, 48) and crops.dtype == torch.uint8
    # Every crop is a window of one of the photos (shorter side resized to 48), mirrored or not.
    photos = [bank.pixels[o:o + 3 * h * w].view(3, h, w) for o, h, w in
              zip(bank.offsets.tolist(), bank.heights.tolist(), bank.widths.tolist(), strict=True)]
    assert min(min(p.shape[1:]) for p in photos) == 48
    flipped = 0
    for crop in crops[:16]:
        found = None
        for photo in photos:
            for mirror in (False, True):
                image = photo.flip(-1) if mirror else photo
                windows = image.unfold(1, 48, 1).unfold(2, 48, 1)  # 3×Y×X×48×48
                match = (windows == crop[:, None, None]).flatten(3).all(3).all(0)
                if match.any():
                    found = mirror
        assert found is not None, "a crop that is no window of any photo"
        flipped += found
    assert 0 < flipped < 16
    again = bank.crops(64, bank.generator_for(0))
    assert torch.equal(crops, again)  # the seed fixes the crops (resume draws the same way)


def test_a_family_trains_every_painter_and_resumes(tmp_path, style_image, photo_dir, weights_dir, val_dir):
    styles = [str(style_image), str(shared("data", "styles", "munch_the_scream.jpg"))]
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, style=styles, style_weight=[5.0, 3.0],
                      name="pair", steps=8, log_every=4, checkpoint_every=4, val_photos=str(val_dir), lr=0.001)
    card = train(cfg)
    assert [p["name"] for p in card["painters"]] == ["vangogh_starry_night", "munch_the_scream"]
    assert [p["style_weight"] for p in card["painters"]] == [5.0, 3.0]
    for painter in card["painters"]:
        metrics = painter["metrics"]
        assert metrics["val_style"] < metrics["val_identity_style"], painter["name"]
    model, payload = load_painter(Path(cfg.out_dir, "pair.pt"))
    assert model.painters == 2 and payload["name"] == "pair"
    photo = load_image(sorted(val_dir.iterdir())[0], 64)
    with torch.no_grad():
        outputs = [model(photo, torch.eye(2)[k:k + 1]) for k in range(2)]
    assert (outputs[0] - outputs[1]).abs().mean() > 0.0005  # two painters, not one (one shared row gives 0)

    resumed = train(dataclasses.replace(cfg, steps=10, resume=True))
    assert resumed["steps"] == 10 and [p["name"] for p in resumed["painters"]] == ["vangogh_starry_night",
                                                                                    "munch_the_scream"]


def test_adding_a_painter_trains_only_its_rows(tmp_path, trained_painter, photo_dir, weights_dir):
    path, _, base = trained_painter
    new_style = str(shared("data", "styles", "signac_riverscape.jpg"))
    cfg = tiny_config(tmp_path, Path(new_style), photo_dir, weights_dir, init=str(path), name="grown", steps=6,
                      log_every=3)
    card = train(cfg)
    assert [p["name"] for p in card["painters"]] == ["tiny", "signac_riverscape"] and card["trained"] == [
        "signac_riverscape"]
    before, _ = load_painter(path)
    after, payload = load_painter(Path(cfg.out_dir, "grown.pt"))
    assert payload["painters"][0] == read_painter(path)["painters"][0]  # the old painter's record is carried
    old, new = after.state_dict(), before.state_dict()
    for key, value in new.items():  # shared weights and the old painter's rows: bit-identical
        assert torch.equal(old[key][:1] if value.dim() == 2 else old[key], value), key
    assert any(not torch.equal(old[k][1], old[k][0]) for k in old if old[k].dim() == 2)  # the new rows moved
    frames = torch.rand(1, 3, 40, 40)
    with torch.no_grad():
        assert torch.equal(after(frames, torch.tensor([[1.0, 0.0]])), before(frames))


def test_time_limit_stops_cleanly_and_writes_the_painter(tmp_path, style_image, photo_dir, weights_dir):
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=100_000, time_limit="4s")
    started = time.perf_counter()
    card = train(cfg)
    assert time.perf_counter() - started < 30
    assert card["stopped_early"] and 0 < card["steps"] < 100_000
    assert load_painter(Path(cfg.out_dir, "tiny.pt"))[1]["step"] == card["steps"]
    state = torch.load(Path(cfg.log_dir, "tiny", "state.pt"), weights_only=True)
    assert state["step"] == card["steps"]  # --resume continues from there


def test_durations_read_as_users_write_them():
    assert parse_duration("90") == parse_duration("90s") == parse_duration("1m30s") == 90
    assert parse_duration("1h30m") == 5400 and parse_duration("") == 0
    with pytest.raises(ConfigError, match="duration"):
        parse_duration("soon")


def test_an_unreadable_validation_photo_does_not_lose_the_run(tmp_path, style_image, photo_dir, weights_dir, val_dir,
                                                              caplog):
    val = tmp_path / "val"
    shutil.copytree(val_dir, val)
    good = sorted(val.iterdir())[0].read_bytes()
    (val / "truncated.jpg").write_bytes(good[: len(good) // 3])  # a valid header, then nothing
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=2, val_photos=str(val))
    with caplog.at_level(logging.WARNING):
        card = train(cfg)
    assert card["painters"][0]["metrics"]["val_photos"] == 3
    assert "truncated.jpg" in caplog.text and Path(cfg.out_dir, "tiny.pt").is_file()


def test_progress_in_a_log_file_is_a_few_lines_not_a_redraw_per_step(tmp_path, style_image, photo_dir, weights_dir):
    result = run_cli("train", "--style", str(style_image), "--photos", str(photo_dir), "--out-dir",
                     str(tmp_path / "out"), "--log-dir", str(tmp_path / "runs"), "--vgg-weights", str(weights_dir),
                     "--steps", "12", "--image-size", "32", "--style-size", "64", "--batch-size", "2",
                     "--log-every", "2", "--name", "quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\r") <= 4  # stderr is a pipe here: no redraw per step or per log line
    assert "wrote" in result.stdout and (tmp_path / "out" / "quiet.pt").is_file()


def test_one_step_alone_trains_each_painter_of_a_family(tmp_path, style_image, photo_dir, weights_dir):
    styles = [str(style_image), str(shared("data", "styles", "munch_the_scream.jpg"))]
    run = set_up(tiny_config(tmp_path, style_image, photo_dir, weights_dir, style=styles, name="pair", batch_size=2))
    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    values = train_step(run)
    assert run.step == 1 and values.shape == (len(TERMS) + 2,) and torch.isfinite(values).all()
    assert values[len(TERMS):].min() > 0  # one photo of the batch went to each painter
    after = run.model.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in after if k.endswith(".weight"))
    assert not (tmp_path / "checkpoints" / "pair.pt").exists()  # a step writes nothing: finish does


@pytest.mark.slow
def test_two_torchrun_processes_take_the_steps_of_one_with_the_whole_batch(tmp_path, style_image, photo_dir,
                                                                           weights_dir):
    args = ["--style", str(style_image), "--photos", str(photo_dir), "--vgg-weights", str(weights_dir),
            "--image-size", "64", "--style-size", "128", "--batch-size", "4", "--steps", "3", "--workers", "0",
            "--temporal-weight", "10", "--temporal-pairs", "2", "--device", "cpu", "--amp", "off", "--log-every", "1",
            "--name", "ddp"]
    one = run_cli("train", *args, "--out-dir", str(tmp_path / "one"), "--log-dir", str(tmp_path / "runs_one"))
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                          str(29500 + os.getpid() % 1000), "-m", "train", *args, "--out-dir", str(tmp_path / "two"),
                          "--log-dir", str(tmp_path / "runs_two")], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("wrote ") == 1  # process 0 alone reports and writes
    # the log and the model card say how it ran
    assert "on 2 processes (torchrun, gloo), each on CPU" in two.stderr
    card = json.loads((tmp_path / "two" / "ddp.json").read_text())
    assert card["processes"] == 2 and card["device"].startswith("2 processes (torchrun, gloo), each on CPU")
    curves = [json.loads((tmp_path / runs / "ddp" / "curve.json").read_text()) for runs in ("runs_one", "runs_two")]
    for a, b in zip(*curves, strict=True):  # the same batches and the same updates give the same losses
        assert a["step"] == b["step"] and b["total"] == pytest.approx(a["total"], rel=1e-3)
        assert b["temporal"] == pytest.approx(a["temporal"], rel=1e-3)
    photo = load_image(shared("data", "photos", "val", "bsds300_img_001.jpg"), 96)
    with torch.no_grad():
        single, split = (load_painter(tmp_path / out / "ddp.pt")[0](photo) for out in ("one", "two"))
    # Adam moves every weight by ±lr in its first step, so gradients that are zero but for float noise (those
    # of biases before an instance norm, say) differ in sign; the painters agree within about one level.
    assert (single - split).abs().mean() < 0.005 < (single - photo).abs().mean()
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["ddp.json", "ddp.pt"]


@pytest.mark.slow
def test_ctrl_c_saves_the_state_and_exits_130(tmp_path, style_image, photo_dir, weights_dir):
    run = subprocess.Popen([sys.executable, "-m", "train", "--style", str(style_image), "--photos", str(photo_dir),
                            "--vgg-weights", str(weights_dir), "--image-size", "64", "--style-size", "64",
                            "--steps", "100000", "--workers", "0", "--out-dir", str(tmp_path / "out"), "--log-dir",
                            str(tmp_path / "runs"), "--name", "stopped", "--checkpoint-every", "1"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           # as typed in a terminal: a job started in the background by a script ignores Ctrl-C,
                           # and its children would inherit that
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    state = tmp_path / "runs" / "stopped" / "state.pt"
    deadline = time.monotonic() + 240
    while not state.exists() and run.poll() is None and time.monotonic() < deadline:  # a step has finished
        time.sleep(0.2)  # waits for an event, not a fixed time: CI may run on a busy machine
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130 and "Traceback" not in stderr, stderr
    assert "continue with the same command and --resume" in stderr
    assert torch.load(tmp_path / "runs" / "stopped" / "state.pt", weights_only=True)["step"] > 0
    assert not (tmp_path / "out" / "stopped.pt").exists()  # no painter from a run that did not finish


def test_shift_noise_and_light_terms_fall_over_a_few_steps(tmp_path, style_image, photo_dir, weights_dir):
    """The exact consistency terms: painting a photo moved by up to 3 px (whole and sub-pixel) as its painting
    moved, and a noisy photo as the photo; and the light term. Alone with the content term on a fresh network,
    each falls."""
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=24, log_every=4, style_weight=[0.0],
                      shift_weight=20.0, noise_weight=20.0, light_weight=20.0, lr=3e-3, antialias="both")
    card = train(cfg)
    curve = json.loads(Path(cfg.log_dir, "tiny", "curve.json").read_text())
    for term in ("shift", "noise", "light"):
        assert curve[0][term] > 0 and curve[-1][term] < 0.7 * curve[0][term], (term, curve[0][term], curve[-1][term])
    assert card["final_losses"]["shift"] > 0
    model, payload = load_painter(Path(cfg.out_dir, "tiny.pt"))
    assert payload["architecture"]["smooth_upsampling"] and payload["architecture"]["blur_downsampling"]


def test_the_light_term_falls_and_says_where_a_photo_is_lit_not_how_brightly():
    """The light term compares where the painting and the photo are light (cells of the crop, less their mean):
    the same layout at another overall light costs nothing, a mirrored one does."""
    from train.trainer import light_layout

    photo = torch.linspace(0, 1, 64).repeat(1, 3, 64, 1)  # dark on the left, bright on the right
    assert torch.allclose(light_layout(photo + 0.2), light_layout(photo), atol=1e-5)
    assert (light_layout(photo) - light_layout(photo.flip(-1))).abs().mean() > 0.2


def test_the_shift_terms_moves_are_exact_for_whole_pixels_and_half_are_sub_pixel():
    """A whole-pixel move copies pixels (so a painter that moves with the image scores 0); every other drawn move
    is a fraction of a pixel, where a zoom or a turn puts the stroke grid."""
    from train.consistency import moved, random_offsets

    photos = torch.rand(1, 3, 48, 48)
    offsets = random_offsets(8, torch.Generator().manual_seed(0))
    assert torch.equal(offsets[::2], offsets[::2].round()) and not torch.equal(offsets[1::2], offsets[1::2].round())
    assert offsets.abs().max() <= 3
    shifted = moved(photos, torch.tensor([[2.0, -1.0]]))  # 2 px right, 1 px up
    assert torch.allclose(shifted[0, :, 16:-16, 16:-16], photos[0, :, 17:-15, 14:-18], atol=1e-5)
