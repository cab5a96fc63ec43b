"""The app's pages run headless through streamlit.testing, and what the tests read from them."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from streamlit.testing.v1 import AppTest

from testkit.interpolate_page import PREVIEW
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.model.networks import build_model
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.runs import Run
from vaeapp.ui.explore_page import TABS_KEY

EXPLORE_PAGE = "from vaeapp.ui import explore_page\nexplore_page.render()"
INTERPOLATE_PAGE = "from vaeapp.ui import interpolate_page\ninterpolate_page.render()"
TRAIN_PAGE = "from vaeapp.ui import train_page\ntrain_page.render()"
COMPARE_PAGE = "from vaeapp.ui import compare_page\ncompare_page.render()"
ENDS = "A and B as the model rebuilds them"  # the caption of Interpolate's two ends
SHIPPED_2D = Run(DEFAULT_MODEL.path)  # the shipped model whose map shows the codes themselves


def open_page(script: str, model: Run | None = None) -> AppTest:
    """A page after its first run, which must not have raised; then on `model`, if given."""
    app = AppTest.from_string(script, default_timeout=120)
    app.run()
    assert not app.exception
    if model is not None:
        choose_model(app, model)
    return app


def choose_model(app: AppTest, run: Run) -> None:
    """Pick `run` in the sidebar's model picker, and rerun the page."""
    app.sidebar.selectbox(key="model_path").select(str(run.path)).run()


def open_tab(app: AppTest, label: str) -> None:
    """Open Explore's tab `label`, as a click on it does: the page runs again with it open."""
    app.session_state[TABS_KEY] = label
    app.run()
    assert not app.exception


def saved_run(
    name: str,
    latent_dim: int,
    data: str = "sample",
    image_shape: tuple[int, int, int] = (1, 28, 28),
    likelihood: str = "bernoulli",
) -> Run:
    """A run with an untrained MLP checkpoint under the runs folder: enough for the pages,
    instant to make."""
    model = ModelConfig(
        arch="mlp",
        latent_dim=latent_dim,
        hidden=(32,),
        image_shape=image_shape,
        likelihood=likelihood,
    )
    config = RunConfig(
        model=model,
        train=TrainConfig(data=data, epochs=3, binarize=likelihood == "bernoulli"),
        data_source=data,
    )
    run = Run.create(runs_dir() / name, config)
    torch.manual_seed(0)
    run.save_checkpoint({"model": build_model(config.model).state_dict()})
    run.append_metrics({"kind": "epoch", "epoch": 1, "test_elbo": -321.5, "time": 1.0})
    return run


def chart(app: AppTest, index: int = 0) -> dict:
    """The Plotly figure of the page's `index`-th chart, as the JSON the browser gets."""
    return json.loads(app.get("plotly_chart")[index].proto.spec)


def numbers(values: list | dict) -> list[float]:
    """A trace's coordinates from the figure's JSON, where numpy arrays travel as binary."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return values


def upload(app: AppTest, side: str, name: str, data: bytes) -> None:
    """Give Interpolate's image `side` ("A" or "B") the file `name`; the page must not raise."""
    app.file_uploader(key=f"interpolate_upload_{side}").set_value((name, data, "image/jpeg"))
    app.run()
    assert not app.exception


def captions(app: AppTest) -> list[str]:
    """Every image caption on the page, in order."""
    return [caption for image in app.get("image") for caption in image.captions]


def strip(steps: int = 10) -> str:
    """The caption of Interpolate's strip of `steps` images."""
    return f"{steps} images decoded along the path"


def shows_the_strip(app: AppTest, label: str = "") -> None:
    """Interpolate with both images: their previews, the two ends and the strip; no error."""
    shown = captions(app)
    assert not app.error, f"{label}: {errors(app)}"
    assert shown == [PREVIEW, PREVIEW, ENDS, strip()], f"{label}: {shown}"


def shows_the_refusal(app: AppTest, says: str, label: str = "") -> None:
    """Interpolate after image B was refused: one error that says `says`, A's preview alone,
    and the page pointing at that refusal, not asking for an image the user has just given."""
    shown = captions(app)
    assert len(app.error) == 1 and says in errors(app)[0], f"{label}: {errors(app)}"
    assert shown == [PREVIEW], f"{label}: {shown}"
    assert [info.value for info in app.info] == [
        "Image B cannot be used: its message above says why. Give another."
    ], label


def path_on_map(app: AppTest) -> np.ndarray:
    """Interpolate's path on the latent map, [M, 2]."""
    path = next(trace for trace in chart(app)["data"] if trace.get("name") == "path")
    return np.stack([numbers(path["x"]), numbers(path["y"])], axis=1)


def following(app: AppTest, label: str) -> str | None:
    """The type of the element right after the widget labelled `label` in the form, in reading
    order through its columns and expanders: "error" where the form put its message beside
    that field."""

    def in_order(node: Any) -> Iterator[Any]:
        for child in getattr(node, "children", {}).values():
            if type(child).__name__ in ("Column", "Expander", "Block", "HorizontalBlock"):
                yield from in_order(child)
            else:
                yield child

    children = list(in_order(app.get("form")[0]))
    index = next(i for i, child in enumerate(children) if getattr(child, "label", None) == label)
    return children[index + 1].type if index + 1 < len(children) else None


def errors(app: AppTest) -> list[str]:
    """The page's error messages as a reader sees them."""
    return [as_read(error.value) for error in app.error]


def warnings(app: AppTest) -> list[str]:
    """The page's warnings, the sidebar's included, as a reader sees them."""
    return [as_read(warning.value) for warning in app.warning]


def as_read(markdown: str) -> str:
    """Markdown as a reader sees it: its backslash escapes resolved (a message quoting a user's
    file or link is escaped so that it shows as typed)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def place_of(app: AppTest, kind: str) -> tuple[int, ...]:
    """Where the page's first element of `kind` (a streamlit.testing class name, "Tab", or an
    element type, "plotly_chart") is, as indices from the main area down. The browser keeps
    what a user did to an element (the tab opened, the zoom) only while its place holds."""

    def places(node: Any, path: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], Any]]:
        for index, child in getattr(node, "children", {}).items():
            yield (*path, index), child
            yield from places(child, (*path, index))

    return next(
        path
        for path, node in places(app.main, ())
        if kind in (type(node).__name__, getattr(node, "type", None))
    )
