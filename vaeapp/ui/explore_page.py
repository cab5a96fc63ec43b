"""The Explore page: the test set on a latent map; click anywhere to decode; sliders; grids.

The map, the decoded image and the sliders form one fragment, so a click or a slider move reruns
only them. The current latent code lives in session state (LATENT). A click, the prior button
and the reset button replace it and renew the sliders (new keys), so a browser that still holds
the old sliders cannot send their values back over it; a slider move changes one entry.
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image

from vaeapp.data import Dataset
from vaeapp.errors import VaeappError
from vaeapp.images import enlarged, png_bytes
from vaeapp.latent import (
    AxesProjection,
    EmbeddingProjection,
    Projection,
    decode,
    manifold_grid,
    padded_range,
    prior_code,
)
from vaeapp.model import VAE
from vaeapp.runs import Run
from vaeapp.snapshots import prior_samples, reconstructions
from vaeapp.ui.latent_map import MapClick, clicked, latent_map_figure
from vaeapp.ui.loaders import (
    embedding_view,
    encoded_test_set,
    file_stamp,
    load_data,
    load_model,
    pca_view,
    umap_worker,
)
from vaeapp.ui.widgets import model_picker, show_error
from vaeapp.umap_embedding import embedding_key

AXES, PCA_VIEW, UMAP_VIEW = "Latent axes", "PCA", "UMAP"
SLIDERS_SHOWN = 16
MAP_KEY = "explore_map"
MODEL_SEEN = "explore_model"
LATENT = "explore_latent"
SLIDER_VERSION = "explore_slider_version"
CROSSED = "explore_crossed"
CLICK = "explore_click"
FULL_RUNS = "explore_full_runs"
MARK = "explore_mark"
FIGURE = "explore_figure"
PRIOR_DRAWS = "explore_prior_draws"
SAMPLE_SEED = "explore_sample_seed"
DECODED_SCALE = 9


@dataclass(frozen=True)
class Explorer:
    """What the fragment needs, fixed for one full run of the page."""

    model: VAE
    data: Dataset
    codes: torch.Tensor
    view: str
    view_id: str
    axes: tuple[int, int | None]
    fixed_view: Projection | None
    points: np.ndarray
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    limit: float


@dataclass(frozen=True)
class Mark:
    """The decoded spot as the figure shows it: a cross, or a marker shown as picked."""

    figure: str
    cross: tuple[float, float] | None = None
    picked: tuple[int, int] | None = None


def render() -> None:
    run = model_picker()
    st.title("Explore the latent space")
    st.session_state[FULL_RUNS] = st.session_state.get(FULL_RUNS, 0) + 1
    try:
        model, config = load_model(run)
        data = load_data(config.train.data)
        codes = encoded_test_set(run, config.train.data)
    except VaeappError as error:
        show_error(error)
    dim = codes.shape[1]
    st.caption(
        f"{data.source}. Each dot is one of the {len(codes):,} test images, placed at the mean "
        f"of q(z|x) in the model's {dim}-D latent space."
    )
    model_id = f"{run.path}@{file_stamp(run.checkpoint_path)}"
    _start_over_if_new(f"{run.path}:{dim}", dim)
    explorer = _choose_view(run, model, data, codes, model_id)
    _latent_panel(explorer)
    _prior_panel(model)


def _start_over_if_new(model: str, dim: int) -> None:
    """A different model starts at the origin with no click (a newer checkpoint of the same run
    keeps the sliders)."""
    if st.session_state.get(MODEL_SEEN) != model:
        st.session_state[MODEL_SEEN] = model
        _set_latent(torch.zeros(dim), crossed=False)


def _choose_view(
    run: Run, model: VAE, data: Dataset, codes: torch.Tensor, model_id: str
) -> Explorer:
    """The sidebar's view choice, and the map points of that view."""
    dim = codes.shape[1]
    view, axes = _view_choice(codes)
    fixed_view: Projection | None = None
    if view == UMAP_VIEW:
        fixed_view, points = _umap_or_pca(codes, run, data.spec)
        view = UMAP_VIEW if isinstance(fixed_view, EmbeddingProjection) else PCA_VIEW
    elif view == PCA_VIEW:
        fixed_view = pca_view(run, data.spec)
        points = fixed_view.project(codes)
    else:
        points = AxesProjection(*axes, torch.zeros(dim)).project(codes)
    return Explorer(
        model=model,
        data=data,
        codes=codes,
        view=view,
        view_id=f"{model_id}:{view}:{axes}",
        axes=axes,
        fixed_view=fixed_view,
        points=points,
        x_range=padded_range(points[:, 0]),
        y_range=padded_range(points[:, 1]),
        limit=float(max(3, math.ceil(codes.abs().max()))),
    )


