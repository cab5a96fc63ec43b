"""The Interpolate page through streamlit.testing: inputs, previews, strip, map, bad uploads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from testkit.image_files import encoded
from tests.app_pages import (
    INTERPOLATE_PAGE,
    PREVIEW,
    SHIPPED_2D,
    as_read,
    captions,
    chart,
    errors,
    numbers,
    open_page,
    path_on_map,
    place_of,
    shows_the_refusal,
    shows_the_strip,
    strip,
    upload,
)
from tests.command_line import encode_with_cli
from tests.conftest import small_config
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data.datasets import Dataset
from vaeapp.data.sources import load_dataset
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import DEFAULT_MODEL, INTERPOLATE, default_for
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer


def test_two_uploads_give_previews_strip_downloads_and_the_path(
    photos: tuple[Path, Path], photo_bytes: tuple[bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    assert "Give both images" in app.info[0].value
    upload(app, "A", "seven.jpg", photo_bytes[0])
    assert captions(app) == [PREVIEW]
    assert app.info and not app.get("plotly_chart")
    upload(app, "B", "eight.jpg", photo_bytes[1])
    assert not app.info
    shows_the_strip(app)
    assert "apart in latent space" in " ".join(c.value for c in app.caption)
    assert [b.label for b in app.get("download_button")] == [
        "Download the strip (PNG)",
        "Download the animation (GIF, there and back)",
    ]
    path = path_on_map(app)
    encoded_by_cli = [
        row["mean"] for row in encode_with_cli(str(DEFAULT_MODEL.path), photos, capsys)
    ]
    assert path.shape == (10, 2) and np.allclose(path[[0, -1]], encoded_by_cli, atol=1e-5)

    app.slider(key="interpolate_steps").set_value(25)
    app.radio(key="interpolate_method").set_value("slerp").run()
    assert not app.exception
    assert captions(app)[-1] == strip(25)
    assert path_on_map(app).shape == (25, 2)


def bad_uploads() -> dict[str, tuple[bytes, str]]:
    blank = encoded(Image.new("L", (200, 200), 255), "PNG")
    return {
        "empty.png": (b"", "empty.png is empty"),
        "notes.png": (b"shopping list: milk, eggs\n", "not an image vaeapp can read"),
        "cut.png": (encoded(Image.new("L", (300, 300), 90), "PNG")[:100], "damaged"),
        "huge.png": (encoded(Image.new("1", (20000, 20000)), "PNG"), "too large"),
        "blank.png": (blank, "looks blank"),
    }


def test_bad_uploads_get_a_message_and_the_page_keeps_working(
    photo_bytes: tuple[bytes, bytes],
) -> None:
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    upload(app, "A", "seven.jpg", photo_bytes[0])
    for name, (data, says) in bad_uploads().items():
        upload(app, "B", name, data)
        shows_the_refusal(app, says, name)
    upload(app, "B", "eight.jpg", photo_bytes[1])
    shows_the_strip(app)


def test_the_inputs_name_their_image() -> None:
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    labels = [uploader.proto.label for uploader in app.get("file_uploader")]
    assert labels == ["Picture for image A", "Picture for image B"]
    assert app.radio(key="interpolate_source_B").label == "Image B from"


def test_the_path_map_marks_which_end_is_a_and_which_b() -> None:
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    app.radio(key="interpolate_source_A").set_value("Test set")
    app.radio(key="interpolate_source_B").set_value("Test set").run()
    path = path_on_map(app)
    ends = next(trace for trace in chart(app)["data"] if trace.get("name") == "ends")
    assert ends["text"] == ["A", "B"]
    marked = np.stack([numbers(ends["x"]), numbers(ends["y"])], axis=1)
    np.testing.assert_allclose(marked, path[[0, -1]], atol=1e-6)


def test_test_images_need_no_upload() -> None:
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    app.radio(key="interpolate_source_A").set_value("Test set")
    app.radio(key="interpolate_source_B").set_value("Test set").run()
    app.number_input(key="interpolate_test_B").set_value(5).run()
    assert not app.exception
    labels = load_dataset("sample").test.labels
    assert f"Label {int(labels[5])} in sample's test split" in [c.value for c in app.caption]
    shows_the_strip(app)
    assert "apart in latent space" in " ".join(c.value for c in app.caption)


def test_an_empty_canvas_asks_for_a_drawing() -> None:
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    app.radio(key="interpolate_source_A").set_value("Draw").run()
    assert not app.exception and not app.error
    assert "Draw one digit, large, in the box." in [c.value for c in app.caption]
    assert captions(app) == []


def test_a_model_with_more_dimensions_shows_the_path_on_the_pca_plane(
    tiny_dataset: Dataset,
) -> None:
    config = RunConfig(
        model=ModelConfig(arch="mlp", latent_dim=4, hidden=(32,)),
        train=TrainConfig(data="sample", epochs=1, batch_size=50, seed=0),
        data_source="toy",
    )
    run = Run.create(runs_dir() / "four-d", config)
    Trainer(run, tiny_dataset).fit()
    app = open_page(INTERPOLATE_PAGE, run)
    app.radio(key="interpolate_source_A").set_value("Test set")
    app.radio(key="interpolate_source_B").set_value("Test set").run()
    assert not app.exception and not app.error
    assert any("two main directions of the 4-D codes" in c.value for c in app.caption)
    assert path_on_map(app).shape == (10, 2)


def test_without_the_models_data_the_strip_still_works(
    tiny_dataset: Dataset, photo_bytes: tuple[bytes, bytes]
) -> None:
    run = Run.create(runs_dir() / "toy", small_config(epochs=1))
    Trainer(run, tiny_dataset).fit()
    app = open_page(INTERPOLATE_PAGE, run)
    upload(app, "A", "seven.jpg", photo_bytes[0])
    upload(app, "B", "eight.jpg", photo_bytes[1])
    assert captions(app)[-1] == strip()
    assert any("No map" in w.value for w in app.warning) and not app.get("plotly_chart")
    app.radio(key="interpolate_source_B").set_value("Test set").run()
    assert "unknown data source 'toy'" in errors(app)[0]


def test_the_page_opens_the_16_dimensional_model() -> None:
    app = open_page(INTERPOLATE_PAGE)
    assert app.sidebar.selectbox(key="model_path").value == str(default_for(INTERPOLATE).path)
    assert "16-D latent" in as_read(app.sidebar.caption[0].value)


def test_codes_too_close_to_morph_are_noticed_and_the_map_keeps_its_place() -> None:
    """The same test image as A and B: distance 0, and the page says nothing can morph. The
    path map below the note stays where it was, so the browser keeps its zoom."""
    app = open_page(INTERPOLATE_PAGE, SHIPPED_2D)
    for side in "AB":
        app.radio(key=f"interpolate_source_{side}").set_value("Test set")
    app.run()
    path_map = place_of(app, "plotly_chart")
    app.number_input(key="interpolate_test_B").set_value(0).run()
    assert not app.exception
    assert "lie 0.00 apart" in " ".join(c.value for c in app.caption)
    assert any("too close to morph visibly" in w.value for w in app.warning)
    assert place_of(app, "plotly_chart") == path_map
