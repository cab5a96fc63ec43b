"""`vaeapp train --tensorboard DIR`: event files TensorBoard's own reader reads back, a projector
config naming the test codes and their sprite, and one line where TensorBoard is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.command_line import process_error, run_vaeapp
from tests.conftest import events, make_dataset, small_config
from vaeapp.export.tensorboard import INSTALL, TensorBoardLog
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer


def _read(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_training_events_read_back_through_tensorboard(tmp_path: Path) -> None:
    dataset = make_dataset(n_train=100, n_test=30)
    run = Run.create(tmp_path / "run", small_config(epochs=2))
    board = tmp_path / "board"
    Trainer(run, dataset, on_event=TensorBoardLog(board, run, dataset)).fit()
    logged = _read(board)
    steps = [event["step"] for event in events(run, "step")]
    assert set(logged.Tags()["scalars"]) == {
        "train/elbo",
        "train/recon",
        "train/kl",
        "test/elbo",
        "test/recon",
        "test/kl",
        "train/epoch_elbo",
    }
    assert [s.step for s in logged.Scalars("train/elbo")] == steps
    assert [s.value for s in logged.Scalars("train/kl")] == pytest.approx(
        [event["kl"] for event in events(run, "step")]
    )
    assert [s.step for s in logged.Scalars("test/elbo")] == [1, 2]
    assert [s.value for s in logged.Scalars("test/elbo")] == pytest.approx(
        [event["test_elbo"] for event in events(run, "epoch")]
    )
    assert [i.step for i in logged.Images("samples")] == [1, 2]
    assert [i.step for i in logged.Images("reconstructions")] == [1, 2]
    projector = (board / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "test_codes:00002"' in projector
    assert 'image_path: "00002/test_codes/sprite.png"' in projector
    labels = (board / "00002" / "test_codes" / "metadata.tsv").read_text().split()
    assert labels == [str(label) for label in dataset.test.labels.tolist()]


@pytest.mark.slow
def test_the_cli_refuses_tensorboard_where_it_is_not_installed(tmp_path: Path) -> None:
    """Simulated by a sitecustomize that makes `import tensorboard` fail; refused before any
    run folder is made."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['tensorboard'] = None\n")
    path = os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])
    out = tmp_path / "run"
    refused = run_vaeapp(
        "train",
        "--out",
        str(out),
        "--tensorboard",
        str(tmp_path / "tb"),
        env={**os.environ, "PYTHONPATH": path},
    )
    assert INSTALL in process_error(refused) and not out.exists()
