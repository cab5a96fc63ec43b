"""The Explore page: the test set on a latent map that decodes under the pointer, and what makes
the model a VAE: posteriors, KL per dimension, neighbours, traversals, the training's replay.

The map is a component that decodes in the browser (`map_component`): moving the pointer
decodes there, a click pins a code and reruns this page's fragment, which shows what depends on
that code (sliders, neighbours, traversals). What the page remembers is one `ExploreState`;
which 2-D view is drawn is the core's choice (`views`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np
import streamlit as st
import torch

from vaeapp.data.datasets import Dataset
from vaeapp.data.images import enlarged
from vaeapp.errors import VaeappError
from vaeapp.latent.codes import decode
from vaeapp.latent.view_choice import AXES, UMAP
from vaeapp.latent.views import ShownView
from vaeapp.model.posterior import (
    DensityMap,
    ellipse_outline,
    in_hole,
)
from vaeapp.store.catalog import EXPLORE
from vaeapp.store.runs import CONFIG_FILE, Run
from vaeapp.ui.explore_state import SLIDER, ExploreState
from vaeapp.ui.explore_tabs import (
    Explorer,
    code_panel,
    encode_your_own,
    inline_picture,
    manifold,
    neighbours,
    prior_samples,
    selection,
    traversals,
    units,
)
from vaeapp.ui.factors_tab import TAB as FACTORS_TAB
from vaeapp.ui.factors_tab import factors
from vaeapp.ui.first_view import MAP_KEY, keeper, page_top, pin_waiting, show_caption
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
    Polyline,
    events_for,
    latent_map,
    map_events,
)
from vaeapp.ui.view_picker import VIEW_KEY, shown_view
from vaeapp.ui.widgets import (
    MODEL_KEY,
    images_key,
    images_to_map,
    kept,
    literal,
    model_picker,
    show_error,
)

TABS_KEY = "explore_tab"
Box = tuple[tuple[float, float], tuple[float, float]]  # a map's x and y ranges
REPLAY_STEP_S = 1.5  # Play's pace: an epoch's map drawn and seen before the next
STEPPED_AT = "_explore_replay_stepped_at"  # when Play last stepped (time.monotonic)
NEXT_EPOCH = "_explore_replay_next"  # Play's step: (the replay slider's key, its next value)
ALL_ELLIPSES_LIMIT = 3000  # more ellipses than this crowd the map and slow its overlay
PRIOR_INK, DATA_INK, OWN_INK = "#7f7f7f", "#6f33b8", "#d62728"
TABS = (
    "Latent code",
    "Neighbours",
    "Traversals",
    "KL per dimension",
    FACTORS_TAB,
    "Encode your own",
    "Selection",
    "Manifold grid",
    "Prior samples",
)


def render() -> None:
    run = model_picker(EXPLORE)
    caption = page_top()
    try:
        snap = snapshot(run)
        model, config = load_model(snap)
        images = images_to_map(run, config)
        data = load_data(images, config.model.image_shape)
        mu, logvar = test_posteriors(snap, images)
    except VaeappError as error:
        show_error(error)
    dim = mu.shape[1]
    ExploreState.of_session().start_over_if_new(f"{run.path}:{dim}", mu.mean(dim=0))
    view = shown_view(snap, data.spec, mu)
    epoch, mu, logvar, points, box = _dots(snap, data, view, mu, logvar)
    text = (
        f"Each dot: one of {len(mu):,} {'test ' if len(mu) == len(data.test) else ''}images of "
        f"{data.spec} at the mean of its posterior q(z|x)"
        + ("" if epoch is None else f" after epoch {epoch}")
        + f", {view.describe(dim)}. Point to decode; click to pin."
    )
    show_caption(caption, text, data.source)
    _explorer(
        Explorer(
            snapshot=snap,
            model=model,
            data=data,
            mu=mu,
            logvar=logvar,
            view=view,
            content=map_content_for(
                snap, data, mu, logvar, view, points, epoch, box, _colour_by(data)
            ),
            epoch=epoch,
            density=_overlay_choices(snap, data.spec, view, logvar, epoch),
            sidebar=_sidebar_choices(run),  # last: once every sidebar widget is made
        ),
        keeper(run.path, (CONFIG_FILE, run.weights_path.name), text, data.source),
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


def _colour_by(data: Dataset) -> int | None:
    """The known factor the sidebar colours the dots by, where the data has factors."""
    if not data.factor_names:
        return None
    return kept(
        st.sidebar.selectbox,
        "Colour dots by",
        range(len(data.factor_names)),
        format_func=lambda i: data.factor_names[i],
        key="explore_colour_by",
        help="Each image's known factor: does the map sort the images by it?",
    )


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


def sidebar_keys(run: Run) -> tuple[str, ...]:
    """The keys of every widget the sidebar shows on Explore for `run`."""
    fixed = (MODEL_KEY, VIEW_KEY, "explore_x", "explore_y", "explore_all_images")
    overlays = ("explore_colour_by", "explore_all_ellipses", "explore_density")
    return (*fixed, *overlays, images_key(run), *_replay_keys(run))


def _sidebar_choices(run: Run) -> tuple[object, ...]:
    return tuple(st.session_state.get(key) for key in sidebar_keys(run))


@st.fragment
def _explorer(explorer: Explorer, keep_first: Callable[[bytes, str], None] | None) -> None:
    """The map and everything that follows the code it pins. Data flows down the page: the
    map's slot comes first, and the map is drawn into it once the tabs it shows have worked
    out their part (the neighbours it rings, your own image's ellipse); the tabs that only
    follow the code are filled after it, so the browser has the map without waiting for them.
    `keep_first` keeps the session's first map for a fresh server's first view."""
    if _sidebar_choices(explorer.snapshot.run) != explorer.sidebar:
        # Streamlit sends a sidebar change that came with a map event (the decoder's word,
        # as the map loads) as this fragment's rerun: the page this map belongs to is stale.
        st.rerun()
    state = ExploreState.of_session()
    events = events_for(explorer.content, MAP_KEY)
    if pin_waiting():  # a click on the first view's map, before this page could take it
        _on_pin()
    z = state.latent()
    map_slot = st.container()
    # The notes take one slot whatever they say: the tabs keep their place, so the browser
    # keeps the tab the user opened (it makes a moved element anew).
    with st.container():
        _notes(explorer, z, events.browser_decodes)
        if events.ignored:  # a console's doing, not a click's: said quietly, never acted on
            st.caption(
                f"The map sent a {' and a '.join(events.ignored)} that did not fit: ignored."
            )
    tabs = st.tabs(TABS, key=TABS_KEY, on_change="rerun")
    with tabs[0]:
        code_panel(state, explorer)
    with tabs[1]:
        near = neighbours(explorer, z)
    with tabs[5]:
        own = encode_your_own(explorer, state)
    with map_slot:
        latent_map(
            explorer.content,
            key=MAP_KEY,
            base=state.code if explorer.view.choice.shown == AXES else None,
            pin_point=_cross(explorer, z) if state.chosen_here else None,
            pin_code=state.code if state.chosen_here else None,
            overlays=_overlays(explorer, own),
            marked=near,
            on_pin=_on_pin,
            scope=state.model,
            keep_first=keep_first,
        )
    with tabs[6]:
        selection(explorer, events.selection.indices if events.selection else ())
    # The tabs that only show, and feed the map nothing, are made when open: each costs every
    # run of the map (a pin, a slider, a view) decoding, a picture or a chart, and the browser
    # its drawing, and they are looked at one at a time.
    shown_when_open = {
        2: partial(traversals, explorer, z),
        3: partial(units, explorer),
        4: partial(factors, explorer),
        7: partial(manifold, explorer, z),
        8: partial(prior_samples, explorer.model, state),
    }
    for index, show in shown_when_open.items():
        if tabs[index].open:
            with tabs[index]:
                show()


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
            inline_picture(enlarged(decode(explorer.model, z[None])[0], 6)),
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


def _replay_keys(run: Run) -> tuple[str, str]:
    """The keys of a run's replay slider and of its Play toggle."""
    return f"explore_replay:{run.path}", f"explore_replay_play:{run.path}"


def _replay_choice(run: Run) -> int | None:
    """The sidebar's training replay: the map as it was after an epoch (None: the model's),
    and Play, which steps through the epochs to the model's own map."""
    epochs = run.replay_epochs()
    if len(epochs) < 2:
        return None
    options = [*epochs, "now"]
    key, playing = _replay_keys(run)
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
