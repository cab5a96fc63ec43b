"""Awkward files a user may give as a picture of a digit, made from phone photos of real test
digits (`testkit.photo_digits`): the first test digit of `sample` (a 7) and the second (an 8).

Each kind of file is a `HardUpload`: a file name, its bytes, and either the words of the message
that refuses it, or None when the right answer is the digit of the plain photo of the 7.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from testkit.image_files import decoded, encoded, exif_rotated


@dataclass(frozen=True)
class HardUpload:
    name: str
    data: bytes
    refused_with: str | None = None


@dataclass(frozen=True)
class Photos:
    """The JPEGs of the 7 and the 8 as a phone saved them."""

    seven_jpeg: bytes
    eight_jpeg: bytes

    @property
    def seven(self) -> Image.Image:
        return decoded(self.seven_jpeg)

    @property
    def eight(self) -> Image.Image:
        return decoded(self.eight_jpeg)


def declared_size_png(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares `width` x `height` pixels: a
    decompression bomb's calling card. Its header checksum is right, so only the size tells."""
    data = bytearray(encoded(Image.new("1", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def sixteen_bit_png(photo: Image.Image) -> bytes:
    grey = np.asarray(photo.convert("L")).astype(np.uint16) * 257
    return encoded(Image.fromarray(grey), "PNG")


PALETTE_GREYS = 16
PAPER_LEVEL = 128


def palette_with_transparent_paper(photo: Image.Image) -> bytes:
    """The picture in 16 palette greys, those of the paper fully transparent (a PNG tRNS)."""
    palette = photo.convert("L").point(lambda level: level // PALETTE_GREYS).convert("P")
    greys = [255 * index // (PALETTE_GREYS - 1) for index in range(PALETTE_GREYS)]
    palette.putpalette([grey for grey in greys for _ in range(3)])
    alpha = bytes(0 if grey > PAPER_LEVEL else 255 for grey in greys)
    return encoded(palette, "PNG", transparency=alpha)


def animated_gif(first: Image.Image, then: Image.Image) -> bytes:
    return encoded(first.convert("P"), "GIF", save_all=True, append_images=[then.convert("P")])


BOMB_SIDE = 40_000


def float_tiff_with(photo: Image.Image, value: float) -> bytes:
    """The photo as a 32-bit float TIFF (as scientific cameras save) with one pixel `value`."""
    pixels = np.asarray(photo.convert("L"), dtype=np.float32) / 255
    pixels[0, 0] = value
    return encoded(Image.fromarray(pixels, mode="F"), "TIFF")


HTML_PAGE = b"<!doctype html><html><body><script>alert(1)</script></body></html>\n"

MAKERS: dict[str, Callable[[Photos], HardUpload]] = {
    "zero bytes": lambda p: HardUpload("empty.png", b"", "empty.png is empty"),
    "truncated PNG": lambda p: HardUpload(
        "cut.png", truncated(encoded(p.seven, "PNG")), "cut.png is damaged"
    ),
    "truncated JPEG": lambda p: HardUpload(
        "cut.jpg", truncated(p.seven_jpeg), "cut.jpg is damaged"
    ),
    "text file named .png": lambda p: HardUpload(
        "notes.png", b"shopping list: milk, eggs\n", "notes.png is not an image"
    ),
    "HTML file (named .png)": lambda p: HardUpload(
        "page.png", HTML_PAGE, "page.png is not an image"
    ),
    "decompression bomb": lambda p: HardUpload(
        "bomb.png", declared_size_png(BOMB_SIDE, BOMB_SIDE), "bomb.png is too large"
    ),
    "16-bit grayscale PNG": lambda p: HardUpload("deep.png", sixteen_bit_png(p.seven)),
    "palette PNG with transparency": lambda p: HardUpload(
        "palette.png", palette_with_transparent_paper(p.seven)
    ),
    "CMYK JPEG": lambda p: HardUpload("cmyk.jpg", encoded(p.seven.convert("CMYK"), "JPEG")),
    "animated GIF": lambda p: HardUpload("animated.gif", animated_gif(p.seven, p.eight)),
    "EXIF-rotated JPEG": lambda p: HardUpload("rotated.jpg", exif_rotated(p.seven)),
    "1x1 image": lambda p: HardUpload(
        "dot.png", encoded(Image.new("L", (1, 1)), "PNG"), "dot.png looks blank"
    ),
    "float TIFF with a NaN pixel": lambda p: HardUpload(
        "nan.tif", float_tiff_with(p.seven, float("nan")), "nan.tif has pixels that are not numbers"
    ),
    "float TIFF with an infinite pixel": lambda p: HardUpload(
        "inf.tif", float_tiff_with(p.seven, float("inf")), "inf.tif has pixels that are not numbers"
    ),
    "float TIFF": lambda p: HardUpload("float.tif", float_tiff_with(p.seven, 0.5)),
    "all-white image": lambda p: HardUpload(
        "white.png", encoded(Image.new("RGB", (640, 480), "white"), "PNG"), "white.png looks blank"
    ),
}
