"""The Interpolate page through streamlit.testing: inputs, previews, strip, map, bad uploads."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import small_config
from tests.photo_digits import photos_of_test_digits
from vaeapp.catalog import INTERPOLATE, default_for
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data import Dataset, load_dataset
from vaeapp.images import preprocess, read_image
from vaeapp.paths import DEFAULT_MODEL_DIR, runs_dir
from vaeapp.runs import Run
from vaeapp.train import Trainer

INTERPOLATE_PAGE = "from vaeapp.ui import interpolate_page\ninterpolate_page.render()"
PREVIEW = "What the model sees (28x28)"
ENDS = "A and B as the model rebuilds them"


@pytest.fixture(scope="module")
def photos() -> tuple[bytes, bytes]:
    first, second = photos_of_test_digits()
    return first, second


def page() -> AppTest:
    """The page with the shipped 2-D model, whose map shows the codes themselves (the page's
    own default is the 16-D one: `test_the_page_opens_the_16_dimensional_model`)."""
    app = AppTest.from_string(INTERPOLATE_PAGE, default_timeout=120)
    app.run()
    app.sidebar.selectbox(key="model_path").select(str(DEFAULT_MODEL_DIR)).run()
    assert not app.exception
    return app


def test_the_page_opens_the_16_dimensional_model() -> None:
    app = AppTest.from_string(INTERPOLATE_PAGE, default_timeout=120).run()
    assert app.sidebar.selectbox(key="model_path").value == str(default_for(INTERPOLATE).path)
    assert "16-D latent" in app.sidebar.caption[0].value


def upload(app: AppTest, side: str, name: str, data: bytes) -> None:
    app.file_uploader(key=f"interpolate_upload_{side}").set_value((name, data, "image/jpeg"))
    app.run()
    assert not app.exception


def captions(app: AppTest) -> list[str]:
    return [caption for image in app.get("image") for caption in image.captions]


def path_on_map(app: AppTest) -> np.ndarray:
    """The map's path trace as [M, 2]; Plotly sends numeric arrays base64-encoded."""
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    path = next(trace for trace in figure["data"] if trace.get("name") == "path")
    x, y = (np.frombuffer(base64.b64decode(path[k]["bdata"]), path[k]["dtype"]) for k in "xy")
    return np.stack([x, y], axis=1)


def png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def test_two_uploads_give_previews_strip_downloads_and_the_path(
    photos: tuple[bytes, bytes],
) -> None:
    app = page()
    assert "Give both images" in app.info[0].value
    upload(app, "A", "seven.jpg", photos[0])
    assert captions(app) == [PREVIEW]
    assert app.info and not app.get("plotly_chart")
    upload(app, "B", "eight.jpg", photos[1])
    assert not app.info and not app.error
    assert captions(app) == [PREVIEW, PREVIEW, ENDS, "10 images decoded along the path"]
    assert "apart in latent space" in " ".join(c.value for c in app.caption)
    assert [b.label for b in app.get("download_button")] == [
        "Download the strip (PNG)",
        "Download the animation (GIF, there and back)",
    ]
    path = path_on_map(app)
    model, _ = Run(DEFAULT_MODEL_DIR).load_model()
    with torch.no_grad():
        means, _ = model.encode(torch.stack([preprocess(read_image(p)) for p in photos]))
    assert path.shape == (10, 2) and np.allclose(path[[0, -1]], means.numpy(), atol=1e-5)

    app.slider(key="interpolate_steps").set_value(25)
    app.radio(key="interpolate_method").set_value("slerp").run()
    assert not app.exception
    assert captions(app)[-1] == "25 images decoded along the path"
    assert path_on_map(app).shape == (25, 2)


def bad_uploads() -> dict[str, tuple[bytes, str]]:
    blank = png(Image.new("L", (200, 200), 255))
    return {
        "empty.png": (b"", "empty.png is empty"),
        "notes.png": (b"shopping list: milk, eggs\n", "not an image vaeapp can read"),
        "cut.png": (png(Image.new("L", (300, 300), 90))[:100], "damaged"),
        "huge.png": (png(Image.new("1", (20000, 20000))), "too large"),
        "blank.png": (blank, "looks blank"),
    }


def test_bad_uploads_get_a_message_and_the_page_keeps_working(
    photos: tuple[bytes, bytes],
) -> None:
    app = page()
    upload(app, "A", "seven.jpg", photos[0])
    for name, (data, says) in bad_uploads().items():
        upload(app, "B", name, data)
        assert len(app.error) == 1 and says in app.error[0].value, name
        assert captions(app) == [PREVIEW], name
        assert "Give both images" in app.info[0].value
    upload(app, "B", "eight.jpg", photos[1])
    assert not app.error and captions(app)[-1] == "10 images decoded along the path"


def test_test_images_need_no_upload() -> None:
    app = page()
    app.radio(key="interpolate_source_A").set_value("Test set")
    app.radio(key="interpolate_source_B").set_value("Test set").run()
    app.number_input(key="interpolate_test_B").set_value(5).run()
    assert not app.exception and not app.error
    labels = load_dataset("sample").test.labels
    assert f"Label {int(labels[5])} in sample's test split" in [c.value for c in app.caption]
    assert captions(app) == [PREVIEW, PREVIEW, ENDS, "10 images decoded along the path"]
    assert "apart in latent space" in " ".join(c.value for c in app.caption)


def test_an_empty_canvas_asks_for_a_drawing() -> None:
    app = page()
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
    app = page()
    app.sidebar.selectbox(key="model_path").set_value(str(run.path)).run()
    app.radio(key="interpolate_source_A").set_value("Test set")
    app.radio(key="interpolate_source_B").set_value("Test set").run()
    assert not app.exception and not app.error
    assert any("two main directions of the 4-D codes" in c.value for c in app.caption)
    assert path_on_map(app).shape == (10, 2)


def test_without_the_models_data_the_strip_still_works(
    tiny_dataset: Dataset, photos: tuple[bytes, bytes]
) -> None:
    run = Run.create(runs_dir() / "toy", small_config(epochs=1))
    Trainer(run, tiny_dataset).fit()
    app = page()
    app.sidebar.selectbox(key="model_path").set_value(str(run.path)).run()
    upload(app, "A", "seven.jpg", photos[0])
    upload(app, "B", "eight.jpg", photos[1])
    assert captions(app)[-1] == "10 images decoded along the path"
    assert "No map" in app.warning[0].value and not app.get("plotly_chart")
    app.radio(key="interpolate_source_B").set_value("Test set").run()
    assert "unknown data source 'toy'" in app.error[0].value