def _view_choice(codes: torch.Tensor) -> tuple[str, tuple[int, int | None]]:
    dim = codes.shape[1]
    if dim == 1:
        return AXES, (0, None)
    if dim == 2:
        return AXES, (0, 1)
    umap_worker().prepare(codes.numpy())
    view = st.sidebar.radio(
        "2-D view of the latent space",
        [AXES, PCA_VIEW, UMAP_VIEW],
        key="explore_view",
        help="Two latent axes (the others held at the sliders' values), the plane of the two "
        "main directions of variance (PCA), or a UMAP embedding of the test codes.",
    )
    if view != AXES:
        return view, (0, 1)
    x_dim = st.sidebar.selectbox("Horizontal axis", range(dim), 0, _axis_name, key="explore_x")
    others = [i for i in range(dim) if i != x_dim]
    y_dim = st.sidebar.selectbox("Vertical axis", others, 0, _axis_name, key="explore_y")
    return AXES, (x_dim, y_dim)


def _umap_or_pca(codes: torch.Tensor, run: Run, spec: str) -> tuple[Projection, np.ndarray]:
    """The UMAP view once its embedding exists; until then PCA, and a status that polls."""
    worker = umap_worker()
    codes_np = codes.numpy()
    try:
        status = worker.request(codes_np)
    except VaeappError as error:
        st.sidebar.error(str(error))
        status = None
    if status is not None and status.embedding is not None:
        key = embedding_key(codes_np)
        return embedding_view(key, codes, status.embedding), status.embedding
    if status is not None and status.error is not None:
        st.sidebar.error(f"{status.error}. The map shows PCA instead.")
    elif status is not None:
        with st.sidebar:
            _umap_progress(embedding_key(codes_np), status.running_since or time.time())
    pca = pca_view(run, spec)
    return pca, pca.project(codes)


@st.fragment(run_every=1.0)
def _umap_progress(key: str, since: float) -> None:
    if umap_worker().status(key).running_since is None:
        st.rerun()
    st.info(
        f"Computing UMAP in the background ({time.time() - since:.0f} s so far; the first one "
        "in a fresh app also compiles UMAP's code). The map shows PCA until it is ready.",
        icon="⏳",
    )


@st.fragment
def _latent_panel(explorer: Explorer) -> None:
    """Map, decoded image and sliders: what a click or a slider move changes."""
    model, dim = explorer.model, explorer.codes.shape[1]
    z = _current_latent(dim)
    view = explorer.fixed_view or AxesProjection(*explorer.axes, z)
    controls = st.columns([1, 2, 3])
    show_grid = controls[0].toggle("Manifold grid", key="explore_manifold")
    side = controls[1].slider("Grid size", 5, 30, 15, key="explore_grid_side")
    click = _click_here(explorer, z)
    grid_side = side if show_grid else None
    depends_on_z = show_grid and explorer.fixed_view is None and dim > 2
    rest = (explorer.view_id, st.session_state[FULL_RUNS], grid_side)
    mark = _mark(repr((*rest, z.tolist() if depends_on_z else None)), view, z, click)
    figure = _figure(explorer, view, mark, grid_side)
    outline = view.outline()
    on_map, beside = st.columns([5, 2])
    with on_map:
        st.plotly_chart(
            figure,
            key=MAP_KEY,
            on_select=partial(_on_click, explorer, view),
            selection_mode="points",
            config={"displaylogo": False, "scrollZoom": True},
        )
        st.caption(
            "Click anywhere to decode that spot (a dot marks it); click a data point to see its "
            "test image too. A cross marks a code set by the sliders. Click legend entries to "
            "hide or show classes; double-click to reset the zoom."
        )
        if click and outline is not None and not view.contains(np.array([click.point]))[0]:
            st.warning(
                "That click is outside the UMAP hull (dashed): it decodes the code of the "
                "nearest embedded point, since there is nothing to interpolate from there."
            )
    with beside:
        _decoded(model, z, explorer, click)
    _sliders(dim, explorer.limit)


