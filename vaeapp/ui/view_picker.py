"""The choice of 2-D view of a model's codes in the sidebar, as Explore and Interpolate show it:
latent axes, PCA, or UMAP computed in the background while PCA shows."""

from __future__ import annotations

import time

import streamlit as st
import torch

from vaeapp.errors import VaeappError
from vaeapp.latent.umap_embedding import embedding_key
from vaeapp.latent.view_choice import AXES, PCA, UMAP, choose_view, views_for
from vaeapp.latent.views import AxesProjection, Projection, ShownView
from vaeapp.ui.loaders import Snapshot, embedding_view, pca_view, umap_worker
from vaeapp.ui.widgets import KEPT, kept

VIEW_KEY = "explore_view"


def shown_view(snap: Snapshot, spec: str, codes: torch.Tensor) -> ShownView:
    """The view picked in the sidebar (for more than two latent dimensions), as the core
    resolves it: UMAP shows as PCA, with a polling notice, until its embedding is ready."""
    dim = codes.shape[1]
    offered = views_for(dim)
    asked, axes = AXES, (0, 1 if dim > 1 else None)
    umap_status = None
    if len(offered) > 1:
        umap_worker().prepare(codes.numpy())
        asked = kept(
            st.sidebar.radio,
            "2-D view of the latent space",
            offered,
            key=VIEW_KEY,
            help="Two latent axes (the others held at the sliders' values), the plane of the "
            "two main directions of variance (PCA), or a UMAP embedding of the test codes.",
        )
        if asked == AXES:
            axes = _axis_picker(dim)
    if asked == UMAP:
        try:
            umap_status = umap_worker().request(codes.numpy())
        except VaeappError as error:
            st.sidebar.error(str(error))
    choice = choose_view(dim, asked, umap_status)
    if choice.waiting_for_umap:
        with st.sidebar:
            _umap_progress(embedding_key(codes.numpy()), time.time())
    elif choice.note:
        st.sidebar.error(choice.note)
    projection: Projection = AxesProjection(*axes, torch.zeros(dim))
    if choice.shown == UMAP and umap_status is not None and umap_status.embedding is not None:
        key = embedding_key(codes.numpy())
        projection = embedding_view(key, codes, umap_status.embedding)
    elif choice.shown == PCA:
        projection = pca_view(snap, spec)
    return ShownView(choice, projection, axes, projection.project(codes))


def _axis_picker(dim: int) -> tuple[int, int | None]:
    x_dim = kept(
        st.sidebar.selectbox, "Horizontal axis", range(dim), format_func=_axis_name, key="explore_x"
    )
    others = [i for i in range(dim) if i != x_dim]
    if st.session_state.get("explore_y") not in others:
        st.session_state.pop("explore_y", None)
        st.session_state.pop(f"{KEPT}explore_y", None)
    y_dim = kept(
        st.sidebar.selectbox, "Vertical axis", others, format_func=_axis_name, key="explore_y"
    )
    return x_dim, y_dim


def _axis_name(i: int) -> str:
    return f"z{i + 1}"


@st.fragment(run_every=1.0)
def _umap_progress(key: str, since: float) -> None:
    status = umap_worker().status(key)
    if status.running_since is None:
        st.rerun()
    began = status.running_since or since
    progress = status.progress
    doing = (
        progress.describe()
        if progress is not None
        else "waiting for the UMAP worker, which starts once per app (or finishes another map)"
    )
    st.info(
        f"Computing UMAP in the background ({time.time() - began:.0f} s so far): {doing}. "
        "The map shows PCA until it is ready.",
        icon=":material/hourglass_top:",
    )
    if progress is not None and progress.fraction is not None:
        st.progress(progress.fraction)
