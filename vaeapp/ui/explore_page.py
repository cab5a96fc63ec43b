"""The Explore page: the test set on a latent map that decodes under the pointer, and what makes
the model a VAE: posteriors, KL per dimension, neighbours, traversals, the training's replay.

The map is a component that decodes in the browser (`map_component`): moving the pointer
decodes there, a click pins a code and reruns this page's fragment, which shows what depends on
that code (sliders, neighbours, traversals). What the page remembers is one `ExploreState`;
which 2-D view is drawn is the core's choice (`views`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st
import torch
from PIL import Image

from vaeapp.data.images import enlarged, grid, png_bytes
from vaeapp.data.sources import Dataset, Split
from vaeapp.errors import VaeappError
from vaeapp.latent.codes import decode, manifold_grid, prior_codes, reconstruct
from vaeapp.latent.views import AXES, UMAP, ShownView
from vaeapp.model.networks import VAE
from vaeapp.model.posterior import (
    ACTIVE_VARIANCE,
    DensityMap,
    active_units,
    ellipse_outline,
    in_hole,
    is_active,
    kl_per_dim,
    nearest,
    traversal_codes,
    unit_activity,
)
from vaeapp.store.catalog import EXPLORE
from vaeapp.store.runs import Run
from vaeapp.ui.digit_input import digit_input
from vaeapp.ui.explain import what_am_i_looking_at_over
from vaeapp.ui.explore_state import MEAN, SLIDER, ExploreState
from vaeapp.ui.loaders import (
    Snapshot,
    density_for,
    load_data,
    load_model,
    map_content_for,
    replay_box,
    replayed_codes,
    snapshot,
    test_posteriors,
    train_posteriors,
)
from vaeapp.ui.map_component import (
    MapContent,
    Polyline,
    events_for,
    latent_map,
    map_events,
)
from vaeapp.ui.training_charts import kl_per_dim_figure
from vaeapp.ui.widgets import inline_png, kept, literal, model_picker, show_error, shown_view

MAP_KEY = "explore_map"
Box = tuple[tuple[float, float], tuple[float, float]]  # a map's x and y ranges
REPLAY_STEP_S = 1.5  # Play's pace: an epoch's map drawn and seen before the next
STEPPED_AT = "_explore_replay_stepped_at"  # when Play last stepped (time.monotonic)
NEXT_EPOCH = "_explore_replay_next"  # Play's step: (the replay slider's key, its next value)
SLIDERS_SHOWN = 16
NEIGHBOURS = 8
TRAVERSAL_STEPS = 9
ALL_ELLIPSES_LIMIT = 3000  # more ellipses than this crowd the map and slow its overlay
PRIOR_INK, DATA_INK, OWN_INK = "#7f7f7f", "#6f33b8", "#d62728"
TABS = (
    "Latent code",
    "Neighbours",
    "Traversals",
    "KL per dimension",
    "Encode your own",
    "Selection",
    "Manifold grid",
    "Prior samples",
)


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


def render() -> None:
    run = model_picker(EXPLORE)
    st.title("Explore the latent space")
    caption, explained = st.columns([3, 1], vertical_alignment="center")
    with explained:
        what_am_i_looking_at_over("Explore")
    try:
        snap = snapshot(run)
        model, config = load_model(snap)
        data = load_data(config.train.data)
        mu, logvar = test_posteriors(snap, config.train.data)
    except VaeappError as error:
        show_error(error)
    dim = mu.shape[1]
    ExploreState.of_session().start_over_if_new(f"{run.path}:{dim}", mu.mean(dim=0))
    view = shown_view(snap, data.spec, mu)
    epoch, mu, logvar, points, box = _dots(snap, data, view, mu, logvar)
    caption.caption(
        f"Each dot: one of {len(mu):,} {'test ' if len(mu) == len(data.test) else ''}images of "
        f"{literal(data.spec)} at the mean of its posterior q(z|x)"
        + ("" if epoch is None else f" after epoch {epoch}")
        + f", {view.describe(dim)}. Point to decode; click to pin.",
        help=data.source,
    )
    _explorer(
        Explorer(
            snapshot=snap,
            model=model,
            data=data,
            mu=mu,
            logvar=logvar,
            view=view,
            content=map_content_for(snap, data, mu, logvar, view, points, epoch, box),
            epoch=epoch,
            density=_overlay_choices(snap, data.spec, view, logvar, epoch),
        )
    )


def _dots(
    snap: Snapshot, data: Dataset, view: ShownView, mu: torch.Tensor, logvar: torch.Tensor
) -> tuple[int | None, torch.Tensor, torch.Tensor, np.ndarray, Box | None]:
    """What the map shows, as the sidebar chooses: the test codes after a replayed epoch, or
    the model's own, with the training images' too if asked; the epoch (None: the model's),
    the codes, their log-variances, their points on the map and the map's box where it is not
    theirs (a replay's: every epoch's, so that the axes hold while the dots move)."""
    epoch = _replay_choice(snap.run)
    try:
        replayed = None if epoch is None else replayed_codes(snap, epoch)
        box = None if epoch is None else replay_box(snap, view, snap.run.replay_epochs())
    except VaeappError as error:  # a damaged file in the run's replay folder
        st.sidebar.warning(literal(f"{error}: no replay."))
        epoch = replayed = box = None
    if replayed is not None and replayed.shape != mu.shape:
        st.sidebar.warning(
            f"The codes kept after epoch {epoch} are of {len(replayed):,} images, not of this "
            f"data set's {len(mu):,}: no replay."
        )
        epoch = replayed = None
    if replayed is not None:  # where the test codes lay then; decoding is the trained model's
        return epoch, replayed, logvar, view.projection.project(replayed), box
    if kept(
        st.sidebar.toggle,
        f"Training images too ({len(data.train) + len(data.test):,} dots)",
        key="explore_all_images",
        help="The map shows the test images; this adds the training images, each at the mean "
        "of its posterior.",
    ):
        train_mu, train_logvar = train_posteriors(snap, data.spec)
        points = np.vstack([view.points, view.projection.project(train_mu)])
        return None, torch.cat([mu, train_mu]), torch.cat([logvar, train_logvar]), points, None
    return None, mu, logvar, view.points, None


def _overlay_choices(
    snap: Snapshot, spec: str, view: ShownView, logvar: torch.Tensor, epoch: int | None
) -> DensityMap | None:
    """The sidebar's overlays: every dot's ellipse where the view is linear (read by the map's
    overlays), and for a 2-D latent space on its own axes the prior's and the aggregate
    posterior's contours, returned."""
    if view.projection.covariances(logvar[:1].exp()) is not None and epoch is None:
        kept(
            st.sidebar.toggle,
            "Posterior ellipses of every dot",
            key="explore_all_ellipses",
            help="Each test image's q(z|x) as its one-standard-deviation ellipse (hover a dot "
            f"for its own; at most {ALL_ELLIPSES_LIMIT:,} are drawn).",
        )
    if logvar.shape[1] != 2 or view.choice.shown != AXES:
        return None
    if not kept(
        st.sidebar.toggle,
        "Prior and aggregate posterior",
        key="explore_density",
        help="Contours of p(z) (grey, dashed) and of q(z), the mixture of every test image's "
        "q(z|x) (purple): where the prior has mass and the data none, the decoder never "
        "learned.",
    ):
        return None
    return density_for(snap, spec, view.points)


@st.fragment
def _explorer(explorer: Explorer) -> None:
    """The map and everything that follows the code it pins. Data flows down the page: the
    map's slot comes first, and the map is drawn into it last, with what the tabs found (your
    own image's ellipse)."""
    state = ExploreState.of_session()
    z = state.latent()
    events = events_for(explorer.content, MAP_KEY)
    map_slot = st.container()
    # The notes take one slot whatever they say: the tabs keep their place, so the browser
    # keeps the tab the user opened (it makes a moved element anew).
    with st.container():
        _notes(explorer, z, events.browser_decodes)
        if events.ignored:  # a console's doing, not a click's: said quietly, never acted on
            st.caption(
                f"The map sent a {' and a '.join(events.ignored)} that did not fit: ignored."
            )
    tabs = st.tabs(TABS)
    with tabs[0]:
        _code_panel(state, explorer)
    with tabs[1]:
        neighbours = _neighbours(explorer, z)
    with tabs[2]:
        _traversals(explorer, z)
    with tabs[3]:
        _units(explorer)
    with tabs[4]:
        own = _encode_your_own(explorer, state)
    with tabs[5]:
        _selection(explorer, events.selection.indices if events.selection else ())
    with tabs[6]:
        _manifold(explorer, z)
    with tabs[7]:
        _prior_samples(explorer.model, state)
    with map_slot:
        latent_map(
            explorer.content,
            key=MAP_KEY,
            base=state.code if explorer.view.choice.shown == AXES else None,
            pin_point=_cross(explorer, z) if state.chosen_here else None,
            pin_code=state.code if state.chosen_here else None,
            overlays=_overlays(explorer, own),
            marked=neighbours,
            on_pin=_on_pin,
        )


def _on_pin() -> None:
    """A click pins a code the map marks itself; the map's sliders send a code without a point,
    which the page marks, as it does its own sliders'."""
    pin = map_events(MAP_KEY).pin
    if pin is None:
        return
    state = ExploreState.of_session()
    if pin.point is None:
        state.set_code(torch.tensor(pin.code), SLIDER)
    else:
        state.pinned(pin.code, pin.index)


def _cross(explorer: Explorer, z: torch.Tensor) -> tuple[float, float]:
    x, y = explorer.view.at(z).project(z[None])[0]
    return float(x), float(y)


def _notes(explorer: Explorer, z: torch.Tensor, browser_decodes: bool | None) -> None:
    """What the map alone does not say: the decoded image where the browser cannot decode, the
    view's limits, a code in a hole of the aggregate posterior."""
    state = ExploreState.of_session()
    if not explorer.content.decoder:
        why = "this model's decoder is too large to send to the browser"
    else:
        why = "this browser cannot decode itself"
    if browser_decodes is False or not explorer.content.decoder:
        st.image(
            _inline(enlarged(decode(explorer.model, z[None])[0], 6)),
            caption=f"Decoded here by the server: E[x | z] ({why})",
        )
    if explorer.view.choice.shown == AXES and explorer.dim > 2:
        x_dim, y_dim = explorer.view.axes
        hidden = explorer.dim - 2
        st.caption(
            f"The map varies z{x_dim + 1} and z{y_dim + 1}; the other {hidden} dimensions are "
            f"held where {state.source} set them (see the sliders)."
        )
    if explorer.view.choice.shown == UMAP:
        st.caption(
            "UMAP bends distances, so no posterior ellipse is drawn on it; a point outside the "
            "dashed hull decodes the code of the nearest test image."
        )
    density = explorer.density
    if density is not None:
        variances = explorer.logvar.exp().numpy()
        if in_hole(z.numpy(), explorer.mu.numpy(), variances, density.aggregate_peak):
            st.warning(
                "This code lies in a hole: the prior p(z) puts mass here, but the aggregate "
                "posterior q(z) has almost none (no test image's code lies near). The decoder "
                "was trained on codes near the data's, so what it decodes here is not what it "
                "was trained to produce: it may still look like a digit, and samples from the "
                "prior that land here may be off.",
                icon=":material/blur_circular:",
            )


def _overlays(explorer: Explorer, own: np.ndarray | None) -> list[Polyline]:
    """Lines over the dots: the UMAP hull, the density contours, the posterior ellipses asked
    for (all, or the selected dots'), and your own image's."""
    view = explorer.view
    lines: list[Polyline] = []
    outline = view.projection.outline()
    if outline is not None:
        lines.append(Polyline(outline, color="grey", width=1, dashed=True))
    if explorer.density is not None:
        lines += [Polyline(c, color=PRIOR_INK, dashed=True) for c in explorer.density.prior]
        lines += [Polyline(c, color=DATA_INK) for c in explorer.density.aggregate]
    covariances = explorer.content.covariances
    if covariances is not None and explorer.epoch is None:
        chosen = _ellipse_dots(explorer)
        points = explorer.content.points
        lines += [Polyline(ellipse_outline(points[i], covariances[i]), width=1) for i in chosen]
    if own is not None:
        lines.append(Polyline(own, color=OWN_INK, width=2))
    return lines


def _ellipse_dots(explorer: Explorer) -> list[int]:
    """The dots whose posterior ellipses are drawn: all (when asked, and not too many), else
    the selected ones (hovering draws any dot's by itself)."""
    if st.session_state.get("explore_all_ellipses"):
        return list(range(min(len(explorer.mu), ALL_ELLIPSES_LIMIT)))
    selection = map_events(MAP_KEY).selection
    if selection is None or not st.session_state.get("explore_selected_ellipses", True):
        return []
    return list(selection.indices[:ALL_ELLIPSES_LIMIT])


def _code_panel(state: ExploreState, explorer: Explorer) -> None:
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
        on_change=lambda: state.move_slider(i, st.session_state[key]),
    )


