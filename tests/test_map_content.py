"""The latent map's message: content named by a hash, arrays aligned, images compressed."""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import pytest

from vaeapp.latent import map_content as content_module
from vaeapp.latent.map_content import Polyline, map_content, pack

N, DIM = 30, 3
GREY = (1, 28, 28)


def content(
    codes_offset: float = 0.0,
    image_shape: tuple[int, int, int] = GREY,
    images: np.ndarray | None = None,
):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(N, DIM)).astype(np.float32) + codes_offset
    return map_content(
        points=codes[:, :2].astype(np.float64),
        labels=np.arange(N) % 10,
        classes=[str(d) for d in range(10)],
        codes=codes,
        images=rng.uniform(size=(N, *image_shape)) if images is None else images,
        decoder=b"onnx bytes",
        inverse={
            "kind": "delaunay",
            "vertices": codes[:, :2].astype(np.float64),  # the dots' own positions
            "triangles": np.array([[0, 1, 2]], dtype=np.int32),
            "x": 1,
        },
        image_shape=image_shape,
    )


def sent_images(made) -> tuple[list[int], dict[str, Any], np.ndarray]:
    """The image shape the header declares, the thumbnails' section, and their bytes inflated."""
    header, body = read(pack({}, made))
    where = header["content"]["sections"]["images"]
    data = zlib.decompress(body[where["offset"] : where["offset"] + where["length"]])
    return header["content"]["image_shape"], where, np.frombuffer(data, dtype=np.uint8)


