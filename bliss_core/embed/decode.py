"""Safe image decoding: bytes from any source to an RGB PIL image, or a reason it was refused.

Only the common raster formats are ever tried (never EPS through ghostscript and the like);
empty, truncated, non-image, over-large and decompression-bomb inputs are refused with a
reason that names the file.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError

from .. import settings
from ..errors import ImageRejected

__all__ = [
    "ALLOWED_FORMATS",
    "ARCHIVE_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "ImageRejected",
    "decode_image",
    "extension",
    "images_from_uploads",
    "transform_output_shape",
]

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
ARCHIVE_EXTENSIONS = frozenset({".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".npz"})
#: Decoders PIL may use; exotic ones (EPS via ghostscript, etc.) are never tried.
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "MPO")


def extension(name: str) -> str:
    """The lower-case suffix of a file name (``.jpg``)."""
    return PurePosixPath(name).suffix.lower()


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        import numpy as np

        arr = np.asarray(im)
        if mode.startswith("I;16"):
            arr8 = (arr.astype(np.float32) / 257.0).round()
        elif mode == "I":
            top = 65535.0 if arr.max(initial=0) > 255 else 255.0
            arr8 = arr.astype(np.float32) * (255.0 / top)
        else:
            top = 1.0 if float(arr.max(initial=0)) <= 1.0 else 255.0
            arr8 = arr.astype(np.float32) * (255.0 / top)
        arr8 = np.clip(arr8, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


_FORMATS: tuple[str, ...] | None = None


def _formats() -> tuple[str, ...]:
    global _FORMATS
    if _FORMATS is None:
        Image.init()
        _FORMATS = tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)
    return _FORMATS


def decode_image(data: bytes, name: str, max_pixels: int | None = None) -> Image.Image:
    """Decode image bytes to an RGB PIL image, or raise :class:`ImageRejected` naming ``name``.

    EXIF orientation is applied; CMYK, 16-bit, palette, grayscale and transparent images are
    converted to RGB (transparency composited on white); animations give their first frame.
    Empty, truncated, non-image and over-large (decompression bomb) inputs are refused.
    """
    limit = settings.get("BLISS_MAX_IMAGE_PIXELS") if max_pixels is None else int(max_pixels)
    max_bytes = settings.get("BLISS_MAX_FILE_BYTES")
    if not data:
        raise ImageRejected(name, "empty file")
    if len(data) > max_bytes:
        raise ImageRejected(name, f"file is larger than {max_bytes // 1024**2} MiB")
    try:
        im = Image.open(io.BytesIO(data), formats=_formats())
        w, h = im.size
        if w <= 0 or h <= 0:
            raise ImageRejected(name, "image has zero width or height")
        if w * h > limit:
            raise ImageRejected(
                name, f"image is {w}x{h} pixels, above the {limit:,}-pixel limit (decompression bomb?)"
            )
        if getattr(im, "is_animated", False):
            im.seek(0)
        im.load()
        im = ImageOps.exif_transpose(im) or im
        rgb = _to_rgb(im)
        rgb.load()
        return rgb
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(name, f"decompression bomb refused ({exc})") from None
    except UnidentifiedImageError:
        raise ImageRejected(name, "not a recognised image (JPEG, PNG, GIF, BMP, TIFF, WebP, PPM)") from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        IndexError,
        TypeError,
        MemoryError,
        struct.error,
    ) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower():
            raise ImageRejected(name, "truncated image file") from None
        raise ImageRejected(name, f"cannot decode image ({msg})") from None


def images_from_uploads(
    uploads: Iterable[tuple[str, bytes]], max_pixels: int | None = None
) -> tuple[list[tuple[str, Image.Image]], list[tuple[str, str]]]:
    """Decode uploaded ``(name, bytes)`` pairs; return (decoded images, [(name, reason)] refused)."""
    good: list[tuple[str, Image.Image]] = []
    bad: list[tuple[str, str]] = []
    for name, data in uploads:
        name = PurePosixPath(str(name).replace("\\", "/")).name or "upload"
        if extension(name) in ARCHIVE_EXTENSIONS:
            bad.append((name, "archives are not accepted here; upload image files"))
            continue
        try:
            good.append((name, decode_image(data, name, max_pixels=max_pixels)))
        except ImageRejected as exc:
            bad.append((exc.name, exc.reason))
    return good, bad


def transform_output_shape(transform: Callable[[Image.Image], object]) -> tuple[int, ...]:
    """The shape of what an image preprocessing transform returns (run on a blank RGB image), so
    that a batch can hold placeholder rows for images that were refused."""
    import numpy as np

    return tuple(int(d) for d in np.asarray(transform(Image.new("RGB", (32, 32)))).shape)
