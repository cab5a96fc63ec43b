"""Widgets more than one page uses: the model picker and error display."""

from __future__ import annotations

import streamlit as st

from vaeapp.errors import DataError, VaeappError
from vaeapp.paths import DEFAULT_MODEL_DIR, runs_dir
from vaeapp.runs import Run, RunSummary, saved_runs
from vaeapp.ui.loaders import run_summary

MODEL_KEY = "model_path"


def available_models() -> tuple[dict[str, RunSummary], dict[str, str]]:
    """The shipped default first, then every readable saved run, newest first; and the saved
    runs that cannot be read, by name, each with why (a config.json edited by hand, say)."""
    found: dict[str, RunSummary] = {str(DEFAULT_MODEL_DIR): run_summary(Run(DEFAULT_MODEL_DIR))}
    unreadable: dict[str, str] = {}
    for run in saved_runs(runs_dir()):
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
    return f"{name}: {summary.data}, {summary.latent_dim}-D{elbo}, {epochs}"


def _details(summary: RunSummary) -> str:
    elbo = "no epoch yet" if summary.test_elbo is None else f"{summary.test_elbo:.1f} nats"
    return (
        f"{summary.arch} network, {summary.likelihood} likelihood, {summary.latent_dim}-D latent; "
        f"trained on {summary.data} for {summary.epochs_done}/{summary.epochs_planned} epochs; "
        f"test ELBO {elbo}"
    )


def show_error(error: VaeappError) -> None:
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
