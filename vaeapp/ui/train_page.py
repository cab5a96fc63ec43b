"""The train page (under construction in this session)."""

import streamlit as st

from vaeapp.ui.widgets import model_picker


def render() -> None:
    run = model_picker()
    st.title("train")
    st.write(str(run.path))
