"""What the latent map shows, and how it travels to the browser: one binary message.

`MapContent` is the heavy, rarely changing part (points, labels, codes, test images, the ONNX
decoder, the view's inverse), named by a content id, a hash of all of it. `pack` writes one
message (framed by `map_message`): a JSON header, then the arrays, each at a multiple of 8 bytes
from the body's start, so the browser views them as typed arrays. The header holds the per-run
values (`light`) and, when the content goes along, its JSON fields and where each array lies
(`content`). Each array is a section named by a hash of its bytes: a content whose sections a
browser already holds (another view of the same model: its codes, test images and decoder are
the same) goes without them, as `kept` sections the browser takes from the content it has.

The content declares the model's image shape [C, H, W] (C 1 or 3) once: the decoder's pictures
have it. The dots' test images go as thumbnails, bytes (0-255) [N, C, h, w] compressed with zlib
(MNIST's shrink to a quarter, in about 70 ms per 10,000 images), which the browser inflates with
its DecompressionStream. A thumbnail is the image itself (MNIST's 28 x 28 as ever) unless that is
more than THUMBNAIL_SIDE on a side, or the thumbnails would outweigh THUMBNAIL_BYTES: then it is
the image shrunk by area averaging. 5,000 colour 64 x 64 images would be 61 MB as they are; as
32 x 32 thumbnails they are 15 MB (12 to 15 MB after zlib), under a second to send locally.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from vaeapp.config import ModelConfig
from vaeapp.data.datasets import Dataset
from vaeapp.latent.codes import padded_range
from vaeapp.latent.map_message import frame, padded
from vaeapp.latent.views import ShownView

THUMBNAIL_SIDE = 32  # the hovered dot's image shows at 72 px: more pixels are seldom seen
THUMBNAIL_BYTES = 70_000 * 28 * 28  # 70,000 MNIST digits' worth: what a browser kept (payload.js)
THUMBNAIL_CHUNK = 4096  # images made thumbnails at a time: float copies of a few, not of all
COMPRESSION_LEVEL = 1  # level 6 shrinks MNIST 10% more, at 2.5 times the time
SLIDER_MARGIN = 0.1  # a code slider spans its dimension's codes and a tenth more each side


@dataclass(frozen=True)
class Polyline:
    """A line drawn over the map in map coordinates (a hull, a path, a contour, an ellipse)."""

    points: Sequence[Sequence[float]] | np.ndarray
    color: str = "black"
    width: float = 1.5
    dashed: bool = False

    def to_json(self) -> dict[str, Any]:
        points = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        return {
            "points": points.tolist(),
            "color": self.color,
            "width": float(self.width),
            "dashed": bool(self.dashed),
        }


@dataclass(frozen=True, eq=False)
class MapContent:
    """The map's data: sent to a browser session once, then named by `content_id`.

    `points` [N, 2] are the dots on the map, `labels` [N] their class numbers (names in
    `classes`), `codes` [N, D] their latent codes, `image_shape` (C, H, W) the model's pictures'
    shape, `images` [N, C, H, W] (or [N, H, W] for one channel) in [0, 1], or uint8 0-255, their
    test images (sent as `thumbnails`), `decoder` the ONNX decoder
    (`vaeapp.onnx_decoder.decoder_onnx`), `inverse` the view's way back
    (`Projection.describe_inverse`), `covariances` [N, 3] (var_x, cov_xy, var_y)
    optional posterior spreads in map coordinates (each dot's 1-sigma ellipse shows on hover).
    The ranges are the map's initial view; `code_ranges` [D] each latent dimension's slider
    span (the panel's sliders and the page's).
    """

    points: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    codes: np.ndarray
    image_shape: tuple[int, int, int]
    images: np.ndarray
    decoder: bytes
    inverse: Mapping[str, Any]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    code_ranges: tuple[tuple[float, float], ...]
    axis_titles: tuple[str, str] = ("z1", "z2")
    covariances: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.points)
        if len(self.code_ranges) != np.shape(self.codes)[1]:
            raise ValueError("code_ranges must hold one range per latent dimension")
        if np.shape(self.points) != (n, 2) or n == 0:
            raise ValueError("points must be [N, 2] with N >= 1")
        per_point = {"labels": self.labels, "codes": self.codes, "images": self.images}
        if self.covariances is not None:
            per_point["covariances"] = self.covariances
        for name, values in per_point.items():
            if len(values) != n:
                raise ValueError(f"{name} has {len(values)} rows for {n} points")
        problem = ModelConfig(image_shape=tuple(self.image_shape)).problems().get("image_shape")
        if problem:
            raise ValueError(problem)
        channels, height, width = self.image_shape
        shapes = [(n, channels, height, width)] + ([(n, height, width)] if channels == 1 else [])
        if np.shape(self.images) not in shapes:
            raise ValueError(f"images must be {' or '.join(map(str, shapes))}")

    @cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays as sent, by name; the inverse's own arrays under "inverse.<field>"."""
        arrays = {
            "points": np.asarray(self.points, dtype=np.float64),
            "labels": np.asarray(self.labels, dtype=np.int32),
            "codes": np.asarray(self.codes, dtype=np.float32),
            "images": self.thumbnails,
            "decoder": np.frombuffer(self.decoder, dtype=np.uint8),
        }
        if self.covariances is not None:
            arrays["covariances"] = np.asarray(self.covariances, dtype=np.float32)
        for field, value in self.inverse.items():
            if isinstance(value, np.ndarray) and _same_as(value, arrays) is None:
                arrays[f"inverse.{field}"] = value
        return {name: np.ascontiguousarray(values) for name, values in arrays.items()}

    @cached_property
    def json_fields(self) -> dict[str, Any]:
        """The JSON part: everything but the arrays. An array of the inverse names its section:
        the dots' own when it holds the same numbers (an embedding of these very dots)."""
        inverse = {
            field: {"section": _same_as(value, self.arrays)}
            if isinstance(value, np.ndarray)
            else value
            for field, value in self.inverse.items()
        }
        return {
            "classes": list(self.classes),
            "x_range": [float(v) for v in self.x_range],
            "y_range": [float(v) for v in self.y_range],
            "code_ranges": [[float(low), float(high)] for low, high in self.code_ranges],
            "axis_titles": list(self.axis_titles),
            "image_shape": [int(v) for v in self.image_shape],
            "inverse": inverse,
            "decoder_id": self.decoder_id,
        }

    @cached_property
    def decoder_id(self) -> str:
        """The decoder's name, the same for every content of one model (its views, colourings),
        so that a browser loads it once: a decoder session takes a noticeable part of a second."""
        digest = hashlib.blake2b(self.decoder, digest_size=16)
        digest.update(json.dumps([np.shape(self.codes)[1], *self.image_shape]).encode())
        return digest.hexdigest()

    @cached_property
    def thumbnails(self) -> np.ndarray:
        """The test images as sent: uint8 [N, C, h, w], shrunk where the module's doc says."""
        n, (channels, height, width) = len(self.images), self.image_shape
        scale = min(
            1.0,
            THUMBNAIL_SIDE / max(height, width),
            math.sqrt(THUMBNAIL_BYTES / (n * channels * height * width)),
        )
        size = (max(1, math.floor(height * scale)), max(1, math.floor(width * scale)))
        images = np.asarray(self.images).reshape(n, channels, height, width)
        if size == (height, width) and images.dtype == np.uint8:
            return images
        sent = np.empty((n, channels, *size), dtype=np.uint8)
        for start in range(0, n, THUMBNAIL_CHUNK):
            part = images[start : start + THUMBNAIL_CHUNK]
            levels = part.astype(np.float32) * (1 if part.dtype == np.uint8 else 255)
            if size != (height, width):
                levels = F.adaptive_avg_pool2d(torch.from_numpy(levels), size).numpy()
            sent[start : start + THUMBNAIL_CHUNK] = np.round(levels)
        return sent

    @cached_property
    def section_ids(self) -> dict[str, str]:
        """Each array's name, by its section: a hash of its type, shape and bytes."""
        ids = {}
        for name, values in self.arrays.items():
            digest = hashlib.blake2b(digest_size=16)
            digest.update(f"{values.dtype.str}:{values.shape}".encode())
            digest.update(memoryview(values).cast("B"))
            ids[name] = digest.hexdigest()
        return ids

    @cached_property
    def content_id(self) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(json.dumps(self.json_fields, sort_keys=True).encode())
        digest.update(json.dumps(self.section_ids).encode())
        return digest.hexdigest()

    @cached_property
    def _encoded(self) -> dict[str, tuple[dict[str, Any], bytes]]:
        """Each array's section as sent (the images deflated) and its description: made once."""
        encoded = {}
        for name, values in self.arrays.items():
            deflate = name == "images"
            raw = values.tobytes()
            data = zlib.compress(raw, COMPRESSION_LEVEL) if deflate else raw
            section = {"id": self.section_ids[name], "dtype": values.dtype.name}
            encoded[name] = ({**section, "shape": list(values.shape), "deflate": deflate}, data)
        return encoded

    def sections(self, kept: Set[str] = frozenset()) -> tuple[dict[str, Any], bytes]:
        """Where each array lies in the packed message, and those bytes; a section whose id is
        in `kept` goes as its description alone, marked kept."""
        layout: dict[str, Any] = {}
        chunks: list[bytes] = []
        offset = 0
        for name, (section, data) in self._encoded.items():
            if section["id"] in kept:
                layout[name] = {**section, "kept": True}
                continue
            layout[name] = {**section, "offset": offset, "length": len(data)}
            size = padded(len(data))
            chunks.append(data + bytes(size - len(data)))
            offset += size
        return layout, b"".join(chunks)


def map_content(
    points: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    codes: np.ndarray,
    images: np.ndarray,
    decoder: bytes,
    inverse: Mapping[str, Any],
    *,
    image_shape: tuple[int, int, int],
    axis_titles: tuple[str, str] = ("z1", "z2"),
    covariances: np.ndarray | None = None,
    box: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> MapContent:
    """MapContent with the view spanning the points plus a margin, as the Plotly map did (or
    `box`, x and y ranges that other maps share), and each code slider its dimension's codes
    plus SLIDER_MARGIN; `image_shape` is the model's (C, H, W)."""
    points = np.asarray(points, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.float32)
    x_range, y_range = box or (padded_range(points[:, 0]), padded_range(points[:, 1]))
    return MapContent(
        points=points,
        labels=np.asarray(labels),
        classes=tuple(classes),
        codes=codes,
        image_shape=image_shape,
        images=np.asarray(images),
        decoder=decoder,
        inverse=inverse,
        x_range=x_range,
        y_range=y_range,
        code_ranges=tuple(padded_range(column, SLIDER_MARGIN) for column in codes.T),
        axis_titles=axis_titles,
        covariances=covariances,
    )


def view_content(
    data: Dataset,
    codes: torch.Tensor,
    logvar: torch.Tensor,
    view: ShownView,
    points: np.ndarray,
    decoder: bytes,
    *,
    image_shape: tuple[int, int, int],
    ellipses: bool = True,
    box: tuple[tuple[float, float], tuple[float, float]] | None = None,
    colour_by: int | None = None,
) -> MapContent:
    """The content of a map of `data`'s first len(codes) test images (codes [N, D], their
    posteriors' log-variances) at `points` on `view`: what the Explore page and the standalone
    page (`export.html_page`) draw. `ellipses`: each dot's posterior spread on hover;
    `colour_by`: the data's known factor that colours the dots (None: the labels)."""
    covariances = view.projection.covariances(logvar.exp()) if ellipses else None
    dots = data.first(len(codes))
    labels, classes = dots.labels, data.classes
    if colour_by is not None and dots.factors is not None:
        labels, classes = dots.factors[:, colour_by], data.factor_values[colour_by]
    return map_content(
        points,
        labels.numpy(),
        classes,
        codes.numpy(),
        dots.images.numpy(),
        decoder,
        view.projection.describe_inverse(),
        image_shape=image_shape,
        axis_titles=view.axis_titles,
        covariances=covariances,
        box=box,
    )


def light_values(
    content_id: str,
    *,
    key: str,
    height: int,
    base: Sequence[float] | None = None,
    pin: Mapping[str, Any] | None = None,
    pin_seq: int = 0,
    selection_seq: int = 0,
    overlays: Sequence[Polyline] = (),
    marked: Sequence[int] = (),
    scope: str = "",
    asks: int = 0,
) -> dict[str, Any]:
    """A render's per-run values (`pack`'s `light`), as the browser reads them: the map's key,
    its content's id, its height in pixels, the hidden dimensions' code, the pin Python marks
    ({"point", "code"}), the clicks and selections Python has seen, overlays and ringed dots,
    what a pin belongs to (a model: another scope drops the last click's pin), and how often
    the browser asked for the content again (which makes each answer a new message)."""
    return {
        "key": key,
        "content_id": content_id,
        "height": height,
        "base": None if base is None else [float(v) for v in base],
        "pin": None if pin is None else dict(pin),
        "pin_seq": pin_seq,
        "selection_seq": selection_seq,
        "overlays": [line.to_json() for line in overlays],
        "marked": [int(i) for i in marked],
        "scope": scope,
        "asks": asks,
    }


def pack(
    light: Mapping[str, Any], content: MapContent | None, kept: Set[str] = frozenset()
) -> bytes:
    """One message for the browser (`map_message.frame`): the per-run values, with the content
    when given, less the sections in `kept` (ids of sections the browser holds)."""
    header: dict[str, Any] = {"light": dict(light)}
    body = b""
    if content is not None:
        layout, body = content.sections(kept)
        header["content"] = {**content.json_fields, "id": content.content_id, "sections": layout}
    return frame(header, body)


def _same_as(values: np.ndarray, arrays: Mapping[str, np.ndarray]) -> str | None:
    """The name of an array with the same type, shape and numbers, if there is one."""
    for name, other in arrays.items():
        same_kind = other.dtype == values.dtype and other.shape == values.shape
        if same_kind and np.array_equal(other, values):
            return name
    return None
