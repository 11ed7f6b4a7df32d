"""Render-time controls on the shipped family: blends, keyframed cross-fades, strength, the photo's colours,
stroke size."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from infer.controls import ControlError, keyframe_weights, parse_blend, parse_keyframes
from infer.stylizer import Stylizer
from nets.images import load_image, to_tensor
from nets.losses import JOHNSON_STYLE_LAYERS, PerceptualLoss
from nets.metrics import sharpness
from nets.vgg import VGGFeatures
from tests.clips import decoded_frames, make_clip
from tests.conftest import assert_one_line_error, run_cli, shared

VAN_GOGH, MUNCH = "vangogh_starry_night", "munch_the_scream"


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    path = sorted(shared("data", "photos", "val").glob("*.jpg"))[1]
    return np.asarray(Image.open(path).convert("RGB").resize((160, 112), Image.Resampling.LANCZOS))


def render(photo: np.ndarray, painter=None, **controls) -> np.ndarray:
    return Stylizer(painter, device="cpu", **controls).image(photo)


def test_blends_are_parsed_and_normalised():
    assert parse_blend("a=3, b=1") == {"a": 0.75, "b": 0.25}
    assert parse_blend("a") == {"a": 1.0}
    for bad in ("a=-1,b=2", "a=x", "a=0", "", "a=nan"):
        with pytest.raises(ControlError):
            parse_blend(bad)


def test_a_blend_with_all_weight_on_one_painter_is_that_painter(photo):
    alone = render(photo, VAN_GOGH)
    assert np.abs(render(photo, blend=f"{VAN_GOGH}=1,{MUNCH}=0").astype(int) - alone).max() <= 1
    assert np.abs(render(photo, "four_painters", blend=VAN_GOGH).astype(int) - alone).max() <= 1


def test_an_even_blend_lies_between_the_two_painters(photo, weights_dir):
    vgg = VGGFeatures("vgg16", JOHNSON_STYLE_LAYERS + ("relu2_2",), weights_dir)
    styles = [load_image(shared("data", "styles", f"{name}.jpg"), 256) for name in (VAN_GOGH, MUNCH)]
    criterion = PerceptualLoss(vgg, styles)
    outputs = {name: to_tensor(render(photo, name)) for name in (VAN_GOGH, MUNCH)}
    blend = to_tensor(render(photo, blend=f"{VAN_GOGH}=0.5,{MUNCH}=0.5"))
    content = to_tensor(photo)

    def distance(image: torch.Tensor, style: int) -> float:
        with torch.no_grad():
            return criterion(image, content, torch.tensor([style])).style.item()

    # Closer to each painting than the other painter is, farther than that painting's own painter.
    assert distance(outputs[VAN_GOGH], 0) < distance(blend, 0) < distance(outputs[MUNCH], 0)
    assert distance(outputs[MUNCH], 1) < distance(blend, 1) < distance(outputs[VAN_GOGH], 1)


def test_strength_runs_from_the_photo_to_the_painting(photo):
    assert np.abs(render(photo, MUNCH, strength=0.0).astype(int) - photo).max() <= 1
    full = render(photo, MUNCH)
    assert np.array_equal(render(photo, MUNCH, strength=1.0), full)
    half = render(photo, MUNCH, strength=0.5).astype(int)
    assert np.abs(half - (photo.astype(int) + full) / 2).max() <= 1


def test_preserved_colours_keep_the_photos_chroma_and_take_the_paintings_brightness(photo):
    painted = render(photo, MUNCH)
    kept = render(photo, MUNCH, preserve_colors=True)
    ycc = {name: cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(int)
           for name, image in (("photo", photo), ("painted", painted), ("kept", kept))}
    assert np.abs(ycc["kept"][..., 1:] - ycc["photo"][..., 1:]).mean() <= 2
    assert np.abs(ycc["painted"][..., 1:] - ycc["photo"][..., 1:]).mean() > 5  # Munch does change colours
    assert np.abs(ycc["kept"][..., 0] - ycc["painted"][..., 0]).mean() <= 2
    assert np.abs(ycc["kept"][..., 0] - ycc["photo"][..., 0]).mean() > 5


def test_the_scene_light_control_at_0_changes_nothing_and_at_1_follows_the_photos_light(photo):
    """A night shot stays dark and a bright photo bright under Seurat (whose painting sets one light level
    whatever the photo), while the strokes and palette stay the painting's."""
    seurat = "seurat_sunday_on_la_grande_jatte"
    assert np.array_equal(render(photo, seurat, keep_light=0.0), render(photo, seurat))
    dark, bright = (np.clip(photo.astype(float) * k, 0, 255).astype(np.uint8) for k in (0.25, 1.6))

    def light(image: np.ndarray) -> float:
        return float(cv2.cvtColor(image, cv2.COLOR_RGB2LAB)[..., 0].mean())

    plain = {name: render(image, seurat) for name, image in (("dark", dark), ("bright", bright))}
    lit = {name: render(image, seurat, keep_light=1.0) for name, image in (("dark", dark), ("bright", bright))}
    gap_in, gap_plain, gap_lit = (light(d["bright"]) - light(d["dark"]) for d in
                                  ({"dark": dark, "bright": bright}, plain, lit))
    assert gap_plain < 0.5 * gap_in  # the painter alone: much the same light for both
    assert gap_lit > 0.8 * gap_in, (gap_in, gap_plain, gap_lit)
    for name, image in (("dark", dark), ("bright", bright)):
        assert abs(light(lit[name]) - light(image)) < 12, name
        assert sharpness([lit[name]]) > 0.3 * sharpness([plain[name]]) * (light(image) / light(plain[name])) ** 2


