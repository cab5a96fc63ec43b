"""The picture writers: the strip of decoded images, enlarged tiles, and the there-and-back GIF."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from vaeapp.data.images import enlarged, png_bytes, strip, there_and_back_gif


def test_strip_lays_images_side_by_side() -> None:
    images = torch.linspace(0, 1, 5).reshape(5, 1, 1, 1).expand(5, 1, 28, 28)
    picture = strip(images, scale=3)
    assert picture.size == (3 * (5 * 30 + 2), 3 * 32)
    pixels = np.asarray(picture)
    assert pixels[3 * 10, 3 * 10] == 0 and pixels[3 * 10, 3 * (4 * 30 + 10)] == 255
    assert Image.open(io.BytesIO(png_bytes(picture))).size == picture.size


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
