"""The Train page's charts: their legends and labels stay clear of what they label."""

from __future__ import annotations

import numpy as np

from vaeapp.store.history import TrainingHistory
from vaeapp.ui.code_maps import codes_figure
from vaeapp.ui.training_charts import training_figure


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
