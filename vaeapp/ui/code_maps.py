"""Plotly maps of codes that only show: the Train page's view of an epoch's codes, and the
Interpolate page's codes with the latent path over them (the Explore page's map is the
clickable component). One WebGL trace per class, so that the legend toggles classes; numpy
arrays travel to the browser as binary."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

PALETTE = qualitative.Plotly
MARGIN = {"l": 10, "r": 10, "t": 10, "b": 10}
MODE_BAR_HEIGHT = 36  # pixels, its buttons and their padding, with a little room below


def codes_figure(
    points: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    *,
    height: int = 320,
    revision: str = "keep",
) -> go.Figure:
    """Codes [N, 2] coloured by `labels`; zoom and hidden classes survive updates until
    `revision` changes."""
    figure = go.Figure()
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        name = classes[label] if label < len(classes) else str(label)  # a folder's, maybe
        figure.add_trace(
            go.Scattergl(
                x=points[members, 0].astype(np.float32),
                y=points[members, 1].astype(np.float32),
                customdata=members,
                mode="markers",
                marker={"size": 5, "color": PALETTE[label % len(PALETTE)], "opacity": 0.85},
                name=html.escape(name),  # Plotly reads tags and entities in text
                hovertemplate="label %{fullData.name}<br>index %{customdata}<extra></extra>",
            )
        )
    figure.update_layout(
        template="none",
        height=height,
        # Plotly's mode bar floats over the figure's top right corner, where the legend's
        # title sits at the plot area's top: a top margin as high as the bar puts the title
        # below it.
        margin={**MARGIN, "t": MODE_BAR_HEIGHT},
        # The margins are only a floor: each axis widens its own to hold its tick labels whole
        # (minus signs, descenders), which a 10-pixel margin cut off.
        xaxis={"automargin": True},
        yaxis={"automargin": True},
        legend={"title": "label", "itemsizing": "constant"},
        uirevision=revision,
    )
    return figure


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
    """`codes_figure` with `path` [M, 2] over it as a line with markers, its ends marked A and
    B."""
    figure = codes_figure(points, labels, classes, height=520, revision=revision)
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
    figure.add_trace(
        go.Scatter(
            x=path[[0, -1], 0],
            y=path[[0, -1], 1],
            name="ends",
            mode="markers+text",
            text=["A", "B"],
            # Each letter on the side of its end away from the path, so no line crosses it.
            textposition=[
                "bottom center" if path[-1, 1] >= path[0, 1] else "top center",
                "top center" if path[-1, 1] >= path[0, 1] else "bottom center",
            ],
            textfont={"size": 16, "color": "black"},
            marker={"size": 11, "color": "white", "line": {"color": "black", "width": 2}},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.update_layout(
        xaxis={"range": list(x_range), "title": axis_titles[0], "showgrid": False},
        yaxis={"range": list(y_range), "title": axis_titles[1], "showgrid": False},
    )
    return figure