def _neighbours(explorer: Explorer, z: torch.Tensor) -> list[int]:
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


def _traversals(explorer: Explorer, z: torch.Tensor) -> None:
    """Each dimension swept from -3 to +3 around the code, one row each, by KL spent."""
    if explorer.dim <= 2:
        st.info("With two dimensions or fewer the map itself is the traversal: move the pointer.")
        return
    kl = kl_per_dim(explorer.mu[: explorer.n_test], explorer.logvar[: explorer.n_test])
    order = torch.argsort(kl, descending=True).tolist()
    rows = st.slider("Dimensions shown", 1, explorer.dim, min(8, explorer.dim), key="explore_rows")
    dims = order[:rows]
    images = decode(explorer.model, traversal_codes(z, dims, TRAVERSAL_STEPS))
    st.image(
        _inline(grid(images, per_row=TRAVERSAL_STEPS, scale=2)),
        caption="Rows, top to bottom: "
        + ", ".join(f"z{d + 1} ({kl[d]:.2f} nats)" for d in dims)
        + "; columns: the dimension at code - 3 ... code + 3.",
    )


def _units(explorer: Explorer) -> None:
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


def _encode_your_own(explorer: Explorer, state: ExploreState) -> np.ndarray | None:
    """Upload or draw a digit: where it lands, its ellipse, its reconstruction, its neighbours.
    Returns its ellipse on the map, for the map to draw (none where it has no image)."""
    left, right = st.columns([1, 2])
    with left:
        image = digit_input("explore", "yours", "your image", explorer.data.spec)
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
            _inline(enlarged(reconstruct(explorer.model, image[None])[0], 5)),
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


