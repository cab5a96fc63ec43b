"""The Explore page through streamlit.testing: what it sends the map, and the panels that follow
the code it shows (sliders, neighbours, traversals, units, replay, your own image)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.app_pages import (
    EXPLORE_PAGE,
    as_read,
    captions,
    choose_model,
    errors,
    open_page,
    open_tab,
    place_of,
    saved_run,
)
from tests.conftest import small_config
from tests.test_map_content import read
from vaeapp.data.sources import load_dataset
from vaeapp.latent import first_map
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.umap_embedding import BackgroundUmap, embedding_key
from vaeapp.model.networks import build_model
from vaeapp.paths import cache_dir, runs_dir
from vaeapp.store.catalog import DEFAULT_MODEL, find
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer
from vaeapp.ui import loaders
from vaeapp.ui.explore_page import STEPPED_AT, TABS, sidebar_keys
from vaeapp.ui.explore_state import MEAN, SLIDER, ExploreState
from vaeapp.ui.explore_tabs import STANDALONE_PAGE
from vaeapp.ui.map_component import SENT
from vaeapp.ui.text import literal


def map_caption(app: AppTest) -> str:
    return as_read(app.caption[0].value)


def latent_labels(app: AppTest) -> list[str]:
    return [s.label for s in app.slider if s.key.startswith("explore_z")]


def latent_slider(app: AppTest, i: int):
    """The slider of latent dimension i (its key changes whenever a click sets the code)."""
    return next(s for s in app.slider if s.label == f"z{i + 1}")


def to_map(app: AppTest) -> dict[str, Any]:
    """What the page sent the map in its last run: the per-run values, and the content (axis
    titles, inverse, ...) when it sent it."""
    header, _ = read(app.get("bidi_component")[0].proto.bytes)
    return header


def sent_content(app: AppTest) -> dict[str, Any]:
    """The map's content, sent again: a rerun may have sent only its id."""
    app.session_state[SENT] = {}
    app.run()
    return to_map(app)["content"]


def axis_titles(app: AppTest) -> tuple[str, str]:
    return tuple(sent_content(app)["axis_titles"])  # type: ignore[return-value]


@pytest.fixture
def no_umap_worker() -> Iterator[None]:
    """Pages that offer UMAP start a worker process; end it with the test."""
    yield
    loaders.umap_worker().stop()


def test_the_default_model_sends_its_map_once_and_a_cross_at_the_codes_mean() -> None:
    app = open_page(EXPLORE_PAGE)
    assert latent_labels(app) == ["z1", "z2"]
    first = to_map(app)
    content = first["content"]
    assert content["classes"] == [str(d) for d in range(10)]
    assert content["sections"]["points"]["shape"] == [1000, 2]
    assert content["inverse"]["kind"] == "axes"
    mean = [latent_slider(app, i).value for i in range(2)]
    np.testing.assert_allclose(first["light"]["pin"]["point"], mean, atol=0.01)
    assert "1,000 test images" in map_caption(app)
    latent_slider(app, 0).set_value(1.5).run()
    again = to_map(app)
    assert "content" not in again  # sent once per session
    assert again["light"]["pin"]["point"][0] == pytest.approx(1.5)
    assert again["light"]["content_id"] == first["light"]["content_id"]


def opened_on(explore: bool, run: str = "") -> str:
    """Explore's script in a session whose first page was Explore (or not), at `?run=run`."""
    query = f"st.query_params['run'] = {run!r}\n" if run else ""
    return (
        f"import streamlit as st\n{query}from vaeapp.ui.first_view import note_opening\n"
        f"note_opening({explore})\n{EXPLORE_PAGE}"
    )


def test_a_session_that_opens_on_explore_keeps_its_first_map_as_sent() -> None:
    """The map a session first saw, its caption and its data's source, for the next fresh
    server's first view: kept once, for the link the session opened with."""
    key = first_map.key_for("", runs_dir())
    app = open_page(opened_on(True))
    kept = first_map.read(cache_dir(), key)
    assert kept is not None and kept.run_path == str(DEFAULT_MODEL.path)
    assert kept.message == app.get("bidi_component")[0].proto.bytes  # what the browser got
    assert as_read(literal(kept.caption)) == map_caption(app)
    latent_slider(app, 0).set_value(1.5).run()  # later maps of the session are not kept
    assert first_map.read(cache_dir(), key) == kept


