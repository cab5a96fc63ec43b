"""The Explore page: the test set on a latent map; click anywhere to decode; sliders; grids.

The map, the decoded image and the sliders form one fragment, so a click or a slider move reruns
only them. What the page remembers between reruns (the code shown, the last click, the sliders'
generation) is one `ExploreState`; which 2-D view is drawn is the core's choice (`views`).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from PIL import Image

from vaeapp.catalog import EXPLORE
from vaeapp.data import Dataset
from vaeapp.errors import VaeappError
from vaeapp.images import enlarged, grid, png_bytes
from vaeapp.latent import decode, manifold_grid, padded_range, prior_codes, reconstruct
from vaeapp.model import VAE
from vaeapp.runs import CHECKPOINT_FILE
from vaeapp.ui.explain import what_am_i_looking_at
from vaeapp.ui.explore_state import Click, ExploreState
from vaeapp.ui.latent_map import clicked, latent_map_figure
from vaeapp.ui.loaders import encoded_test_set, load_data, load_model
from vaeapp.ui.widgets import ShownView, model_picker, show_error, shown_view
from vaeapp.views import AXES, Projection

SLIDERS_SHOWN = 16
MAP_KEY = "explore_map"
FULL_RUNS = "explore_full_runs"
DECODED_SCALE = 9


@dataclass(frozen=True)
class Explorer:
    """What the fragment needs, fixed for one full run of the page."""

    model: VAE
    data: Dataset
    codes: torch.Tensor
    view: ShownView
    view_id: str
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
    run = model_picker(EXPLORE)
    st.title("Explore the latent space")
    what_am_i_looking_at("Explore")
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
    ExploreState.of_session().start_over_if_new(f"{run.path}:{dim}", dim)
    view = shown_view(run, data.spec, codes)
    points = view.points
    explorer = Explorer(
        model=model,
        data=data,
        codes=codes,
        view=view,
        view_id=f"{run.path}@{run.modified(CHECKPOINT_FILE)}:{view.choice.shown}:{view.axes}",
        points=points,
        x_range=padded_range(points[:, 0]),
        y_range=padded_range(points[:, 1]),
        limit=float(max(3, math.ceil(codes.abs().max()))),
    )
    _latent_panel(explorer)
    _prior_panel(model)


@st.fragment
def _latent_panel(explorer: Explorer) -> None:
    """Map, decoded image and sliders: what a click or a slider move changes."""
    state = ExploreState.of_session()
    model, dim = explorer.model, explorer.codes.shape[1]
    z = state.latent()
    view = explorer.view.at(z)
    controls = st.columns([1, 2, 3])
    show_grid = controls[0].toggle("Manifold grid", key="explore_manifold")
    side = controls[1].slider("Grid size", 5, 30, 15, key="explore_grid_side")
    click = state.click_in(explorer.view_id)
    grid_side = side if show_grid else None
    depends_on_z = show_grid and explorer.view.choice.shown == AXES and dim > 2
    rest = (explorer.view_id, st.session_state[FULL_RUNS], grid_side)
    mark = _mark(state, repr((*rest, z.tolist() if depends_on_z else None)), view, z, click)
    figure = _figure(state, explorer, view, mark, grid_side)
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
    _sliders(state, dim, explorer.limit)


def _figure(
    state: ExploreState, explorer: Explorer, view: Projection, mark: Mark, grid_side: int | None
) -> go.Figure:
    """The map showing `mark`, with a manifold grid of that size under it; built again only when
    the mark changes (clicks that follow clicks keep it)."""
    kept = state.kept.get("figure")
    if kept is not None and kept[0] == mark:
        return kept[1]
    background = None
    if grid_side is not None:
        tiles = manifold_grid(explorer.model, view, explorer.x_range, explorer.y_range, grid_side)
        background = grid(tiles, per_row=grid_side, padding=0)
    figure = latent_map_figure(
        explorer.points,
        explorer.data.test.labels.numpy(),
        explorer.data.classes,
        explorer.x_range,
        explorer.y_range,
        axis_titles=explorer.view.axis_titles,
        marker=mark.cross,
        picked=mark.picked,
        outline=view.outline(),
        background=background,
        revision=explorer.view_id,
    )
    state.kept["figure"] = (mark, figure)
    return figure


def _decoded(model: VAE, z: torch.Tensor, explorer: Explorer, click: Click | None) -> None:
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
    right.image(_inline(enlarged(reconstruct(model, original)[0], 4)), caption="Reconstructed")


def _sliders(state: ExploreState, dim: int, limit: float) -> None:
    st.subheader("Latent code")
    buttons = st.columns([1, 1, 4])
    buttons[0].button("Random from prior", on_click=_draw_from_prior, args=(state, dim))
    buttons[1].button("Reset to origin", on_click=state.set_code, args=(torch.zeros(dim),))
    shown = min(dim, SLIDERS_SHOWN)
    columns = st.columns(4)
    for i in range(shown):
        _slider(state, columns[i % 4], i, limit)
    if dim > shown:
        with st.expander(f"Dimensions {shown + 1} to {dim}"):
            rest = st.columns(4)
            for i in range(shown, dim):
                _slider(state, rest[i % 4], i, limit)


def _slider(
    state: ExploreState, column: st.delta_generator.DeltaGenerator, i: int, limit: float
) -> None:
    key = state.slider_key(i)
    column.slider(
        f"z{i + 1}",
        -limit,
        limit,
        float(np.clip(state.code[i], -limit, limit)),
        step=0.01,
        key=key,
        format="%.2f",
        on_change=lambda: state.move_slider(i, st.session_state[key]),
    )


@st.fragment
def _prior_panel(model: VAE) -> None:
    """Samples from the prior: the decoder's mean at z ~ N(0, T^2 I)."""
    state = ExploreState.of_session()
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
    controls[2].button("Reseed", on_click=_reseed, args=(state,))
    codes = prior_codes(count, model.latent_dim, state.sample_seed, temperature)
    st.image(
        grid(decode(model, codes), per_row=16, scale=2),
        caption=f"Seed {state.sample_seed}, temperature {temperature:.1f}",
        output_format="PNG",
    )


