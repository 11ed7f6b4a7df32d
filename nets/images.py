"""Reading photos (and the frames of short clips) into tensors and back, the one way every command does it.

EXIF orientation is applied (phone photos are stored sideways), grayscale and alpha become RGB, and
tensors are float RGB in [0, 1], B×3×H×W.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from nets.errors import UserError

_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".avif", ".heic", ".heif", ".jxl"}
#: Photos this Pillow decodes (AVIF since Pillow 11.3; HEIC and JPEG XL only with plug-ins).
IMAGE_SUFFIXES = _PHOTO_SUFFIXES & set(Image.registered_extensions())
#: Clips in a folder of training clips (any file FFmpeg reads works when named directly).
CLIP_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}


class ImageReadError(UserError):
    """A file is missing or is not an image Pillow can decode."""


def is_photo(path: Path) -> bool:
    """Whether a file given as input is a photo (else a clip): by its suffix, and an animation is a clip.

    A photo format this Pillow cannot decode is refused here, before it could be taken for a clip.
    """
    suffix = path.suffix.lower()
    if suffix in _PHOTO_SUFFIXES - IMAGE_SUFFIXES:
        raise ImageReadError(f"cannot read {suffix} photos here; convert {path.name} to PNG or JPEG first")
    if suffix not in IMAGE_SUFFIXES:
        return False
    try:
        with Image.open(path) as img:
            return not getattr(img, "is_animated", False)
    except (OSError, ValueError):
        return True  # a damaged photo: reading it says what is wrong


def open_rgb(path: str | os.PathLike) -> Image.Image:
    """The photo at ``path``, upright and in RGB (alpha composited on white)."""
    return open_rgb_alpha(path)[0]


def open_rgb_alpha(path: str | os.PathLike) -> tuple[Image.Image, Image.Image | None]:
    """The photo at ``path``, upright: RGB (composited on white where it is transparent) and its alpha
    channel (``None`` for an opaque photo), so that a painting can be given the photo's transparency."""
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img.load()
    except FileNotFoundError:
        raise ImageReadError(f"no such file: {path}") from None
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise ImageReadError(f"{path} is not a readable image ({exc})") from None
    if img.mode.startswith("I") or img.mode == "F":
        img = _gray_to_8bit(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB"), rgba.getchannel("A")
    return img.convert("RGB"), None


@functools.cache
def _saves(mode: str, suffix: str) -> bool:
    """Whether Pillow writes a picture of ``mode`` under ``suffix``: tried once in memory (it reads more
    formats than it writes, and not every format it writes holds transparency)."""
    try:
        Image.new(mode, (8, 8)).save(io.BytesIO(), format=Image.registered_extensions()[suffix.lower()])
    except Exception:  # noqa: BLE001 - each Pillow plugin refuses in its own way (OSError, KeyError …)
        return False
    return True


def writable_image_suffixes() -> tuple[str, ...]:
    """The picture suffixes Pillow can write an RGB picture under."""
    return tuple(sorted(s for s in Image.registered_extensions() if _saves("RGB", s)))


def holds_alpha(suffix: str) -> bool:
    """Whether pictures written under this suffix keep transparency (PNG, WebP, TIFF do; JPEG does not)."""
    return _saves("RGBA", suffix)


def _gray_to_8bit(img: Image.Image) -> Image.Image:
    """Gray deeper than 8 bits (16-bit PNG or TIFF, 32-bit integer or float TIFF) scaled to 8 bits.

    Pillow's own conversion clips such values at 255, which turns a 16-bit photo nearly white.
    """
    values = np.asarray(img, dtype=np.float64)
    if img.mode.startswith("I;16") or (img.mode == "I" and values.max() > 255):
        values = values / 257
    elif img.mode == "F" and values.max() <= 1:
        values = values * 255
    return Image.fromarray(np.clip(values.round(), 0, 255).astype(np.uint8), "L")


def fit_longest_side(img: Image.Image, size: int | None, enlarge: bool = True) -> Image.Image:
    """Scale so the longest side is ``size`` px (None: keep as is; a smaller image stays as it is unless
    ``enlarge``), keeping the aspect ratio."""
    if size is None or max(img.size) == size or (not enlarge and max(img.size) < size):
        return img
    scale = size / max(img.size)
    new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(new, Image.Resampling.LANCZOS)


def to_tensor(img: Image.Image | np.ndarray) -> torch.Tensor:
    """PIL RGB image or H×W×3 uint8 array -> 1×3×H×W float tensor in [0, 1]."""
    array = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).float().div(255)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """1×3×H×W (or 3×H×W) float tensor in [0, 1] -> PIL RGB image, rounded to 8 bits."""
    if tensor.dim() == 4:
        tensor = tensor[0]
    array = tensor.detach().float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array)


def load_image(path: str | os.PathLike, size: int | None = None, crop: float = 0.0) -> torch.Tensor:
    """A photo as a 1×3×H×W tensor in [0, 1], longest side ``size`` px if given.

    ``crop`` cuts that fraction of the width and height from each side first: photographs of paintings
    often show the frame or a painted border, which a style loss would teach a network to paint.
    """
    img = open_rgb(path)
    if crop > 0:
        dx, dy = round(img.width * crop), round(img.height * crop)
        img = img.crop((dx, dy, img.width - dx, img.height - dy))
    return to_tensor(fit_longest_side(img, size))


def read_clip(source: str | os.PathLike, max_width: int | None = None) -> list[np.ndarray]:
    """RGB uint8 frames of a video file or of a folder of images (in name order), all in memory: for
    short clips. ``max_width`` scales wider frames down, keeping the aspect ratio."""
    source = Path(source)
    if source.is_dir():
        frames = [open_rgb(p) for p in sorted(source.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    else:
        import av  # here, not at the top: training on frame folders needs no FFmpeg (GPU machines lack PyAV)

        try:
            with av.open(str(source)) as container:
                frames = [frame.to_image() for frame in container.decode(video=0)]
        except av.FFmpegError as exc:
            raise ImageReadError(f"{source} is not a readable video ({exc})") from None
    if max_width is not None:
        frames = [fit_longest_side(f, round(max(f.size) * max_width / f.width)) if f.width > max_width else f
                  for f in frames]
    return [np.asarray(f) for f in frames]
