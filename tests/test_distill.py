"""The fast family: distilling a small network from a family, finding it by name, blending and exporting it."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from infer.export import export_painter, verification_photos
from infer.networks import TorchNetwork
from infer.painters import CHECKPOINTS, find_painter, stale_export
from infer.stylizer import Stylizer
from nets.metrics import repaint
from nets.painter import load_painter, save_painter
from nets.transformer import Architecture, TransformerNet
from tests.conftest import assert_one_line_error, run_cli, shared, shipped_painters
from train.distill import DistillConfig, DistillError, distill


def small_config(tmp: Path, teacher: Path, photos: Path, weights: Path, **overrides) -> DistillConfig:
    """A student of width 8 and one block on 64 px crops: seconds on two cores."""
    settings = dict(teacher=str(teacher), photos=str(photos), name="duo_fast", out_dir=str(tmp / "painters"),
                    log_dir=str(tmp / "runs"), vgg_weights=str(weights), width=8, residual_blocks=1, image_size=64,
                    crops_per_photo=2, batch_size=4, steps=80, perceptual_crops=1, temporal_pairs=1,
                    checkpoint_every=20, style_weight=0.0, temporal_weight=1.0)  # the pixel term leads, for speed
    return DistillConfig(**(settings | overrides))


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, tiny_family, photo_dir, weights_dir) -> tuple[Path, DistillConfig]:
    tmp = tmp_path_factory.mktemp("distill")
    (tmp / "painters").mkdir()
    (tmp / "painters" / "duo.pt").write_bytes(tiny_family.read_bytes())  # teacher and student side by side
    cfg = small_config(tmp, tiny_family, photo_dir, weights_dir)
    distill(cfg)
    return tmp / "painters" / "duo_fast.pt", cfg


def l1_to_teacher(student: TransformerNet, teacher: TransformerNet, weights: torch.Tensor) -> float:
    photo = torch.from_numpy(verification_photos()[1].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        return float((student(photo, weights) - teacher(photo, weights)).abs().mean())


def test_the_student_learns_the_teachers_pictures_in_its_own_small_shape(distilled, tiny_family):
    path, cfg = distilled
    student, payload = load_painter(path)
    teacher, family = load_painter(tiny_family)
    assert student.architecture == cfg.architecture and student.architecture.pixel_shuffle
    assert [p["name"] for p in payload["painters"]] == [p["name"] for p in family["painters"]]
    assert payload["step"] == 80 and payload["architecture"] == dataclasses.asdict(cfg.architecture)
    torch.manual_seed(cfg.seed)  # the student's initial weights, made as distill made them
    untrained = TransformerNet(2, cfg.architecture).eval()
    for weights in (torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]])):
        assert l1_to_teacher(student, teacher, weights) < 0.8 * l1_to_teacher(untrained, teacher, weights)
    params = sum(p.numel() for p in student.parameters())
    assert params < sum(p.numel() for p in teacher.parameters()) / 20


def test_a_resumed_run_continues_and_reuses_the_teachers_pictures(distilled, tmp_path):
    path, cfg = distilled
    cache = Path(cfg.log_dir) / cfg.student_name / "teacher.pt"
    painted = cache.stat().st_mtime_ns
    state_path = cache.with_name("state.pt")
    state = torch.load(state_path, weights_only=True)
    torch.save(state | {"elapsed": 3600.0}, state_path)  # as if the first run had taught for an hour
    more = dataclasses.replace(cfg, steps=85, resume=True, out_dir=str(tmp_path), time_limit="30m")
    card = distill(more)  # its own 30 minutes: it goes on (a chunk of a long lesson), as the trainer does
    assert card["steps"] == 85 and cache.stat().st_mtime_ns == painted
    assert card["history"][-1]["wall_time_s"] > 3600  # the card still counts every run's time
    other = dataclasses.replace(more, steps=90, shift_weight=5.0, lr=1e-4)  # goes on only as it began
    with pytest.raises(DistillError, match="taught with another --lr, --shift-weight: resume with the same"):
        distill(other)


@pytest.mark.parametrize("widen", [0, 12], ids=["same_shape", "widened"])
def test_a_student_taught_before_learns_on_from_where_it_stopped(distilled, tiny_family, tmp_path, widen):
    path, cfg = distilled
    first, payload = load_painter(path)
    teacher, _ = load_painter(tiny_family)
    more = dataclasses.replace(cfg, init=str(path), width=16, widen=widen, steps=10, lr=1e-5, out_dir=str(tmp_path),
                               log_dir=str(tmp_path / "runs"))
    card = distill(more)
    student, longer = load_painter(tmp_path / "duo_fast.pt")
    # The init's shape, not --width; --widen makes it wider, painting the same pictures.
    assert student.architecture == dataclasses.replace(first.architecture, width=widen or first.architecture.width)
    assert longer["architecture"] == card["history"][-1]["architecture"] == student.architecture.to_dict()
    assert len(longer["history"]) == len(payload["history"]) + 1 and card["history"][-1]["config"]["init"] == str(path)
    weights = torch.tensor([[1.0, 0.0]])
    torch.manual_seed(cfg.seed)
    untrained = l1_to_teacher(TransformerNet(2, cfg.architecture).eval(), teacher, weights)
    assert abs(l1_to_teacher(student, teacher, weights) - l1_to_teacher(first, teacher, weights)) < 0.05 * untrained


def test_the_fast_version_is_found_by_the_painters_name(distilled, caplog):
    path, _ = distilled
    folders = [path.parent]
    assert find_painter("munch_the_scream", folders).files.pt.name == "duo.pt"  # the full family by default
    fast = find_painter("munch_the_scream", folders, fast=True)
    assert fast.files.pt == path and fast.painter == "munch_the_scream"
    assert find_painter("duo", folders, fast=True).files.pt == path
    assert find_painter("duo_fast", folders, fast=True).files.pt == path
    alone = path.parent / "solo.pt"
    alone.write_bytes((path.parent / "duo.pt").read_bytes())
    with caplog.at_level(logging.WARNING):
        assert find_painter(alone, fast=True).files.pt == alone
    assert "solo has no fast version" in caplog.text and f"--teacher {alone} --out-dir" in caplog.text
    assert "(hours on a CPU)" in caplog.text  # the shipped family it copies grew from no fast family
    caplog.clear()
    grown = path.parent / "duo_grown.pt"  # a family that grew from duo, which has a fast version: minutes
    model, payload = load_painter(path.parent / "duo.pt")
    save_painter(grown, model, "duo_grown", payload["painters"], {"init": str(path.parent / "duo.pt")}, 1)
    with caplog.at_level(logging.WARNING):
        find_painter(grown, fast=True)
    assert f"--init {path} --photos <folder> --steps 100000 --time-limit 2m" in caplog.text


def test_the_fast_family_blends_and_exports(distilled, tmp_path):
    path, _ = distilled
    network = TorchNetwork(path, torch.device("cpu"))
    photo = verification_photos()[1][None]
    one, other = (network(photo, np.float32([w])) for w in ([1, 0], [0, 1]))
    half = network(photo, np.float32([[0.5, 0.5]]))
    assert np.abs(one.astype(int) - other).mean() > 2 and not np.array_equal(half, one)
    report = export_painter(path, tmp_path / "duo_fast.onnx", verification_photos())
    assert max(report.max_diff.values()) <= 1 and stale_export(path, tmp_path / "duo_fast.onnx") is None


def test_bad_input_is_one_line(tmp_path):
    result = run_cli("train.distill", "--photos", str(tmp_path / "nowhere"), "--out-dir", str(tmp_path / "out"),
                     "--log-dir", str(tmp_path / "runs"))
    assert_one_line_error(result, "nowhere", tmp_path)
    result = run_cli("train.distill", "--photos", str(tmp_path), "--image-size", "30")
    assert_one_line_error(result, "--image-size must be at least 32", tmp_path)
    result = run_cli("train.distill", "--photos", str(tmp_path), "--init", str(tmp_path / "gone.pt"),
                     "--out-dir", str(tmp_path / "out"), "--log-dir", str(tmp_path / "runs"))
    assert_one_line_error(result, "--init: no such painter file", tmp_path)


def test_a_student_that_cannot_go_on_is_refused(distilled, tiny_painter, tmp_path):
    path, cfg = distilled
    cfg = dataclasses.replace(cfg, out_dir=str(tmp_path), log_dir=str(tmp_path))
    for bad, message in ((dict(init=str(tiny_painter)), "not the teacher's"),
                         (dict(init=str(path), widen=4), "already 8 wide"), (dict(widen=12), "give --init"),
                         (dict(painters=["munch_the_scream"]), "give --init"),
                         (dict(init=str(path), painters=["nobody"]), "no painter nobody"),
                         (dict(graft=True), "no layer of the teacher fits"),
                         (dict(init=str(path), graft=True), "--graft starts a new student"),
                         (dict(tail_convolutions=1, pixel_shuffle=False), "before a pixel shuffle")):
        with pytest.raises(DistillError, match=message):
            distill(dataclasses.replace(cfg, **bad))


@pytest.mark.skipif(not (CHECKPOINTS / "four_painters_fast.pt").is_file(), reason="the fast family is not shipped")
def test_the_shipped_fast_family_holds_the_full_familys_painters_and_is_exported():
    fast, full = find_painter("four_painters_fast"), find_painter("four_painters")
    fast_model, fast_payload = load_painter(fast.files.pt)
    assert [p["name"] for p in fast_payload["painters"]] == [p["name"] for p in load_painter(full.files.pt)[1][
        "painters"]]
    assert fast_model.architecture != Architecture()
    assert fast.files.onnx is not None and stale_export(fast.files.pt, fast.files.onnx) is None
    with Image.open(shared("data", "photos", "val", "bsds300_img_001.jpg")) as img:
        photo = np.asarray(img.convert("RGB").resize((96, 64)))
    out = Stylizer(blend="vangogh_starry_night=0.5,munch_the_scream=0.5", fast=True, device="cpu").image(photo)
    assert out.shape == photo.shape



def test_a_family_that_grew_gets_its_new_painter_taught_to_its_fast_version(distilled, tmp_path):
    """The studio's case: a painter added to a family; its fast version learns the newcomer alone."""
    path, cfg = distilled
    grown = shipped_painters(tmp_path / "trio.pt", [0, 1, 2], "trio")  # the duo and Hokusai
    card = distill(dataclasses.replace(cfg, teacher=str(grown), init=str(path), name="trio_fast", steps=150, lr=1e-2,
                                       out_dir=str(tmp_path), log_dir=str(tmp_path / "runs")))
    before, _ = load_painter(path)
    after, payload = load_painter(tmp_path / "trio_fast.pt")
    teacher, family = load_painter(grown)
    assert [p["name"] for p in payload["painters"]] == [p["name"] for p in family["painters"]]
    assert len(card["history"]) == len(load_painter(path)[1]["history"]) + 1
    new, old = after.state_dict(), before.state_dict()
    for key, value in old.items():  # its convolutions and the duo's rows: bit-identical
        assert torch.equal(new[key][:2] if value.dim() == 2 else new[key], value), key
    hokusai = torch.tensor([[0.0, 0.0, 1.0]])
    start, end = l1_to_teacher(before.with_painters(3), teacher, hokusai), l1_to_teacher(after, teacher, hokusai)
    assert end < 0.9 * start, (start, end)


