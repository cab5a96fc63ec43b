"""Colour and shaped data: the made `shapes` set and its factors, `conform` between shapes, folder:
in colour, CIFAR-10 and SVHN from local copies made here, and hostile replacements refused."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vaeapp.data import shapes
from vaeapp.data.sources import LOADERS, conform, load_dataset
from vaeapp.data.specs import native_shape, source_names
from vaeapp.errors import DataError

SAMPLE_SHA256 = "ed9c26835ba0a6c8361c6bdbf396da4579d6dadeb2e8626a85c3ca5bf377bf87"  # before shapes
# The first eight training images' float32 bytes: the same on every machine.
SHAPES_SHA256 = "db1b41f58df6dab69172a1403272aa3c9feff740051c07877aa1af44bca33ecf"


def sha256(*tensors: torch.Tensor) -> str:
    return hashlib.sha256(b"".join(t.numpy().tobytes() for t in tensors)).hexdigest()


@pytest.fixture(scope="module")
def shapes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shapes-data")


@pytest.fixture(scope="module")
def shapes_set(shapes_dir: Path):
    return load_dataset("shapes", data_dir=shapes_dir)


# --- shapes ---------------------------------------------------------------------------------------


@pytest.mark.slow  # renders or reads the 12,000 sprites
def test_shapes_are_coloured_64x64_with_their_factors(shapes_set) -> None:
    train, test = shapes_set.train, shapes_set.test
    assert train.images.shape == (shapes.N_TRAIN, 3, 64, 64) and len(test) == shapes.N_TEST
    assert train.images.dtype == torch.float32
    assert train.images.min() == 0 and train.images.max() == 1
    assert shapes_set.classes == ("square", "ellipse", "heart", "triangle")
    assert shapes_set.factor_names == ("shape", "colour", "scale", "rotation", "x", "y")
    sizes = [len(values) for values in shapes_set.factor_values]
    assert train.factors.shape == (shapes.N_TRAIN, 6) and train.factors.dtype == torch.int64
    for column, size in enumerate(sizes):
        assert train.factors[:, column].unique().tolist() == list(range(size))
    assert torch.equal(train.labels, train.factors[:, 0])
    grid_points = {tuple(row) for row in torch.cat([train.factors, test.factors]).tolist()}
    assert len(grid_points) == shapes.N_TRAIN + shapes.N_TEST, "no image is drawn twice"
    drawn = f"{shapes.N_TRAIN + shapes.N_TEST:,} images"
    assert drawn in shapes_set.source and "368,640" in shapes_set.source


@pytest.mark.slow  # renders or reads the 12,000 sprites
def test_a_shape_is_drawn_in_its_colour_at_its_place(shapes_set) -> None:
    red, blue = shapes_set.factor_values[1].index("red"), shapes_set.factor_values[1].index("blue")
    for colour, channel in ((red, 0), (blue, 2)):
        row = int((shapes_set.train.factors[:, 1] == colour).nonzero()[0])
        image, factors = shapes_set.train.images[row], shapes_set.train.factors[row]
        assert image[channel].sum() > 20 and image.sum() == image[channel].sum()
        ys, xs = image[channel].nonzero(as_tuple=True)
        x = shapes.POSITIONS[factors[4]]
        y = shapes.POSITIONS[factors[5]]
        assert abs(xs.float().mean() + 0.5 - x) < 3 and abs(ys.float().mean() + 0.5 - y) < 3


@pytest.mark.slow  # renders or reads the 12,000 sprites
def test_shapes_are_the_same_bytes_every_time(shapes_set, shapes_dir: Path) -> None:
    (shapes_dir / f"shapes-{shapes.N_TRAIN + shapes.N_TEST}-64.npz").unlink()
    again = load_dataset("shapes", data_dir=shapes_dir)  # rendered again, not read from cache
    assert torch.equal(again.test.images, shapes_set.test.images)
    assert torch.equal(again.first(3000).factors, shapes_set.first(3000).factors)
    assert sha256(shapes_set.train.images[:8]) == SHAPES_SHA256


@pytest.mark.parametrize(
    "damage",
    [
        lambda cache: cache.write_bytes(cache.read_bytes()[:1000]),
        lambda cache: np.savez(cache, pixels=np.zeros((10, 3, 64, 64), np.uint8)),
        lambda cache: cache.write_text("not a cache"),
    ],
    ids=["truncated", "wrong shape", "not an npz"],
)
@pytest.mark.slow  # renders or reads the 12,000 sprites
def test_a_damaged_shapes_cache_is_made_again(shapes_set, shapes_dir: Path, damage) -> None:
    cache = shapes_dir / f"shapes-{shapes.N_TRAIN + shapes.N_TEST}-64.npz"
    damage(cache)
    again = load_dataset("shapes", data_dir=shapes_dir)
    assert torch.equal(again.test.images, shapes_set.test.images)
    with np.load(cache) as repaired:
        assert repaired["pixels"].shape == (shapes.N_TRAIN + shapes.N_TEST, 3, 64, 64)


@pytest.mark.slow  # renders or reads the 12,000 sprites
def test_shapes_at_other_sizes_keep_their_factors(shapes_set, shapes_dir: Path) -> None:
    small = load_dataset("shapes", data_dir=shapes_dir, shape=(3, 32, 32))
    grey = load_dataset("shapes", data_dir=shapes_dir, shape=(1, 28, 28))
    assert small.train.images.shape == (shapes.N_TRAIN, 3, 32, 32)
    assert grey.test.images.shape == (shapes.N_TEST, 1, 28, 28)
    assert torch.equal(grey.test.factors, shapes_set.test.factors)
    assert "as 3x32x32" in small.source
    for data in (small, grey):
        assert data.train.images.min() >= 0 and data.train.images.max() <= 1
    for big, halved in zip(shapes_set.test.images[:10], small.test.images[:10], strict=True):
        picture = Image.fromarray((big * 255).round().byte().permute(1, 2, 0).numpy())
        pil = np.asarray(picture.resize((32, 32), Image.Resampling.BILINEAR)) / 255
        expected = torch.from_numpy(pil).float().permute(2, 0, 1)  # PIL's antialiased halving
        torch.testing.assert_close(halved, expected, atol=0.01, rtol=0)


# --- conform and the shapes of every source -------------------------------------------------------


def test_sample_is_unchanged_and_grey_to_rgb_and_back_is_exact() -> None:
    sample = load_dataset("sample")
    assert sha256(sample.train.images, sample.test.images) == SAMPLE_SHA256
    assert sample.train.factors is None and sample.factor_names == ()
    same = load_dataset("sample", shape=(1, 28, 28))
    assert torch.equal(same.test.images, sample.test.images) and same.source == sample.source
    rgb = load_dataset("sample", shape=(3, 28, 28)).test.images
    assert rgb.shape == (1000, 3, 28, 28)
    assert torch.equal(rgb[:, 0], rgb[:, 2]) and torch.equal(rgb[:, 1:2], sample.test.images)
    assert torch.equal(conform(rgb, (1, 28, 28)), sample.test.images)


def test_rgb_to_grey_is_601_luma_and_the_middle_is_kept() -> None:
    colours = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [0.2, 0.4, 0.6]])
    pictures = colours[:, :, None, None].expand(-1, -1, 4, 8)
    grey = conform(pictures, (1, 2, 2))
    expected = colours @ torch.tensor([0.299, 0.587, 0.114])
    torch.testing.assert_close(grey[:, 0, 0, 0], expected)
    striped = torch.zeros(1, 1, 10, 30)
    striped[..., 10:20] = 1  # a bright middle third between dark thirds
    assert torch.equal(conform(striped, (1, 10, 10)), torch.ones(1, 1, 10, 10))


def test_every_source_says_its_shape_without_reading(tmp_path: Path) -> None:
    shapes_of = {name: native_shape(name.replace("DIR", str(tmp_path))) for name in source_names()}
    assert shapes_of == {
        "sample": (1, 28, 28),
        "mnist": (1, 28, 28),
        "fashion-mnist": (1, 28, 28),
        "kmnist": (1, 28, 28),
        "shapes": (3, 64, 64),
        "cifar10": (3, 32, 32),
        "svhn": (3, 32, 32),
        "idx:DIR": (1, 28, 28),
        "folder:DIR": (1, 28, 28),
    }
    assert set(LOADERS) == {name for name in source_names() if ":" not in name}  # each loads


@pytest.mark.parametrize("shape", [(2, 28, 28), (3, 0, 28), (1, 28, 10_000), (1, 28)])
def test_a_shape_that_cannot_be_made_is_one_line(shape: tuple[int, ...]) -> None:
    with pytest.raises(DataError, match="1 or 3 channels and sides of 16 to 256 pixels"):
        load_dataset("sample", shape=shape)


def test_a_colour_folder_stays_in_colour_and_is_centre_cropped(tmp_path: Path) -> None:
    wide = np.zeros((30, 60, 3), dtype=np.uint8)
    wide[:, :15, 2] = 255  # blue left quarter
    wide[:, 15:45, 0] = 255  # red middle half
    wide[:, 45:, 1] = 255  # green right quarter
    (tmp_path / "red").mkdir()
    for i in range(6):
        Image.fromarray(wide).save(tmp_path / "red" / f"{i}.png")
    data = load_dataset(f"folder:{tmp_path}", shape=(3, 32, 32))
    images = torch.cat([data.train.images, data.test.images])
    assert images.shape == (6, 3, 32, 32)
    means = images.mean(dim=(0, 2, 3))
    assert means[0] > 0.97 and means[1] < 0.01 and means[2] < 0.03, means
    grey = load_dataset(f"folder:{tmp_path}", shape=(1, 16, 16)).test.images
    middle = grey[..., 2:-2]  # the edge columns blend in a little of the cropped sides
    torch.testing.assert_close(middle, torch.full_like(middle, 0.299), atol=0.005, rtol=0)


# --- CIFAR-10 and SVHN from local copies ----------------------------------------------------------


class Hostile:
    """Unpickled, this opens (so creates) a marker file: what a hostile batch could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cifar_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small CIFAR-10 in its python-batch format, its MD5 sums patched into torchvision as
    torchvision's own tests do."""
    from torchvision.datasets import CIFAR10

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = ["data_batch_1", "data_batch_2", "test_batch"]
    for name in names:
        batch = {
            "data": rng.integers(0, 256, (7, 3072), dtype=np.uint8),
            "labels": [0, 1] * 3 + [2],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["cat", "dog", "ship"]}))
    monkeypatch.setattr(CIFAR10, "train_list", [[n, md5(folder / n)] for n in names[:2]])
    monkeypatch.setattr(CIFAR10, "test_list", [[names[2], md5(folder / names[2])]])
    meta = {"filename": "batches.meta", "key": "label_names", "md5": md5(folder / "batches.meta")}
    monkeypatch.setattr(CIFAR10, "meta", meta)
    return folder