def test_keyframe_weights_ease_between_keyframes_and_hold_outside():
    keyframes = parse_keyframes(f"0:{VAN_GOGH}; 4:{MUNCH}; 8:{VAN_GOGH}=1,{MUNCH}=1")
    assert [k.time for k in keyframes] == [0, 4, 8]
    names = [VAN_GOGH, MUNCH, "other"]
    w = keyframe_weights(keyframes, names, "family", np.array([0, 1, 2, 3, 4, 6, 8, 100]))
    np.testing.assert_allclose(w.sum(1), 1, atol=1e-6)
    np.testing.assert_allclose(w[0], [1, 0, 0])
    np.testing.assert_allclose(w[4], [0, 1, 0])
    np.testing.assert_allclose(w[2], [0.5, 0.5, 0], atol=1e-6)  # half way, and eased: slow at both ends
    assert w[1, 1] < 0.25 and w[3, 1] > 0.75
    np.testing.assert_allclose(w[-1], [0.5, 0.5, 0])  # held after the last keyframe
    for bad in ("x:a", "1 a", "-1:a", "1:a; 1:b", "", "4:a; 0:b", "1:75:a", "0:0:0:1:a"):
        with pytest.raises(ControlError):
            parse_keyframes(bad)


def test_keyframes_take_minutes_and_hours():
    keyframes = parse_keyframes(f"0:01:{VAN_GOGH}; 1:30:{MUNCH}; 1:02:03.5:{VAN_GOGH}=1,{MUNCH}=1; 4000:{MUNCH}")
    assert [k.time for k in keyframes] == [1, 90, 3723.5, 4000]
    assert keyframes[2].blend == {VAN_GOGH: 0.5, MUNCH: 0.5}


def test_a_blend_and_keyframes_together_are_refused_by_the_api(tmp_path, photo):
    src = tmp_path / "clip.mp4"
    make_clip(src, [photo] * 3, fps=6)
    with pytest.raises(ControlError, match="not both"):
        Stylizer(blend=f"{VAN_GOGH}=0.5,{MUNCH}=0.5", device="cpu").video(src, tmp_path / "out.mp4",
                                                                          keyframes=f"0:{MUNCH}")
    assert not (tmp_path / "out.mp4").exists()


