"""Plotly figures of training histories: one run's ELBO and its terms, and several runs' ELBO.

Only drawing happens here; the curves (smoothing, thinning, per-epoch values) come from
`vaeapp.history`.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from vaeapp.history import TrainingHistory

PANELS = (
    ("elbo", "ELBO (nats per image, higher is better)"),
    ("recon", "reconstruction term E[log p(x|z)]"),
    ("kl", "KL(q(z|x) || p(z))"),
)
STEP_COLOUR = "#636efa"
TRAIN_COLOUR = "#ef553b"
TEST_COLOUR = "#00a36c"


def training_figure(history: TrainingHistory) -> go.Figure:
    """ELBO, reconstruction and KL in three panels over epochs: per step, smoothed, per epoch."""
    figure = make_subplots(
        rows=len(PANELS),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        subplot_titles=[title for _, title in PANELS],
    )
    for row, (term, _) in enumerate(PANELS, start=1):
        first = row == 1
        curve = history.step_curve(term)
        figure.add_trace(
            go.Scatter(
                x=curve.x,
                y=curve.raw,
                name="per step",
                legendgroup="step",
                showlegend=first,
                mode="lines",
                line={"color": STEP_COLOUR, "width": 1},
                opacity=0.3,
            ),
            row=row,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=curve.x,
                y=curve.smoothed,
                name="smoothed",
                legendgroup="smoothed",
                showlegend=first,
                mode="lines",
                line={"color": STEP_COLOUR, "width": 2},
            ),
            row=row,
            col=1,
        )
        for split, colour in (("train", TRAIN_COLOUR), ("test", TEST_COLOUR)):
            epochs, values = history.epoch_curve(f"{split}_{term}")
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=values,
                    name=f"{split}, per epoch",
                    legendgroup=split,
                    showlegend=first,
                    mode="lines+markers",
                    line={"color": colour},
                ),
                row=row,
                col=1,
            )
    figure.update_xaxes(title_text="epoch", row=len(PANELS), col=1)
    figure.update_layout(
        height=720,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": 1.08},
        uirevision="keep",
    )
    return figure


def comparison_figure(histories: dict[str, TrainingHistory]) -> go.Figure:
    """Each run's test ELBO (solid) and train ELBO (dotted) per epoch, on one chart."""
    figure = go.Figure()
    for index, (name, history) in enumerate(histories.items()):
        colour = qualitative.Plotly[index % len(qualitative.Plotly)]
        for split, dash in (("test", "solid"), ("train", "dot")):
            epochs, values = history.epoch_curve(f"{split}_elbo")
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=values,
                    name=f"{name} ({split})",
                    legendgroup=name,
                    mode="lines+markers",
                    line={"color": colour, "dash": dash},
                )
            )
    figure.update_layout(
        xaxis_title="epoch",
        yaxis_title="ELBO (nats per image, higher is better)",
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        uirevision="keep",
    )
    return figure
