"""Known factors on the Explore page (streamlit.testing): dots coloured by any factor of
`shapes`, the Factors tab's mutual information and MIG; data without factors say so."""

from __future__ import annotations

import base64
import csv
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.app_pages import EXPLORE_PAGE, errors, open_page, open_tab, saved_run
from tests.test_explore_page import sent_content
from vaeapp.data.sources import load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.factors import mig
from vaeapp.store.runs import Run
from vaeapp.ui.explore_tabs import _codes_csv
from vaeapp.ui.factors_tab import TAB as FACTORS_TAB

pytestmark = pytest.mark.slow  # the pages load `shapes`: 12,000 colour images


@pytest.fixture
def shapes_page() -> tuple[AppTest, Run]:
    run = saved_run("colour", 4, data="shapes", image_shape=(3, 32, 32), likelihood="dlogistic")
    return open_page(EXPLORE_PAGE, run), run


def test_the_dots_take_the_colours_of_the_chosen_factor(shapes_page) -> None:
    app, _ = shapes_page
    colour_by = app.sidebar.selectbox(key="explore_colour_by")
    assert colour_by.options == ["shape", "colour", "scale", "rotation", "x", "y"]
    assert sent_content(app)["classes"] == ["square", "ellipse", "heart", "triangle"]
    colour_by.select(1).run()
    assert sent_content(app)["classes"] == ["red", "yellow", "green", "cyan", "blue", "magenta"]
    assert not errors(app)


def test_the_factors_tab_gives_the_mig_of_the_shown_codes(shapes_page) -> None:
    app, run = shapes_page
    model, config = run.load_model()
    data = load_dataset("shapes", shape=config.model.image_shape)
    score, _ = mig(encode_dataset(model, data.test.images)[0].numpy(), data.test.factors.numpy())
    open_tab(app, FACTORS_TAB)
    (shown,) = [m.value for m in app.markdown if m.value.startswith("**MIG")]
    assert shown.startswith(f"**MIG {score:.2f}**")
    (figure,) = [c for c in app.get("plotly_chart") if "explore_factors" in c.proto.id]
    heatmap = json.loads(figure.proto.spec)["data"][0]
    assert heatmap["x"] == ["shape", "colour", "scale", "rotation", "x", "y"]
    packed = heatmap["z"]  # plotly's typed array: base64 bytes, dtype and shape
    shape = tuple(int(n) for n in packed["shape"].split(","))
    shares = np.frombuffer(base64.b64decode(packed["bdata"]), packed["dtype"]).reshape(shape)
    assert shares.shape == (4, 6) and ((shares >= 0) & (shares <= 1)).all()


def test_data_without_factors_say_so() -> None:
    app = open_page(EXPLORE_PAGE, saved_run("grey", 2))
    assert not [s for s in app.sidebar.selectbox if s.key == "explore_colour_by"]
    open_tab(app, FACTORS_TAB)
    assert any("has no known factors" in i.value for i in app.info)


def test_the_codes_csv_names_each_images_factors() -> None:
    data = load_dataset("shapes", shape=(3, 16, 16))
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    explorer = SimpleNamespace(dim=2, data=data, dots=data.test, mu=mu, logvar=logvar)
    rows = list(csv.reader(io.StringIO(_codes_csv(explorer, [0, 2]).decode())))
    assert rows[0] == ["index", "label", *data.factor_names, "mu1", "mu2", "sigma1", "sigma2"]
    factors = data.test.factors[2].tolist()
    assert rows[2][2:8] == [data.factor_values[f][v] for f, v in enumerate(factors)]
    assert rows[2][0] == "2" and rows[2][1] == str(int(data.test.labels[2]))
