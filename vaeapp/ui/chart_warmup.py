"""Start the browser loading Plotly while Python imports torch, on a session's first run.

On a fresh server the first page spends about 2 s importing torch and the pages, and only then
sends the map; the browser then fetches and compiles Streamlit's Plotly bundle (4.7 MB) for
another 1.5-2 s. An empty chart sent before the imports makes the browser start on the bundle
at once, so the two overlap; the empty chart is removed as soon as the imports are done.

Its slot is made on every run, so the page's elements keep their places: without it the second
run would shift each one, and the browser would make every element again, the map included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

WARMED = "chart_library_requested"


@contextmanager
def load_chart_library_early() -> Iterator[None]:
    slot = st.empty()
    if st.session_state.get(WARMED):
        yield
        return
    st.session_state[WARMED] = True
    slot.plotly_chart({"data": [{"type": "scatter", "x": [], "y": []}], "layout": {"height": 10}})
    try:
        yield
    finally:
        slot.empty()
