"""`folder:DIR`: images in label subfolders (torchvision's ImageFolder layout), read as the
user's disk must be: a scan that never follows a linked folder (two `..` links would make it
exponential) and stops after MAX_ENTRIES entries, and each picture through the upload checks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch

from vaeapp import files
from vaeapp.data.datasets import Dataset, Split, split_deterministically
from vaeapp.data.images import conform
from vaeapp.data.specs import Shape
from vaeapp.errors import DataError, ImageError, UnsafeFileError

MAX_ENTRIES = 500_000  # files and folders a folder scan looks at
MAX_IMAGE_FILE = 1 << 26
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".pgm", ".ppm")


def load_folder(spec: str, directory: Path, shape: Shape | None) -> Dataset:
    if (directory / "train").is_dir() and (directory / "test").is_dir():
        train_classes, train = _image_folder(directory / "train", shape)
        test_classes, test = _image_folder(directory / "test", shape)
        if train_classes != test_classes:
            raise DataError(f"{directory}: train/ and test/ must have the same label folders")
        how = "train/ and test/ folders"
    else:
        train_classes, everything = _image_folder(directory, shape)
        if len(everything) < 2:
            raise DataError(f"{directory} needs at least two images to make train and test splits")
        train, test = split_deterministically(
            everything.images, everything.labels, max(1, len(everything) // 6)
        )
        how = "one folder, split 5:1 with a fixed shuffle"
    source = f"{spec}: image folder, {how} ({len(train)} train / {len(test)} test)"
    return Dataset(spec, source, tuple(train_classes), train, test)


def _image_folder(directory: Path, shape: Shape | None = None) -> tuple[list[str], Split]:
    """Images in label subfolders (torchvision's ImageFolder layout), as 28x28 grayscale like
    MNIST's, or each picture in colour or grey made `shape` by `conform`."""
    from vaeapp.data.images import gray_28, picture_tensor
    from vaeapp.data.picture_files import read_image

    seen = [0]
    classes = sorted(
        entry.name
        for entry in _entries(directory, seen)
        if _is_folder(entry) and entry.name[0] != "."
    )
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in _image_files(directory / name, seen):
            try:
                data = files.read_bytes(path, MAX_IMAGE_FILE, follow_links=True)
                picture = read_image(data, str(path))
                images.append(
                    torch.tensor(gray_28(picture, str(path))).unsqueeze(0)
                    if shape is None
                    else conform(picture_tensor(picture, str(path)).unsqueeze(0), shape)[0]
                )
            except (ImageError, UnsafeFileError) as exc:
                raise DataError(f"cannot read image {path}: {exc}") from None
            except OSError as exc:
                raise DataError(f"cannot read image {path}: {exc.strerror or exc}") from None
            labels.append(label)
    if not images:
        raise DataError(f"{directory}: no images in label subfolders")
    return classes, Split(torch.stack(images), torch.tensor(labels, dtype=torch.int64))


def _image_files(folder: Path, seen: list[int]) -> Iterator[Path]:
    """The image files under `folder`, depth first in name order, never through a linked
    folder; a link to a file is followed (the read refuses anything but a regular file)."""
    for entry in sorted(_entries(folder, seen), key=lambda e: e.name):
        if _is_folder(entry):
            yield from _image_files(Path(entry.path), seen)
        elif entry.name.lower().endswith(IMAGE_SUFFIXES) and not entry.name.startswith("."):
            yield Path(entry.path)


def _entries(folder: Path, seen: list[int]) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError as exc:
        raise DataError(f"cannot list {folder}: {exc.strerror or exc}") from None
    seen[0] += len(entries)
    if seen[0] > MAX_ENTRIES:
        raise DataError(
            f"{folder} holds more than {MAX_ENTRIES:,} files and folders; point folder: at the "
            "images' own folder"
        )
    return entries


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
