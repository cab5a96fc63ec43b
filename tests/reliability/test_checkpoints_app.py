"""Broken and hostile runs in the app (streamlit.testing): the model picker and the pages that
load a model say what is wrong with each, run no code from a checkpoint, and keep working.

The damage is done by the same functions as the CLI's tests (tests/damaged_runs.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages import (
    COMPARE_PAGE,
    EXPLORE_PAGE,
    INTERPOLATE_PAGE,
    TRAIN_PAGE,
    as_read,
    choose_model,
    errors,
    open_page,
    saved_run,
    warnings,
)
from tests.damaged_runs import (
    MARKER,
    hostile_pickle,
    missing_key,
    non_finite_weights,
    other_shapes,
    truncated,
    unknown_key,
)
from vaeapp.paths import runs_dir
from vaeapp.store.runs import Run

MODEL_PAGES = {"Explore": EXPLORE_PAGE, "Interpolate": INTERPOLATE_PAGE}
LISTED: dict[str, tuple[Callable[[Path], None], str]] = {
    "hostile": (hostile_pickle, "not a weights-only checkpoint and was refused"),
    "truncated": (truncated, "unreadable or truncated"),
    "other-shapes": (other_shapes, "does not match its config.json"),
    "non-finite": (non_finite_weights, "holds non-finite weights"),
}
UNLISTED: dict[str, tuple[Callable[[Path], None], str]] = {
    "unknown-key": (unknown_key, "unknown keys momentum"),
    "missing-key": (missing_key, "missing latent_dim"),
}


@pytest.fixture
def broken_runs() -> dict[str, Run]:
    """A good run, and one run per kind of damage, under the runs folder."""
    runs = {"good": saved_run("good", latent_dim=2)}
    for name, (damage, _) in {**LISTED, **UNLISTED}.items():
        runs[name] = saved_run(name, latent_dim=2)
        damage(runs[name].path)
    return runs


@pytest.mark.parametrize(
    "page_name", [pytest.param("Explore", marks=pytest.mark.slow), "Interpolate"]
)  # Explore maps the test set of every run it switches to: about 2 s here
def test_each_broken_run_gets_its_message_and_the_page_keeps_working(
    broken_runs: dict[str, Run], page_name: str
) -> None:
    app = open_page(MODEL_PAGES[page_name])
    listed = {label.partition(":")[0] for label in app.sidebar.selectbox(key="model_path").options}
    assert {*LISTED, "good"} < listed
    for name, (_, says) in LISTED.items():
        choose_model(app, broken_runs[name])
        assert not app.exception, name
        assert len(app.error) == 1 and says in errors(app)[0], name
        assert not (broken_runs[name].path / MARKER).exists()
        choose_model(app, broken_runs["good"])
        assert not app.exception and not app.error, name
    for name, (_, says) in UNLISTED.items():
        assert name not in listed, name
        unreadable = " ".join(as_read(w.value) for w in app.sidebar.warning)
        assert name in unreadable and says in unreadable, name


def _epoch_without_numbers(run: Path) -> None:
    """An epoch event with none of its numbers, as a hand edit of metrics.jsonl leaves it."""
    Run(run).append_metrics({"kind": "epoch", "epoch": 2, "time": 1.0})


def test_the_train_page_watches_every_broken_run_without_failing(
    broken_runs: dict[str, Run],
) -> None:
    _epoch_without_numbers(broken_runs["good"].path)
    app = open_page(TRAIN_PAGE)
    watched = {name.partition(" ")[0] for name in app.selectbox(key="train_watch").options}
    assert watched == set(broken_runs)
    for run in broken_runs.values():
        app.selectbox(key="train_watch").set_value(str(run.path)).run()
        assert not app.exception, run.name
        assert app.get("plotly_chart"), run.name
    assert not any((run.path / MARKER).exists() for run in broken_runs.values())


def test_the_compare_page_names_the_runs_it_cannot_read(broken_runs: dict[str, Run]) -> None:
    app = open_page(COMPARE_PAGE)
    app.multiselect(key="compare_runs").set_value([str(r.path) for r in broken_runs.values()])
    app.run()
    assert not app.exception
    warned = " ".join(warnings(app))
    for name, (_, says) in UNLISTED.items():
        assert name in warned and says in warned, name
    assert len(app.dataframe[0].value) == len(broken_runs) - len(UNLISTED)


def test_a_folder_name_and_a_link_quoted_in_the_sidebar_show_as_typed() -> None:
    folder = "![pixel](x.png) $x^2$"
    broken = runs_dir() / folder
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{")
    (broken / "checkpoint.pt").write_bytes(b"")  # listed only with a checkpoint
    link = "[click](http://example.com) <b>"
    app = AppTest.from_string(EXPLORE_PAGE, default_timeout=120)
    app.query_params["run"] = link
    app.run()
    assert not app.exception
    shown = warnings(app)
    assert any(folder in w and "is not listed" in w for w in shown), shown
    assert any(f"No model called {link!r}" in w for w in shown), shown
    for warning in app.warning:  # markdown makes no image, link, maths or tag of them
        assert re.findall(r"(?<!\\)[!\[\]()$<>]", warning.value) == []
