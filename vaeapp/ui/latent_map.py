"""The latent map: a data set's codes on a 2-D view, clickable anywhere, as a Plotly figure.

In a browser Plotly reports a click only on a marker, so an invisible lattice of markers
(opacity 0.01: at 0 Plotly ignores them) covers the map; a click between data points lands on
the nearest lattice marker. It lies above the data, so that a clicked one shows. The data go as
WebGL traces of numpy arrays, which Plotly sends as binary, one trace per class so that the
legend toggles classes.

The browser shows a clicked marker as selected (a black dot, white over a manifold grid) by
itself, so a page can leave the figure unchanged after a click: redrawing thousands of WebGL
markers is what makes a click slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.colors import qualitative

from vaeapp.latent import grid_points

LATTICE_SIDE = 80
PALETTE = qualitative.Plotly
UNSELECTED = {"marker": {"opacity": 0.85}}  # no dimming of the other points after a click


@dataclass(frozen=True)
class MapClick:
    """Where a click landed on the map, the test image's index when it hit a data point, and
    the marker it hit (trace number, point number in the trace)."""

    point: tuple[float, float]
    index: int | None
    marker: tuple[int, int]


def latent_map_figure(
    points: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    *,
    axis_titles: tuple[str, str] = ("z₁", "z₂"),
    marker: tuple[float, float] | None = None,
    picked: tuple[int, int] | None = None,
    outline: np.ndarray | None = None,
    path: np.ndarray | None = None,
    background: Image.Image | None = None,
    revision: str = "map",
) -> go.Figure:
    """The map of `points` [N, 2] coloured by `labels`.

    `marker` is drawn as a cross (the decoded spot); `picked` (trace number, point number) shows
    as selected, as a click would; `outline` [K, 2] as a dashed line (where a view's inverse is
    trusted); `path` [M, 2] as a line with markers (an interpolation);
    `background` is stretched over the ranges beneath the points (a manifold grid). Zoom and
    hidden classes survive updates until `revision` changes.
    """
    ink = "black" if background is None else "white"  # marks stand out on a manifold grid too
    figure = go.Figure()
    for label in np.unique(labels):
        figure.add_trace(_class_trace(points, labels, int(label), classes, ink))
    figure.add_trace(_lattice(x_range, y_range, ink))
    if picked is not None:
        figure.data[picked[0]].selectedpoints = [picked[1]]
    if outline is not None:
        hull = {"color": "grey", "dash": "dash", "width": 1}
        figure.add_trace(_overlay(outline, "UMAP hull", mode="lines", line=hull))
    if path is not None:
        line, dots = {"color": ink, "width": 2}, {"size": 7, "color": ink}
        figure.add_trace(_overlay(path, "path", mode="lines+markers", line=line, marker=dots))
    if marker is not None:
        cross = {"symbol": "x-thin", "size": 18, "line": {"width": 4, "color": ink}}
        figure.add_trace(_overlay(np.array([marker]), "decoded here", mode="markers", marker=cross))
    if background is not None:
        figure.add_layout_image(
            source=background,
            xref="x",
            yref="y",
            x=x_range[0],
            y=y_range[1],
            sizex=x_range[1] - x_range[0],
            sizey=y_range[1] - y_range[0],
            sizing="stretch",
            layer="below",
        )
    figure.update_layout(
        height=620,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"range": list(x_range), "title": axis_titles[0], "showgrid": False},
        yaxis={"range": list(y_range), "title": axis_titles[1], "showgrid": False},
        hovermode="closest",
        hoverdistance=-1,  # a click however far from any marker (zoomed in) picks the nearest
        legend={"title": "label", "itemsizing": "constant"},
        uirevision=revision,
    )
    return figure


def _overlay(points: np.ndarray, name: str, **style: Any) -> go.Scatter:
    """Points [K, 2] drawn over the map (SVG, above the WebGL traces); clicks pass through."""
    return go.Scatter(x=points[:, 0], y=points[:, 1], name=name, hoverinfo="skip", **style)


def _picked(ink: str) -> dict[str, Any]:
    return {"marker": {"opacity": 1.0, "size": 12, "color": ink}}


def _lattice(x_range: tuple[float, float], y_range: tuple[float, float], ink: str) -> go.Scattergl:
    lattice = grid_points(x_range, y_range, LATTICE_SIDE).astype(np.float32)
    return go.Scattergl(
        x=lattice[:, 0],
        y=lattice[:, 1],
        mode="markers",
        marker={"size": 6, "color": "grey", "opacity": 0.01},
        selected=_picked(ink),
        unselected={"marker": {"opacity": 0.01}},
        hoverinfo="none",
        showlegend=False,
        name="anywhere",
    )


def _class_trace(
    points: np.ndarray, labels: np.ndarray, label: int, classes: tuple[str, ...], ink: str
) -> go.Scattergl:
    members = np.flatnonzero(labels == label)
    name = classes[label] if label < len(classes) else str(label)
    return go.Scattergl(
        x=points[members, 0].astype(np.float32),
        y=points[members, 1].astype(np.float32),
        customdata=members,
        mode="markers",
        marker={"size": 5, "color": PALETTE[label % len(PALETTE)], "opacity": 0.85},
        selected=_picked(ink),
        unselected=UNSELECTED,
        name=name,
        hovertemplate=f"label {name}<br>index %{{customdata}}<extra></extra>",
    )


def clicked(selection: dict[str, Any] | None) -> MapClick | None:
    """The click in a chart's selection event (st.plotly_chart's `on_select`), if any."""
    points = (selection or {}).get("points") or []
    if not points:
        return None
    point = points[0]
    index = point.get("customdata")
    if isinstance(index, list):
        index = index[0] if index else None
    return MapClick(
        (float(point["x"]), float(point["y"])),
        None if index is None else int(index),
        (int(point["curve_number"]), int(point["point_index"])),
    )