def test_a_keyframed_clip_cross_fades_smoothly(photo, tmp_path):
    src, dst = tmp_path / "still.mp4", tmp_path / "fade.mp4"
    make_clip(src, [photo] * 13, fps=6)  # 2 s of the same picture: only the blend changes
    stylizer = Stylizer("four_painters", device="cpu")
    stylizer.video(src, dst, keyframes=f"0:{VAN_GOGH}; 2:{MUNCH}")
    frames = [f.astype(int) for f in decoded_frames(dst)]
    still = decoded_frames(src)[0]
    first, last = render(still, VAN_GOGH), render(still, MUNCH)
    assert len(frames) == 13
    whole = np.abs(last.astype(int) - first).mean()
    # Within what x264 (4:2:0, crf 18) leaves of a painting this small, the ends are the two painters.
    assert np.abs(frames[0] - first).mean() < 0.25 * whole and np.abs(frames[-1] - last).mean() < 0.25 * whole
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:], strict=False)]
    assert max(steps) < 0.35 * whole  # no jump: the fade is spread over the frames
    assert steps[len(steps) // 2] > steps[0]  # eased: fastest in the middle


def test_stroke_size_scales_the_strokes(photo, tmp_path):
    """Bigger strokes leave less fine detail (variance of the Laplacian) and finer ones more, at the photo's
    size; the command line paints what the API paints."""
    big = Image.fromarray(photo).resize((320, 224), Image.Resampling.LANCZOS)
    paintings = {size: render(np.asarray(big), MUNCH, stroke_size=size, precision="fp32", engine="torch")
                 for size in (0.5, 1.0, 2.0)}
    assert all(p.shape == (224, 320, 3) for p in paintings.values())
    assert sharpness([paintings[2.0]]) < 0.7 * sharpness([paintings[1.0]]) < 0.7 * sharpness([paintings[0.5]])
    src = tmp_path / "photo.png"
    big.save(src)
    result = run_cli("infer", "image", str(src), "-o", str(tmp_path / "out.png"), "-m", MUNCH, "--stroke-size", "2",
                     "--precision", "fp32", "--engine", "torch")
    assert result.returncode == 0, result.stderr
    assert np.abs(np.asarray(Image.open(tmp_path / "out.png")).astype(int) - paintings[2.0]).max() <= 1


@pytest.mark.parametrize("args, expected", [
    (["--blend", f"{VAN_GOGH}=0.5,nobody=0.5"], "nobody is not in four_painters"),
    (["--blend", f"{VAN_GOGH}=-1,{MUNCH}=2"], "not negative"),
    (["--blend", f"{VAN_GOGH}=0,{MUNCH}=0"], "add up to 0: give at least one painter a weight above 0"),
    (["--blend", f"{VAN_GOGH}=1", "-m", "four_painters", "vangogh_starry_night"], "at most one painter"),
    (["--strength", "1.5", "-m", VAN_GOGH], "--strength is from 0"),
    (["--stroke-size", "0", "-m", VAN_GOGH], "--stroke-size is from 0.25"),
    (["--keep-light", "2", "-m", VAN_GOGH], "--keep-light is from 0 (the painting's own light) to 1"),
    ([], "name a painter (-m) or a blend (--blend)"),
])
def test_bad_controls_are_one_line_and_exit_2(args, expected, tmp_path, photo):
    src = tmp_path / "photo.png"
    Image.fromarray(photo).save(src)
    result = run_cli("infer", "image", str(src), "-o", str(tmp_path / "out.png"), *args)
    assert_one_line_error(result, expected, tmp_path)
    assert not (tmp_path / "out.png").exists()


@pytest.mark.slow
def test_bad_keyframes_are_one_line_and_exit_2(tmp_path, photo):
    src = tmp_path / "clip.mp4"
    make_clip(src, [photo] * 3, fps=6)
    for args, expected in [(["--keyframes", "soon:munch"], "a keyframe is time:blend"),
                           (["--keyframes", f"0:{VAN_GOGH}", "--blend", MUNCH], "not both"),
                           (["--keyframes", f"0:{VAN_GOGH}; 0.25:nobody"], "nobody is not in four_painters")]:
        result = run_cli("infer", "video", str(src), "-o", str(tmp_path / "out.mp4"), *args)
        assert_one_line_error(result, expected, tmp_path)
        assert not (tmp_path / "out.mp4").exists()
