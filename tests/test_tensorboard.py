"""`vaeapp train --tensorboard DIR`: event files TensorBoard's own reader reads back, a projector
config naming the test codes and their sprite, and one line where TensorBoard is missing."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter

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


def test_a_resumed_run_appends_and_replaces_what_a_killed_session_logged(tmp_path: Path) -> None:
    """Stopped at step 3 of 6, then resumed into the same folder: each step is read back once,
    with the run's own values, though the first session (as one killed after its checkpoint
    would) logged a step 5 that the resumed session trains again."""
    dataset = make_dataset(n_train=100, n_test=30)
    run = Run.create(tmp_path / "run", small_config(epochs=3))
    board = tmp_path / "board"
    stop = threading.Event()
    log = TensorBoardLog(board, run, dataset)

    def stop_at_step_three(event: dict) -> None:
        log(event)
        if event["kind"] == "step" and event["step"] == 3:
            stop.set()

    assert Trainer(run, dataset, stop_at_step_three, stop).fit() == "stopped"
    with SummaryWriter(str(board)) as killed:
        killed.add_scalar("train/elbo", -999.0, 5)
    assert Trainer(run, dataset, on_event=TensorBoardLog(board, run, dataset)).fit() == "finished"

    logged = _read(board)
    steps = events(run, "step")
    assert [s.step for s in logged.Scalars("train/elbo")] == [e["step"] for e in steps]
    assert [s.step for s in logged.Scalars("train/elbo")] == [1, 2, 3, 4, 5, 6]
    assert [s.value for s in logged.Scalars("train/elbo")] == pytest.approx(
        [e["elbo"] for e in steps]
    )
    assert [s.step for s in logged.Scalars("test/elbo")] == [1, 2, 3]


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
