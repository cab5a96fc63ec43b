"""Faults around a training run, as a user meets them through the CLI.

kill -9 mid-epoch, a write that fails for lack of space, a diverging run, and checkpoints that
are hostile or broken: each ends with a clear one-line message, and nothing saved is lost.
"""

from __future__ import annotations

import json
import pickle
import resource
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import VAEAPP, run_vaeapp
from vaeapp.runs import Run

FAST = ["--data", "sample", "--arch", "mlp", "--hidden", "64", "--batch-size", "128", "--quiet"]


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaeapp: error:"), result.stderr
    return lines[0]


def events(run: Path, kind: str) -> list[dict]:
    return [e for e in Run(run).read_metrics() if e["kind"] == kind]


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_kill_9_mid_epoch_leaves_a_loadable_run_that_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = subprocess.Popen(
        [*VAEAPP, "train", *FAST, "--epochs", "40", "--out", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: run.joinpath("metrics.jsonl").exists() and len(events(run, "epoch")) >= 1)
    saved_steps = len(events(run, "step"))
    wait_for(lambda: len(events(run, "step")) >= saved_steps + 3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with run.joinpath("metrics.jsonl").open("a") as torn:
        torn.write('{"kind": "step", "epoch": 2, "el')

    model, _ = Run(run).load_model()
    assert model.latent_dim == 2
    saved = Run(run).load_checkpoint()["progress"]
    assert saved["epoch"] >= 1 and saved["step_in_epoch"] == 0
    assert Run(run).summary().epochs_done >= saved["epoch"]

    resumed = run_vaeapp("train", "--resume", str(run), "--epochs", str(saved["epoch"] + 1))
    assert resumed.returncode == 0, resumed.stderr
    start = events(run, "start")[-1]
    assert start["resumed"] and start["epoch"] == saved["epoch"]
    first_step = next(e for e in Run(run).read_metrics() if e["time"] > start["time"])
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
    message = one_line_error(failed)
    assert "could not write" in message and "previous version is intact" in message
    assert Run(run).checkpoint_path.read_bytes() == before
    assert Run(run).load_checkpoint()["progress"]["epoch"] == 1
    assert Run(run).read_metrics()[-1]["status"] == "failed"
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_diverging_run_stops_with_a_clear_message(tmp_path: Path) -> None:
    run = tmp_path / "run"
    message = one_line_error(run_vaeapp("train", *FAST, "--lr", "50", "--out", str(run)))
    assert "training stopped" in message and "lower learning rate" in message
    assert Run(run).read_metrics()[-1]["status"] == "diverged"


class Payload:
    """Unpickling this writes a marker file: what a hostile checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "code ran"))


def _hostile_pickle(run: Path) -> None:
    (run / "checkpoint.pt").write_bytes(pickle.dumps({"model": Payload(run / "marker")}))


def _truncated(run: Path) -> None:
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(data[: len(data) // 3])


def _other_shapes(run: Path) -> None:
    config = json.loads((run / "config.json").read_text())
    config["model"]["hidden"] = [65]
    (run / "config.json").write_text(json.dumps(config))


def _unknown_key(run: Path) -> None:
    config = json.loads((run / "config.json").read_text())
    config["train"]["momentum"] = 0.9
    (run / "config.json").write_text(json.dumps(config))


def _missing_key(run: Path) -> None:
    config = json.loads((run / "config.json").read_text())
    del config["model"]["latent_dim"]
    (run / "config.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("trained") / "run"
    assert run_vaeapp("train", *FAST, "--epochs", "1", "--out", str(run)).returncode == 0
    return run


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (_hostile_pickle, "not a weights-only checkpoint"),
        (_truncated, "unreadable or truncated"),
        (_other_shapes, "does not match its config.json"),
        (_unknown_key, "unknown keys momentum"),
        (_missing_key, "missing latent_dim"),
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
    assert expected in one_line_error(run_vaeapp(command, str(run), *extra))
    assert not (run / "marker").exists()
