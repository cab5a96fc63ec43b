"""The interpolate page (under construction in this session)."""

import streamlit as st

from vaeapp.ui.widgets import model_picker


def render() -> None:
    run = model_picker()
    st.title("interpolate")
    st.write(str(run.path))
