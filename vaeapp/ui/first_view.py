"""Explore's first view on a fresh server, drawn before torch is imported.

A fresh server's first page waits about 3 s for torch before it can compute anything of a
model. Where an earlier session kept its first map (`first_map`), the page's top and that map
are drawn at once, in the places the page draws them, and the run ends. The browser then
fetches the map's code and ONNX Runtime's WASM (14 MB) from a server that is not busy: with
torch importing beside it, Python's lock held the serving thread back (the WASM came in 1.9 s
rather than 0.7 s). Once the map decodes under the pointer it says so, and torch is imported
while the user points; the page then runs in full. It draws the same elements in the same
places and the same content, which the browser has, so the map stays as it is (its zoom, a
hover) and only what is new is sent. Light to import (no torch, no numpy).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from vaeapp.errors import VaeappError
from vaeapp.latent import first_map
from vaeapp.latent.first_map import FirstMap
from vaeapp.latent.map_message import with_light
from vaeapp.paths import cache_dir, runs_dir
from vaeapp.ui.explain import what_am_i_looking_at_over
from vaeapp.ui.map_element import mount
from vaeapp.ui.text import literal

MAP_KEY = "explore_map"
OPENED = "_vaeapp_opened"  # session state: whether its first page was Explore, and its `?run=`
KEPT = "_vaeapp_first_map_kept"  # session state: its first map was kept
PIN_WAITING = "_vaeapp_pin_before_page"  # session state: a click the page has not taken yet
STAGE, DRAWN, DONE = "_vaeapp_first_view_stage", 1, 2  # session state: how far it got
ARMED = "_vaeapp_first_view_armed"  # session state: the fallback's timer has started
FALLBACK_S = 4.0  # a browser that has not said its map decodes by then is not waited for


def page_top() -> DeltaGenerator:
    """Explore's title and its "What am I looking at?", as the page and its first view both
    draw them; returns the slot of the map's caption."""
    st.title("Explore the latent space")
    caption, explained = st.columns([3, 1], vertical_alignment="center")
    with explained:
        what_am_i_looking_at_over("Explore")
    return caption


def show_caption(slot: DeltaGenerator, text: str, source: str) -> None:
    """The map's caption, and the data's source as its help, shown as typed."""
    slot.caption(literal(text), help=literal(source))


def note_opening(on_explore: bool) -> None:
    """Note, on the session's first page, whether it is Explore and its `?run=` ("" for none),
    before a picker rewrites the URL: a kept first map is what that link showed first."""
    st.session_state.setdefault(OPENED, (on_explore, st.query_params.get("run", "")))


def _opened() -> tuple[bool, str]:
    return st.session_state.get(OPENED, (False, ""))


def kept_first_view() -> FirstMap | None:
    """The first map kept for the session's link, where torch is still to be imported and the
    session has not drawn its first view yet."""
    if "torch" in sys.modules or st.session_state.get(STAGE) == DONE:
        return None
    try:
        return first_map.read(cache_dir(), first_map.key_for(_opened()[1], runs_dir()))
    except VaeappError:  # folders from the environment that cannot be: the page says why
        return None


def draw_before_torch(first: FirstMap) -> bool:
    """Draw the page's top and the kept first map; whether it is time to import torch (and to
    run the page in full after it). It is not on the first draw: the map tells once it decodes
    (its message asks it to: `wake`), and that run draws the same again, which the browser
    keeps as it is (elements a run does not draw again fade while it runs), and imports torch.
    A click on the map runs the page as well, and FALLBACK_S after the first view a timer."""
    show_caption(page_top(), first.caption, first.help)
    # The page draws its map in its fragment's container, first in its map's slot.
    with st.container(), st.container():
        message = with_light(first.message, wake=True)
        mount(MAP_KEY, message, first.content_id, _pin_before_page)
    st.sidebar.caption(  # where the page's choices will be
        "Loading PyTorch: the model picker, the map's settings and the tabs follow in a moment."
    )
    if st.session_state.get(STAGE) == DRAWN:
        st.session_state[STAGE] = DONE
        return True
    st.session_state[STAGE] = DRAWN
    with st.sidebar:
        _then_the_page()
    return False


def drew_first_view() -> bool:
    """Whether this session drew a first view (its page's slots are as the first view left them)."""
    return st.session_state.get(STAGE) is not None


@st.fragment(run_every=FALLBACK_S)
def _then_the_page() -> None:
    """Run the page again on the first tick after the first view (not as it is drawn), where
    the browser has not: a browser whose map's code never ran."""
    if st.session_state.pop(ARMED, False):
        st.rerun(scope="app")
    st.session_state[ARMED] = True


def pin_waiting() -> bool:
    """Whether a click on the first view's map came before the page could take it (it is the
    page's to take once its map's events can be read); asked once."""
    return bool(st.session_state.pop(PIN_WAITING, False))


def _pin_before_page() -> None:
    st.session_state[PIN_WAITING] = True


def keeper(
    run_path: Path, files: tuple[str, ...], caption: str, source: str
) -> Callable[[bytes, str], None] | None:
    """What keeps the session's first map (its message and content id) for the next fresh
    server, with the map's caption and its data's source; None after the session's first map,
    and in a session that opened on another page (its first map may be another link's model).
    `files`: the run's files the map is made from (its config and weights)."""
    on_explore, named = _opened()
    if st.session_state.get(KEPT) or not on_explore:
        return None

    def keep(message: bytes, content_id: str) -> None:
        if st.session_state.get(KEPT):  # the map's fragment runs again with the same keeper
            return
        st.session_state[KEPT] = True
        try:
            cache, runs = cache_dir(), runs_dir()
            stamps = first_map.stamps_of(run_path, files)
        except (VaeappError, OSError):
            return
        first = FirstMap(str(run_path), stamps, caption, source, content_id, message)
        first_map.keep(cache, first_map.key_for(named, runs), first)

    return keep
