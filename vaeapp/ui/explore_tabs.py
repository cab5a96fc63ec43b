"""Explore's tabs: what follows the code the map pins (its sliders, neighbours, traversals, the
units, your own image, a selection, the manifold grid, prior samples), each drawn from one
`Explorer`, what the page fixed for its run."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st
import torch
from PIL import Image

from vaeapp.data.datasets import Dataset, Split
from vaeapp.data.images import enlarged, grid, png_bytes
from vaeapp.export.html_page import standalone_page
from vaeapp.latent.codes import decode, manifold_grid, prior_codes, reconstruct
from vaeapp.latent.views import ShownView
from vaeapp.model.activity import ACTIVE_VARIANCE, is_active
from vaeapp.model.networks import VAE
from vaeapp.model.posterior import (
    DensityMap,
    active_units,
    ellipse_outline,
    kl_per_dim,
    nearest,
    traversal_codes,
    unit_activity,
)
from vaeapp.ui.digit_input import digit_input
from vaeapp.ui.explore_state import MEAN, ExploreState
from vaeapp.ui.loaders import Snapshot, train_posteriors
from vaeapp.ui.map_component import (
    MapContent,
)
from vaeapp.ui.run_readers import run_summary
from vaeapp.ui.training_charts import kl_per_dim_figure
from vaeapp.ui.widgets import inline_png, kept

STANDALONE_PAGE = "Download this map as a standalone page (HTML)"
SLIDERS_SHOWN = 16


NEIGHBOURS = 8


TRAVERSAL_STEPS = 9


@dataclass(frozen=True)
class Explorer:
    """What the fragment needs, fixed for one full run of the page."""

    snapshot: Snapshot
    model: VAE
    data: Dataset
    mu: torch.Tensor  # the posteriors of the images on the map: the test set's, then the
    logvar: torch.Tensor  # training set's when those are shown too
    view: ShownView
    content: MapContent
    epoch: int | None  # a replayed epoch, or None for the model's own codes
    density: DensityMap | None
    sidebar: tuple[object, ...]  # the sidebar's values this run was made for

    @property
    def dim(self) -> int:
        return self.mu.shape[1]

    @property
    def n_test(self) -> int:
        return len(self.data.test)

    @property
    def dots(self) -> Split:
        """The images and labels of the dots, in the dots' order."""
        return self.data.first(len(self.mu))


def code_panel(state: ExploreState, explorer: Explorer) -> None:
    """The code shown, as sliders, and the buttons that replace it."""
    dim = explorer.dim
    buttons = st.columns(4)
    buttons[0].button("Random from prior", on_click=_draw_from_prior, args=(state, dim))
    buttons[1].button("Test codes' mean", on_click=state.set_code, args=(explorer.mu.mean(0), MEAN))
    buttons[2].button("Origin", on_click=state.set_code, args=(torch.zeros(dim), "the origin"))
    buttons[3].download_button(
        "Decoded image (PNG)",
        partial(_decoded_png, explorer.model, state.latent()),
        file_name="decoded.png",
        mime="image/png",
        on_click="ignore",
    )
    shown = min(dim, SLIDERS_SHOWN)
    ranges = explorer.content.code_ranges  # the map's own sliders' ranges
    columns = st.columns(4)
    for i in range(shown):
        _slider(state, columns[i % 4], i, ranges[i])
    if dim > shown:
        with st.expander(f"Dimensions {shown + 1} to {dim}"):
            rest = st.columns(4)
            for i in range(shown, dim):
                _slider(state, rest[i % 4], i, ranges[i])
    st.caption(
        "Each slider spans its dimension's test codes (a tenth more on each side), as the map's "
        "own sliders do (beside its picture: they decode as they move). "
        f"The code shown was set by {state.source}."
    )
    st.download_button(
        "Encoded test set (CSV: label and posterior mean of each image)",
        partial(_codes_csv, explorer, range(len(explorer.mu))),
        file_name="test_codes.csv",
        mime="text/csv",
        on_click="ignore",
    )
    st.download_button(
        STANDALONE_PAGE,
        partial(_standalone_page, explorer),
        file_name=f"{explorer.snapshot.run.name}-map.html",
        mime="text/html",
        on_click="ignore",
        help="One HTML file (about 20 MB, most of it the decoder's runtime) that opens from "
        "disk with no network: this map, decoding under the pointer, and the model's card.",
    )


def _standalone_page(explorer: Explorer) -> bytes:
    """The map as it shows now (its view, its dots), made when the button is clicked: the page
    is 20 MB, too much to make on every run."""
    summary = run_summary(explorer.snapshot.run)
    return standalone_page(explorer.content, summary, explorer.data)


