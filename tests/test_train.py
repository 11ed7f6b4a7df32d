import dataclasses
import json
import logging
from pathlib import Path

import pytest
import torch

from nets.images import load_image
from nets.losses import PerceptualLoss
from nets.painter import load_painter
from nets.transformer import TransformerNet
from nets.vgg import VGGFeatures
from tests.conftest import assert_one_line_error, run_cli, shared, tiny_config
from train.data import PhotoDataset, list_images
from train.trainer import TrainError, train, train_or_reuse


def weighted_loss(model: TransformerNet, cfg, photos: torch.Tensor) -> float:
    vgg = VGGFeatures("vgg16", ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], cfg.vgg_weights)
    criterion = PerceptualLoss(vgg, load_image(cfg.style, cfg.style_size))
    with torch.no_grad():
        content, style = criterion(model(photos), photos)
    return (cfg.content_weight * content + cfg.style_weight * style).mean().item()


def test_training_lowers_the_loss_and_writes_a_safe_checkpoint(tiny_painter):
    path, card, cfg = tiny_painter
    model, payload = load_painter(path)  # weights_only=True inside
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "painter/1" and raw["step"] == 20
    assert payload["config"]["image_size"] == 64 and payload["config"]["style_weight"] == cfg.style_weight

    torch.manual_seed(cfg.seed)
    untrained = TransformerNet().eval()  # the trainer's initial weights: same seed, same construction
    photos = torch.stack([PhotoDataset(list_images(cfg.photos), 64)[i] for i in range(4)])
    before, after = weighted_loss(untrained, cfg, photos), weighted_loss(model, cfg, photos)
    assert after < 0.9 * before, (before, after)

    written = json.loads(Path(cfg.out_dir, "tiny.json").read_text())
    assert written == card
    assert card["steps"] == 20 and card["samples_seen"] == 40 and card["wall_time_s"] > 0
    assert card["device"].startswith("CPU") and card["config"]["style"] == cfg.style
    metrics = card["metrics"]
    assert metrics["val_photos"] == 3 and metrics["val_style"] < metrics["val_identity_style"]
    assert list(Path(cfg.log_dir, "tiny").glob("events.out.tfevents.*")), "no TensorBoard log"


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
    elif case == "painter_exists":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "vangogh_starry_night.pt").write_bytes(b"an earlier painter")
    else:
        args["--steps"] = "many"
    result = run_cli("train", *[item for pair in args.items() for item in pair])
    assert_one_line_error(result, expected, tmp_path)
    written = sorted(p.name for p in (tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert written == (["vangogh_starry_night.pt"] if case == "painter_exists" else [])
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


def test_help_documents_every_option():
    result = run_cli("train", "--help")
    assert result.returncode == 0
    for option in ("--style", "--photos", "--resume", "--style-weight", "--vgg-weights", "--val-photos", "--amp"):
        assert option in result.stdout


def test_temporal_training_mixes_synthetic_and_clip_pairs(tmp_path, style_image, photo_dir, weights_dir):
    clips = shared("data", "video", "sintel", "alley_1_clean_0001-0004")
    cfg = tiny_config(tmp_path, style_image, photo_dir, weights_dir, steps=6, log_every=3, temporal_weight=50.0,
                      clips=str(clips))
    card = train(cfg)
    assert card["metrics"]["final_temporal"] > 0
    assert len(list((tmp_path / "runs" / "flow_cache").rglob("pair_*.npz"))) == 3  # the clip's 3 pairs, cached
