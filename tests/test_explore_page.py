"""The Explore page through streamlit.testing, and the map figure it draws."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages import EXPLORE_PAGE, chart, numbers, open_page, saved_run
from tests.conftest import small_config
from vaeapp.data import load_dataset
from vaeapp.latent import encode_dataset
from vaeapp.model import build_model
from vaeapp.paths import cache_dir, runs_dir
from vaeapp.runs import Run
from vaeapp.ui import loaders
from vaeapp.ui.latent_map import LATTICE_SIDE, MapClick, clicked, latent_map_figure
from vaeapp.umap_embedding import BackgroundUmap, embedding_key


def latent_labels(app: AppTest) -> list[str]:
    return [s.label for s in app.slider if s.key.startswith("explore_z")]


def latent_slider(app: AppTest, i: int):
    """The slider of latent dimension i (its key changes whenever a click sets the code)."""
    return next(s for s in app.slider if s.label == f"z{i + 1}")


def decoded_image(app: AppTest) -> str:
    return app.image[0].value[0]


def axis_titles(app: AppTest) -> tuple[str, str]:
    layout = chart(app)["layout"]
    return layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]


@pytest.fixture
def no_umap_worker() -> Iterator[None]:
    """Pages that offer UMAP start a worker process; end it with the test."""
    yield
    loaders.umap_worker().stop()


def test_default_model_shows_its_map_a_decoded_image_and_a_slider_per_dimension() -> None:
    app = open_page(EXPLORE_PAGE)
    assert latent_labels(app) == ["z1", "z2"]
    spec = chart(app)
    names = [trace.get("name") for trace in spec["data"]]
    assert names[:10] == [str(d) for d in range(10)]
    assert "decoded here" not in names  # no cross until the sliders or buttons set a code
    assert decoded_image(app).startswith("data:image/png;base64,")
    assert "1,000 test images" in app.caption[0].value
    assert "default (shipped)" in app.sidebar.selectbox(key="model_path").options[0]


def test_a_slider_decodes_a_new_image_marks_it_and_moving_it_back_restores_it() -> None:
    app = open_page(EXPLORE_PAGE)
    at_origin = decoded_image(app)
    latent_slider(app, 0).set_value(1.5).run()
    assert decoded_image(app) != at_origin
    cross = next(t for t in chart(app)["data"] if t.get("name") == "decoded here")
    assert (numbers(cross["x"]), numbers(cross["y"])) == ([1.5], [0.0])
    latent_slider(app, 0).set_value(0.0).run()
    assert decoded_image(app) == at_origin


def test_prior_button_draws_a_code_and_reset_returns_to_the_origin() -> None:
    app = open_page(EXPLORE_PAGE)
    app.button[0].click().run()
    drawn = [latent_slider(app, i).value for i in range(2)]
    assert any(abs(v) > 1e-3 for v in drawn)
    app.button[1].click().run()
    assert [latent_slider(app, i).value for i in range(2)] == [0.0, 0.0]


def test_manifold_grid_lays_decoded_tiles_under_the_map() -> None:
    app = open_page(EXPLORE_PAGE)
    assert not chart(app)["layout"].get("images")
    app.toggle(key="explore_manifold").set_value(True).run()
    app.slider(key="explore_grid_side").set_value(6).run()
    (image,) = chart(app)["layout"]["images"]
    assert image["source"].startswith("data:image/png;base64,")
    assert image["layer"] == "below"


def test_prior_samples_change_with_the_seed_and_the_temperature() -> None:
    app = open_page(EXPLORE_PAGE)
    samples = app.image[-1].value[0]
    app.button[2].click().run()
    reseeded = app.image[-1].value[0]
    assert reseeded != samples
    app.slider(key="explore_temperature").set_value(0.3).run()
    assert app.image[-1].value[0] != reseeded
    assert "temperature 0.3" in app.image[-1].captions[0]


def test_model_picker_switches_to_a_saved_run_with_its_own_dimensions(no_umap_worker) -> None:
    run = saved_run("three", latent_dim=3)
    app = open_page(EXPLORE_PAGE)
    picker = app.sidebar.selectbox(key="model_path")
    assert picker.options == [
        picker.options[0],
        "three: sample, 3-D, ELBO -321.5, 1/3 epochs",
    ]
    picker.select(str(run.path)).run()
    assert not app.exception
    assert latent_labels(app) == ["z1", "z2", "z3"]
    assert "3-D latent" in app.sidebar.caption[0].value
    assert app.sidebar.radio(key="explore_view").options == ["PCA", "UMAP", "Latent axes"]


def test_views_of_a_higher_dimensional_model(no_umap_worker) -> None:
    app = open_page(EXPLORE_PAGE, saved_run("four", latent_dim=4))
    assert axis_titles(app) == ("PCA 1", "PCA 2")  # two axes alone would ignore the others
    app.sidebar.radio(key="explore_view").set_value("Latent axes").run()
    assert axis_titles(app) == ("z1", "z2")
    app.sidebar.selectbox(key="explore_x").select(2).run()
    app.sidebar.selectbox(key="explore_y").select(0).run()
    assert not app.exception
    assert axis_titles(app) == ("z3", "z1")


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
    names = [trace.get("name") for trace in chart(app)["data"]]
    assert "UMAP hull" in names


def test_a_model_whose_data_is_missing_gets_a_message_not_a_traceback() -> None:
    run = Run.create(runs_dir() / "toy", small_config())
    run.save_checkpoint({"model": build_model(small_config().model).state_dict()})
    app = open_page(EXPLORE_PAGE, run)
    assert not app.exception
    assert "unknown data source 'toy'" in app.error[0].value
    assert app.sidebar.selectbox(key="model_path").value == str(run.path)


def test_map_figure_has_a_faint_clickable_lattice_and_one_trace_per_class() -> None:
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    path = np.array([[0.0, 0.0], [2.0, 1.0]])
    figure = latent_map_figure(
        points, np.array([1, 0, 1]), ("zero", "one"), (-1, 3), (-1, 2), path=path, picked=(2, 5)
    )
    zero, one, lattice, line = figure.data
    assert list(lattice.selectedpoints) == [5] and zero.selectedpoints is None
    assert lattice.selected.marker.opacity == 1
    assert len(lattice.x) == LATTICE_SIDE**2 and lattice.marker.opacity == 0.01
    assert lattice.hoverinfo == "none"
    assert (zero.name, list(zero.customdata)) == ("zero", [1])
    assert (one.name, list(one.customdata)) == ("one", [0, 2])
    assert one.unselected.marker.opacity == one.marker.opacity
    assert line.mode == "lines+markers" and list(line.x) == [0.0, 2.0]


def test_a_click_is_read_from_the_selection_event() -> None:
    assert clicked(None) is None
    assert clicked({"points": []}) is None
    on_lattice = {"points": [{"curve_number": 10, "point_index": 7, "x": 0.5, "y": -1.25}]}
    assert clicked(on_lattice) == MapClick((0.5, -1.25), None, (10, 7))
    on_a_dot = {"points": [{"curve_number": 3, "point_index": 2, "x": 1, "y": 2, "customdata": 17}]}
    assert clicked(on_a_dot) == MapClick((1.0, 2.0), 17, (3, 2))
