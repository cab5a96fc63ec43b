"""A colleague's run folder holds whatever it holds: per-epoch pictures that are decompression
bombs or SVGs under a .png name, a damaged replay file. The pages read them with an upload's
guards, leave out what fails them, and keep working."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app_pages import EXPLORE_PAGE, TRAIN_PAGE, open_page, saved_run, warnings
from tests.conftest import small_config
from tests.reliability.hard_uploads import HTML_PAGE, declared_size_png, truncated
from vaeapp.paths import runs_dir
from vaeapp.store.epoch_outputs import (
    RECONSTRUCTIONS_FILE,
    REPLAY_DIR,
    REPLAY_LABELS,
    SAMPLES_FILE,
)
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="9e9" height="9e9"><rect/></svg>'
PICTURES: dict[str, Callable[[bytes], bytes]] = {
    "20000x20000 bomb": lambda png: declared_size_png(20_000, 20_000),
    "svg named png": lambda png: SVG,
    "html named png": lambda png: HTML_PAGE,
    "truncated": truncated,
    "empty": lambda png: b"",
}


@pytest.fixture
def trained(tiny_dataset) -> Run:
    run = Run.create(runs_dir() / "colleague", small_config(epochs=1))
    Trainer(run, tiny_dataset).fit()
    return run


@pytest.mark.slow
@pytest.mark.parametrize("damage", PICTURES.values(), ids=PICTURES.keys())
def test_hostile_epoch_pictures_are_left_out_and_the_train_page_works(
    trained: Run, damage: Callable[[bytes], bytes]
) -> None:
    assert trained.pictures() is not None  # the trainer's own pass the guards
    for name in (RECONSTRUCTIONS_FILE, SAMPLES_FILE):
        path = trained.file(name)
        path.write_bytes(damage(path.read_bytes()))
    assert trained.pictures() is None
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_watch").set_value(str(trained.path)).run()
    assert not app.exception
    assert not app.get("imgs")  # no picture shown, the page's chart and status are


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [b"", b"\x93NUMPY garbage", b"PK\x03\x04 not a numpy file"],
    ids=["empty", "bad header", "zip"],
)
def test_a_damaged_replay_file_is_one_warning_and_the_map_stays(damage: bytes) -> None:
    run = saved_run("replayed", latent_dim=2)
    codes = np.zeros((1000, 2), dtype=np.float16)
    run.save_replay(1, codes)
    run.save_replay(2, codes)
    (run.file(REPLAY_DIR) / "epoch-0001.npy").write_bytes(damage)
    app = open_page(EXPLORE_PAGE, run)
    app.sidebar.select_slider(key=f"explore_replay:{run.path}").set_value(1).run()
    assert not app.exception
    assert any("epoch 1 are missing or damaged" in w for w in warnings(app)), warnings(app)
    assert app.get("bidi_component")  # the map, with the model's own codes


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
labels_files = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda labels, classes: json.dumps({"labels": labels, "classes": classes}).encode(),
        json_values,
        json_values,
    ),
    st.builds(lambda value: json.dumps(value).encode(), json_values),
    st.just(b"[" * 100_000 + b"]" * 100_000),
)


@pytest.fixture
def replayed() -> Run:
    run = saved_run("labelled", latent_dim=2)
    run.file(REPLAY_DIR).mkdir()
    return run


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=labels_files)
def test_kept_labels_of_any_bytes_are_read_whole_and_right_or_not_at_all(
    replayed: Run, data: bytes
) -> None:
    (replayed.file(REPLAY_DIR) / REPLAY_LABELS).write_bytes(data)
    kept = replayed.load_replay_labels()
    if kept is not None:
        labels, classes = kept
        assert classes and all(isinstance(name, str) for name in classes)
        assert labels.dtype == np.int64 and ((labels >= 0) & (labels < len(classes))).all()