def _selection(explorer: Explorer, indices: tuple[int, ...]) -> None:
    """The dots chosen with the lasso or the box: their images, their codes to download."""
    if not indices:
        st.info("Choose Lasso or Box beside the map and draw round some dots.")
        return
    shown = explorer.dots.images[list(indices[:200])]
    st.image(
        _inline(grid(shown, per_row=20, scale=1)),
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


def _manifold(explorer: Explorer, z: torch.Tensor) -> None:
    """The decoder's images tiled over the map's box (Kingma & Welling's figure 4)."""
    side = st.slider("Grid size", 5, 30, 15, key="explore_grid_side")
    content = explorer.content
    images = manifold_grid(
        explorer.model, explorer.view.at(z), content.x_range, content.y_range, side
    )
    picture = grid(images, per_row=side, padding=0, scale=1)
    st.image(_inline(picture), caption=f"{side} x {side} decoded over the map's box", width=420)
    st.download_button(
        "Manifold grid (PNG)",
        partial(png_bytes, picture),
        file_name="manifold.png",
        on_click="ignore",
    )


def _prior_samples(model: VAE, state: ExploreState) -> None:
    """Samples from the prior: the decoder's mean at z ~ N(0, T^2 I)."""
    controls = st.columns([2, 1, 1])
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
    picture = grid(
        decode(model, prior_codes(count, model.latent_dim, state.sample_seed, temperature)),
        16,
        scale=2,
    )
    st.image(_inline(picture), caption=f"Seed {state.sample_seed}, temperature {temperature:.1f}")
    st.download_button(
        "Prior samples (PNG)",
        partial(png_bytes, picture),
        file_name="prior_samples.png",
        on_click="ignore",
    )


def _image_row(images: torch.Tensor, captions: list[str]) -> None:
    st.image([_inline(enlarged(image, 3)) for image in images], caption=captions)


def _codes_csv(explorer: Explorer, indices: Iterable[int]) -> bytes:
    """Index, label and posterior mean (and standard deviation) of each chosen test image."""
    dim = explorer.dim
    out = io.StringIO()
    header = ["index", "label", *(f"mu{i + 1}" for i in range(dim))]
    header += [f"sigma{i + 1}" for i in range(dim)]
    out.write(",".join(header) + "\n")
    sigma = explorer.logvar.mul(0.5).exp()
    labels = explorer.dots.labels
    for i in indices:
        values = [*explorer.mu[i].tolist(), *sigma[i].tolist()]
        out.write(f"{i},{int(labels[i])}," + ",".join(f"{v:.6g}" for v in values) + "\n")
    return out.getvalue().encode()


def _draw_from_prior(state: ExploreState, dim: int) -> None:
    state.prior_draws += 1
    state.set_code(prior_codes(1, dim, seed=state.prior_draws)[0], "a draw from the prior")


def _reseed(state: ExploreState) -> None:
    state.sample_seed += 1


def _inline(picture: Image.Image) -> str:
    return inline_png(png_bytes(picture))


def _decoded_png(model: VAE, z: torch.Tensor) -> bytes:
    return png_bytes(enlarged(decode(model, z[None])[0], 8))


def _replay_choice(run: Run) -> int | None:
    """The sidebar's training replay: the map as it was after an epoch (None: the model's),
    and Play, which steps through the epochs to the model's own map."""
    epochs = run.replay_epochs()
    if len(epochs) < 2:
        return None
    options = [*epochs, "now"]
    key, playing = f"explore_replay:{run.path}", f"explore_replay_play:{run.path}"
    # Play's step lands here, before the widgets are made: their values may be set only then.
    step = st.session_state.pop(NEXT_EPOCH, None)
    if step is not None and step[0] == key and step[1] in options:
        st.session_state[key] = step[1]
        if step[1] == "now":
            st.session_state[playing] = False
    chosen = st.sidebar.select_slider(
        "Training replay: the map after epoch",
        options=options,
        value="now",
        key=key,
        help="Where the test codes lay after each epoch of training: watch the latent space "
        "organise. The axes hold across the epochs. Decoding always uses the trained model.",
    )
    st.sidebar.toggle(
        "Play the replay",
        key=playing,
        on_change=_play_from_the_start,
        args=(key, playing, options[0]),
        help="Step through the epochs, one every "
        f"{REPLAY_STEP_S:g} seconds, to the trained model's map.",
    )
    player = st.sidebar.empty()  # a slot: the player comes and goes, the sidebar stays put
    if st.session_state[playing]:
        with player:
            _replay_player(key, options)
    return None if chosen == "now" else int(chosen)


def _play_from_the_start(key: str, playing: str, first: int) -> None:
    """Play, switched on at the trained model's map, starts at the first epoch kept."""
    if st.session_state[playing]:
        if st.session_state.get(key, "now") == "now":
            st.session_state[key] = first
        st.session_state[STEPPED_AT] = time.monotonic()


@st.fragment(run_every=REPLAY_STEP_S)
def _replay_player(key: str, options: list[int | str]) -> None:
    """While Play is on: every REPLAY_STEP_S seconds the next epoch, through a run of the whole
    page (the map's content is the page's); at the model's own map it stops. The step waits for
    the next run, as a fragment may not set widgets made outside it."""
    if time.monotonic() - st.session_state.get(STEPPED_AT, 0.0) < 0.8 * REPLAY_STEP_S:
        return  # the page's own run, just after a step
    current = st.session_state.get(key, "now")
    following = options[options.index(current) + 1] if current in options[:-1] else "now"
    st.session_state[STEPPED_AT] = time.monotonic()
    st.session_state[NEXT_EPOCH] = (key, following)
    st.rerun(scope="app")