def test_a_session_that_opens_elsewhere_keeps_no_first_map() -> None:
    """A session that opened on another page may show Explore another link's model first."""
    open_page(opened_on(False, run="elsewhere"))
    assert first_map.read(cache_dir(), first_map.key_for("elsewhere", runs_dir())) is None


def test_sliders_span_each_dimensions_test_codes() -> None:
    """Every test code is within reach of the sliders, and they are not much wider."""
    app = open_page(EXPLORE_PAGE)
    model, _ = Run(DEFAULT_MODEL.path).load_model()
    codes, _ = encode_dataset(model, load_dataset("sample").test.images)
    for i in range(2):
        slider, low, high = latent_slider(app, i), codes[:, i].min(), codes[:, i].max()
        assert slider.min <= low and slider.max >= high
        assert slider.max - slider.min < 1.3 * (high - low)


def test_buttons_replace_the_code_and_say_what_set_it() -> None:
    app = open_page(EXPLORE_PAGE)
    mean = [latent_slider(app, i).value for i in range(2)]
    app.button[0].click().run()  # random from the prior
    drawn = [latent_slider(app, i).value for i in range(2)]
    assert drawn != mean
    assert "a draw from the prior" in " ".join(c.value for c in app.caption)
    app.button[2].click().run()  # the origin
    assert [latent_slider(app, i).value for i in range(2)] == [0.0, 0.0]
    app.button[1].click().run()  # the test codes' mean
    assert [latent_slider(app, i).value for i in range(2)] == pytest.approx(mean, abs=1e-6)


def test_neighbours_units_and_prior_samples_follow_the_code() -> None:
    app = open_page(EXPLORE_PAGE)
    neighbours = next(image for image in app.image if len(image.captions) == 8)
    labels, distances = zip(*(c.split(" · ") for c in neighbours.captions), strict=True)
    assert list(distances) == sorted(distances, key=float)
    assert set(labels) <= {str(d) for d in range(10)}
    open_tab(app, "KL per dimension")
    units = " ".join(m.value for m in app.markdown)
    assert "of 2 units active" in units
    open_tab(app, "Prior samples")
    samples = app.image[-1].value[0]
    app.slider(key="explore_temperature").set_value(0.3).run()
    assert app.image[-1].value[0] != samples
    assert "temperature 0.3" in app.image[-1].captions[0]


def test_a_tab_that_only_shows_is_made_when_open_and_keeps_its_settings() -> None:
    app = open_page(EXPLORE_PAGE, saved_run("four", latent_dim=4))
    assert not [s for s in app.slider if s.key == "explore_grid_side"]  # no decoding for it
    open_tab(app, "Manifold grid")
    app.slider(key="explore_grid_side").set_value(7).run()
    assert "7 x 7 decoded" in " ".join(captions(app))
    open_tab(app, "Traversals")
    assert not [s for s in app.slider if s.key == "explore_grid_side"]
    assert app.slider(key="explore_rows:4").value == 4  # every dimension, of four
    open_tab(app, "Manifold grid")
    assert app.slider(key="explore_grid_side").value == 7
    assert not errors(app) and not app.warning


def test_a_kept_setting_of_a_wider_model_does_not_break_a_narrower_ones_tab() -> None:
    narrower = saved_run("three", latent_dim=3)
    app = open_page(EXPLORE_PAGE, saved_run("six", latent_dim=6))
    open_tab(app, "Traversals")
    app.slider(key="explore_rows:6").set_value(6).run()
    open_tab(app, "Latent code")
    choose_model(app, narrower)
    open_tab(app, "Traversals")
    assert app.slider(key="explore_rows:3").value == 3 and not errors(app)


