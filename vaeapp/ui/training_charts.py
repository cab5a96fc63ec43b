"""Plotly figures of training histories: one run's ELBO and its terms, and several runs' ELBO.

Only drawing happens here; the curves (smoothing, thinning, per-epoch values) come from
`vaeapp.history`.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative

from vaeapp.history import TrainingHistory

PANELS = (
    ("elbo", "ELBO (nats/image)"),
    ("recon", "reconstruction<br>E[log p(x|z)]"),
    ("kl", "KL(q(z|x) || p(z))"),
)
STEP_COLOUR = "#636efa"
TRAIN_COLOUR = "#ef553b"
TEST_COLOUR = "#00a36c"
PANEL_GAP = 0.06


def training_figure(history: TrainingHistory) -> go.Figure:
    """ELBO, reconstruction and KL in three stacked panels over epochs: per step, smoothed and
    per epoch, in nats per image. The panels are y-axes of one figure, not `make_subplots`,
    which would cost more than the rest of the live view together at once a second."""
    traces, layout = [], {}
    height = (1 - PANEL_GAP * (len(PANELS) - 1)) / len(PANELS)
    for index, (term, title) in enumerate(PANELS):
        axis = "y" if index == 0 else f"y{index + 1}"
        top = 1 - index * (height + PANEL_GAP)
        layout["yaxis" if index == 0 else f"yaxis{index + 1}"] = {
            "domain": [top - height, top],
            "title": {"text": title},
        }
        curve = history.step_curve(term)
        lines = [
            ("per step", curve.x, curve.raw, {"color": STEP_COLOUR, "width": 1}, 0.3, "lines"),
            ("smoothed", curve.x, curve.smoothed, {"color": STEP_COLOUR, "width": 2}, 1.0, "lines"),
        ]
        for split, colour in (("train", TRAIN_COLOUR), ("test", TEST_COLOUR)):
            epochs, values = history.epoch_curve(f"{split}_{term}")
            style = {"color": colour}
            lines.append((f"{split}, per epoch", epochs, values, style, 1.0, "lines+markers"))
        traces += [
            go.Scatter(
                x=x,
                y=y,
                yaxis=axis,
                name=name,
                legendgroup=name,
                showlegend=index == 0,
                mode=mode,
                line=line,
                opacity=opacity,
            )
            for name, x, y, line, opacity, mode in lines
        ]
    layout["xaxis"] = {"anchor": f"y{len(PANELS)}", "title": {"text": "epoch"}}
    return go.Figure(
        data=traces,
        layout={
            **layout,
            "height": 720,
            "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
            "legend": {"orientation": "h", "y": 1.06},
            "uirevision": "keep",
        },
    )


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