def test_cifar10_from_a_local_copy(tmp_path: Path, cifar_copy: Path) -> None:
    data = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert data.classes == ("cat", "dog", "ship")
    assert data.train.images.shape == (14, 3, 32, 32) and len(data.test) == 7
    batch = pickle.loads((cifar_copy / "test_batch").read_bytes())
    expected = torch.from_numpy(batch["data"].reshape(7, 3, 32, 32) / 255).float()
    assert torch.equal(data.test.images, expected) and data.test.labels.tolist() == batch["labels"]
    assert f"local copy in {cifar_copy}" in data.source
    grey = load_dataset("cifar10", data_dir=tmp_path, download=False, shape=(1, 28, 28))
    assert grey.train.images.shape == (14, 1, 28, 28)


@pytest.mark.parametrize("replaced", ["data_batch_2", "test_batch", "batches.meta"])
def test_a_hostile_cifar_batch_is_refused_unread(
    tmp_path: Path, cifar_copy: Path, replaced: str
) -> None:
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(Hostile(proof)))
    assert proof.exists(), "unpickled, the hostile batch does run code"
    marker = tmp_path / "marker"
    (cifar_copy / replaced).write_bytes(pickle.dumps(Hostile(marker)))
    with pytest.raises(DataError) as error:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    message = str(error.value)
    assert "\n" not in message and str(cifar_copy) in message and "'sample'" in message
    assert not marker.exists()


