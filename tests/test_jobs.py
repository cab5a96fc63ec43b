"""The job manager: training in a process of its own, read back from the run directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from testkit.waiting import wait_for
from tests.conftest import events, small_config
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.errors import ConfigError, RunError
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import saved_runs
from vaeapp.store.events import FAILED, FINISHED, STOPPED
from vaeapp.store.history import MetricsFollower
from vaeapp.store.runs import Run
from vaeapp.training import jobs
from vaeapp.training.trainer import Trainer


def sample_config(epochs: int = 200) -> RunConfig:
    """A small MLP on the offline sample: slow enough to stop mid-run, quick to start."""
    return RunConfig(
        model=ModelConfig(arch="mlp", latent_dim=2, hidden=(32,)),
        train=TrainConfig(data="sample", epochs=epochs, batch_size=100, seed=1),
    )


def steps_seen(run: Run) -> int:
    return len(MetricsFollower(run).read().steps)


@pytest.mark.slow
def test_a_job_trains_the_run_directory_written_before_it_starts(cleanup: None) -> None:
    config = RunConfig(
        model=ModelConfig(arch="mlp", latent_dim=3, hidden=(64, 16)),
        train=TrainConfig(data="sample", epochs=1, lr=3e-4, beta=0.5, binarize=True, seed=4),
    )
    run = jobs.start(config, "prepared")
    assert jobs.train_command(run)[3:] == ["train", "--resume", str(run.path), "--quiet"]
    wait_for(lambda: jobs.state(run).status == FINISHED, "the job has finished")
    recorded = run.read_config()
    assert (recorded.model, recorded.train) == (config.model, config.train)
    assert recorded.data_source.startswith("sample:") and "torch" in recorded.versions


@pytest.mark.slow
def test_start_follow_stop_and_resume_two_jobs_at_once(cleanup: None) -> None:
    first = jobs.start(sample_config(), "first")
    second = jobs.start(sample_config(), "second")
    assert jobs.state(first).status in (jobs.STARTING, jobs.RUNNING)
    wait_for(lambda: steps_seen(first) >= 3 and steps_seen(second) >= 3, "both jobs train")
    assert {job.run.name for job in jobs.active_jobs()} == {"first", "second"}
    running = jobs.state(first)
    assert running.status == jobs.RUNNING and running.pid != os.getpid()
    progress = MetricsFollower(first).read().progress
    assert progress.steps_total == 200 * 40 and progress.images_per_s > 0 and progress.eta_s > 0

    with pytest.raises(RunError, match="exists already"):
        jobs.start(sample_config(), "first")
    with pytest.raises(RunError, match="running already"):
        jobs.resume(first)

    assert jobs.stop(first)
    wait_for(lambda: not jobs.state(first).active, "the first job has ended")
    assert jobs.state(first).status == STOPPED and not first.is_training()
    assert jobs.state(second).status == jobs.RUNNING  # stopping one job leaves the other alone
    saved_step = first.load_checkpoint()["progress"]["global_step"]
    assert saved_step == steps_seen(first)  # the graceful stop saved every step it logged

    jobs.resume(first, epochs=300)
    wait_for(lambda: steps_seen(first) >= saved_step + 2, "the resumed job trains")
    assert first.read_config().train.epochs == 300
    assert [e["step"] for e in events(first, "start")] == [0, saved_step]


@pytest.mark.slow
def test_a_job_that_fails_before_training_says_why(cleanup: None) -> None:
    broken = RunConfig(train=TrainConfig(data="no-such-source"))
    run = jobs.start(broken, "broken")
    wait_for(lambda: not jobs.state(run).active, "the job has ended")
    failed = jobs.state(run)
    assert failed.status == FAILED and "unknown data source" in failed.message
    assert not failed.resumable


@pytest.mark.slow
def test_the_lock_allows_one_trainer_and_dies_with_its_holder(tmp_path) -> None:
    run = Run(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom vaeapp.store.runs import Run\n"
         f"with Run({str(tmp_path)!r}).lock():\n print('held', flush=True); time.sleep(300)"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert run.is_training() and run.training_pid() == holder.pid
        with (
            pytest.raises(RunError, match=f"another job \\(pid {holder.pid}\\)"),
            run.lock(),
        ):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert not run.is_training()  # kill -9 left no stale lock
    with run.lock():
        assert run.is_training() and run.training_pid() == os.getpid()


def test_states_of_runs_trained_elsewhere(tiny_dataset) -> None:
    finished = Run.create(runs_dir() / "finished", small_config(epochs=1))
    Trainer(finished, tiny_dataset).fit()
    assert jobs.state(finished).status == FINISHED
    with pytest.raises(ConfigError, match="trained 1 of 1 epochs; ask for more than 1"):
        jobs.resume(finished)
    with pytest.raises(ConfigError, match="epochs must be"):
        jobs.resume(finished, epochs=0)

    crashed = Run.create(runs_dir() / "crashed", small_config())
    crashed.append_metrics({"kind": "start", "epoch": 0, "time": time.time()})
    assert jobs.state(crashed).status == jobs.INTERRUPTED
    with pytest.raises(RunError, match="no checkpoint"):
        jobs.resume(crashed)
    assert [run.name for run in saved_runs()] == ["crashed", "finished"]
    assert jobs.active_jobs() == []


def test_start_refuses_bad_names_before_anything_runs() -> None:
    with pytest.raises(ConfigError, match="plain name"):
        jobs.start(sample_config(), "../escape")
    with pytest.raises(ConfigError, match="empty"):
        jobs.start(sample_config(), "  ")
    with pytest.raises(ConfigError, match="latent dimension"):
        jobs.start(RunConfig(model=ModelConfig(latent_dim=0)), "fine")
    assert saved_runs() == []