def test_a_painter_retrained_in_the_teacher_is_taught_alone(distilled, tmp_path):
    path, cfg = distilled
    distill(dataclasses.replace(cfg, init=str(path), painters=["munch_the_scream"], steps=5, out_dir=str(tmp_path),
                                log_dir=str(tmp_path / "runs")))
    before, after = load_painter(path)[0].state_dict(), load_painter(tmp_path / "duo_fast.pt")[0].state_dict()
    for key, value in before.items():  # the convolutions and Van Gogh's rows as they were; Munch's taught
        assert torch.equal(after[key][:1] if value.dim() == 2 else after[key], value[:1] if value.dim() == 2 else value)
    assert any(not torch.equal(after[k][1], before[k][1]) for k in before if before[k].dim() == 2)


def test_a_grafted_student_keeps_the_teachers_inner_layers_and_learns_its_outer_ones(tiny_family, photo_dir,
                                                                                        weights_dir, tmp_path):
    """--graft: a pixel-shuffle student twice the teacher's width starts with its inner layers, keeps them as
    they are, and its outer layers (with a tail convolution, as the shipped fast family) learn to paint the
    teacher's pictures through them."""
    teacher, _ = load_painter(tiny_family)
    cfg = small_config(tmp_path, tiny_family, photo_dir, weights_dir, width=64, residual_blocks=5, outer_kernel=5,
                       tail_convolutions=1, graft=True, steps=40)
    card = distill(cfg)
    student, payload = load_painter(Path(cfg.out_dir) / "duo_fast.pt")
    assert student.architecture.tail_convolutions == 1 and card["architecture"]["tail_convolutions"] == 1
    assert set(card["curve"][0]) == {"step", "loss", "features", "pixel", "seconds"}  # the graft's own lesson
    torch.manual_seed(cfg.seed)  # the student as distill made it: random outer layers, the teacher's inner ones
    start = TransformerNet(2, cfg.architecture).eval()
    taken = start.graft(teacher)
    assert any(k.startswith("residuals.4") for k in taken)
    assert all(torch.equal(student.state_dict()[k], teacher.state_dict()[k]) for k in taken)
    for weights in (torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]])):
        assert l1_to_teacher(student, teacher, weights) < 0.8 * l1_to_teacher(start, teacher, weights)


