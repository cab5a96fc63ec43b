"""The Interpolate page's map: the test codes on a 2-D view with the latent path drawn over
them, as a Plotly figure (it only shows; the Explore page's map is the clickable component).

The data go as WebGL traces of numpy arrays, which Plotly sends as binary, one trace per class
so that the legend toggles classes.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly


def path_map_figure(
    points: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    path: np.ndarray,
    *,
    axis_titles: tuple[str, str] = ("z₁", "z₂"),
    revision: str = "map",
) -> go.Figure:
    """The map of `points` [N, 2] coloured by `labels`, with `path` [M, 2] as a line with
    markers. Zoom and hidden classes survive updates until `revision` changes."""
    figure = go.Figure()
    for label in np.unique(labels):
        figure.add_trace(_class_trace(points, labels, int(label), classes))
    figure.add_trace(
        go.Scatter(
            x=path[:, 0],
            y=path[:, 1],
            name="path",
            mode="lines+markers",
            line={"color": "black", "width": 2},
            marker={"size": 7, "color": "black"},
            hoverinfo="skip",
        )
    )
    figure.update_layout(
        height=520,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"range": list(x_range), "title": axis_titles[0], "showgrid": False},
        yaxis={"range": list(y_range), "title": axis_titles[1], "showgrid": False},
        legend={"title": "label", "itemsizing": "constant"},
        uirevision=revision,
    )
    return figure


def _class_trace(
    points: np.ndarray, labels: np.ndarray, label: int, classes: tuple[str, ...]
) -> go.Scattergl:
    members = np.flatnonzero(labels == label)
    name = classes[label] if label < len(classes) else str(label)
    return go.Scattergl(
        x=points[members, 0].astype(np.float32),
        y=points[members, 1].astype(np.float32),
        customdata=members,
        mode="markers",
        marker={"size": 5, "color": PALETTE[label % len(PALETTE)], "opacity": 0.85},
        name=name,
        hovertemplate=f"label {name}<br>index %{{customdata}}<extra></extra>",
    )
