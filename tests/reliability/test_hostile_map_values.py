"""What the latent map sends back is whatever a user's browser console makes of it: NaN and
infinities, 1e308, strings, wrong lengths, 100,000 numbers, missing fields, an index past the
dots, a polygon of triples. The page keeps what fits the component's schema, ignores the rest
with a quiet caption, and keeps working."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.explore_page import MAP, click_map, open_explore, settle
from tests.app_pages import EXPLORE_PAGE, open_page
from vaeapp.ui.map_component import MAX_ABS, MAX_POLYGON, MapEvents, Pin, Selection, _events

DOTS, DIMS = 50, 3
IGNORED = "did not fit: ignored"
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([1e308, -1e308, 0, 1]),
)
anything = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
# Values shaped like the component's, each field possibly wrong.
pins = st.fixed_dictionaries(
    {},
    optional={
        "seq": anything | st.integers(-5, 10**17),
        "code": anything | st.lists(numbers, max_size=DIMS + 1),
        "point": anything | st.lists(numbers, max_size=3),
        "index": anything | st.integers(-5, DOTS + 5),
    },
)
selections = st.fixed_dictionaries(
    {},
    optional={
        "seq": anything | st.integers(0, 10),
        "kind": anything | st.sampled_from(["lasso", "box", "none"]),
        "indices": anything | st.lists(st.integers(-5, DOTS + 5) | anything, max_size=DOTS + 5),
        "polygon": anything | st.lists(st.lists(numbers, max_size=3), max_size=6),
    },
)
decoders = st.fixed_dictionaries({}, optional={"ok": anything, "error": anything})
values = st.fixed_dictionaries(
    {},
    optional={"pin": pins | anything, "selection": selections | anything, "decoder": decoders},
)


def fits(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x) and abs(x) <= MAX_ABS


@PROPERTY
@given(sent=values | anything)
def test_whatever_the_browser_sends_the_events_fit_their_schema(sent: Any) -> None:
    events = _events(sent, (DOTS, DIMS))
    if events.pin is not None:
        assert len(events.pin.code) == DIMS and all(map(fits, events.pin.code))
        point = events.pin.point  # None: a code from the map's sliders, placed by the page
        assert point is None or (all(map(fits, point)) and len(point) == 2)
        assert events.pin.index is None or 0 <= events.pin.index < DOTS
        assert isinstance(events.pin.seq, int) and events.pin.seq >= 0
    if events.selection is not None:
        assert events.selection.kind in ("lasso", "box", "none")
        assert all(isinstance(i, int) and 0 <= i < DOTS for i in events.selection.indices)
        assert list(events.selection.indices) == sorted(set(events.selection.indices))
        assert len(events.selection.polygon) <= MAX_POLYGON
        assert all(len(v) == 2 and all(map(fits, v)) for v in events.selection.polygon)
    assert events.browser_decodes in (None, True, False)
    assert events.decoder_error is None or isinstance(events.decoder_error, str)
    assert set(events.ignored) <= {"pin", "selection", "decoder"}


@PROPERTY
@given(
    seq=st.integers(1, 1000),
    code=st.lists(st.floats(-MAX_ABS, MAX_ABS), min_size=DIMS, max_size=DIMS),
    index=st.none() | st.integers(0, DOTS - 1),
    indices=st.sets(st.integers(0, DOTS - 1)),
)
def test_what_the_component_itself_sends_is_kept_as_sent(
    seq: int, code: list[float], index: int | None, indices: set[int]
) -> None:
    sent = {
        "pin": {"seq": seq, "code": code, "point": [0.5, -2], "index": index},
        "selection": {"seq": 2, "kind": "lasso", "indices": sorted(indices), "polygon": [[0, 1]]},
        "decoder": {"ok": True, "error": None},
    }
    assert _events(sent, (DOTS, DIMS)) == MapEvents(
        pin=Pin(seq, tuple(code), (0.5, -2.0), index),
        selection=Selection(2, "lasso", tuple(sorted(indices)), ((0.0, 1.0),)),
        browser_decodes=True,
    )


HOSTILE = {
    "nan code": {"pin": {"seq": 1, "code": [math.nan, 0, 0], "point": [0, 0], "index": None}},
    "1e308": {"pin": {"seq": 1, "code": [1e308, 0, 0], "point": [1e308, 0], "index": None}},
    "strings": {"pin": {"seq": "1", "code": ["a", "b", "c"], "point": "x", "index": "0"}},
    "wrong length": {"pin": {"seq": 1, "code": [0.0] * 100_000, "point": [0, 0], "index": 0}},
    "missing": {"pin": {"code": [0, 0, 0]}, "selection": {"seq": 1}},
    "index past the dots": {
        "selection": {"seq": 1, "kind": "lasso", "indices": [10**9], "polygon": []}
    },
    "triples": {"selection": {"seq": 1, "kind": "box", "indices": [0], "polygon": [[0, 1, 2]]}},
    "a list": {"pin": [1, 2, 3], "selection": "all", "decoder": {"ok": "yes"}},
}


@pytest.mark.parametrize("sent", HOSTILE.values(), ids=HOSTILE.keys())
def test_each_hostile_value_is_ignored(sent: dict) -> None:
    events = _events(sent, (DOTS, DIMS))
    assert events.pin is None and events.selection is None and events.browser_decodes is None
    assert set(events.ignored) == set(sent)


@pytest.mark.slow
def test_the_explore_page_ignores_hostile_map_values_quietly() -> None:
    app = open_page(EXPLORE_PAGE)
    for label, sent in HOSTILE.items():
        app.session_state["explore_map"] = sent
        app.run()
        assert not app.exception, label
        assert not app.error, label
        assert any(IGNORED in caption.value for caption in app.caption), label
        assert app.get("bidi_component"), label  # the map is still there
    app.session_state["explore_map"] = {"decoder": {"ok": True, "error": None}}
    app.run()
    assert not any(IGNORED in caption.value for caption in app.caption)


# --- in Chromium: values sent through the component's own channel ------------------------------

SEND = f"""([name, value]) => {MAP}.owner.send.setStateValue(name, value)"""
BROWSER_HOSTILE = [
    ("pin", {"seq": 1, "code": [1e308, "x"], "point": [0, 0, 0], "index": -1}),
    ("pin", {"seq": 2, "code": list(range(100_000)), "point": [0, 0], "index": 10**9}),
    ("selection", {"seq": 1, "kind": "lasso", "indices": [-1, 10**9], "polygon": [[1, 2, 3]]}),
    ("selection", "everything"),
    ("decoder", {"ok": "maybe", "error": {"a": 1}}),
]


@pytest.mark.browser
@pytest.mark.slow
def test_hostile_values_from_the_browser_leave_the_page_working(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server)
    for name, value in BROWSER_HOSTILE:
        page.evaluate(SEND, [name, value])
        settle(page)
        page.get_by_text(IGNORED).first.wait_for(timeout=60_000)
        assert page.get_by_test_id("stException").count() == 0, (name, value)
        assert page.get_by_text("Traceback").count() == 0, (name, value)
    # ... and a real click still pins, the page answering it
    code = click_map(page, 0.3, 0.6)
    assert len(code) == 2 and all(math.isfinite(v) for v in code)