def test_the_shift_term_teaches_a_student_to_keep_its_strokes_when_the_photo_moves(tiny_family, photo_dir,
                                                                                    weights_dir, tmp_path):
    """--shift-weight: the student paints each crop moved by up to 3 px as its own picture moved the same way.
    Two anti-aliased students, same seed and lesson, with and without the term: the one taught it repaints
    less when a validation photo moves by 1 or 1.5 px (nets.metrics.repaint; after 60 steps 0.13–0.39 levels
    against 1.2–1.7) while it learns the teacher's pictures about as well, and its card logs the term."""
    aliased = dict(pixel_shuffle=False, smooth_upsampling=True, blur_downsampling=True, steps=60)
    painted, learnt = {}, {}
    for weight in (0.0, 10.0):
        cfg = small_config(tmp_path / str(weight), tiny_family, photo_dir, weights_dir, shift_weight=weight, **aliased)
        card = distill(cfg)
        assert ("shift" in card["curve"][-1]) == (weight > 0)
        student = load_painter(Path(cfg.out_dir) / "duo_fast.pt")[0].eval()

        @torch.no_grad()
        def paint(image: np.ndarray, student: TransformerNet = student) -> np.ndarray:
            x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255
            return (student(x, torch.tensor([[1.0, 0.0]]))[0] * 255).round().byte().permute(1, 2, 0).numpy()

        torch.manual_seed(cfg.seed)
        untrained = TransformerNet(2, cfg.architecture).eval()
        teacher, mix = load_painter(tiny_family)[0], torch.tensor([[1.0, 0.0]])
        learnt[weight] = l1_to_teacher(student, teacher, mix) / l1_to_teacher(untrained, teacher, mix)
        photo = verification_photos()[1]
        painted[weight] = [repaint(paint, photo, dx, dy) for dx, dy in ((1, 0), (0, 1), (1.5, 0.5))]
    assert all(steady < 0.7 * plain for steady, plain in zip(painted[10.0], painted[0.0], strict=True)), painted
    assert learnt[10.0] < 1.1 * learnt[0.0] < 1.0, learnt  # not steady by painting flat: it learnt as the other


