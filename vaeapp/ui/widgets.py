"""Widgets more than one page uses: the model picker, the choice of 2-D view, error display."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import streamlit as st
import torch

from vaeapp.errors import DataError, VaeappError
from vaeapp.paths import DEFAULT_MODEL_DIR, runs_dir
from vaeapp.runs import Run, RunSummary, list_runs
from vaeapp.ui.loaders import embedding_view, pca_view, run_summary, umap_worker
from vaeapp.umap_embedding import embedding_key
from vaeapp.views import (
    AXES,
    PCA,
    UMAP,
    AxesProjection,
    Projection,
    ViewChoice,
    choose_view,
    views_for,
)

MODEL_KEY = "model_path"
VIEW_KEY = "explore_view"


def available_models() -> tuple[dict[str, RunSummary], dict[str, str]]:
    """The shipped default first, then every readable saved run, most recent first; and the
    saved runs that cannot be read, by name, each with why (a config.json edited by hand)."""
    found: dict[str, RunSummary] = {str(DEFAULT_MODEL_DIR): run_summary(Run(DEFAULT_MODEL_DIR))}
    unreadable: dict[str, str] = {}
    for run in list_runs(runs_dir()):
        if not run.has_checkpoint():
            continue
        try:
            found[str(run.path)] = run_summary(run)
        except VaeappError as error:
            unreadable[run.name] = str(error)
    return found, unreadable


def model_picker() -> Run:
    """Sidebar select box over the available models; remembers the choice across pages. Runs
    that cannot be read are named under it with the reason, rather than left out silently."""
    models, unreadable = available_models()
    if st.session_state.get(MODEL_KEY) not in models:
        st.session_state[MODEL_KEY] = str(DEFAULT_MODEL_DIR)
    chosen = st.sidebar.selectbox(
        "Model",
        options=list(models),
        key=MODEL_KEY,
        format_func=lambda path: _label(path, models[path]),
        help="The shipped default model, and every run saved under the runs folder.",
    )
    st.sidebar.caption(_details(models[chosen]))
    for name, reason in unreadable.items():
        st.sidebar.warning(f"Run {name} is not listed: {reason}")
    return Run(chosen)


def _label(path: str, summary: RunSummary) -> str:
    """Name, data set, latent dimension, epochs and test ELBO, briefly."""
    name = "default (shipped)" if path == str(DEFAULT_MODEL_DIR) else summary.name
    elbo = "" if summary.test_elbo is None else f", ELBO {summary.test_elbo:.1f}"
    epochs = f"{summary.epochs_done}/{summary.epochs_planned} epochs"
    dim = summary.config.model.latent_dim
    return f"{name}: {summary.config.train.data}, {dim}-D{elbo}, {epochs}"


def _details(summary: RunSummary) -> str:
    model, train = summary.config.model, summary.config.train
    elbo = "no epoch yet" if summary.test_elbo is None else f"{summary.test_elbo:.1f} nats"
    return (
        f"{model.arch} network, {model.likelihood} likelihood, {model.latent_dim}-D latent; "
        f"trained on {train.data} for {summary.epochs_done}/{summary.epochs_planned} epochs; "
        f"test ELBO {elbo}"
    )


def show_error(error: VaeappError) -> NoReturn:
    """A user-facing error, then stop this rerun; the rest of the app keeps working. A model
    whose data set is missing comes with a button back to the shipped one, which works offline."""
    st.error(str(error), icon="⚠️")
    if isinstance(error, DataError) and st.session_state.get(MODEL_KEY) != str(DEFAULT_MODEL_DIR):
        st.button(
            "Open the shipped default model (offline sample data)",
            key="open_default_model",
            on_click=_choose_default_model,
        )
    st.stop()


def _choose_default_model() -> None:
    st.session_state[MODEL_KEY] = str(DEFAULT_MODEL_DIR)


@dataclass(frozen=True)
class ShownView:
    """The 2-D view a page draws: the core's choice, its projection, the axes it uses, and the
    test codes on it. On the latent axes the hidden dimensions follow the code shown (`at`)."""

    choice: ViewChoice
    projection: Projection
    axes: tuple[int, int | None]
    points: np.ndarray

    def at(self, z: torch.Tensor) -> Projection:
        """The projection for the code `z` shown now."""
        return AxesProjection(*self.axes, z) if self.choice.shown == AXES else self.projection

    def describe(self, dim: int) -> str:
        """Where the view puts the codes, in words."""
        if self.choice.shown == PCA:
            return f"on the plane of the two main directions of the {dim}-D codes"
        if self.choice.shown == UMAP:
            return f"on a UMAP embedding of the {dim}-D codes"
        return f"on the latent axes {' and '.join(filter(None, self.axis_titles))}"

    @property
    def axis_titles(self) -> tuple[str, str]:
        if self.choice.shown != AXES:
            return f"{self.choice.shown} 1", f"{self.choice.shown} 2"
        x_dim, y_dim = self.axes
        return f"z{x_dim + 1}", "" if y_dim is None else f"z{y_dim + 1}"


def shown_view(run: Run, spec: str, codes: torch.Tensor) -> ShownView:
    """The view picked in the sidebar (for more than two latent dimensions), as the core
    resolves it: UMAP shows as PCA, with a polling notice, until its embedding is ready."""
    dim = codes.shape[1]
    offered = views_for(dim)
    asked, axes = AXES, (0, 1 if dim > 1 else None)
    umap_status = None
    if len(offered) > 1:
        umap_worker().prepare(codes.numpy())
        asked = st.sidebar.radio(
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
        projection = pca_view(run, spec)
    return ShownView(choice, projection, axes, projection.project(codes))


def _axis_picker(dim: int) -> tuple[int, int | None]:
    x_dim = st.sidebar.selectbox("Horizontal axis", range(dim), 0, _axis_name, key="explore_x")
    others = [i for i in range(dim) if i != x_dim]
    y_dim = st.sidebar.selectbox("Vertical axis", others, 0, _axis_name, key="explore_y")
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
        icon="⏳",
    )
    if progress is not None and progress.fraction is not None:
        st.progress(progress.fraction)
