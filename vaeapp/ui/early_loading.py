"""Start the browser loading Plotly and the map's decoder while Python imports torch, on a
session's first run.

On a fresh server the first page spends about 2 s importing torch and the pages, and only then
sends the map; the browser then fetches and compiles Streamlit's Plotly bundle (4.7 MB) for
another 1.5-2 s, and the map's code and ONNX Runtime's WASM (14 MB) for about 0.8 s more. An
empty chart and an empty map element sent before the imports make the browser start on both at
once, so they overlap the imports; both are removed as soon as the imports are done.

Its slot is made on every run, so the page's elements keep their places: without it the second
run would shift each one, and the browser would make every element again, the map included.
Where a fresh server draws Explore's first view (`first_view`), the slot stays empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from vaeapp.ui.map_element import prepare_decoding

WARMED = "browser_libraries_requested"


@contextmanager
def load_browser_libraries_early(show: bool = True) -> Iterator[None]:
    """Around a page's imports: on the session's first run the slot shows what starts the
    browser's loading, and empties once they are done. `show` False: it stays empty (a first
    view drawn before torch shows the page itself, and loads the map's code)."""
    slot = st.empty()
    if st.session_state.get(WARMED) or not show:
        yield
        return
    st.session_state[WARMED] = True
    with slot.container():
        st.caption("Starting vaeapp: loading PyTorch and the pages…")  # else a blank page
        st.plotly_chart({"data": [{"type": "scatter", "x": [], "y": []}], "layout": {"height": 10}})
        prepare_decoding()
    try:
        yield
    finally:
        slot.empty()
