"""The latent map's message: content named by a hash, arrays aligned, images compressed."""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import pytest

from vaeapp.ui.map_component.content import Polyline, map_content, pack

N, DIM = 30, 3


def content(codes_offset: float = 0.0):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(N, DIM)).astype(np.float32) + codes_offset
    return map_content(
        points=codes[:, :2].astype(np.float64),
        labels=np.arange(N) % 10,
        classes=[str(d) for d in range(10)],
        codes=codes,
        images=rng.uniform(size=(N, 1, 28, 28)),
        decoder=b"onnx bytes",
        inverse={
            "kind": "delaunay",
            "vertices": codes[:, :2].astype(np.float64),  # the dots' own positions
            "triangles": np.array([[0, 1, 2]], dtype=np.int32),
            "x": 1,
        },
    )


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


def test_the_content_id_names_the_data() -> None:
    assert content().content_id == content().content_id
    assert content().content_id != content(codes_offset=1e-3).content_id


def test_rows_must_match_the_points() -> None:
    good = content()
    with pytest.raises(ValueError, match="codes"):
        map_content(good.points, good.labels, good.classes, good.codes[:-1], good.images, b"", {})


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
