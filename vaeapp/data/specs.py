"""A data source's spec string, read from no data: the source it names, its folder, and the
shape of its images. No torch: the Train page's form checks a spec in a server that never imports
it; `sources` loads what a spec names.

Specs: the named sources (NAMED_SHAPES), `idx:DIR` and `folder:DIR` (PATH_SOURCES).
"""

from __future__ import annotations

from pathlib import Path

from vaeapp.config import ModelConfig
from vaeapp.data import shapes
from vaeapp.errors import DataError
from vaeapp.paths import user_path

Shape = tuple[int, int, int]  # channels, height, width
MNIST_SHAPE: Shape = (1, 28, 28)
NAMED_SHAPES: dict[str, Shape] = {  # each named source, and the shape of its images
    "sample": MNIST_SHAPE,
    "mnist": MNIST_SHAPE,
    "fashion-mnist": MNIST_SHAPE,
    "kmnist": MNIST_SHAPE,
    "shapes": (3, shapes.SIDE, shapes.SIDE),
    "cifar10": (3, 32, 32),
    "svhn": (3, 32, 32),
}
PATH_SOURCES = ("idx", "folder")  # a folder follows the colon; MNIST_SHAPE, as 28x28 grey


def native_shape(spec: str) -> Shape:
    """The shape of a source's images as it holds them, read from no data."""
    kind, _ = check_spec(spec)
    return NAMED_SHAPES.get(kind, MNIST_SHAPE)


def check_shape(shape: Shape) -> None:
    """Raise DataError unless `shape` is one a model may have (the config's rule)."""
    problem = ModelConfig(image_shape=tuple(shape)).problems().get("image_shape")
    if problem:
        raise DataError(f"image shape {tuple(shape)}: {problem}")


def image_shape_for(spec: str, channels: int | None = None, size: int | None = None) -> Shape:
    """The images a new run on `spec` trains on: the source's own, with the channels and the
    (square) size asked for; DataError for an unknown source."""
    native = native_shape(spec)
    return (channels or native[0], size or native[1], size or native[2])


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
    if spec in NAMED_SHAPES:
        return spec, None
    raise DataError(f"unknown data source {spec!r}; choose one of {', '.join(source_names())}")


def source_names() -> list[str]:
    """Every spec a user may give: the named sources, then `idx:DIR` and `folder:DIR`."""
    return [*NAMED_SHAPES, *(f"{kind}:DIR" for kind in PATH_SOURCES)]
