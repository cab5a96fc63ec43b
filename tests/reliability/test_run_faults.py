"""Faults around a training run, as a user meets them through the CLI.

kill -9 mid-epoch, a write that fails for lack of space, a diverging run, and checkpoints that
are hostile or broken: each ends with a clear one-line message, and nothing saved is lost.
"""

from __future__ import annotations

import resource
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.waiting import wait_for
from tests.command_line import VAEAPP, process_error, run_vaeapp
from tests.conftest import events
from tests.damaged_runs import (
    MARKER,
    hostile_pickle,
    missing_key,
    other_shapes,
    truncated,
    unknown_key,
)
from vaeapp.store.catalog import summarise
from vaeapp.store.runs import Run

pytestmark = pytest.mark.slow  # every test here trains, or runs the CLI, in processes of its own

FAST = ["--data", "sample", "--arch", "mlp", "--hidden", "64", "--batch-size", "128", "--quiet"]


def test_kill_9_mid_epoch_leaves_a_loadable_run_that_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = subprocess.Popen(
        [*VAEAPP, "train", *FAST, "--epochs", "40", "--out", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(
        lambda: run.joinpath("metrics.jsonl").exists() and len(events(run, "epoch")) >= 1,
        "the first epoch is saved",
        timeout_s=120,
        interval_s=0.05,
    )
    saved_steps = len(events(run, "step"))
    wait_for(
        lambda: len(events(run, "step")) >= saved_steps + 3,
        "three more steps are logged",
        timeout_s=120,
        interval_s=0.05,
    )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with run.joinpath("metrics.jsonl").open("a") as torn:
        torn.write('{"kind": "step", "epoch": 2, "el')

    model, _ = Run(run).load_model()
    assert model.latent_dim == 2
    saved = Run(run).load_checkpoint()["progress"]
    assert saved["epoch"] >= 1 and saved["step_in_epoch"] == 0
    assert summarise(Run(run)).epochs_done >= saved["epoch"]

    resumed = run_vaeapp("train", "--resume", str(run), "--epochs", str(saved["epoch"] + 1))
    assert resumed.returncode == 0, resumed.stderr
    start = events(run, "start")[-1]
    assert start["resumed"] and start["epoch"] == saved["epoch"]
    metrics = Run(run).read_metrics()
    first_step = metrics[metrics.index(start) + 1]  # the line after, whatever the clock said
    assert first_step["step"] == saved["global_step"] + 1
    assert events(run, "epoch")[-1]["epoch"] == saved["epoch"] + 1


def _limit_file_size(limit: int) -> Callable[[], None]:
    """In the child: files may not grow beyond `limit` bytes, as on a nearly full disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert run_vaeapp("train", *FAST, "--epochs", "1", "--out", str(run)).returncode == 0
    before = Run(run).checkpoint_path.read_bytes()
    limit = len(before) // 2
    assert run.joinpath("metrics.jsonl").stat().st_size < limit // 2

    failed = run_vaeapp(
        "train",
        "--resume",
        str(run),
        "--epochs",
        "2",
        "--quiet",
        preexec_fn=_limit_file_size(limit),
    )
    message = process_error(failed)
    assert "could not write" in message and "previous version is intact" in message
    assert Run(run).checkpoint_path.read_bytes() == before
    assert Run(run).load_checkpoint()["progress"]["epoch"] == 1
    assert Run(run).read_metrics()[-1]["status"] == "failed"
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_diverging_run_stops_with_a_clear_message(tmp_path: Path) -> None:
    run = tmp_path / "run"
    message = process_error(run_vaeapp("train", *FAST, "--lr", "50", "--out", str(run)))
    assert "training stopped" in message and "lower learning rate" in message
    assert Run(run).read_metrics()[-1]["status"] == "diverged"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("trained") / "run"
    assert run_vaeapp("train", *FAST, "--epochs", "1", "--out", str(run)).returncode == 0
    return run


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (hostile_pickle, "not a weights-only checkpoint"),
        (truncated, "unreadable or truncated"),
        (other_shapes, "does not match its config.json"),
        (unknown_key, "unknown keys momentum"),
        (missing_key, "missing latent_dim"),
    ],
)
@pytest.mark.parametrize("command", ["evaluate", "sample"])
def test_broken_checkpoints_are_refused_clearly(
    trained_run: Path, tmp_path: Path, damage: Callable[[Path], None], expected: str, command: str
) -> None:
    run = tmp_path / "copy"
    run.mkdir()
    for name in ("config.json", "checkpoint.pt", "metrics.jsonl"):
        (run / name).write_bytes((trained_run / name).read_bytes())
    damage(run)
    extra = (
        ["--limit", "10", "-k", "2"] if command == "evaluate" else ["-o", str(tmp_path / "g.png")]
    )
    assert expected in process_error(run_vaeapp(command, str(run), *extra))
    assert not (run / MARKER).exists()