def _slider(
    state: ExploreState,
    column: st.delta_generator.DeltaGenerator,
    i: int,
    limits: tuple[float, float],
) -> None:
    key = state.slider_key(i)
    low, high = (round(v, 2) for v in limits)
    low, high = min(low, state.code[i]), max(high, state.code[i])
    column.slider(
        f"z{i + 1}",
        low,
        high,
        float(state.code[i]),
        step=0.01,
        key=key,
        format="%.2f",
        on_change=lambda: state.move_slider(key, i, st.session_state[key]),
    )


def neighbours(explorer: Explorer, z: torch.Tensor) -> list[int]:
    """The test and training images whose codes lie nearest the code shown: does the model
    interpolate between what it saw, or copy it? Returns the test neighbours' dots, for the map
    to ring (none when the user turns the rings off)."""
    data = explorer.data
    near_test, test_far = nearest(explorer.mu[: explorer.n_test], z, NEIGHBOURS)
    st.markdown(f"**The {NEIGHBOURS} test images nearest this code** (label, latent distance)")
    _image_row(data.test.images[near_test], _named(data, data.test.labels[near_test], test_far))
    ringed = st.toggle("Ring them on the map", key="explore_ring_neighbours", value=True)
    if st.toggle("Also the nearest training images", key="explore_train_neighbours"):
        codes = train_posteriors(explorer.snapshot, data.spec)[0]
        near_train, train_far = nearest(codes, z, NEIGHBOURS)
        labels = data.train.labels[near_train]
        _image_row(data.train.images[near_train], _named(data, labels, train_far))
        st.caption(
            "If the decoded image copies one training image, the model memorised; if it blends "
            "its neighbours, it interpolates."
        )
    return near_test.tolist() if ringed else []


def _named(data: Dataset, labels: torch.Tensor, distances: np.ndarray) -> list[str]:
    """Captions: each image's class name and its distance from the code."""
    named = zip(labels.tolist(), distances.tolist(), strict=True)
    return [f"{data.classes[label]} · {d:.2f}" for label, d in named]


def traversals(explorer: Explorer, z: torch.Tensor) -> None:
    """Each dimension swept from -3 to +3 around the code, one row each, by KL spent."""
    if explorer.dim <= 2:
        st.info("With two dimensions or fewer the map itself is the traversal: move the pointer.")
        return
    kl = kl_per_dim(explorer.mu[: explorer.n_test], explorer.logvar[: explorer.n_test])
    order = torch.argsort(kl, descending=True).tolist()
    rows = kept(
        st.slider,
        "Dimensions shown",
        1,
        explorer.dim,
        key=f"explore_rows:{explorer.dim}",  # a count kept for a wider model would not fit
        default=min(8, explorer.dim),
    )
    dims = order[:rows]
    images = decode(explorer.model, traversal_codes(z, dims, TRAVERSAL_STEPS))
    st.image(
        inline_picture(grid(images, per_row=TRAVERSAL_STEPS, scale=2)),
        caption="Rows, top to bottom: "
        + ", ".join(f"z{d + 1} ({kl[d]:.2f} nats)" for d in dims)
        + "; columns: the dimension at code - 3 ... code + 3.",
    )


def units(explorer: Explorer) -> None:
    mu, logvar = explorer.mu[: explorer.n_test], explorer.logvar[: explorer.n_test]
    kl = kl_per_dim(mu, logvar)
    active = [is_active(v) for v in unit_activity(mu).tolist()]
    st.markdown(
        f"**{active_units(mu)} of {explorer.dim} units active**; KL(q(z|x) || p(z)) "
        f"= {kl.sum():.2f} nats per test image, by dimension:"
    )
    st.plotly_chart(kl_per_dim_figure(kl.tolist(), active), key="explore_kl", theme=None)
    st.caption(
        "Grey bars: inactive units (the variance of their posterior mean over the test set is "
        f"below {ACTIVE_VARIANCE:g}): their posterior is the prior, and they carry nothing."
    )


def encode_your_own(explorer: Explorer, state: ExploreState) -> np.ndarray | None:
    """Upload or draw a digit: where it lands, its ellipse, its reconstruction, its neighbours.
    Returns its ellipse on the map, for the map to draw (none where it has no image)."""
    left, right = st.columns([1, 2])
    with left:
        source = (explorer.data.spec, explorer.model.image_shape)
        image = digit_input("explore", "yours", "your image", source)
    if image is None:
        return None
    mu, logvar = (t[0] for t in explorer.model.encode(image[None].to(explorer.model.device)))
    mu, logvar = mu.detach().cpu(), logvar.detach().cpu()
    view = explorer.view.at(mu)
    point = view.project(mu[None])[0]
    covariance = view.covariances(logvar.exp()[None])
    ellipse = ellipse_outline(point, covariance[0]) if covariance is not None else np.empty((0, 2))
    with right:
        st.image(
            inline_picture(enlarged(reconstruct(explorer.model, image[None])[0], 5)),
            caption="Its reconstruction",
        )
        spread = ", ".join(f"{s:.2f}" for s in logvar.mul(0.5).exp()[:8].tolist())
        st.caption(
            f"Posterior mean at ({point[0]:.2f}, {point[1]:.2f}) on the map (red ellipse: one "
            f"standard deviation); sigma = {spread}{'…' if explorer.dim > 8 else ''}."
        )
        st.button("Pin it on the map", on_click=state.set_code, args=(mu, "your image"))
        near, far = nearest(explorer.mu[: explorer.n_test], mu, NEIGHBOURS)
        st.markdown("**Its nearest test images**")
        _image_row(explorer.data.test.images[near], [f"{d:.2f}" for d in far])
    return ellipse


