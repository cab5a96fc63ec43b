"""Plotly figures of training histories: one run's ELBO and its terms, and several runs' ELBO.

Only drawing happens here; the curves (smoothing, thinning, per-epoch values) come from
`vaeapp.store.history`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative

from vaeapp.store.history import TrainingHistory
from vaeapp.ui.code_maps import MARGIN

STEP_COLOUR = "#636efa"
RECON_COLOUR = "#ab63fa"
KL_COLOUR = "#ffa15a"
TRAIN_COLOUR = "#ef553b"
TEST_COLOUR = "#00a36c"
GREYS = ("#7F7F7F", "rgb(102,102,102)")
# Past this many points a curve's markers are a smear, and each is an SVG node the browser lays
# out on every redraw (a 1,342-epoch run's two epoch curves: 2,684).
MAX_MARKERS = 200
AXIS = {"showgrid": True, "gridcolor": "#e8e8e8", "zeroline": False, "automargin": True}


def training_figure(history: TrainingHistory) -> go.Figure:
    """The ELBO per step, smoothed, and per epoch (train and test), with the smoothed
    reconstruction term beside it and the KL term in a panel of its own, over epochs.

    Seven traces on two y-axes of one figure, with no template: the browser redraws it every
    few seconds next to a training job, and this halves the cost of a redraw in Chromium (and
    `make_subplots` alone would cost 150 ms of Python each time). Draw it with `theme=None`."""
    elbo, recon, kl = (history.step_curve(term) for term in ("elbo", "recon", "kl"))
    traces = [
        _line("ELBO per step", elbo.x, elbo.raw, STEP_COLOUR, width=1, opacity=0.3),
        _line("ELBO smoothed", elbo.x, elbo.smoothed, STEP_COLOUR),
        _line("reconstruction, smoothed", recon.x, recon.smoothed, RECON_COLOUR, dash="dot"),
        *(
            _line(f"{split} ELBO per epoch", *history.epoch_curve(f"{split}_elbo"), colour, True)
            for split, colour in (("train", TRAIN_COLOUR), ("test", TEST_COLOUR))
        ),
        _line("KL per step", kl.x, kl.raw, KL_COLOUR, width=1, opacity=0.3, yaxis="y2"),
        _line("KL smoothed", kl.x, kl.smoothed, KL_COLOUR, yaxis="y2"),
    ]
    layout = {
        "template": "none",
        "yaxis": {**AXIS, "domain": [0.36, 1], "title": {"text": "nats per image"}},
        "yaxis2": {**AXIS, "domain": [0, 0.28], "title": {"text": "KL(q(z|x) || p(z))"}},
        "xaxis": {**AXIS, "anchor": "y2", "title": {"text": "epoch"}},
        "height": 620,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        # Above the plot area, anchored by its foot: Plotly widens the top margin for it, so
        # however many rows it wraps into it never covers a curve.
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "uirevision": "keep",
    }
    return go.Figure(data=traces, layout=layout)


def _line(
    name: str,
    x: Sequence[float],
    y: Sequence[float],
    colour: str,
    markers: bool = False,
    *,
    width: float = 2,
    dash: str = "solid",
    **scatter: Any,
) -> go.Scatter:
    """One curve; `scatter` passes plotly's own options through (opacity, yaxis)."""
    return go.Scatter(
        x=x,
        y=y,
        name=name,
        mode="lines+markers" if markers and len(x) <= MAX_MARKERS else "lines",
        line={"color": colour, "width": width, "dash": dash},
        **scatter,
    )


def comparison_figure(histories: dict[str, TrainingHistory], colours: dict[str, str]) -> go.Figure:
    """Each run's test ELBO (solid) and train ELBO (dotted) per epoch, on one chart.

    A run's colour comes from `colours` (by name; see `run_colours`) and its marker from its
    name alone, so removing a run from the choice recolours none of the others. Each curve is
    drawn wider, with larger markers, than those drawn after it: a run equal to an earlier one
    shows as a thin line inside a wide one."""
    figure = go.Figure()
    count = len(histories)
    for index, (name, history) in enumerate(histories.items()):
        below = (count - 1 - index) / max(count - 1, 1)  # 1 for the first drawn, 0 the last
        width, size = 1.5 + 2.5 * below, 4 + 6 * below
        marker = {"symbol": run_symbol(name), "size": size}
        for split, dash in (("test", "solid"), ("train", "dot")):
            epochs, values = history.epoch_curve(f"{split}_elbo")
            curve = _line(
                f"{name} ({split})", epochs, values, colours[name], True, width=width, dash=dash
            )
            figure.add_trace(curve.update(legendgroup=name, marker=marker))
    figure.update_layout(
        xaxis_title="epoch",
        yaxis_title="ELBO (nats per image, higher is better)",
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        uirevision="keep",
    )
    return figure


# Hues far enough apart to tell at a glance, each dark enough for a thin line on white: D3's
# and ColorBrewer Dark2's, without their greys.
RUN_COLOURS = tuple(c for c in (*qualitative.D3, *qualitative.Dark2) if c not in GREYS)
RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon")


def run_colours(names: list[str]) -> dict[str, str]:
    """A colour for every run in `names`, by name: each takes the colour its name hashes to,
    or the next one no run before it took, so up to len(RUN_COLOURS) runs get distinct ones.
    Given every listed run, oldest first, a colour depends on which runs exist, never on which
    are chosen, and a new run (last) takes a colour no other run gives up."""
    taken: dict[str, str] = {}
    for name in names:
        start = _name_hash(name) % len(RUN_COLOURS)
        free = [RUN_COLOURS[(start + step) % len(RUN_COLOURS)] for step in range(len(RUN_COLOURS))]
        taken[name] = next((c for c in free if c not in taken.values()), free[0])
    return taken


def run_symbol(name: str) -> str:
    """A run's marker symbol, from its name alone."""
    return RUN_SYMBOLS[_name_hash(name) // 256 % len(RUN_SYMBOLS)]


def _name_hash(name: str) -> int:
    """The same in every process (Python's own `hash` of a str changes per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def kl_per_dim_figure(kl_per_dim: list[float], active: list[bool]) -> go.Figure:
    """The KL each latent dimension spends, as bars: active units in colour, inactive grey."""
    colours = [KL_COLOUR if on else "#c8c8c8" for on in active]
    figure = go.Figure(
        go.Bar(
            x=[f"z{i + 1}" for i in range(len(kl_per_dim))],
            y=kl_per_dim,
            marker={"color": colours},
            hovertemplate="%{x}: %{y:.2f} nats<extra></extra>",
        )
    )
    figure.update_layout(
        template="none",
        height=220,
        margin=MARGIN,
        yaxis={**AXIS, "title": {"text": "KL (nats)"}},
        xaxis={"automargin": True},
    )
    return figure