def test_a_higher_dimensional_model_opens_on_pca_and_keeps_its_view(no_umap_worker) -> None:
    app = open_page(EXPLORE_PAGE, saved_run("four", latent_dim=4))
    assert latent_labels(app) == ["z1", "z2", "z3", "z4"]
    assert app.sidebar.radio(key="explore_view").options == ["PCA", "UMAP", "Latent axes"]
    assert axis_titles(app) == ("PCA 1", "PCA 2")
    assert sent_content(app)["inverse"]["kind"] == "linear"
    app.sidebar.radio(key="explore_view").set_value("Latent axes").run()
    app.sidebar.selectbox(key="explore_x").select(2).run()
    app.sidebar.selectbox(key="explore_y").select(0).run()
    assert not app.exception and axis_titles(app) == ("z3", "z1")
    assert "held where the test codes' mean set them" in " ".join(c.value for c in app.caption)
    base = to_map(app)["light"]["base"]
    assert base == pytest.approx([latent_slider(app, i).value for i in range(4)], abs=1e-6)


def test_umap_view_shows_pca_while_computing_then_the_cached_embedding(no_umap_worker) -> None:
    run = saved_run("umap", latent_dim=3)
    app = open_page(EXPLORE_PAGE, run)
    app.sidebar.radio(key="explore_view").set_value("UMAP").run()
    assert axis_titles(app) == ("PCA 1", "PCA 2")
    assert any("Computing UMAP in the background" in info.value for info in app.info)

    model, _ = run.load_model()
    codes, _ = encode_dataset(model, load_dataset("sample").test.images)
    cached = BackgroundUmap(cache_dir()).path(embedding_key(codes.numpy()))
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, np.random.default_rng(0).normal(size=(len(codes), 2)))
    app.run()
    assert not app.exception
    assert axis_titles(app) == ("UMAP 1", "UMAP 2")
    assert sent_content(app)["inverse"]["kind"] == "delaunay"
    assert to_map(app)["light"]["overlays"][0]["dashed"]  # the hull
    assert "no posterior ellipse" in " ".join(c.value for c in app.caption)


def test_a_note_over_the_tabs_leaves_them_in_place() -> None:
    """The hole warning comes and goes with the code; the tabs below it stay where they were,
    so the tab a user opened stays open."""
    app = open_page(EXPLORE_PAGE)
    app.sidebar.toggle(key="explore_density").set_value(True).run()
    before = place_of(app, "Tab")
    latent_slider(app, 0).set_value(-0.75)  # a code in a hole of the shipped model
    latent_slider(app, 1).set_value(1.5)
    app.run()
    assert any("lies in a hole" in warning.value for warning in app.warning)
    assert place_of(app, "Tab") == before


def test_the_hole_warning_says_what_is_known_not_that_the_picture_looks_wrong() -> None:
    """A code in a hole may decode to a clean digit: the warning says where the data and the
    prior put their mass, and that samples there may be off."""
    app = open_page(EXPLORE_PAGE)
    app.sidebar.toggle(key="explore_density").set_value(True).run()
    latent_slider(app, 0).set_value(-0.75)  # a code in a hole of the shipped model
    latent_slider(app, 1).set_value(1.5)
    app.run()
    (hole,) = [w.value for w in app.warning if "lies in a hole" in w.value]
    assert "aggregate posterior" in hole and "may be off" in hole
    assert "look wrong" not in hole


def test_the_neighbours_are_named_and_ringed_on_the_map() -> None:
    app = open_page(EXPLORE_PAGE)
    code = torch.tensor([latent_slider(app, i).value for i in range(2)])
    model, _ = Run(DEFAULT_MODEL.path).load_model()
    test = load_dataset("sample").test
    codes, _ = encode_dataset(model, test.images)
    expected = torch.cdist(code[None], codes)[0].argsort()[:8].tolist()
    assert to_map(app)["light"]["marked"] == expected
    neighbours = next(image for image in app.image if len(image.captions) == 8)
    assert [c.split(" · ")[0] for c in neighbours.captions] == [
        str(int(test.labels[i])) for i in expected
    ]
    app.toggle(key="explore_ring_neighbours").set_value(False).run()
    assert to_map(app)["light"]["marked"] == []


