"""Upload preprocessing, as MNIST was made, on pictures made here from real test digits."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from testkit.image_files import encoded, exif_rotated
from testkit.photo_digits import photo_of_digit
from vaeapp.data.images import load_picture, otsu_threshold, preprocess
from vaeapp.data.picture_files import MAX_PIXELS, read_image
from vaeapp.data.sources import load_dataset
from vaeapp.errors import ImageError


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_dataset("sample").test.images[:12]


def ink_on_paper(digit: torch.Tensor, side: int = 200) -> Image.Image:
    """The digit drawn black on white paper at `side` pixels: a clean scan."""
    pixels = ((1 - digit[0].numpy()) * 255).astype(np.uint8)
    return Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC)


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])


def assert_like(result: torch.Tensor, digit: torch.Tensor, at_least: float) -> None:
    """An MNIST-format image, ink centred within a pixel, close to the clean digit."""
    assert result.shape == (1, 28, 28) and result.dtype == torch.float32
    assert float(result.min()) >= 0 and float(result.max()) <= 1
    centre = np.array(ndimage.center_of_mass(result[0].numpy()))
    assert np.abs(centre - 14).max() <= 1.0
    assert correlation(result, digit) >= at_least


@pytest.mark.parametrize("index", range(6))
def test_a_phone_photo_of_a_digit_becomes_that_digit(digits: torch.Tensor, index: int) -> None:
    photo = photo_of_digit(digits[index], seed=index)
    picture = read_image(photo)
    assert picture.size == (640, 480)
    assert_like(preprocess(picture), digits[index], at_least=0.75)


def test_photos_keep_their_shape_on_average(digits: torch.Tensor) -> None:
    results = [
        preprocess(read_image(photo_of_digit(d, seed=100 + i))) for i, d in enumerate(digits)
    ]
    assert np.mean([correlation(r, d) for r, d in zip(results, digits, strict=True)]) >= 0.85


def test_ink_on_transparent_png_is_composited_onto_contrasting_paper(digits: torch.Tensor) -> None:
    ink = np.asarray(ink_on_paper(digits[0]))
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - ink
    assert_like(preprocess(read_image(encoded(Image.fromarray(rgba), "PNG"))), digits[0], 0.85)


def test_light_ink_on_dark_is_kept_not_inverted(digits: torch.Tensor) -> None:
    inverted = Image.fromarray(255 - np.asarray(ink_on_paper(digits[1])))
    assert_like(preprocess(read_image(encoded(inverted, "PNG"))), digits[1], 0.85)


def test_exif_orientation_is_applied(digits: torch.Tensor) -> None:
    upright = ink_on_paper(digits[2]).convert("RGB")
    with_tag = preprocess(read_image(exif_rotated(upright)))
    without_tag = preprocess(
        read_image(encoded(upright.transpose(Image.Transpose.ROTATE_90), "JPEG"))
    )
    assert_like(with_tag, digits[2], 0.85)
    assert correlation(without_tag, digits[2]) < 0.6


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("PNG", "L"),
        ("JPEG", "RGB"),
        ("BMP", "RGB"),
        ("WEBP", "RGB"),
        ("TIFF", "I;16"),
        ("GIF", "P"),
    ],
)
def test_every_supported_format_reads(digits: torch.Tensor, fmt: str, mode: str) -> None:
    paper = ink_on_paper(digits[3])
    if mode == "I;16":
        picture = Image.fromarray(np.asarray(paper).astype(np.uint16) * 257)
    else:
        picture = paper.convert(mode)
    assert_like(preprocess(read_image(encoded(picture, fmt), "digit")), digits[3], 0.85)


def test_an_animated_gif_gives_its_first_frame(digits: torch.Tensor) -> None:
    first, second = ink_on_paper(digits[4]).convert("P"), ink_on_paper(digits[5]).convert("P")
    data = encoded(first, "GIF", save_all=True, append_images=[second])
    result = preprocess(read_image(data))
    assert_like(result, digits[4], 0.85)
    assert correlation(result, digits[5]) < correlation(result, digits[4]) - 0.2


def test_a_tiny_picture_and_the_mnist_digit_itself_work(digits: torch.Tensor) -> None:
    mnist = Image.fromarray((digits[6][0].numpy() * 255).astype(np.uint8))
    assert_like(preprocess(read_image(encoded(mnist, "PNG"))), digits[6], 0.9)
    tiny = ink_on_paper(digits[6], side=12)
    assert_like(preprocess(read_image(encoded(tiny, "PNG"))), digits[6], 0.6)


def test_a_large_photo_is_shrunk_before_work(digits: torch.Tensor) -> None:
    small = Image.open(io.BytesIO(photo_of_digit(digits[7], seed=7)))
    picture = read_image(encoded(small.resize((6000, 4500)), "JPEG"))
    assert max(picture.size) <= 1500
    assert_like(preprocess(picture), digits[7], 0.7)


def blank_photo() -> Image.Image:
    paper = np.random.default_rng(0).normal(200, 8, (480, 640)).clip(0, 255)
    return Image.fromarray(paper.astype(np.uint8))


WHITE_PNG = encoded(Image.new("L", (64, 64), 255), "PNG")
BAD_INPUTS: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "is empty"),
    "text": (lambda: b"hello, this is a text file\n", "not an image"),
    "truncated": (lambda: encoded(Image.new("L", (300, 300), 128), "PNG")[:120], "damaged"),
    "corrupt": (lambda: WHITE_PNG[:60] + bytes(400), "damaged"),
    "cut header": (lambda: WHITE_PNG[:20], "damaged"),
    "blank": (lambda: WHITE_PNG, "blank"),
    "blank photo": (lambda: encoded(blank_photo(), "JPEG"), "blank"),
    "transparent": (lambda: encoded(Image.new("RGBA", (50, 50)), "PNG"), "transparent"),
    "icon": (lambda: encoded(Image.new("RGB", (32, 32)), "ICO"), "not an image"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_an_image_error_with_a_message(case: str) -> None:
    make, says = BAD_INPUTS[case]
    with pytest.raises(ImageError, match=f"upload.png .*{says}"):
        preprocess(read_image(make(), "upload.png"), "upload.png")


def test_load_picture_reads_a_file_and_names_it_when_it_cannot(
    digits: torch.Tensor, tmp_path: Path
) -> None:
    path = tmp_path / "digit.webp"
    ink_on_paper(digits[8]).save(path)
    assert_like(load_picture(path, (1, 28, 28)), digits[8], 0.85)
    with pytest.raises(ImageError, match="cannot read .*missing.png"):
        load_picture(tmp_path / "missing.png", (1, 28, 28))


@pytest.mark.parametrize("side", [7072, 20000])
def test_a_huge_picture_is_refused_before_it_is_decoded(side: int) -> None:
    data = encoded(Image.new("1", (side, side)), "PNG")
    assert len(data) < 100_000
    with pytest.raises(ImageError, match=f"bomb.png is too large.* {MAX_PIXELS // 10**6} megapix"):
        read_image(data, "bomb.png")


def test_otsu_splits_two_groups_between_them() -> None:
    rng = np.random.default_rng(0)
    paper, ink = rng.normal(0.2, 0.03, 900), rng.normal(0.8, 0.03, 100)
    assert paper.max() < otsu_threshold(np.concatenate([paper, ink])) < ink.min()
