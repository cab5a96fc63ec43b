"""Widgets more than one page uses: the model picker, error display, widgets that keep their
value. No torch: the Train and Compare pages use them in a server without it (the choice of
2-D view, which has torch, is `view_picker`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import streamlit as st

from vaeapp.config import IMPORTED_ARCH, RunConfig
from vaeapp.data.specs import NAMED_SHAPES
from vaeapp.errors import DataError, PathError, VaeappError
from vaeapp.model.normalised import NOT_NORMALISED
from vaeapp.paths import data_dir, runs_dir
from vaeapp.store.catalog import (
    DEFAULT_MODEL,
    Entry,
    RunSummary,
    default_for,
    entries,
    entry_for,
    find,
)
from vaeapp.store.runs import Run
from vaeapp.ui.run_readers import summary_reader
from vaeapp.ui.text import literal

MODEL_KEY = "model_path"
CHOSEN_KEY = "chosen_model"  # the model the user (or a link) chose: kept across pages
URL_RUN_KEY = "url_run"  # the name the URL held when the picker last read or wrote it


def available_models() -> tuple[dict[str, Entry], dict[str, str]]:
    """The catalog's models by folder, in its order, with summaries cached by file times; and
    those that cannot be read, by name, each with why."""
    listed, unreadable = entries(read_summary=summary_reader())
    return {str(entry.run.path): entry for entry in listed}, unreadable


def model_picker(page: str) -> Run:
    """The sidebar's model choice, on a page that shows a model (Explore, Interpolate). A model
    chosen here, or named in the URL (`?run=NAME`), holds across pages and reloads, and the
    URL always names it, so a link opens the same model; until one is chosen each page opens
    its own default. Runs that cannot be read are named under the box with the reason, rather
    than left out silently."""
    _check_folders()
    models, unreadable = available_models()
    _take_choice_from_url(models.__contains__)
    chosen = st.session_state.get(CHOSEN_KEY)
    if chosen not in models:
        chosen = str(default_for(page).path)
    if chosen not in models:  # a damaged installation: any model that can be read
        chosen = next(iter(models))
    st.session_state[MODEL_KEY] = chosen  # the box shows the choice, on every page
    picked = st.sidebar.selectbox(
        "Model",
        options=list(models),
        key=MODEL_KEY,
        format_func=lambda path: _label(models[path]),
        on_change=_remember_choice,
        help="The shipped models, and every run saved under the runs folder; under the box, "
        "what the chosen one is.",
    )
    st.query_params["run"] = st.session_state[URL_RUN_KEY] = models[picked].name
    st.sidebar.caption(
        f"**{literal(models[picked].name)}**: {literal(_details(models[picked].summary))}"
    )
    name_unlisted(unreadable)
    return Run(picked)


def images_to_map(run: Run, config: RunConfig) -> str:
    """The data source whose images Explore maps. A model trained here maps its own (its
    history and replays are of it); an imported one, trained elsewhere, any source, chosen
    under the model picker, the data named at import first. Images are made the model's
    shape as they load."""
    own = config.train.data
    if config.model.arch != IMPORTED_ARCH:
        return own
    return st.sidebar.selectbox(
        "Images to map",
        [own, *(name for name in NAMED_SHAPES if name != own)],
        key=images_key(run),
        accept_new_options=True,
        help="Any data source, made the model's image shape: a named one, or type "
        "folder:DIR or idx:DIR. At first, the data named when the model was imported.",
    )


def images_key(run: Run) -> str:
    """The key of the "Images to map" box of an imported model (one per model)."""
    return f"explore_images:{run.path}"


def keep_model_choice() -> None:
    """The picker's part on a page that shows no model (Train, Compare), where a box would do
    nothing: a model chosen on another page, or named in the URL this session opened with,
    stays the choice, and the URL goes on naming it, so a reload or a link from here opens the
    model pages on it. Only the chosen model is read: every run's config, read for a list this
    page never draws, would cost a first visit to 5,000 runs about a second."""
    _check_folders()
    _take_choice_from_url(lambda path: _entry_for(path) is not None)
    chosen = st.session_state.get(CHOSEN_KEY)
    entry = _entry_for(chosen) if isinstance(chosen, str) else None
    if entry is not None:
        st.query_params["run"] = st.session_state[URL_RUN_KEY] = entry.name
    else:  # no choice yet, or a name that is no model: each model page opens its default
        st.query_params.pop("run", None)


def _entry_for(path: str) -> Entry | None:
    return entry_for(path, read_summary=summary_reader())


def _check_folders() -> None:
    try:  # every page starts here: folders from the environment that cannot be, said once
        runs_dir(), data_dir()
    except VaeappError as error:
        show_error(error)


def name_unlisted(unreadable: dict[str, str]) -> None:
    """Name the runs a list of models leaves out, each with why, rather than drop them silently."""
    for name, reason in unreadable.items():
        st.sidebar.warning(literal(f"Run {name} is not listed: {reason}"))


def _take_choice_from_url(is_listed: Callable[[str], bool]) -> None:
    """A `?run=NAME` the picker did not write becomes the choice: the URL the session opened
    with (a link, a reload), or a link in the app that switched page (Compare's to Explore)."""
    named = st.query_params.get("run")
    if not named or named == st.session_state.get(URL_RUN_KEY):
        return
    st.session_state[URL_RUN_KEY] = named
    try:
        path = str(find(named).path)
    except PathError as error:  # no folder could have that name: say why, briefly
        st.sidebar.warning(literal(f"{error}; showing the default."))
        return
    except VaeappError:
        path = ""
    if not is_listed(path):  # no such name, or a folder that is no listed model
        st.sidebar.warning(literal(f"No model called {named!r}; showing the default."))
        return
    st.session_state[CHOSEN_KEY] = st.session_state[MODEL_KEY] = path


def _remember_choice() -> None:
    st.session_state[CHOSEN_KEY] = st.session_state[MODEL_KEY]


def _label(entry: Entry) -> str:
    """Name and latent dimension: short enough for the sidebar's box, whose text is cut at its
    edge; the caption under it says the rest."""
    name = f"{entry.name} (shipped)" if entry.shipped else entry.name
    return f"{name}: {entry.summary.config.model.latent_dim}-D"


def _details(summary: RunSummary) -> str:
    model, train = summary.config.model, summary.config.train
    elbo = "no epoch yet" if summary.test_elbo is None else f"{summary.test_elbo:.1f} nats"
    data = f"{train.data}{', binarised' if train.binarize else ''}"
    trained = (
        f"trained elsewhere on {data}, imported as ONNX"
        if model.arch == IMPORTED_ARCH
        else f"trained on {data} for {summary.epochs} epochs"
    )
    details = (
        f"{model.arch} network, {model.likelihood} likelihood, {model.latent_dim}-D latent; "
        f"{trained}; test ELBO {elbo}"
    )
    return details if summary.normalised else f"{details} ({NOT_NORMALISED})"


def inline_png(png: bytes) -> str:
    """A PNG as a data URL for st.image: it arrives with the page update and stays valid as long
    as the element shows. A picture served from /media/ is released as soon as a run ends that
    did not draw it again (a run cut short by the next one, a fragment's run), and the browser
    then gets a 404 for an element it still shows or mounts later (a tab opened)."""
    return "data:image/png;base64," + base64.b64encode(png).decode()


def show_error(error: VaeappError) -> NoReturn:
    """A user-facing error, then stop this rerun; the rest of the app keeps working. A model
    whose data set is missing comes with a button back to the shipped one, which works offline."""
    st.error(literal(str(error)), icon=":material/warning:")
    if isinstance(error, DataError) and st.session_state.get(MODEL_KEY) != str(DEFAULT_MODEL.path):
        st.button(
            "Open the shipped default model (offline sample data)",
            key="open_default_model",
            on_click=_choose_default_model,
        )
    st.stop()


def _choose_default_model() -> None:
    st.session_state[MODEL_KEY] = st.session_state[CHOSEN_KEY] = str(DEFAULT_MODEL.path)


T = TypeVar("T")
KEPT = "kept:"


def kept(widget: Callable[..., T], *args: Any, key: str, default: Any = None, **kwargs: Any) -> T:
    """A widget whose value survives a visit to another page, or a tab made only when open:
    Streamlit drops the state of a widget a run does not show, so the value is kept under a
    second key and given back. Its first value is `default` (None: the widget's own), given as
    state too, since a widget given a value and a state is warned about."""
    if key not in st.session_state:
        first = st.session_state.get(KEPT + key, default)
        if first is not None:
            st.session_state[key] = first
    value = widget(*args, key=key, **kwargs)
    st.session_state[KEPT + key] = value
    return value
