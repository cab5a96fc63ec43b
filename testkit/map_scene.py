"""The test map's data: a seeded model and made-up codes and images, built the same way by the
test app (testkit/map_component_app.py) and by the tests that check what it shows.

A scene is named by a few URL query parameters (see `Scene.from_query`), so one server serves
every test its own map.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cache

import numpy as np
import torch

from vaeapp.config import ModelConfig
from vaeapp.data.sources import DIGITS
from vaeapp.latent.onnx_decoder import decoder_onnx
from vaeapp.latent.views import AxesProjection, EmbeddingProjection, PCAProjection, Projection
from vaeapp.model.networks import VAE, build_model
from vaeapp.ui.map_component import MapContent, Polyline, map_content

VIEWS = ("axes", "pca", "umap")


@dataclass(frozen=True)
class Scene:
    view: str = "axes"  # "umap" stands for any embedding: a fixed warp of the codes here
    n: int = 500
    dim: int = 2
    arch: str = "conv"
    likelihood: str = "bernoulli"
    broken_decoder: bool = False  # the browser gets bytes that are no ONNX model
    channels: int = 1  # the model's and the images' shape: channels x side x side
    side: int = 28

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Scene:
        kinds = {f.name: type(getattr(cls(), f.name)) for f in fields(cls)}
        given = {name: query[name] for name in kinds if name in query}
        scene = cls(**{name: _parsed(kinds[name], value) for name, value in given.items()})
        if scene.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}")
        return scene

    def query(self) -> str:
        return "&".join(f"{name}={value}" for name, value in asdict(self).items())

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.channels, self.side, self.side


def _parsed(kind: type, value: str) -> object:
    return value in ("1", "true", "True") if kind is bool else kind(value)


@cache
def model(scene: Scene) -> VAE:
    torch.manual_seed(0)
    config = ModelConfig(
        arch=scene.arch,
        latent_dim=scene.dim,
        likelihood=scene.likelihood,
        image_shape=scene.image_shape,
    )
    return build_model(config).eval()


@cache
def codes_and_labels(scene: Scene) -> tuple[torch.Tensor, np.ndarray]:
    """Codes in class clusters: class k around a point on a circle, in the first two dims."""
    generator = torch.Generator().manual_seed(1)
    labels = np.arange(scene.n) % 10
    angle = torch.from_numpy(labels * 2 * np.pi / 10)
    centres = torch.zeros(scene.n, scene.dim)
    centres[:, 0] = 2 * torch.cos(angle)
    if scene.dim > 1:
        centres[:, 1] = 2 * torch.sin(angle)
    return centres + 0.6 * torch.randn(scene.n, scene.dim, generator=generator), labels


def images(scene: Scene) -> np.ndarray:
    """uint8 [N, side, side] (grey) or [N, 3, side, side]: class k a bar at row (4 + 2k) * side / 28
    over seeded noise, white, or in colour its red, green or blue (k mod 3) brightest."""
    _, labels = codes_and_labels(scene)
    rng = np.random.default_rng(2)
    shape = scene.image_shape[1:] if scene.channels == 1 else scene.image_shape
    pictures = rng.integers(0, 40, size=(scene.n, *shape), dtype=np.uint8)
    dots = np.arange(scene.n)
    rows = (4 + 2 * labels) * scene.side // 28
    columns = slice(6 * scene.side // 28, 22 * scene.side // 28)
    for offset in (0, 1):
        if scene.channels == 1:
            pictures[dots, rows + offset, columns] = 230
        else:
            pictures[dots, :, rows + offset, columns] = 120
            pictures[dots, labels % 3, rows + offset, columns] = 230
    return pictures


@cache
def view(scene: Scene) -> Projection:
    codes, _ = codes_and_labels(scene)
    if scene.view == "axes":
        return AxesProjection(0, 1 if scene.dim > 1 else None, torch.zeros(scene.dim))
    if scene.view == "pca":
        return PCAProjection(codes)
    first, second = codes[:, 0].numpy(), codes[:, min(1, scene.dim - 1)].numpy()
    embedding = np.stack([first + 0.3 * np.sin(2 * second), second + 0.3 * np.cos(first)], 1)
    return EmbeddingProjection(codes, embedding.astype(np.float64))


@cache
def content(scene: Scene) -> MapContent:
    codes, labels = codes_and_labels(scene)
    projection = view(scene)
    points = projection.project(codes)
    spread = np.random.default_rng(3).uniform(0.01, 0.05, size=(scene.n, 3))
    spread[:, 1] = 0.5 * np.sqrt(spread[:, 0] * spread[:, 2])  # var_x, cov_xy, var_y
    decoder = b"not an onnx model" if scene.broken_decoder else decoder_onnx(model(scene))
    titles = ("z1", "z2") if scene.view == "axes" else (f"{scene.view} 1", f"{scene.view} 2")
    return map_content(
        points,
        labels,
        DIGITS,
        codes.numpy(),
        images(scene),
        decoder,
        projection.describe_inverse(),
        image_shape=scene.image_shape,
        axis_titles=titles,
        covariances=spread,
    )


def overlays(scene: Scene) -> list[Polyline]:
    outline = view(scene).outline()
    return [] if outline is None else [Polyline(outline, color="grey", width=1, dashed=True)]
