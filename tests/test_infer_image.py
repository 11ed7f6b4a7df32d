import shutil

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from infer.engines import EngineError
from infer.painters import CHECKPOINTS, SHIPPED_STYLES, find_painter, style_image_of
from infer.stylizer import OutputExistsError, Stylizer
from nets.files import file_sha256
from nets.images import open_rgb
from nets.painter import PainterFileError, read_painter
from tests.conftest import assert_one_line_error, run_cli, shared


def test_api_keeps_size_and_changes_the_photo(tiny_painter, val_dir):
    path = tiny_painter
    stylizer = Stylizer(path, device="cpu")
    photo = np.asarray(Image.open(sorted(val_dir.iterdir())[0]).convert("RGB").resize((75, 41)))
    out = stylizer.image(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - photo.astype(int)).mean() > 5
    with pytest.raises(EngineError, match="uint8"):
        stylizer.image(photo.astype(np.float32))


def test_several_painters_make_a_labelled_mosaic_of_the_input_size(tiny_painter, val_dir):
    path = tiny_painter
    photo = np.asarray(Image.open(sorted(val_dir.iterdir())[0]).convert("RGB").resize((160, 96)))
    mosaic = Stylizer([path, "vangogh_starry_night", path], engine="torch", device="cpu").image(photo)
    assert mosaic.shape == photo.shape
    small = np.asarray(Image.fromarray(photo).resize((80, 48), Image.Resampling.BOX))  # 2×2 grid of 80×48 tiles
    for (top, left), painter in zip([(0, 0), (0, 80)], [path, "vangogh_starry_night"], strict=True):
        alone = Stylizer(painter, engine="torch", device="cpu").image(small)
        tile = mosaic[top:top + 48, left:left + 80]
        assert np.abs(tile[:24].astype(int) - alone[:24]).mean() < 3  # above the label: that painter's output
        assert np.abs(tile[24:].astype(int) - alone[24:]).max() > 100  # the label
    assert np.abs(mosaic[48:72, 80:].astype(int) - small[:24]).mean() < 3  # the fourth cell shows the photo


def test_a_mosaic_fills_a_portrait_frame_and_its_labels_read_on_a_pale_painting(tiny_family, tiny_painter):
    """Five painters on a portrait frame: a 2×3 grid of cells cut to their shape, no letterbox, the sixth
    cell the photo; labels on a darkened band."""
    from infer.mosaic import _label, mosaic_grid

    assert mosaic_grid(5, 96, 192) == (2, 3) and mosaic_grid(4, 160, 90) == (2, 2)
    photo = np.asarray(Image.open(shared("data", "photos", "val", "bsds300_img_002.jpg")).convert("RGB")
                       .resize((96, 192)))
    mosaic = Stylizer([tiny_family, tiny_painter, "hokusai_great_wave", "seurat_sunday_on_la_grande_jatte"],
                      engine="torch", device="cpu").image(photo)
    assert mosaic.shape == photo.shape
    assert (mosaic.max(axis=(1, 2)) > 20).all() and (mosaic.max(axis=(0, 2)) > 20).all()  # no black band
    white = np.full((40, 120, 3), 250, np.uint8)  # a pale painting: white text alone would vanish
    _label(white, "seurat")
    text_rows = white[22:32, 4:40]
    assert text_rows.min() < 100 and text_rows.max() > 240  # a dark band, and white letters on it


@pytest.mark.slow
def test_cli_stylises_grayscale_alpha_and_rotated_photos(tiny_painter, tmp_path, val_dir):
    path = tiny_painter
    photo = Image.open(sorted(val_dir.iterdir())[0]).resize((64, 48))
    cases = {"gray.png": photo.convert("L"), "alpha.png": photo.convert("RGBA")}
    rotated = photo.copy()
    exif = rotated.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90° clockwise for display
    rotated.save(tmp_path / "rotated.jpg", exif=exif)
    for name, img in cases.items():
        img.save(tmp_path / name)
    for name, size in [("gray.png", (64, 48)), ("alpha.png", (64, 48)), ("rotated.jpg", (48, 64))]:
        out = tmp_path / f"out_{name}"
        result = run_cli("infer", "image", str(tmp_path / name), "-m", str(path), "-o", str(out))
        assert result.returncode == 0, result.stderr
        with Image.open(out) as img:
            assert img.mode == ("RGBA" if name == "alpha.png" else "RGB") and img.size == size