def _figure(explorer: Explorer, view: Projection, mark: Mark, grid_side: int | None) -> go.Figure:
    """The map showing `mark`, with a manifold grid of that size under it; built again only when
    the mark changes (clicks that follow clicks keep it)."""
    kept = st.session_state.get(FIGURE)
    if kept is not None and kept[0] == mark:
        return kept[1]
    background = None
    if grid_side is not None:
        tiles = manifold_grid(explorer.model, view, explorer.x_range, explorer.y_range, grid_side)
        background = _tiled(tiles, per_row=grid_side, padding=0, scale=1)
    figure = latent_map_figure(
        explorer.points,
        explorer.data.test.labels.numpy(),
        explorer.data.classes,
        explorer.x_range,
        explorer.y_range,
        axis_titles=_axis_titles(explorer),
        marker=mark.cross,
        picked=mark.picked,
        outline=view.outline(),
        background=background,
        revision=explorer.view_id,
    )
    st.session_state[FIGURE] = (mark, figure)
    return figure


def _decoded(model: VAE, z: torch.Tensor, explorer: Explorer, click: MapClick | None) -> None:
    image = decode(model, z[None])[0]
    st.image(_inline(enlarged(image, DECODED_SCALE)), caption="Decoded here: E[x | z]")
    if click is None or click.index is None:
        return
    test = explorer.data.test
    original = test.images[click.index : click.index + 1]
    label = int(test.labels[click.index])
    name = explorer.data.classes[label] if label < len(explorer.data.classes) else str(label)
    left, right = st.columns(2)
    left.image(_inline(enlarged(original[0], 4)), caption=f"Test image #{click.index} ({name})")
    right.image(_inline(enlarged(reconstructions(model, original)[0], 4)), caption="Reconstructed")


def _sliders(dim: int, limit: float) -> None:
    st.subheader("Latent code")
    buttons = st.columns([1, 1, 4])
    buttons[0].button("Random from prior", on_click=_draw_from_prior, args=(dim,))
    buttons[1].button("Reset to origin", on_click=_set_latent, args=(torch.zeros(dim),))
    shown = min(dim, SLIDERS_SHOWN)
    columns = st.columns(4)
    for i in range(shown):
        _slider(columns[i % 4], i, limit)
    if dim > shown:
        with st.expander(f"Dimensions {shown + 1} to {dim}"):
            rest = st.columns(4)
            for i in range(shown, dim):
                _slider(rest[i % 4], i, limit)


def _slider(column: st.delta_generator.DeltaGenerator, i: int, limit: float) -> None:
    key = f"explore_z{i}_v{st.session_state[SLIDER_VERSION]}"
    column.slider(
        _axis_name(i),
        -limit,
        limit,
        float(np.clip(st.session_state[LATENT][i], -limit, limit)),
        step=0.01,
        key=key,
        format="%.2f",
        on_change=_slider_moved,
        args=(i, key),
    )


@st.fragment
def _prior_panel(model: VAE) -> None:
    """Samples from the prior: the decoder's mean at z ~ N(0, T^2 I)."""
    st.subheader("Samples from the prior")
    controls = st.columns([2, 1, 1, 2])
    temperature = controls[0].slider(
        "Temperature",
        0.1,
        2.0,
        1.0,
        step=0.1,
        key="explore_temperature",
        help="The prior's standard deviation is scaled by this: below 1, more typical images.",
    )
    count = controls[1].selectbox("How many", (16, 32, 64), 1, key="explore_sample_count")
    st.session_state.setdefault(SAMPLE_SEED, 0)
    controls[2].button("Reseed", on_click=_reseed)
    samples = prior_samples(model, count, st.session_state[SAMPLE_SEED], temperature)
    st.image(
        _tiled(samples, per_row=16, padding=2, scale=2),
        caption=f"Seed {st.session_state[SAMPLE_SEED]}, temperature {temperature:.1f}",
        output_format="PNG",
    )