def selection(explorer: Explorer, indices: tuple[int, ...]) -> None:
    """The dots chosen with the lasso or the box: their images, their codes to download."""
    if not indices:
        st.info("Choose Lasso or Box beside the map and draw round some dots.")
        return
    shown = explorer.dots.images[list(indices[:200])]
    st.image(
        inline_picture(grid(shown, per_row=20, scale=1)),
        caption=f"{len(indices)} selected"
        + (" (the first 200 shown)" if len(indices) > 200 else ""),
    )
    st.toggle("Their posterior ellipses on the map", key="explore_selected_ellipses", value=True)
    st.download_button(
        "Their codes and labels (CSV)",
        partial(_codes_csv, explorer, indices),
        file_name="selection.csv",
        mime="text/csv",
        on_click="ignore",
    )


def manifold(explorer: Explorer, z: torch.Tensor) -> None:
    """The decoder's images tiled over the map's box (Kingma & Welling's figure 4)."""
    side = kept(st.slider, "Grid size", 5, 30, key="explore_grid_side", default=15)
    content = explorer.content
    images = manifold_grid(
        explorer.model, explorer.view.at(z), content.x_range, content.y_range, side
    )
    picture = grid(images, per_row=side, padding=0, scale=1)
    st.image(
        inline_picture(picture), caption=f"{side} x {side} decoded over the map's box", width=420
    )
    st.download_button(
        "Manifold grid (PNG)",
        partial(png_bytes, picture),
        file_name="manifold.png",
        on_click="ignore",
    )


def prior_samples(model: VAE, state: ExploreState) -> None:
    """Samples from the prior: the decoder's mean at z ~ N(0, T^2 I)."""
    controls = st.columns([2, 1, 1])
    temperature = kept(
        controls[0].slider,
        "Temperature",
        0.1,
        2.0,
        step=0.1,
        key="explore_temperature",
        default=1.0,
        help="The prior's standard deviation is scaled by this: below 1, more typical images.",
    )
    count = kept(
        controls[1].selectbox, "How many", (16, 32, 64), key="explore_sample_count", default=32
    )
    controls[2].button("Reseed", on_click=_reseed, args=(state,))
    picture = grid(
        decode(model, prior_codes(count, model.latent_dim, state.sample_seed, temperature)),
        16,
        scale=2,
    )
    st.image(
        inline_picture(picture), caption=f"Seed {state.sample_seed}, temperature {temperature:.1f}"
    )
    st.download_button(
        "Prior samples (PNG)",
        partial(png_bytes, picture),
        file_name="prior_samples.png",
        on_click="ignore",
    )


def _image_row(images: torch.Tensor, captions: list[str]) -> None:
    st.image([inline_picture(enlarged(image, 3)) for image in images], caption=captions)


def _codes_csv(explorer: Explorer, indices: Iterable[int]) -> bytes:
    """Index, label, known factors (where the data has them) and posterior mean and standard
    deviation of each chosen test image."""
    dim, data = explorer.dim, explorer.data
    factors = explorer.dots.factors
    names = data.factor_names if factors is not None else ()
    out = io.StringIO()
    header = ["index", "label", *names, *(f"mu{i + 1}" for i in range(dim))]
    header += [f"sigma{i + 1}" for i in range(dim)]
    out.write(",".join(header) + "\n")
    sigma = explorer.logvar.mul(0.5).exp()
    labels = explorer.dots.labels
    for i in indices:
        known = [data.factor_values[f][int(v)] for f, v in enumerate(factors[i])] if names else []
        values = [f"{v:.6g}" for v in [*explorer.mu[i].tolist(), *sigma[i].tolist()]]
        out.write(",".join([str(i), str(int(labels[i])), *known, *values]) + "\n")
    return out.getvalue().encode()


def _draw_from_prior(state: ExploreState, dim: int) -> None:
    state.prior_draws += 1
    state.set_code(prior_codes(1, dim, seed=state.prior_draws)[0], "a draw from the prior")


def _reseed(state: ExploreState) -> None:
    state.sample_seed += 1


def inline_picture(picture: Image.Image) -> str:
    return inline_png(png_bytes(picture))


def _decoded_png(model: VAE, z: torch.Tensor) -> bytes:
    return png_bytes(enlarged(decode(model, z[None])[0], 8))
