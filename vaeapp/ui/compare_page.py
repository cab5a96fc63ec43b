"""The Compare page: the ELBO curves of several runs on one chart, with their settings."""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from vaeapp.store.catalog import Entry
from vaeapp.ui.explain import what_am_i_looking_at
from vaeapp.ui.loaders import run_history
from vaeapp.ui.training_charts import comparison_figure
from vaeapp.ui.widgets import available_models, model_picker

SHOWN_AT_FIRST = 4


def render() -> None:
    model_picker()
    st.title("Compare runs")
    what_am_i_looking_at("Compare")
    models, _ = available_models()  # the picker's list, in its order
    runs = {path: entry.run for path, entry in models.items()}
    chosen = st.multiselect(
        "Runs",
        list(runs),
        default=list(runs)[:SHOWN_AT_FIRST],
        format_func=lambda path: models[path].name,
        key="compare_runs",
        help="Every run under the runs folder, and the shipped models.",
    )
    if not chosen:
        st.info("Choose one or more runs to see their ELBO per epoch.")
        return
    st.plotly_chart(
        comparison_figure({models[path].name: run_history(runs[path]) for path in chosen}),
        key="compare_chart",
    )
    rows = [_row(models[path]) for path in chosen]
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "open": st.column_config.LinkColumn("open", display_text="Explore", width="small"),
            "test ELBO": st.column_config.NumberColumn(format="%.1f"),
            "learning rate": st.column_config.NumberColumn(format="%g"),
        },
    )
    if any(not row["normalised"] for row in rows):
        st.caption(
            "normalised: whether the test ELBO bounds a log-likelihood. A Bernoulli trained on "
            "grey levels (no binarisation) is no normalised distribution, so its ELBO compares "
            "with no published figure, nor with the other runs'."
        )


def _row(entry: Entry) -> dict[str, object]:
    summary, name = entry.summary, entry.name
    model, train = summary.config.model, summary.config.train
    minutes, seconds = divmod(round(summary.trained_s), 60)
    return {
        "run": name,
        "test ELBO": summary.test_elbo,
        "normalised": summary.normalised,
        "epochs": f"{summary.epochs_done}/{summary.epochs_planned}",
        "data": train.data,
        "architecture": model.arch if model.arch == "conv" else f"mlp {model.hidden}",
        "latent dim": model.latent_dim,
        "likelihood": model.likelihood,
        "binarised": train.binarize,
        "beta": train.beta,
        "learning rate": train.lr,
        "batch": train.batch_size,
        "training time": f"{minutes}:{seconds:02d}",
        "open": f"./explore?run={quote(name)}",
    }
