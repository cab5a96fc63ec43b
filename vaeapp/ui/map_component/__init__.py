"""The latent map as a Streamlit component (components v2) that decodes in the browser.

A WebGL scatter of the test codes (regl-scatterplot) beside the picture decoded under the
pointer by ONNX Runtime Web (WASM, one thread), grey or colour at the model's image shape:
hovering decodes continuously and shows a dot's test image and reconstruction; a click pins a
code and sends it here; a lasso or box selects dots. Beside the picture, one slider per latent
dimension: dragging decodes in the browser, releasing sends the code here as a pin without a
point (the page places its cross). A search box shows one class or rings one dot; `marked` dots
(a code's neighbours) are ringed. The browser computes the view's inverse itself
(`Projection.describe_inverse`).
Everything it loads ships in frontend/ (vendored by scripts/vendor_js.sh): nothing is fetched.

    content = map_content(points, labels, classes, codes, images, decoder_onnx(model),
                          view.describe_inverse(),           # build once per model and view
                          image_shape=model.image_shape)     # grey or RGB, any size
    events = latent_map(content, key="map", on_pin=...)     # every run

Data transfer. Components v2 sends an element's whole `data` in every run that renders it, and
the browser hands it to the component again; Streamlit's message cache spares only messages
byte for byte the same as one of the last two runs' (measured: 1.5 KB for such a rerun), and a
pin, a slider or an overlay changes the message. Sending the content every run cost 6.7 MB per
click's rerun for 10,000 points (benchmarks/map_timings.py, rerun_bytes_resending). So the heavy
part (`MapContent`: points, codes, images, the decoder; about 3 MB for 10,000 MNIST digits,
5.7 MB for Fashion-MNIST's) goes
once per browser session and key: session state (SENT) remembers which content each key's
browser got, and later runs send its id with the per-run values, about 200 bytes (the test
app's whole rerun after a click: 2.2 KB on the websocket, rerun_bytes). A new content (another
view, a replayed epoch) goes without the sections the browser got with the last one: a cached
UMAP view of 10,000 Fashion-MNIST codes sends its points and inverse, not 7.8 MB. The browser
keeps contents by id for the page's life; a map that lacks its content or a section (a lost
message) sends the `missing` trigger, whose callback forgets what was sent, so that run sends
all of it again. A page reload is a new session, so it gets the content anew.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from vaeapp.latent.map_content import MapContent, Polyline, light_values, map_content, pack
from vaeapp.ui.map_element import SENT, asks, forget_sent, mount, sent_content, sent_sections

__all__ = [
    "DEFAULT_HEIGHT",
    "SENT",
    "MapContent",
    "MapEvents",
    "Pin",
    "Polyline",
    "Selection",
    "forget_sent",
    "latent_map",
    "map_content",
    "map_events",
]

DEFAULT_HEIGHT = 460  # with the picture beside it, fits 1280 x 720 with the sidebar open
SHAPES = "_vaeapp_latent_map_shape"  # session state: Streamlit key -> (dots, latent dims) shown
# What the browser sends back is whatever its console makes of it: a value is kept only if it
# fits the schema of what the component sends (`_events`). No click lands past MAX_ABS in map
# or latent coordinates, and no lasso the hand draws has more than MAX_POLYGON vertices.
MAX_ABS = 1e6
MAX_POLYGON = 20_000
MAX_SEQ = 2**53  # JavaScript's exact integers
SELECTION_KINDS = ("lasso", "box", "none")
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Pin:
    """A click on the map: the code pinned there (a dot's own code when it hit a dot), the map
    point, the dot's index or None, and the click's number (1, 2, ... per browser session).
    A code set with the panel's sliders comes as a pin without a point: the browser does not
    project codes, so the page places its cross (`latent_map`'s `pin_point`)."""

    seq: int
    code: tuple[float, ...]
    point: tuple[float, float] | None
    index: int | None


@dataclass(frozen=True)
class Selection:
    """Dots chosen with a lasso or a box ("none": the selection was cleared): their indices,
    ascending, and the polygon drawn, in map coordinates."""

    seq: int
    kind: str
    indices: tuple[int, ...]
    polygon: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class MapEvents:
    """What the map reports. `browser_decodes` is False once the browser failed to load a
    decoder (pins still come, and the page decodes them itself; `decoder_error` says why),
    True once it decodes again after that, and None while it decodes, or will: the browser
    reports a failure and a recovery only, since each report runs the page again."""

    pin: Pin | None = None
    selection: Selection | None = None
    browser_decodes: bool | None = None
    decoder_error: str | None = None
    ignored: tuple[str, ...] = ()  # what the browser sent that did not fit, and was ignored


def latent_map(
    content: MapContent,
    *,
    key: str,
    base: Sequence[float] | None = None,
    pin_point: tuple[float, float] | None = None,
    pin_code: Sequence[float] | None = None,
    overlays: Sequence[Polyline] = (),
    marked: Sequence[int] = (),
    height: int = DEFAULT_HEIGHT,
    on_pin: Callable[[], None] | None = None,
    scope: str = "",
    keep_first: Callable[[bytes, str], None] | None = None,
) -> MapEvents:
    """Show the map; returns its events.

    `base`: for a latent-axes view, the code of the dimensions it does not show (the sliders).
    `pin_point` (and `pin_code`, the code there if not the point's inverse, e.g. set by sliders
    in a PCA view) marks a code Python chose with a cross, once the browser's clicks have all
    reached Python; without it the user's last click stays marked. The zoom survives these.
    `overlays`: lines over the dots; `marked`: dots ringed (a code's neighbours). `scope`: what
    a pin belongs to (a model): a new scope drops the last click, made on another model's codes.
    `on_pin` runs before the script when a click pins a code (`map_events(key)` reads it there).
    `keep_first` is handed the message with its content, as a browser new to it gets it, and
    the content's id (Explore keeps a session's first map for the next fresh server).
    """
    before = events_for(content, key)
    light = light_values(
        content.content_id,
        key=key,
        height=height,
        base=base,
        pin=_pin_json(pin_point, pin_code),
        pin_seq=before.pin.seq if before.pin else 0,
        selection_seq=before.selection.seq if before.selection else 0,
        overlays=overlays,
        marked=marked,
        scope=scope,
        asks=asks(key),
    )
    heavy = content if sent_content(key) != content.content_id else None
    if keep_first is not None:
        keep_first(pack(light, content), content.content_id)
    message = pack(light, heavy, sent_sections(key))
    sections = set(content.section_ids.values())
    result = mount(key, message, content.content_id, on_pin, sections)
    return _events(result, st.session_state[SHAPES][key])


def events_for(content: MapContent, key: str) -> MapEvents:
    """The events the map with this key holds, checked against `content`, the content it is
    about to draw: a page reads them before it draws the map, so that the map can be drawn
    last, with everything the page below it worked out."""
    st.session_state.setdefault(SHAPES, {})[key] = content.codes.shape
    return map_events(key)


def map_events(key: str) -> MapEvents:
    """The events of the map with this key as session state holds them (also in callbacks)."""
    shape = st.session_state.get(SHAPES, {}).get(key)
    return _events(st.session_state.get(key) or {}, shape) if shape else MapEvents()


def _pin_json(
    point: tuple[float, float] | None, code: Sequence[float] | None
) -> dict[str, Any] | None:
    if point is None:
        return None
    return {
        "point": [float(v) for v in point],
        "code": None if code is None else [float(v) for v in code],
    }


def _events(values: Any, shape: tuple[int, int]) -> MapEvents:
    """The map's values, each checked against what the component sends for `shape` (dots,
    latent dimensions): a pin, a selection or the decoder's state that does not fit is left
    out and named in `ignored`, so a page never acts on NaN, a wrong length or an index past
    its dots."""
    values = values if isinstance(values, Mapping) else {}
    parsers = {"pin": _pin, "selection": _selection, "decoder": _decoder}
    parsed: dict[str, Any] = {}
    ignored = []
    for name, parse in parsers.items():
        value = values.get(name)
        parsed[name] = None
        if not value:  # nothing sent yet (None, or a cleared {})
            continue
        try:
            if not isinstance(value, Mapping):
                raise TypeError(name)
            parsed[name] = parse(value, *shape)
        except (TypeError, ValueError, KeyError, OverflowError):
            ignored.append(name)
    decoder = parsed["decoder"]
    return MapEvents(
        pin=parsed["pin"],
        selection=parsed["selection"],
        browser_decodes=None if decoder is None else decoder[0],
        decoder_error=None if decoder is None else decoder[1],
        ignored=tuple(ignored),
    )


def _pin(value: Mapping[str, Any], dots: int, dims: int) -> Pin:
    index = value["index"]
    return Pin(
        seq=_count(value["seq"]),
        code=_numbers(value["code"], dims),
        point=None if value["point"] is None else _point(value["point"]),
        index=None if index is None else _index(index, dots),
    )


def _selection(value: Mapping[str, Any], dots: int, dims: int) -> Selection:
    kind, indices, polygon = value["kind"], value["indices"], value["polygon"]
    if kind not in SELECTION_KINDS or not isinstance(indices, list) or len(indices) > dots:
        raise ValueError("not a selection")
    if not isinstance(polygon, list) or len(polygon) > MAX_POLYGON:
        raise ValueError("not a polygon")
    return Selection(
        seq=_count(value["seq"]),
        kind=kind,
        indices=tuple(sorted({_index(i, dots) for i in indices})),
        polygon=tuple(_point(vertex) for vertex in polygon),
    )


def _decoder(value: Mapping[str, Any], dots: int, dims: int) -> tuple[bool, str | None]:
    ok, error = value["ok"], value.get("error")
    if not isinstance(ok, bool) or not (error is None or isinstance(error, str)):
        raise ValueError("not a decoder state")
    return ok, None if error is None else error[:MAX_ERROR_CHARS]


def _count(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= MAX_SEQ:  # bool is no count
        raise ValueError("not a count")
    return value


def _index(value: Any, dots: int) -> int:
    if type(value) is not int or not 0 <= value < dots:
        raise ValueError("not a dot")
    return value


def _numbers(value: Any, length: int) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != length:
        raise ValueError("wrong length")
    numbers = []
    for v in value:
        if type(v) not in (int, float) or not math.isfinite(v) or abs(v) > MAX_ABS:
            raise ValueError("not a coordinate")
        numbers.append(float(v))
    return tuple(numbers)


def _point(value: Any) -> tuple[float, float]:
    x, y = _numbers(value, 2)
    return x, y
