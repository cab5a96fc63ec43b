"""The training charts: legends and labels stay clear of what they label; every compared run
shows, in a colour of its own."""

from __future__ import annotations

import numpy as np

from vaeapp.store.history import TrainingHistory
from vaeapp.ui.code_maps import codes_figure
from vaeapp.ui.training_charts import (
    MAX_MARKERS,
    comparison_figure,
    run_colours,
    training_figure,
)


def test_the_training_legend_sits_above_the_plot_area_never_over_a_curve() -> None:
    history = TrainingHistory(steps={}, epochs={}, start=None, end=None, progress=None)
    layout = training_figure(history).layout
    top = max(layout.yaxis.domain[1], layout.yaxis2.domain[1])
    # Anchored by its foot at or above the plot area's top: however many rows the legend wraps
    # into, it grows upwards into the margin Plotly widens for it.
    assert layout.legend.yanchor == "bottom" and layout.legend.y >= top
    assert layout.margin.autoexpand is not False


def test_the_epoch_maps_axes_make_room_for_their_tick_labels() -> None:
    figure = codes_figure(np.array([[-3.5, -2.0], [1.0, 4.0]]), np.array([0, 1]), ("0", "1"))
    assert figure.layout.xaxis.automargin and figure.layout.yaxis.automargin


def _history(elbos: list[float]) -> TrainingHistory:
    epochs = {n: {"train_elbo": e, "test_elbo": e} for n, e in enumerate(elbos, start=1)}
    return TrainingHistory(steps={}, epochs=epochs, start=None, end=None, progress=None)


def test_a_run_equal_to_another_shows_inside_it_not_hidden_under_it() -> None:
    same = _history([-200.0, -150.0])
    colours = run_colours(["first", "second"])
    traces = comparison_figure({"first": same, "second": same}, colours).data
    first, second = traces[0], traces[2]  # the test curves; the train curves follow each
    assert list(first.y) == list(second.y)
    # The later curve is drawn on top: thinner, with smaller markers, so the earlier one shows
    # around it.
    assert first.line.width > second.line.width
    assert first.marker.size > second.marker.size


def test_a_runs_colour_and_marker_follow_the_runs_listed_not_those_chosen() -> None:
    history = _history([-200.0])
    listed = [f"run-{i}" for i in range(8)]
    colours = run_colours(listed)

    def styles(chosen: list[str]) -> dict[str, tuple[str, str]]:
        traces = comparison_figure({name: history for name in chosen}, colours).data
        return {t.legendgroup: (t.line.color, t.marker.symbol) for t in traces}

    every = styles(listed)
    assert styles(listed[1:]) == {name: every[name] for name in listed[1:]}  # one removed
    assert styles(listed[::-1]) == every
    assert len({colour for colour, _ in every.values()}) == len(listed)  # all told apart
    with_newer = run_colours([*listed, "newer"])  # a new run is listed last
    assert {name: with_newer[name] for name in listed} == colours


def test_a_long_runs_epoch_curves_are_drawn_as_lines_without_a_marker_each() -> None:
    for epochs, mode in ((12, "lines+markers"), (MAX_MARKERS + 1, "lines")):
        traces = training_figure(_history([-100.0] * epochs)).data
        assert {t.mode for t in traces if "per epoch" in t.name} == {mode}
