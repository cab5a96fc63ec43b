"""The picture writers: the strip of decoded images, enlarged tiles, and the there-and-back GIF."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from vaeapp.data.images import enlarged, grid, png_bytes, strip, there_and_back_gif


def test_strip_lays_images_side_by_side() -> None:
    images = torch.linspace(0, 1, 5).reshape(5, 1, 1, 1).expand(5, 1, 28, 28)
    picture = strip(images, scale=3)
    assert picture.size == (3 * (5 * 30 + 2), 3 * 32)
    pixels = np.asarray(picture)
    assert pixels[3 * 10, 3 * 10] == 0 and pixels[3 * 10, 3 * (4 * 30 + 10)] == 255
    assert Image.open(io.BytesIO(png_bytes(picture))).size == picture.size


@pytest.mark.parametrize(
    ("count", "channels", "per_row", "padding"),
    [(7, 1, 3, 2), (225, 1, 15, 0), (5, 3, 2, 1), (12, 3, 4, 0), (3, 1, 8, 2)],
)
def test_grid_lays_images_out_as_torchvisions_make_grid(
    count: int, channels: int, per_row: int, padding: int
) -> None:
    from torchvision.utils import make_grid

    images = torch.rand(count, channels, 6, 5, generator=torch.Generator().manual_seed(count))
    expected = make_grid(images, nrow=per_row, padding=padding, pad_value=0.5)[:channels]
    assert np.array_equal(
        np.asarray(grid(images, per_row, padding)), np.asarray(enlarged(expected, 1))
    )


def test_enlarged_keeps_pixels_as_blocks() -> None:
    image = torch.zeros(1, 28, 28)
    image[0, 0, 0] = 1
    picture = np.asarray(enlarged(image, 4))
    assert (
        picture.shape == (112, 112) and picture[:4, :4].min() == 255 and picture[4:, 4:].max() == 0
    )


@pytest.mark.parametrize("steps", [2, 7, 50])
def test_the_gif_plays_there_and_back_with_every_frame(steps: int) -> None:
    same = torch.full((steps, 1, 28, 28), 0.5)
    gif = Image.open(io.BytesIO(there_and_back_gif(same)))
    assert gif.format == "GIF" and gif.n_frames == 2 * steps - 2
    assert gif.info.get("loop") == 0
