"""Two training jobs at once each write to their own run; a second job on the same run is refused,
whether it comes from the job manager (the app) or the CLI, and even when two start together."""

from __future__ import annotations

import signal
import subprocess

import pytest

from testkit.waiting import wait_for
from tests.command_line import VAEAPP, cli_error, one_line_error
from tests.conftest import events
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data.sources import load_dataset
from vaeapp.errors import RunError
from vaeapp.paths import runs_dir
from vaeapp.store.events import STOPPED
from vaeapp.store.runs import Run
from vaeapp.training import jobs
from vaeapp.training.trainer import Trainer

WAIT_S = 240
LONG = 500  # epochs: more than any test waits for; every job here is stopped

pytestmark = pytest.mark.slow  # every test here trains in processes of its own


def job_config(latent_dim: int, epochs: int = LONG) -> RunConfig:
    return RunConfig(
        model=ModelConfig(arch="mlp", latent_dim=latent_dim, hidden=(64,)),
        train=TrainConfig(data="sample", epochs=epochs, batch_size=128, seed=latent_dim),
    )


def test_two_jobs_train_apart_and_a_second_job_on_a_run_is_refused(
    cleanup: None, capsys: pytest.CaptureFixture[str]
) -> None:
    first = jobs.start(job_config(latent_dim=2), "first")
    with pytest.raises(RunError, match="exists already|one job per run"):
        jobs.start(job_config(latent_dim=2), "first")  # at once, while it starts
    second = jobs.start(job_config(latent_dim=3), "second")
    wait_for(
        lambda: all(
            jobs.state(r).status == jobs.RUNNING and events(r, "step") for r in (first, second)
        ),
        "both jobs train",
    )

    with pytest.raises(RunError, match="running already"):
        jobs.resume(first)
    with pytest.raises(RunError, match="exists already"):
        jobs.start(job_config(latent_dim=2), "first")
    resumed = cli_error(["train", "--resume", str(first.path), "--quiet"], capsys)
    assert "running already; stop that job before resuming" in resumed
    over = cli_error(["train", "--data", "sample", "--out", str(first.path), "--quiet"], capsys)
    assert "already holds a run" in over

    for run in (first, second):
        jobs.stop(run)
    wait_for(lambda: not jobs.active_jobs(), "both jobs have stopped")
    for run, latent_dim in ((first, 2), (second, 3)):
        assert jobs.state(run).status == STOPPED
        assert run.load_model()[1].model.latent_dim == latent_dim
        assert len(events(run, "start")) == 1 and events(run, "end")[0]["status"] == "stopped"
    assert sorted(p.name for p in runs_dir().iterdir()) == ["first", "second"]


def test_two_cli_resumes_of_one_run_started_together_train_it_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run.create(runs_dir() / "shared", job_config(latent_dim=2, epochs=1))
    Trainer(run, load_dataset("sample")).fit()
    command = [*VAEAPP, "train", "--resume", str(run.path), "--epochs", str(LONG), "--quiet"]
    both = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        wait_for(lambda: any(p.poll() is not None for p in both), "one of them has ended")
        loser = next(p for p in both if p.poll() is not None)
        winner = next(p for p in both if p is not loser)
        _, error = loser.communicate()
        assert loser.returncode == 1, error
        one_line_error(error)
        assert "running already" in error or "being trained by another job" in error
        wait_for(lambda: len(events(run, "start")) == 2 and run.is_training(), "the winner trains")
        assert winner.poll() is None
    finally:
        for process in both:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.communicate(timeout=WAIT_S)
    assert winner.returncode == 0 and events(run, "end")[-1]["status"] == "stopped"
    assert len(events(run, "start")) == 2  # the first training, and one resume
