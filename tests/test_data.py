"""Every data source on small data made here; the offline sample; clear errors."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vaeapp.data.sources import load_dataset
from vaeapp.errors import DataError

RNG = np.random.default_rng(0)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def write_idx_set(directory: Path, n_train: int, n_test: int, suffix: str = "") -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": RNG.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": RNG.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": RNG.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": RNG.integers(0, 10, n_test),
    }
    for name, array in arrays.items():
        write_idx(directory / (name + suffix), array)
    return arrays


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_directory_gzipped_or_not(tmp_path: Path, suffix: str) -> None:
    arrays = write_idx_set(tmp_path, 30, 12, suffix)
    data = load_dataset(f"idx:{tmp_path}")
    assert data.train.images.shape == (30, 1, 28, 28)
    assert data.test.images.shape == (12, 1, 28, 28)
    assert data.train.images.dtype == torch.float32
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte"] / 255).float()
    torch.testing.assert_close(data.test.images[:, 0], expected)
    assert data.train.labels.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert "IDX" in data.source and "30 train / 12 test" in data.source


def test_idx_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a directory"):
        load_dataset(f"idx:{tmp_path / 'nowhere'}")
    with pytest.raises(DataError, match="no train-images"):
        load_dataset(f"idx:{tmp_path}")
    write_idx_set(tmp_path, 5, 5)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03garbage")
    with pytest.raises(DataError, match="t10k-images"):
        load_dataset(f"idx:{tmp_path}")


def save_digit_pngs(directory: Path, per_class: int, classes: tuple[str, ...]) -> None:
    for label in classes:
        (directory / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = RNG.integers(0, 256, (28, 28), dtype=np.uint8)
            Image.fromarray(pixels).save(directory / label / f"{i}.png")


def test_image_folder_with_train_and_test(tmp_path: Path) -> None:
    save_digit_pngs(tmp_path / "train", 4, ("cat", "dog"))
    save_digit_pngs(tmp_path / "test", 2, ("cat", "dog"))
    data = load_dataset(f"folder:{tmp_path}")
    assert data.classes == ("cat", "dog")
    assert len(data.train) == 8 and len(data.test) == 4
    assert sorted(data.test.labels.tolist()) == [0, 0, 1, 1]


def test_flat_image_folder_is_split_deterministically(tmp_path: Path) -> None:
    save_digit_pngs(tmp_path, 6, ("0", "1", "2"))
    (tmp_path / "0" / "big.jpg").parent.mkdir(exist_ok=True)
    Image.new("RGB", (100, 60), "white").save(tmp_path / "0" / "big.jpg")
    first, second = load_dataset(f"folder:{tmp_path}"), load_dataset(f"folder:{tmp_path}")
    assert len(first.train) + len(first.test) == 19 and len(first.test) == 3
    assert first.train.images.shape[1:] == (1, 28, 28)
    assert first.train.images.max() <= 1 and first.train.images.min() >= 0
    torch.testing.assert_close(first.test.images, second.test.images)


def test_folder_with_a_broken_image_names_the_file(tmp_path: Path) -> None:
    save_digit_pngs(tmp_path, 2, ("a",))
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match="broken.png"):
        load_dataset(f"folder:{tmp_path}")


def test_sample_is_offline_real_mnist_split_4000_1000() -> None:
    data = load_dataset("sample")
    assert len(data.train) == 4000 and len(data.test) == 1000
    assert data.train.images.shape == (4000, 1, 28, 28)
    assert set(data.test.labels.tolist()) == set(range(10))
    assert 0.1 < data.train.images.mean().item() < 0.15, "MNIST's mean intensity is about 0.13"
    again = load_dataset("sample")
    torch.testing.assert_close(data.test.images, again.test.images)
    train_rows = {tuple(row) for row in data.train.images.flatten(1)[:, ::7].tolist()}
    assert not any(tuple(row) in train_rows for row in data.test.images.flatten(1)[:, ::7].tolist())


def test_torchvision_source_uses_a_local_copy(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "MNIST" / "raw", 20, 10)
    data = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert len(data.train) == 20 and len(data.test) == 10
    assert "local copy" in data.source


def test_missing_torchvision_source_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message and "'sample'" in message


def test_unknown_source_lists_the_choices() -> None:
    with pytest.raises(
        DataError,
        match="sample, mnist, fashion-mnist, kmnist, shapes, cifar10, svhn, idx:DIR, folder:DIR",
    ):
        load_dataset("cifar")


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not FASHION.is_dir(), reason="needs Debian's dataset-fashion-mnist")
def test_full_size_fashion_mnist_from_debian() -> None:
    data = load_dataset(f"idx:{FASHION}")
    assert len(data.train) == 60_000 and len(data.test) == 10_000
    assert data.train.labels.bincount().tolist() == [6000] * 10


def test_the_map_order_is_the_test_set_then_the_training_set(tmp_path: Path) -> None:
    arrays = write_idx_set(tmp_path, n_train=5, n_test=3)
    dataset = load_dataset(f"idx:{tmp_path}")
    assert dataset.first(3) is dataset.test
    both = dataset.first(8)
    expected = np.concatenate([arrays["t10k-labels-idx1-ubyte"], arrays["train-labels-idx1-ubyte"]])
    assert both.labels.tolist() == expected.tolist()
    assert torch.equal(both.images[3:], dataset.train.images)
