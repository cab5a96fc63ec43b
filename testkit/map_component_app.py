"""A small Streamlit app around the latent map component, for its browser tests and benchmark.

Run: streamlit run testkit/map_component_app.py, then open /?view=umap&n=2000&dim=16 (the
parameters of tests/e2e/map_scene.Scene). It shows the map's events as JSON (key "events"), the
number of script runs (key "runs"), a button that pins the origin from Python (sliders do the
same in the Explore page), and an open sidebar, as the app has, with a button that shows the
same codes on their PCA view. With ?resend=1 it sends the
map's content in every run, as a map without the content id would: benchmarks/map_timings.py
measures both.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import streamlit as st

from testkit.map_scene import Scene, content, overlays
from vaeapp.ui.map_component import forget_sent, latent_map

MAP_KEY = "map"
st.set_page_config(page_title="latent map test", layout="wide")
scene = Scene.from_query({k: v for k, v in st.query_params.items() if k != "resend"})
if st.query_params.get("resend") == "1":
    forget_sent(MAP_KEY)
st.session_state["runs"] = st.session_state.get("runs", 0) + 1
st.sidebar.caption("The sidebar is open, as in the app: the map must fit beside it.")


def clicked() -> None:
    """A click replaces the code Python pinned."""
    st.session_state["origin_pinned"] = False


if st.sidebar.button("Show PCA", key="show_pca"):  # another view of the same codes
    st.session_state["pca"] = True
if st.session_state.get("pca"):
    scene = replace(scene, view="pca")
if st.button("Pin the origin", key="pin_origin"):
    st.session_state["origin_pinned"] = True
events = latent_map(
    content(scene),
    key=MAP_KEY,
    pin_point=(0.0, 0.0) if st.session_state.get("origin_pinned") else None,
    overlays=overlays(scene),
    on_pin=clicked,
)
with st.container(key="events"):
    st.text(json.dumps(asdict(events)))
with st.container(key="runs"):
    st.text(str(st.session_state["runs"]))