def test_ellipses_of_every_dot_and_the_density_contours_go_over_the_map() -> None:
    app = open_page(EXPLORE_PAGE)
    assert to_map(app)["light"]["overlays"] == []
    app.sidebar.toggle(key="explore_all_ellipses").set_value(True).run()
    ellipses = to_map(app)["light"]["overlays"]
    assert len(ellipses) == 1000 and len(ellipses[0]["points"]) == 41
    app.sidebar.toggle(key="explore_all_ellipses").set_value(False)
    app.sidebar.toggle(key="explore_density").set_value(True).run()
    contours = to_map(app)["light"]["overlays"]
    assert any(line["dashed"] for line in contours)  # the prior
    assert any(not line["dashed"] for line in contours)  # the aggregate posterior


def test_training_replay_shows_the_map_after_each_epoch() -> None:
    run = Run.create(runs_dir() / "replayed", small_config(epochs=3, data="sample"))
    Trainer(run, load_dataset("sample")).fit()
    app = open_page(EXPLORE_PAGE, run)
    slider = app.sidebar.select_slider(key=f"explore_replay:{run.path}")
    assert slider.options == ["1", "2", "3", "now"]
    now = to_map(app)["light"]["content_id"]
    slider.set_value(1).run()
    assert not app.exception
    assert "after epoch 1" in map_caption(app)
    first = to_map(app)
    assert first["light"]["content_id"] != now and first["content"]["sections"]["points"]


def test_play_steps_through_the_replay_on_axes_that_hold() -> None:
    run = Run.create(runs_dir() / "played", small_config(epochs=3, data="sample"))
    Trainer(run, load_dataset("sample")).fit()
    app = open_page(EXPLORE_PAGE, run)
    now = sent_content(app)
    app.sidebar.toggle(key=f"explore_replay_play:{run.path}").set_value(True).run()
    assert "after epoch 1" in map_caption(app)  # Play starts at the first epoch
    first = sent_content(app)
    ranges = []
    for epoch in (2, 3):
        app.session_state[STEPPED_AT] = 0.0  # as if Play's pace had passed
        app.run()  # the player's step, then the page's run that shows it
        app.run()
        assert f"after epoch {epoch}" in map_caption(app)
        content = sent_content(app)
        assert content["id"] != first["id"]
        ranges.append((content["x_range"], content["y_range"]))
    assert ranges == [(first["x_range"], first["y_range"])] * 2
    app.session_state[STEPPED_AT] = 0.0
    app.run()
    app.run()
    assert "after epoch" not in map_caption(app)  # the model's own map: Play stopped
    assert not app.sidebar.toggle(key=f"explore_replay_play:{run.path}").value
    assert sent_content(app)["id"] == now["id"]
    assert not app.exception


def test_your_own_images_inputs_are_labelled_in_words() -> None:
    app = open_page(EXPLORE_PAGE)
    assert app.radio(key="explore_source_yours").label == "Your image from"
    assert app.get("file_uploader")[0].proto.label == "Picture for your image"
    app.radio(key="explore_source_yours").set_value("Test set").run()
    assert (
        app.number_input(key="explore_test_yours").label == "Test image used as your image (0-999)"
    )


def test_your_own_image_lands_on_the_map_with_its_ellipse_and_neighbours() -> None:
    app = open_page(EXPLORE_PAGE)
    app.radio(key="explore_source_yours").set_value("Test set").run()
    assert not app.exception
    red = [line for line in to_map(app)["light"]["overlays"] if line["color"] == "#d62728"]
    assert len(red) == 1 and len(red[0]["points"]) == 41
    assert "Its reconstruction" in [c for image in app.get("image") for c in image.captions]
    pin = next(b for b in app.button if b.label == "Pin it on the map")
    pin.click().run()
    assert "your image" in " ".join(c.value for c in app.caption)


