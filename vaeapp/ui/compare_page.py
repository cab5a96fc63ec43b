"""The Compare page: the ELBO curves of several runs on one chart, with their settings."""

from __future__ import annotations

import streamlit as st

from vaeapp.errors import VaeappError
from vaeapp.paths import DEFAULT_MODEL_DIR, runs_dir
from vaeapp.runs import Run, list_runs
from vaeapp.ui.loaders import run_history, run_summary
from vaeapp.ui.training_charts import comparison_figure
from vaeapp.ui.widgets import model_picker

SHOWN_AT_FIRST = 4


def render() -> None:
    model_picker()
    st.title("Compare runs")
    runs = {
        str(run.path): run
        for run in [*list_runs(runs_dir()), Run(DEFAULT_MODEL_DIR)]
        if run.exists()
    }
    chosen = st.multiselect(
        "Runs",
        list(runs),
        default=list(runs)[:SHOWN_AT_FIRST],
        format_func=lambda path: runs[path].name,
        key="compare_runs",
        help="Every run under the runs folder, and the shipped default model.",
    )
    if not chosen:
        st.info("Choose one or more runs to see their ELBO per epoch.")
        return
    st.plotly_chart(
        comparison_figure({runs[path].name: run_history(runs[path]) for path in chosen}),
        key="compare_chart",
    )
    rows = []
    for path in chosen:
        try:
            summary = run_summary(runs[path])
        except VaeappError as exc:
            st.warning(f"{runs[path].name}: {exc}")
            continue
        rows.append(
            {
                "run": summary.name,
                "data": summary.config.train.data,
                "architecture": summary.config.model.arch,
                "latent dim": summary.config.model.latent_dim,
                "likelihood": summary.config.model.likelihood,
                "epochs": f"{summary.epochs_done}/{summary.epochs_planned}",
                "test ELBO": summary.test_elbo,
            }
        )
    st.dataframe(rows, hide_index=True)