def test_a_transparent_photo_keeps_its_transparency_where_the_output_can_hold_it(tiny_painter, tmp_path, val_dir):
    photo = Image.open(sorted(val_dir.iterdir())[0]).convert("RGBA").resize((64, 48))
    alpha = np.zeros((48, 64), np.uint8)
    alpha[8:40, 16:48] = 255  # an opaque cut-out on a transparent sheet
    photo.putalpha(Image.fromarray(alpha))
    photo.save(tmp_path / "cutout.png")
    for suffix, mode in ((".png", "RGBA"), (".webp", "RGBA"), (".jpg", "RGB")):
        out = tmp_path / f"out{suffix}"
        result = run_cli("infer", "image", str(tmp_path / "cutout.png"), "-m", str(tiny_painter), "-o", str(out))
        assert result.returncode == 0, result.stderr
        with Image.open(out) as img:
            assert img.mode == mode and img.size == (64, 48)
            if mode == "RGBA":  # the alpha comes through, the colour is painted
                assert np.abs(np.asarray(img.getchannel("A")).astype(int) - alpha).max() <= 1
                painted = np.asarray(img.convert("RGB"))[8:40, 16:48].astype(int)
                assert np.abs(painted - np.asarray(photo.convert("RGB"))[8:40, 16:48]).mean() > 5


def test_a_folder_of_photos_is_painted_in_one_command_and_a_rerun_goes_on(tiny_painter, tmp_path, val_dir):
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in sorted(val_dir.iterdir())[:2]:
        shutil.copy(path, photos)
    Image.open(sorted(val_dir.iterdir())[0]).convert("RGBA").save(photos / "cutout.png")
    (photos / "broken.jpg").write_text("not a photo")
    (photos / "notes.txt").write_text("not a photo either, and not taken for one")
    out = tmp_path / "paintings"
    args = ["infer", "image", str(photos), "-m", str(tiny_painter), "-o", str(out), "--max-size", "64", "--engine",
            "torch", "--precision", "fp32"]
    first = run_cli(*args)
    assert first.returncode == 2  # one photo could not be read: said in one line, the others are painted
    assert first.stderr.strip().splitlines()[-1].endswith("painted 3 of 4 photos into " f"{out}/ (tiny, torch cpu "
                                                          "fp32); could not read broken.jpg")
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))  # the settings record is hidden
    assert names == sorted(p.name for p in photos.iterdir() if p.suffix != ".txt" and p.name != "broken.jpg")
    (out / names[0]).unlink()  # as if the run had stopped before this one
    again = run_cli(*args)
    assert "painted 1 of 4 photos" in again.stderr and "kept 2 painted before" in again.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == names

    other = run_cli(*[a if a != "64" else "48" for a in args])  # another size: not mixed into the same folder
    assert_one_line_error(other, "holds paintings made with another max-size", tmp_path)
    with Image.open(out / names[0]) as img:
        assert max(img.size) == 64
    again = run_cli(*[a if a != "64" else "48" for a in args], "--overwrite")
    assert "painted 3 of 4 photos" in again.stderr
    with Image.open(out / names[0]) as img:
        assert max(img.size) == 48
    (out / ".painters-settings.json").unlink()  # paintings of unknown settings are not taken for ours
    assert_one_line_error(run_cli(*args), "settings not recorded there", tmp_path)


def test_a_painters_folder_that_does_not_exist_is_one_line(tmp_path):
    result = run_cli("infer", "image", str(tmp_path / "x.jpg"), "-o", str(tmp_path / "y.png"), "-m", "vangogh",
                     "--painters-dir", str(tmp_path / "nowhere"))
    assert_one_line_error(result, "--painters-dir: no such folder", tmp_path)


def test_max_size_only_scales_down(tiny_painter, tmp_path, val_dir):
    src = sorted(val_dir.iterdir())[0]
    with Image.open(src) as img:
        size = img.size
    smaller = tuple(round(side * 200 / max(size)) for side in size)
    for max_size, expected in [(600, size), (5000, size), (200, smaller)]:
        out = tmp_path / f"out_{max_size}.png"
        result = run_cli("infer", "image", str(src), "-m", str(tiny_painter), "-o", str(out), "--max-size",
                         str(max_size), "--engine", "torch")
        assert result.returncode == 0, result.stderr
        with Image.open(out) as img:
            assert img.size == expected