def test_the_teacher_grafted_into_the_anti_aliased_network_learns_its_own_pictures_back(photo_dir, weights_dir,
                                                                                        tmp_path):
    """--init the teacher itself with --smooth-upsampling --blur-downsampling: the shipped family's weights in the
    anti-aliased network (no weight added), which blurs its strokes away at first; a short lesson already brings
    every painter's pictures nearer (60 steps on 64-px crops: 0.76–0.84× the graft's L1 distance to the
    teacher's; a first step as large as lr 1e-3 takes it further away)."""
    shipped = CHECKPOINTS / "four_painters.pt"
    teacher = load_painter(shipped)[0].eval()
    cfg = small_config(tmp_path, shipped, photo_dir, weights_dir, init=str(shipped), steps=60, temporal_weight=0.0,
                       smooth_upsampling=True, blur_downsampling=True, lr=1e-4, crops_per_photo=1)
    grafted = TransformerNet(teacher.painters, dataclasses.replace(teacher.architecture, smooth_upsampling=True,
                                                                   blur_downsampling=True))
    grafted.load_state_dict(teacher.state_dict())
    distill(cfg)
    student = load_painter(Path(cfg.out_dir) / "duo_fast.pt")[0].eval()
    assert student.architecture == grafted.architecture
    assert student.state_dict().keys() == teacher.state_dict().keys()
    for mix in torch.eye(teacher.painters)[:, None]:
        assert l1_to_teacher(student, teacher, mix) < 0.9 * l1_to_teacher(grafted.eval(), teacher, mix)
