"""Pictures as the files a user gives: encoded in a format, and read back."""

from __future__ import annotations

import io

from PIL import Image

EXIF_ORIENTATION = 0x0112
ROTATED_90_CLOCKWISE = 6  # the orientation value that says "turn me a quarter right to view"


def encoded(picture: Image.Image, fmt: str, **options: object) -> bytes:
    """The bytes of `picture` saved as `fmt` ("PNG", "JPEG", ...) with Pillow's `options`."""
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    """The picture in `data`, fully loaded."""
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def exif_rotated(picture: Image.Image) -> bytes:
    """A JPEG of `picture` stored turned a quarter left, with the EXIF tag that tells viewers to
    turn it back: what a phone held sideways saves."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CLOCKWISE
    return encoded(picture.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif)
