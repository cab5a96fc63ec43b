"""The latent map's Streamlit component, registered once. Light to import (no torch), so that a
session's first run can mount it before it imports anything heavy (`early_loading`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import streamlit as st

PREPARE_KEY = "_vaeapp_latent_map_prepare"


@cache
def component() -> Callable[..., Any]:
    """The component, registered on first use: its files are found through the manifest
    (vaeapp/pyproject.toml) that a running Streamlit has scanned, so not at import time."""
    return st.components.v2.component("vaeapp.latent_map", js="index.js", css="map.css")


def prepare_decoding() -> None:
    """An element of the map's code that draws nothing: the browser loads that code and starts
    ONNX Runtime's WASM at once, which a map would do only when its content came."""
    component()(key=PREPARE_KEY, data={"prepare": True}, height="content")
