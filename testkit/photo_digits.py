"""Photo-like pictures of real test digits: dark ink on unevenly lit, textured, noisy paper,
large, off-centre and slightly rotated, saved as JPEG; what a phone photo of a digit looks like."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from testkit.image_files import encoded
from vaeapp.data.sources import load_dataset


def photo_of_digit(digit: torch.Tensor, seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG of `digit` ([1, 28, 28] in [0, 1]) written dark on light paper, as a phone sees it."""
    rng = np.random.default_rng(seed)
    side = int(rng.integers(160, 300))
    ink = Image.fromarray((digit[0].numpy() * 255).astype(np.uint8))
    ink = ink.resize((side, side), Image.Resampling.BICUBIC)
    ink = ink.rotate(float(rng.uniform(-8, 8)), Image.Resampling.BICUBIC, expand=True)
    width, height = size
    layer = np.zeros((height, width), dtype=np.float32)
    top = int(rng.integers(0, height - ink.height))
    left = int(rng.integers(0, width - ink.width))
    layer[top : top + ink.height, left : left + ink.width] = np.asarray(ink) / 255
    rows, cols = np.mgrid[0:height, 0:width] / max(size)
    angle = rng.uniform(0, 2 * np.pi)
    lighting = 0.75 + 0.2 * (np.cos(angle) * cols + np.sin(angle) * rows - 0.4)
    texture = ndimage.gaussian_filter(rng.normal(0, 1, (height, width)), 3) * 0.15
    paper = np.clip(lighting + texture + rng.normal(0, 0.03, (height, width)), 0, 1)
    tone = rng.uniform(0.08, 0.25)
    gray = paper * (1 - layer) + tone * layer
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.95)])
    rgb = np.clip(gray[..., None] * tint * 255, 0, 255).astype(np.uint8)
    return encoded(Image.fromarray(rgb), "JPEG", quality=int(rng.integers(60, 90)))


def photos_of_test_digits(count: int = 2) -> list[bytes]:
    """Photos of the first `count` test digits of `sample` (a 7, then an 8), one seed each."""
    digits = load_dataset("sample").test.images
    return [photo_of_digit(digits[index], seed=index) for index in range(count)]


def write_photos_of_test_digits(folder: Path) -> tuple[Path, Path]:
    """`photos_of_test_digits` saved as seven.jpg and eight.jpg in `folder`."""
    paths = (folder / "seven.jpg", folder / "eight.jpg")
    for path, data in zip(paths, photos_of_test_digits(), strict=True):
        path.write_bytes(data)
    return paths
