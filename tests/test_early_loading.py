"""The early chart of a session's first run: gone once the page is drawn, and leaving every
element where the next runs put it (a moved element is made again in the browser)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app_pages import place_of

PAGE = """
import streamlit as st
from vaeapp.ui.early_loading import load_browser_libraries_early
with load_browser_libraries_early():
    pass
st.title("A page")
"""


def test_the_first_run_leaves_no_chart_and_moves_nothing_in_the_next() -> None:
    app = AppTest.from_string(PAGE)
    app.run()
    first = place_of(app, "Title")
    assert not app.get("plotly_chart") and not app.caption  # the slot's "Starting vaeapp" too
    for _ in range(2):
        app.run()
        assert place_of(app, "Title") == first