def test_the_api_replaces_an_output_only_when_asked(tiny_painter, tmp_path, val_dir):
    src, dst = sorted(val_dir.iterdir())[0], tmp_path / "out.png"
    dst.write_bytes(b"keep me")
    stylizer = Stylizer(tiny_painter, engine="torch", device="cpu")
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        stylizer.file(src, dst, max_size=64)
    with pytest.raises(OutputExistsError, match="pass --overwrite"):
        stylizer.video(src, dst)
    assert dst.read_bytes() == b"keep me"
    stylizer.file(src, dst, max_size=64, overwrite=True)
    with Image.open(dst) as img:
        assert max(img.size) == 64


@pytest.mark.parametrize("case, expected", [
    ("missing_input", "no such file"),
    ("not_an_image", "not a readable image"),
    ("wrong_model", "not a painter checkpoint"),
    ("unknown_painter", "unknown painter"),
    ("same_as_input", "inputs are never overwritten"),
    ("missing_folder", "output folder does not exist"),
    ("exists", "pass --overwrite"),
    ("folder_output", "is a folder; give a file name"),
    ("unwritable_format", "cannot write .psd pictures"),
    ("nameless_painter", "damaged painter checkpoint"),
    ("foreign_onnx", "not a graph exported by this tool"),
    ("folder_input", "photos is a folder of photos: give -o a folder for the paintings, not out.png"),
    ("no_size", "--max-size must be at least 8 px"),
    ("negative_memory", "a memory size must be positive, not '-3G'"),
])
def test_bad_input_is_one_line_and_exit_2(case, expected, tiny_painter, tmp_path, val_dir):
    painter = tiny_painter
    src = tmp_path / "photo.jpg"
    src.write_bytes(sorted(val_dir.iterdir())[0].read_bytes())
    dst = tmp_path / "out.png"
    model = str(painter)
    if case == "missing_input":
        src = tmp_path / "nope.jpg"
    elif case == "not_an_image":
        src = tmp_path / "text.jpg"
        src.write_text("hello")
    elif case == "wrong_model":
        model = str(tmp_path / "model.pt")
        (tmp_path / "model.pt").write_text("not a model")
    elif case == "unknown_painter":
        model = "no_such_painter"
    elif case == "same_as_input":
        dst = src
    elif case == "missing_folder":
        dst = tmp_path / "missing" / "out.png"
    elif case == "folder_output":
        dst = tmp_path / "out.png"
        dst.mkdir()
    elif case == "unwritable_format":
        dst = tmp_path / "out.psd"  # Pillow reads Photoshop files but cannot write them
    elif case == "nameless_painter":
        payload = torch.load(painter, weights_only=True)
        del payload["name"]
        model = str(tmp_path / "nameless.pt")
        torch.save(payload, model)
    elif case == "foreign_onnx":
        model = str(tmp_path / "other.onnx")
        graph = onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", ["x"], ["y"])], "other",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.UINT8, [1, 8, 8, 3])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, [1, 8, 8, 3])])
        other = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
        other.ir_version = 9
        other.metadata_props.add(key="painter", value="pretend")
        onnx.save(other, model)
    elif case == "folder_input":
        src = tmp_path / "photos"
        src.mkdir()
    elif case not in ("no_size", "negative_memory"):
        dst.write_bytes(b"keep me")
    before = src.read_bytes() if src.is_file() else None
    extra = {"folder_output": ["--overwrite"], "no_size": ["--max-size", "0"],
             "negative_memory": ["--max-memory", "-3G"]}.get(case, [])
    result = run_cli("infer", "image", str(src), "-m", model, "-o", str(dst), *extra)
    assert_one_line_error(result, expected, tmp_path)
    if case == "exists":
        assert dst.read_bytes() == b"keep me"
    elif case == "folder_output":
        assert dst.is_dir()
    elif case != "same_as_input":
        assert not dst.exists()
    if before is not None:
        assert src.read_bytes() == before


def test_wrong_model_is_rejected_by_the_api(tmp_path):
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(PainterFileError):
        Stylizer(bad)


