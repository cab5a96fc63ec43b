"""Models by name on the command line: `vaeapp models`, a shipped model's name wherever a RUN
goes, and an interpolation's frames as PNG files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.command_line import run_vaeapp
from tests.conftest import small_config
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import EXPLORE, INTERPOLATE, SHIPPED
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer


@pytest.mark.slow
def test_models_lists_the_shipped_and_saved_models_with_their_pages(tiny_dataset) -> None:
    saved = Run.create(runs_dir() / "mine", small_config(epochs=1))
    Trainer(saved, tiny_dataset).fit()
    Run.create(runs_dir() / "not-trained-yet", small_config())
    listed = run_vaeapp("models", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["models"]}
    assert list(rows) == [*(model.name for model in SHIPPED), "mine"]
    assert rows["default"]["default_for"] == [EXPLORE]
    assert rows["digits-16d"]["default_for"] == [INTERPOLATE]
    assert rows["digits-16d"]["latent_dim"] == 16 and rows["default"]["latent_dim"] == 2
    assert rows["mine"] | {"path": ""} == {
        "name": "mine",
        "path": "",
        "data": "toy",
        "latent_dim": 2,
        "epochs": 1,
        "test_elbo": rows["mine"]["test_elbo"],
        "normalised": True,
        "shipped": False,
        "default_for": [],
    }
    assert Path(rows["mine"]["path"]) == saved.path and rows["mine"]["test_elbo"] < 0
    table = run_vaeapp("models").stdout.splitlines()
    assert table[0].split()[:2] == ["name", "data"] and table[1].startswith("default ")


@pytest.mark.slow
@pytest.mark.parametrize("name", [model.name for model in SHIPPED])
def test_every_command_takes_a_shipped_models_name(name: str, tmp_path: Path) -> None:
    grid = tmp_path / "grid.png"
    assert run_vaeapp("sample", name, "--n", "4", "-o", str(grid)).returncode == 0
    evaluated = run_vaeapp("evaluate", name, "-k", "2", "--limit", "20", "--json")
    assert json.loads(evaluated.stdout)["n"] == 20


@pytest.mark.slow
def test_a_name_that_is_no_model_is_one_line() -> None:
    refused = run_vaeapp("sample", "no-such-model")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "no model called 'no-such-model'" in refused.stderr


@pytest.mark.slow
def test_a_shipped_model_is_never_trained_further() -> None:
    refused = run_vaeapp("train", "--resume", "default", "--epochs", "100")
    assert refused.returncode == 1 and "ships with vaeapp" in refused.stderr


@pytest.mark.slow
def test_interpolate_writes_each_frame_as_a_28x28_png(
    photos: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    frames = tmp_path / "frames"
    made = run_vaeapp(
        "interpolate", "digits-16d", *map(str, photos), "--steps", "7", "--frames", str(frames),
        "-o", str(tmp_path / "strip.png"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    written = sorted(frames.iterdir())
    assert [p.name for p in written] == [f"frame-{i:02d}.png" for i in range(7)]
    with Image.open(written[0]) as first, Image.open(written[-1]) as last:
        assert first.size == last.size == (28, 28) and first.mode == "L"
        assert first.tobytes() != last.tobytes()