def _on_click(explorer: Explorer, view: Projection) -> None:
    """A click on the map: decode where it landed (a dot: that test image's own code)."""
    state = ExploreState.of_session()
    click = clicked(st.session_state[MAP_KEY]["selection"])
    if click is None:  # a double click clears the pick in the browser: draw it again
        state.kept.pop("mark", None)
        return
    if click.index is not None:
        z = explorer.codes[click.index]
    else:
        z = view.inverse(np.array([click.point]))[0]
    state.clicked(Click(explorer.view_id, click.point, click.index, click.marker), z)


def _mark(
    state: ExploreState, figure: str, view: Projection, z: torch.Tensor, click: Click | None
) -> Mark:
    """How the figure shows the decoded spot; `figure` names everything else the figure shows.

    After a click the browser shows the clicked marker as picked by itself. So while nothing
    else in the figure changes and it shows no cross, a click leaves it exactly as it was (with
    an earlier pick, or none), and the browser neither redraws it nor loses its zoom. When it
    changes anyway, it shows the latest pick, or a cross at a code the sliders or buttons set.
    """
    previous = state.kept.get("mark")
    if click is None:
        cross = tuple(view.project(z[None])[0]) if state.crossed else None
        mark = Mark(figure, cross=cross)
    elif previous is not None and previous.cross is None and previous.figure == figure:
        mark = previous
    else:
        mark = Mark(figure, picked=click.marker)
    state.kept["mark"] = mark
    return mark


def _draw_from_prior(state: ExploreState, dim: int) -> None:
    state.prior_draws += 1
    state.set_code(prior_codes(1, dim, seed=state.prior_draws)[0])


def _reseed(state: ExploreState) -> None:
    state.sample_seed += 1


def _inline(picture: Image.Image) -> str:
    """A PNG as a data URL: it arrives with the page update, without a second request."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode()