def test_painters_are_found_by_file_or_by_name_inside_a_family(tiny_family, tiny_painter, tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    shutil.copy(tiny_family, folder / "duo.pt")
    shutil.copy(tiny_painter, folder / "tiny.pt")
    whole = find_painter("duo", [folder])
    assert whole.files.pt == folder / "duo.pt" and whole.painter is None
    inside = find_painter("munch_the_scream", [folder])
    assert inside.files.pt == folder / "duo.pt" and inside.painter == "munch_the_scream"
    assert find_painter("tiny", [folder]).painter is None
    with pytest.raises(PainterFileError, match="known: duo, munch_the_scream, tiny, vangogh_starry_night"):
        find_painter("picasso", [folder])


def test_painters_trained_elsewhere_are_found_by_name(tiny_painter, tmp_path, val_dir, monkeypatch):
    """Through $PAINTERS_PATH or --painters-dir, before the shipped checkpoints/."""
    mine = tmp_path / "my_painters"
    mine.mkdir()
    shutil.copy(tiny_painter, mine / "tiny.pt")
    photo, out = sorted(val_dir.iterdir())[0], tmp_path / "out.png"
    unknown = run_cli("infer", "image", str(photo), "-m", "tiny", "-o", str(out), "--max-size", "64")
    assert_one_line_error(unknown, "unknown painter 'tiny'", tmp_path)
    found = run_cli("infer", "image", str(photo), "-m", "tiny", "-o", str(out), "--max-size", "64",
                    "--painters-dir", str(mine))
    assert found.returncode == 0 and out.is_file(), found.stderr
    monkeypatch.setenv("PAINTERS_PATH", str(mine))
    assert find_painter("tiny").files.pt == mine / "tiny.pt"
    assert find_painter("munch_the_scream").files.pt.parent.name == "checkpoints"  # the shipped ones still


def test_a_family_renders_each_painter_or_all_of_them(tiny_family, val_dir):
    photo = np.asarray(Image.open(sorted(val_dir.iterdir())[0]).convert("RGB").resize((96, 64)))
    family = Stylizer(tiny_family, engine="torch", device="cpu")
    assert family.name == "vangogh_starry_night + munch_the_scream"  # a family file is a mosaic of its painters
    painters = family.engine.engines
    first, second = painters[0](photo[None])[0], painters[1](photo[None])[0]
    assert np.abs(first.astype(int) - second).mean() > 1
    mosaic = family.image(photo)
    # Two painters one above the other, filling the frame: each paints the middle of the frame cut to its
    # cell's shape (96×32), no letterbox.
    assert (mosaic.max(axis=(1, 2)) > 20).all()
    alone = painters[1](np.ascontiguousarray(photo[16:48])[None])[0]
    assert np.abs(mosaic[32:44].astype(int) - alone[:12]).mean() < 3  # above its label


def test_mosaic_labels_fit_their_tiles():
    from infer.mosaic import _label

    tile = np.zeros((40, 120, 3), np.uint8)
    _label(tile, "seurat_sunday_on_la_grande_jatte")
    columns = np.nonzero(tile.max(axis=(0, 2)))[0]
    assert columns.min() >= 2 and columns.max() <= 117  # the last letter is inside the tile


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_gray_photos_keep_their_tones(val_dir, tmp_path, suffix):
    gray = np.asarray(Image.open(sorted(val_dir.iterdir())[0]).convert("L").resize((64, 48))).astype(np.uint16)
    deep = tmp_path / f"deep{suffix}"
    Image.fromarray(gray * 257).save(deep)  # the same picture, 16 bits per pixel
    with Image.open(deep) as img:
        assert img.mode.startswith("I")
    rgb = np.asarray(open_rgb(deep)).astype(int)
    assert np.abs(rgb[..., 0] - gray).max() <= 1 and np.array_equal(rgb[..., 0], rgb[..., 2])


def test_the_shipped_painters_find_their_paintings_in_a_checkout_without_shared(tmp_path, monkeypatch):
    """Their records say ../shared/data/styles/…, which a user's checkout lacks: compare and the gallery
    then take the shipped copies, recognised by their SHA-256."""
    copy = tmp_path / "four_painters.pt"
    shutil.copy(CHECKPOINTS / "four_painters.pt", copy)
    monkeypatch.chdir(tmp_path)  # nothing below tmp or the working folder leads to ../shared
    records = read_painter(copy)["painters"]
    for record in records:
        found = style_image_of(record, copy)
        assert found is not None and found.parent == SHIPPED_STYLES, record["name"]
        assert file_sha256(found) == record["style_image_sha256"]
    assert style_image_of(records[0] | {"style_image_sha256": "0" * 64}, copy) is None  # same name, other picture
