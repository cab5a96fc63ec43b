"""A picture file read as untrusted, with an upload's guards: its format one of those allowed,
its size refused before it is decoded (a 20000x20000 PNG can be a few kilobytes), large JPEGs
decoded at a reduced scale. No torch: a page shows a run's pictures in a server without it.
"""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from vaeapp.errors import ImageError

FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF")
UPLOAD_TYPES = ("png", "jpg", "jpeg", "bmp", "webp", "gif", "tif", "tiff")
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes; 20000x20000 does not
MAX_FILE_BYTES = 1 << 28  # a 50-megapixel 16-bit TIFF fits
WORK_SIDE = 512  # larger pictures are shrunk to this first: plenty for a 20x20 result


def read_image(
    data: bytes,
    name: str = "the image",
    formats: tuple[str, ...] = FORMATS,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Decode an uploaded or given file, refusing what cannot be a digit picture (or is not in
    one of `formats`).

    Huge images (over `max_pixels`) are refused before they are decoded (a 20000x20000 PNG can
    be a few kilobytes); large JPEGs are decoded at a reduced scale; the EXIF orientation is
    applied.
    """
    if not data:
        raise ImageError(f"{name} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=formats)
            _check_size(image, name, max_pixels)
            image.draft("RGB", (WORK_SIDE, WORK_SIDE))
            image = ImageOps.exif_transpose(image)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_too_large(name)) from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{name} is not an image vaeapp can read, or it is damaged; "
            "use PNG, JPEG, BMP, WebP, GIF or TIFF"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(f"{name} is damaged or truncated and cannot be decoded ({exc})") from None
    return image


def _check_size(image: Image.Image, name: str, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(_too_large(name, f" at {width}x{height}", max_pixels))


def _too_large(name: str, size: str = "", max_pixels: int = MAX_PIXELS) -> str:
    return (
        f"{name} is too large{size}: the limit is {max_pixels / 10**6:g} megapixels, "
        "so scale it down first"
    )