def test_a_model_whose_data_is_missing_gets_a_message_not_a_traceback() -> None:
    run = Run.create(runs_dir() / "toy", small_config())
    run.save_checkpoint({"model": build_model(small_config().model).state_dict()})
    app = open_page(EXPLORE_PAGE, run)
    assert not app.exception
    assert "unknown data source 'toy'" in errors(app)[0]
    assert app.sidebar.selectbox(key="model_path").value == str(run.path)


def test_where_the_browser_cannot_decode_the_server_decodes_the_code() -> None:
    """The map reports a decoder that failed to load (no WebAssembly, say): the page shows
    the decoded image itself, and it follows the code."""
    app = open_page(EXPLORE_PAGE)
    assert not any("decoded here by the server" in c.lower() for i in app.image for c in i.captions)
    app.session_state["explore_map"] = {"decoder": {"ok": False, "error": "no WebAssembly"}}
    app.run()
    served = [i for i in app.image if any("by the server" in c for c in i.captions)]
    assert len(served) == 1
    before = served[0].value[0]
    next(b for b in app.button if b.label == "Origin").click().run()
    after = next(i for i in app.image if any("by the server" in c for c in i.captions))
    assert after.value[0] != before


def test_pictures_and_downloads_hold_no_media_url_a_later_run_can_release() -> None:
    """A /media/ file is released when a run ends without drawing it again (a run cut short by
    the next), and the browser, still showing its element, got a 404: pictures come inline and
    downloads are made when clicked."""
    app = open_page(EXPLORE_PAGE, saved_run("four", latent_dim=4))
    pictures, downloads = [], []
    for label in TABS:
        open_tab(app, label)
        pictures += [url for image in app.image for url in image.value]
        downloads += app.get("download_button")
    assert pictures and all(url.startswith("data:image/png;base64,") for url in pictures)
    assert len({download.proto.label for download in downloads}) >= 4
    for download in downloads:
        assert download.proto.deferred_file_id and not download.proto.url, download.proto.label
    assert STANDALONE_PAGE in [download.proto.label for download in downloads]


def test_a_slider_of_a_replaced_code_reporting_late_moves_nothing() -> None:
    """The browser may send back the last model's sliders after the switch (seen in Chromium:
    the new model then showed the old model's code): their values belong to that code."""
    state = ExploreState()
    state.start_over_if_new("digits:2", torch.tensor([-0.7, -0.4]))
    last_models = state.slider_key(0)
    state.start_over_if_new("shapes:2", torch.tensor([3.2, -1.2]))
    state.move_slider(last_models, 0, -0.7)
    assert state.code == pytest.approx([3.2, -1.2]) and state.source == MEAN
    state.move_slider(state.slider_key(1), 1, 0.5)
    assert state.code == pytest.approx([3.2, 0.5]) and state.source == SLIDER


def sidebar_widget_keys(app: AppTest) -> set[str]:
    def walk(node: Any) -> Iterator[str]:
        if getattr(node, "key", None):
            yield node.key
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return set(walk(app.sidebar))


def test_every_sidebar_widget_is_one_the_maps_fragment_checks() -> None:
    """The map's fragment reruns the page when a sidebar value changed under it: a widget left
    out of `sidebar_keys` would leave the page stale when its change comes with a map event."""
    replayed = Run.create(runs_dir() / "replayed", small_config(epochs=2, data="sample"))
    Trainer(replayed, load_dataset("sample")).fit()
    app = open_page(EXPLORE_PAGE, DEFAULT_MODEL.run)
    seen = {DEFAULT_MODEL.run: sidebar_widget_keys(app)}
    wide = find("digits-16d")
    app.sidebar.selectbox(key="model_path").select(str(wide.path)).run()
    app.sidebar.radio(key="explore_view").set_value("Latent axes").run()
    seen[wide] = sidebar_widget_keys(app)
    app.sidebar.selectbox(key="model_path").select(str(replayed.path)).run()
    seen[replayed] = sidebar_widget_keys(app)
    assert {"explore_density", "explore_x", f"explore_replay:{replayed.path}"} <= set().union(
        *seen.values()
    )
    for run, keys in seen.items():
        assert keys <= set(sidebar_keys(run)), run