def _on_click(explorer: Explorer, view: Projection) -> None:
    """A click on the map: decode where it landed (a dot: that test image's own code)."""
    click = clicked(st.session_state[MAP_KEY]["selection"])
    if click is None:  # a double click clears the pick in the browser: draw it again
        st.session_state[MARK] = None
        return
    if click.index is not None:
        z = explorer.codes[click.index]
    else:
        z = view.inverse(np.array([click.point]))[0]
    _set_latent(z, crossed=False)
    st.session_state[CLICK] = (explorer.view_id, click, z)


def _mark(figure: str, view: Projection, z: torch.Tensor, click: MapClick | None) -> Mark:
    """How the figure shows the decoded spot; `figure` names everything else the figure shows.

    After a click the browser shows the clicked marker as picked by itself. So while nothing
    else in the figure changes and it shows no cross, a click leaves it exactly as it was (with
    an earlier pick, or none), and the browser neither redraws it nor loses its zoom. When it
    changes anyway, it shows the latest pick, or a cross at a code the sliders or buttons set.
    """
    previous = st.session_state.get(MARK)
    if click is None:
        crossed = st.session_state[CROSSED]
        mark = Mark(figure, cross=tuple(view.project(z[None])[0]) if crossed else None)
    elif previous is not None and previous.cross is None and previous.figure == figure:
        mark = previous
    else:
        mark = Mark(figure, picked=click.marker)
    st.session_state[MARK] = mark
    return mark


def _click_here(explorer: Explorer, z: torch.Tensor) -> MapClick | None:
    """The last click, while it is still what the sliders show in this view."""
    view_id, click, clicked_z = st.session_state.get(CLICK) or (None, None, None)
    if view_id != explorer.view_id or clicked_z is None:
        return None
    return click if torch.allclose(clicked_z, z, atol=0.006) else None


def _draw_from_prior(dim: int) -> None:
    draws = st.session_state.get(PRIOR_DRAWS, 0) + 1
    st.session_state[PRIOR_DRAWS] = draws
    _set_latent(prior_code(dim, seed=draws))


def _reseed() -> None:
    st.session_state[SAMPLE_SEED] += 1


def _set_latent(z: torch.Tensor, crossed: bool = True) -> None:
    """Replace the code; `crossed`: the map marks it with a cross (not a click, not the start)."""
    st.session_state[LATENT] = z.tolist()
    st.session_state[CROSSED] = crossed
    st.session_state[SLIDER_VERSION] = st.session_state.get(SLIDER_VERSION, 0) + 1
    st.session_state[CLICK] = None


def _slider_moved(i: int, key: str) -> None:
    latent = list(st.session_state[LATENT])
    latent[i] = st.session_state[key]
    st.session_state[LATENT] = latent
    st.session_state[CROSSED] = True


def _current_latent(dim: int) -> torch.Tensor:
    return torch.tensor(st.session_state[LATENT][:dim])


def _tiled(images: torch.Tensor, per_row: int, padding: int, scale: int) -> Image.Image:
    """Images in rows on a grey frame, as one picture with each pixel scale x scale."""
    from torchvision.utils import make_grid  # here: torchvision takes seconds; the map goes first

    return enlarged(make_grid(images, nrow=per_row, padding=padding, pad_value=0.5)[:1], scale)


def _inline(picture: Image.Image) -> str:
    """A PNG as a data URL: it arrives with the page update, without a second request."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode()


def _axis_name(i: int) -> str:
    return f"z{i + 1}"


def _axis_titles(explorer: Explorer) -> tuple[str, str]:
    if explorer.view == AXES:
        x_dim, y_dim = explorer.axes
        return _axis_name(x_dim), "" if y_dim is None else _axis_name(y_dim)
    return f"{explorer.view} 1", f"{explorer.view} 2"