def test_missing_cifar10_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cifar10 is not on this machine.*cifar-10-batches-py"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_svhn_from_a_local_copy_and_a_replaced_file_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scipy.io import savemat
    from torchvision.datasets import SVHN

    folder = tmp_path / "SVHN"
    folder.mkdir()
    rng = np.random.default_rng(0)
    pixels = {
        s: rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        for s, n in [("train", 9), ("test", 4)]
    }
    digits = {"train": np.arange(1, 10)[:, None], "test": np.array([[10], [1], [2], [3]])}
    for split in ("train", "test"):
        savemat(folder / f"{split}_32x32.mat", {"X": pixels[split], "y": digits[split]})
    sums = {s: ["", f"{s}_32x32.mat", md5(folder / f"{s}_32x32.mat")] for s in ("train", "test")}
    monkeypatch.setattr(SVHN, "split_list", sums)
    data = load_dataset("svhn", data_dir=tmp_path, download=False)
    assert data.train.images.shape == (9, 3, 32, 32) and data.classes[0] == "0"
    assert data.test.labels.tolist() == [0, 1, 2, 3]  # SVHN's 10 is the digit 0
    expected = torch.from_numpy(pixels["test"].transpose(3, 2, 0, 1) / 255).float()
    assert torch.equal(data.test.images, expected)
    savemat(folder / "test_32x32.mat", {"X": pixels["test"][..., :1], "y": digits["test"][:1]})
    with pytest.raises(DataError, match="svhn is not on this machine"):
        load_dataset("svhn", data_dir=tmp_path, download=False)
