"""The latent map's Streamlit component, registered once, and the one call that mounts it. Light
to import (no torch), so that a session's first run can mount it before it imports anything
heavy (`early_loading`, `first_view`)."""

from __future__ import annotations

from collections.abc import Callable, Set
from functools import cache, partial
from typing import Any

import streamlit as st

PREPARE_KEY = "_vaeapp_latent_map_prepare"
# session state: Streamlit key -> the id of the content sent, and the ids of its sections
SENT = "_vaeapp_latent_map_sent"
ASKS = "_vaeapp_latent_map_asks"  # session state: Streamlit key -> the browser's asks for it


@cache
def component() -> Callable[..., Any]:
    """The component, registered on first use: its files are found through the manifest
    (vaeapp/pyproject.toml) that a running Streamlit has scanned, so not at import time."""
    return st.components.v2.component("vaeapp.latent_map", js="index.js", css="map.css")


def prepare_decoding() -> None:
    """An element of the map's code that draws nothing: the browser loads that code and starts
    ONNX Runtime's WASM at once, which a map would do only when its content came."""
    component()(key=PREPARE_KEY, data={"prepare": True}, height="content")


def mount(
    key: str,
    message: bytes,
    content_id: str,
    on_pin: Callable[[], None] | None,
    sections: Set[str] = frozenset(),
) -> Any:
    """The map with this key, given one packed message (`map_content.pack`) whose content, if
    any, is `content_id`'s, of these section ids; returns the values the browser sent. The
    page's map and the first view's drawn before torch mount it alike, so the browser keeps one
    map across them."""
    result = component()(
        key=key,
        data=message,
        height="content",
        on_pin_change=on_pin or _ignore,
        on_selection_change=_ignore,
        on_decoder_change=_ignore,
        on_missing_change=partial(forget_sent, key),
        on_woken_change=_ignore,
    )
    st.session_state.setdefault(SENT, {})[key] = (content_id, frozenset(sections))
    return result


def sent_content(key: str) -> str | None:
    """The id of the content this session's browser was sent for the map with this key."""
    sent = st.session_state.get(SENT, {}).get(key)
    return sent[0] if sent else None


def sent_sections(key: str) -> frozenset[str]:
    """The ids of the sections of that content, which the browser holds: a content that shares
    them sends them by id alone (another view of the same model: codes, images, decoder)."""
    sent = st.session_state.get(SENT, {}).get(key)
    return sent[1] if sent else frozenset()


def asks(key: str) -> int:
    """How often this session's browser asked again for the content of the map with this key."""
    return st.session_state.get(ASKS, {}).get(key, 0)


def forget_sent(key: str) -> None:
    """Send the map's content again in the next run (its browser says it lacks it), in a
    message unlike the one the browser shows: Streamlit does not hand a component the same
    message again."""
    st.session_state.get(SENT, {}).pop(key, None)
    counts = st.session_state.setdefault(ASKS, {})
    counts[key] = counts.get(key, 0) + 1


def _ignore() -> None:
    """A callback that does nothing: Streamlit returns values only of events with callbacks."""
