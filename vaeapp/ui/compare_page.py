"""The Compare page: the ELBO curves of several runs on one chart, with their settings."""

from __future__ import annotations

import streamlit as st

from vaeapp.store.catalog import Entry
from vaeapp.ui.explain import what_am_i_looking_at
from vaeapp.ui.run_readers import run_history
from vaeapp.ui.training_charts import comparison_figure, run_colours
from vaeapp.ui.widgets import available_models, keep_model_choice, literal, name_unlisted

SHOWN_AT_FIRST = 4


def _explore() -> None:
    """Explore, imported as it runs: this page holds no torch until a user goes there."""
    from vaeapp.ui import explore_page

    explore_page.render()


# The Explore page as vaeapp/ui/app.py registers it (Streamlit finds a page by its url_path): a
# link to it switches page in the same tab, in one click, where a dataframe's LinkColumn took
# two (one to select the cell, one to follow it) and opened a new tab.
EXPLORE = st.Page(_explore, title="Explore", url_path="explore")


def render() -> None:
    keep_model_choice()
    st.title("Compare runs")
    what_am_i_looking_at("Compare")
    models, unreadable = available_models()  # the picker's list, in its order
    name_unlisted(unreadable)
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
    # Every listed run gets its colour, the shipped ones and then the oldest first, so that a
    # run keeps its colour whichever are chosen, and a new run takes one nobody gives up.
    listed = list(models.values())
    oldest_first = [e.name for e in listed if e.shipped] + [
        e.name for e in reversed(listed) if not e.shipped
    ]
    st.plotly_chart(
        comparison_figure(
            {models[path].name: run_history(runs[path]) for path in chosen},
            run_colours(oldest_first),
        ),
        key="compare_chart",
    )
    _table([models[path] for path in chosen])


def _table(chosen: list[Entry]) -> None:
    """The chosen runs side by side, with links to open each on Explore, and what makes their
    ELBOs incomparable when something does."""
    rows = [_row(entry) for entry in chosen]
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "test ELBO": st.column_config.NumberColumn(format="%.1f"),
            "learning rate": st.column_config.NumberColumn(format="%g"),
        },
    )
    _explore_links([entry.name for entry in chosen])
    scored = sorted({f"{row['data']} {row['images']}" for row in rows})
    if len(scored) > 1:
        st.caption(
            f"These runs score different images ({literal(', '.join(scored))}): an ELBO in nats "
            "per image compares only between runs of the same data and image shape."
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
        "epochs": summary.epochs,
        "data": train.data,
        "images": "x".join(map(str, model.image_shape)),
        "architecture": f"mlp {model.hidden}" if model.arch == "mlp" else model.arch,
        "latent dim": model.latent_dim,
        "likelihood": model.likelihood,
        "binarised": train.binarize,
        "beta": train.beta,
        "learning rate": train.lr,
        "batch": train.batch_size,
        "training time": f"{minutes}:{seconds:02d}",
    }


def _explore_links(names: list[str]) -> None:
    """One link per chosen run, in the table's order, that opens Explore on it."""
    with st.container(horizontal=True, vertical_alignment="center", key="compare_links"):
        st.markdown("Open in Explore:", width="content")
        for name in names:
            st.page_link(
                EXPLORE,
                label=literal(name),
                icon=":material/scatter_plot:",
                query_params={"run": name},
            )
