"""The latent map as a Streamlit component (components v2) that decodes in the browser.

A WebGL scatter of the test codes (regl-scatterplot) beside the picture decoded under the
pointer by ONNX Runtime Web (WASM, one thread): hovering decodes continuously and shows a dot's
test image and reconstruction; a click pins a code and sends it here; a lasso or box selects
dots. The browser computes the view's inverse itself (`Projection.describe_inverse`).
Everything it loads ships in frontend/ (vendored by scripts/vendor_js.sh): nothing is fetched.

    content = map_content(points, labels, classes, codes, images, decoder_onnx(model),
                          view.describe_inverse())           # build once per model and view
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
app's whole rerun after a click: 2.2 KB on the websocket, rerun_bytes). The browser keeps
contents by id for the page's life; a map that lacks its content (a lost message) sends the
`missing` trigger, whose callback forgets what was sent, so that run sends it again. A page
reload is a new session, so it gets the content anew.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import streamlit as st

from vaeapp.ui.map_component.content import MapContent, Polyline, map_content, pack

__all__ = [
    "DEFAULT_HEIGHT",
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
SENT = "_vaeapp_latent_map_sent"  # session state: Streamlit key -> id of the content sent


@cache
def _component() -> Callable[..., Any]:
    """The component, registered on first use: its files are found through the manifest
    (vaeapp/pyproject.toml) that a running Streamlit has scanned, so not at import time."""
    return st.components.v2.component("vaeapp.latent_map", js="index.js", css="map.css")


@dataclass(frozen=True)
class Pin:
    """A click on the map: the code pinned there (a dot's own code when it hit a dot), the map
    point, the dot's index or None, and the click's number (1, 2, ... per browser session)."""

    seq: int
    code: tuple[float, ...]
    point: tuple[float, float]
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
    """What the map reports. `browser_decodes` is None until the browser has tried to load the
    decoder, then whether it decodes; where it does not, pins still come, and the page decodes
    them itself (`decoder_error` says why)."""

    pin: Pin | None = None
    selection: Selection | None = None
    browser_decodes: bool | None = None
    decoder_error: str | None = None


def latent_map(
    content: MapContent,
    *,
    key: str,
    base: Sequence[float] | None = None,
    pin_point: tuple[float, float] | None = None,
    pin_code: Sequence[float] | None = None,
    overlays: Sequence[Polyline] = (),
    height: int = DEFAULT_HEIGHT,
    on_pin: Callable[[], None] | None = None,
) -> MapEvents:
    """Show the map; returns its events.

    `base`: for a latent-axes view, the code of the dimensions it does not show (the sliders;
    replaces the inverse description's). `pin_point` (and `pin_code`, the code there if it is
    not the inverse of the point, e.g. set by sliders in a PCA view) marks a code Python chose
    with a cross, once the browser's clicks have all reached Python; without it the user's last
    click stays marked. The zoom survives all of these. `overlays`: lines drawn over the dots.
    `on_pin` runs, as Streamlit's callbacks do, before the script when a click pins a code;
    `map_events(key)` reads the events there.
    """
    before = map_events(key)
    sent = st.session_state.setdefault(SENT, {})
    light = {
        "key": key,
        "content_id": content.content_id,
        "height": height,
        "base": None if base is None else [float(v) for v in base],
        "pin": _pin_json(pin_point, pin_code),
        "pin_seq": before.pin.seq if before.pin else 0,
        "selection_seq": before.selection.seq if before.selection else 0,
        "overlays": [line.to_json() for line in overlays],
    }
    heavy = content if sent.get(key) != content.content_id else None
    result = _component()(
        key=key,
        data=pack(light, heavy),
        height="content",
        on_pin_change=on_pin or _ignore,
        on_selection_change=_ignore,
        on_decoder_change=_ignore,
        on_missing_change=partial(forget_sent, key),
    )
    sent[key] = content.content_id
    return _events(result)


def map_events(key: str) -> MapEvents:
    """The events of the map with this key as session state holds them (also in callbacks)."""
    return _events(st.session_state.get(key) or {})


def forget_sent(key: str) -> None:
    """Send the map's content again in the next run (its browser says it lacks it)."""
    st.session_state.get(SENT, {}).pop(key, None)


def _ignore() -> None:
    """A callback that does nothing: Streamlit returns values only of events with callbacks."""


def _pin_json(
    point: tuple[float, float] | None, code: Sequence[float] | None
) -> dict[str, Any] | None:
    if point is None:
        return None
    return {
        "point": [float(v) for v in point],
        "code": None if code is None else [float(v) for v in code],
    }


def _events(values: Mapping[str, Any]) -> MapEvents:
    pin, selection, decoder = (values.get(name) for name in ("pin", "selection", "decoder"))
    return MapEvents(
        pin=None
        if not pin
        else Pin(
            seq=int(pin["seq"]),
            code=tuple(float(v) for v in pin["code"]),
            point=(float(pin["point"][0]), float(pin["point"][1])),
            index=None if pin["index"] is None else int(pin["index"]),
        ),
        selection=None
        if not selection
        else Selection(
            seq=int(selection["seq"]),
            kind=str(selection["kind"]),
            indices=tuple(int(i) for i in selection["indices"]),
            polygon=tuple((float(x), float(y)) for x, y in selection["polygon"]),
        ),
        browser_decodes=None if not decoder else bool(decoder["ok"]),
        decoder_error=None if not decoder else decoder.get("error"),
    )