def read(message: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and the arrays' bytes, as the browser splits them (frontend/payload.js)."""
    assert message[:4] == b"VMAP"
    length = int.from_bytes(message[4:8], "little")
    start = -(-(8 + length) // 8) * 8
    return json.loads(message[8 : 8 + length]), message[start:]


def test_a_message_without_content_holds_only_the_per_run_values() -> None:
    header, body = read(pack({"key": "map", "pin": None}, None))
    assert header == {"light": {"key": "map", "pin": None}}
    assert body == b""


def test_the_content_travels_as_aligned_arrays_and_compressed_images() -> None:
    sent = content()
    header, body = read(pack({"key": "map"}, sent))
    layout = header["content"]["sections"]
    assert header["content"]["id"] == sent.content_id
    assert all(section["offset"] % 8 == 0 for section in layout.values())

    def section(name: str) -> bytes:
        where = layout[name]
        return body[where["offset"] : where["offset"] + where["length"]]

    images = np.frombuffer(zlib.decompress(section("images")), dtype=np.uint8)
    assert np.array_equal(images, np.round(sent.images.ravel() * 255))
    assert np.array_equal(np.frombuffer(section("codes"), np.float32).reshape(N, DIM), sent.codes)
    assert section("decoder") == b"onnx bytes"
    assert header["content"]["inverse"] == {
        "kind": "delaunay",
        "vertices": {"section": "points"},  # sent once
        "triangles": {"section": "inverse.triangles"},
        "x": 1,
    }
    assert "inverse.vertices" not in layout
    assert np.frombuffer(section("inverse.triangles"), np.int32).tolist() == [0, 1, 2]


def test_sections_the_browser_holds_go_by_id_alone() -> None:
    first, moved = content(), content(codes_offset=1.0)
    shared = {n for n in first.section_ids if first.section_ids[n] == moved.section_ids[n]}
    assert shared == {"labels", "images", "decoder", "inverse.triangles"}
    header, body = read(pack({}, moved, set(first.section_ids.values())))
    layout = header["content"]["sections"]
    for name in shared:
        assert layout[name]["kept"] and layout[name]["id"] == first.section_ids[name]
        assert "offset" not in layout[name]
    sent = [name for name in layout if name not in shared]
    assert sorted(sent) == ["codes", "points"]
    assert len(body) == sum(-(-layout[name]["length"] // 8) * 8 for name in sent)
    codes = layout["codes"]
    as_sent = body[codes["offset"] : codes["offset"] + codes["length"]]
    assert np.array_equal(np.frombuffer(as_sent, np.float32).reshape(N, DIM), moved.codes)


def test_the_content_id_names_the_data() -> None:
    assert content().content_id == content().content_id
    assert content().content_id != content(codes_offset=1e-3).content_id


def test_rows_must_match_the_points() -> None:
    good = content()
    with pytest.raises(ValueError, match="codes"):
        map_content(
            good.points,
            good.labels,
            good.classes,
            good.codes[:-1],
            good.images,
            b"",
            {},
            image_shape=GREY,
        )


def test_grey_digits_go_as_they_are_whichever_way_their_channel_is_given() -> None:
    floats = np.random.default_rng(1).uniform(size=(N, 28, 28))
    for images in (floats, floats[:, None]):
        shape, where, sent = sent_images(content(images=images))
        assert shape == [1, 28, 28]
        assert where["shape"] == [N, 1, 28, 28]
        assert np.array_equal(sent, np.round(floats.astype(np.float32).ravel() * 255))


def test_seventy_thousand_digits_are_not_shrunk() -> None:
    """MNIST's whole 70,000 as the map has always sent them: THUMBNAIL_BYTES is their size."""
    many = np.zeros((70_000, 28, 28), dtype=np.uint8)
    made = map_content(
        np.zeros((70_000, 2)),
        np.zeros(70_000),
        ["0"],
        np.zeros((70_000, 2)),
        many,
        b"",
        {},
        image_shape=GREY,
    )
    assert made.thumbnails.shape == (70_000, 1, 28, 28)


def test_colour_images_of_32_pixels_go_as_they_are() -> None:
    images = np.random.default_rng(2).integers(0, 256, size=(N, 3, 32, 32), dtype=np.uint8)
    shape, where, sent = sent_images(content(image_shape=(3, 32, 32), images=images))
    assert shape == [3, 32, 32]
    assert where["shape"] == [N, 3, 32, 32]
    assert np.array_equal(sent, images.ravel())


def test_larger_colour_images_go_as_32_pixel_thumbnails_of_their_block_means(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(content_module, "THUMBNAIL_CHUNK", 7)  # made in 5 parts, the last short
    images = np.random.default_rng(3).uniform(size=(N, 3, 64, 64)).astype(np.float32)
    shape, where, sent = sent_images(content(image_shape=(3, 64, 64), images=images))
    assert shape == [3, 64, 64]  # what the decoder makes; the thumbnails are smaller
    assert where["shape"] == [N, 3, 32, 32]
    means = images.reshape(N, 3, 32, 2, 32, 2).mean(axis=(3, 5))
    assert np.abs(sent.astype(np.float32) - means.ravel() * 255).max() <= 0.5 + 1e-3


def test_a_picture_that_is_not_square_keeps_its_proportions() -> None:
    made = content(image_shape=(3, 20, 40))
    assert made.thumbnails.shape == (N, 3, 16, 32)


def test_many_thumbnails_shrink_to_stay_within_the_byte_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(content_module, "THUMBNAIL_BYTES", N * 3 * 16 * 16)
    assert content(image_shape=(3, 32, 32)).thumbnails.shape == (N, 3, 16, 16)


@pytest.mark.parametrize(
    ("image_shape", "images_shape"),
    [
        ((3, 32, 32), (N, 32, 32)),  # colour needs its channels
        ((3, 32, 32), (N, 3, 32, 31)),
        ((1, 28, 28), (N, 3, 28, 28)),
        ((2, 28, 28), (N, 2, 28, 28)),  # neither grey nor RGB
    ],
)
def test_images_must_have_the_declared_shape(
    image_shape: tuple[int, int, int], images_shape: tuple[int, ...]
) -> None:
    with pytest.raises(ValueError, match="image"):
        content(image_shape=image_shape, images=np.zeros(images_shape))


def test_each_code_slider_spans_its_dimensions_codes_and_a_tenth_more() -> None:
    made = content()
    sent = read(pack({}, made))[0]["content"]["code_ranges"]
    assert len(sent) == DIM
    for (low, high), column in zip(sent, made.codes.T, strict=True):
        span = float(column.max() - column.min())
        assert low == pytest.approx(column.min() - 0.1 * span)
        assert high == pytest.approx(column.max() + 0.1 * span)


def test_a_polyline_is_plain_json() -> None:
    line = Polyline(np.array([[0, 1], [2, 3]]), color="grey", width=2, dashed=True)
    assert line.to_json() == {
        "points": [[0.0, 1.0], [2.0, 3.0]],
        "color": "grey",
        "width": 2.0,
        "dashed": True,
    }
