"""Training on several processes: two CPU processes under torchrun (gloo) against one process.

The torchrun runs train on the first 3,001 training digits of the offline sample, written as IDX
files, with a global batch of 2 x 50: every epoch ends on a batch of one image, so in that step
process 1 has no rows at all, and the weighting of each process's share is exercised.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from testkit.waiting import wait_for
from tests.command_line import run_vaeapp
from tests.conftest import events, small_config
from tests.test_data import write_idx
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data.sources import load_dataset
from vaeapp.errors import ConfigError
from vaeapp.files import process_alive
from vaeapp.model.evaluate import elbo_sums
from vaeapp.model.networks import build_model
from vaeapp.store.events import FAILED, STOPPED
from vaeapp.store.runs import Run
from vaeapp.training import jobs
from vaeapp.training.distributed import World
from vaeapp.training.launch import launcher
from vaeapp.training.trainer import Trainer

N_TRAIN, N_TEST = 3001, 1000
EPOCHS = 4
SETTINGS = ["--arch", "mlp", "--hidden", "256", "--latent-dim", "4", "--binarize", "--seed", "3"]
TORCHRUN = [*launcher(2), "-m", "vaeapp", "train", "--quiet"]
# Two processes take the very steps of one process with their global batch (same images, same
# noise); only the order of float additions differs (the gradient all-reduce, the sums of the
# shares): about 1e-7 relative per step, which Adam amplifies in weights whose gradients are
# near zero. Measured: over 6 epochs (186 steps) of these settings the test ELBOs agreed to
# 5e-4 nats and the weights to 2e-4 of their norm; benchmarks/distributed.py's larger network
# agreed to 0.013 and 0.024 nats after 160 steps. 0.05 nats stays far below what a real
# difference moves the ELBO: with seeds 4 and 5 instead of 3, these 4 epochs end 0.3 and 4.1
# nats apart.
TOLERANCE_NATS = 0.05
WEIGHTS_RTOL = 1e-3
WAIT_S = 120


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> str:
    """An idx: data spec of 3,001 training and 1,000 test digits from the offline sample."""
    sample = load_dataset("sample", data_dir=shared_data_dir)
    folder = tmp_path_factory.mktemp("digits")
    for name, split, n in (("train", sample.train, N_TRAIN), ("t10k", sample.test, N_TEST)):
        pixels = (split.images[:n, 0] * 255).round().to(torch.uint8).numpy()
        write_idx(folder / f"{name}-images-idx3-ubyte", pixels)
        write_idx(folder / f"{name}-labels-idx1-ubyte", split.labels[:n].numpy().astype(np.uint8))
    return f"idx:{folder}"


def torchrun(*args: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [*TORCHRUN, *args], capture_output=True, text=True, timeout=WAIT_S, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory, digits: str) -> Run:
    """A run trained straight through by two processes of 50 images each."""
    out = tmp_path_factory.mktemp("two") / "run"
    torchrun(
        "--data",
        digits,
        *SETTINGS,
        "--batch-size",
        "50",
        "--epochs",
        str(EPOCHS),
        "--out",
        str(out),
    )
    return Run(out)


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread, as torchrun runs each process here: on a busy two-core machine a
    process of two threads stalls (it took five times as long as one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def worker_pid(launcher_pid: int, rank: int) -> int | None:
    """torchrun's worker process of `rank`: the launcher's child whose environment says so."""
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            environment = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == launcher_pid and f"RANK={rank}".encode() in environment:
            return int(entry.name)
    return None


def test_the_shares_of_a_global_batch_make_it_up_exactly() -> None:
    batch = torch.arange(11)
    shares = [World(rank, 3).rows(batch) for rank in range(3)]
    assert sorted(torch.cat(shares).tolist()) == batch.tolist()
    assert [len(share) for share in shares] == [4, 4, 3]
    noise = torch.randn(2, 11, 5)
    assert torch.equal(World(1, 3).rows(noise, dim=1), noise[:, 1::3])
    assert torch.equal(World().rows(batch), batch)


def test_test_bound_shares_add_up_to_one_process_bound(tiny_dataset) -> None:
    torch.manual_seed(0)
    model = build_model(small_config().model)
    images = tiny_dataset.test.images
    whole = elbo_sums(model, images, batch_size=7, seed=5)
    parts = sum(elbo_sums(model, images, batch_size=7, seed=5, part=(i, 3)) for i in range(3))
    torch.testing.assert_close(parts, whole, rtol=1e-12, atol=1e-9)
    assert whole[2].item() == len(images)


@pytest.mark.slow
def test_a_run_of_two_processes_is_resumed_by_two_only(tmp_path: Path, tiny_dataset) -> None:
    config = small_config()
    config = replace(config, train=replace(config.train, world_size=2))
    run = Run.create(tmp_path / "two", config)
    before = run.file("config.json").read_bytes()
    result = run_vaeapp("train", "--resume", str(run.path), "--epochs", "9")
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "was trained by 2 processes, not 1: resume it under torchrun" in result.stderr
    assert run.file("config.json").read_bytes() == before
    with pytest.raises(ConfigError, match="trained by 2 processes"):
        Trainer(run, tiny_dataset)
    assert jobs.train_command(run)[1:5] == [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
    ]


@pytest.mark.slow
def test_two_processes_train_as_one_process_with_their_global_batch(
    two_processes: Run, digits: str, tmp_path: Path
) -> None:
    config = two_processes.read_config()
    assert (config.train.world_size, config.train.batch_size) == (2, 50)
    assert config.train.global_batch_size == 100
    one = Run.create(
        tmp_path / "one", replace(config, train=replace(config.train, batch_size=100, world_size=1))
    )
    with one_thread():
        Trainer(one, load_dataset(digits)).fit()

    (start,) = events(two_processes, "start")
    assert (start["world_size"], start["n_train"], start["steps_per_epoch"]) == (2, N_TRAIN, 31)
    assert [e["status"] for e in events(two_processes, "end")] == ["finished"]
    epochs = events(two_processes, "epoch")
    assert [e["epoch"] for e in epochs] == list(range(1, EPOCHS + 1))  # each logged once
    assert len(events(two_processes, "step")) == EPOCHS * 31
    for ours, alone in zip(epochs, events(one, "epoch"), strict=True):
        for key in ("test_elbo", "test_recon", "test_kl", "train_elbo"):
            assert ours[key] == pytest.approx(alone[key], abs=TOLERANCE_NATS), key
    weights, alone_weights = (
        two_processes.load_checkpoint()["model"],
        one.load_checkpoint()["model"],
    )
    for name, tensor in alone_weights.items():
        assert (weights[name] - tensor).norm() <= WEIGHTS_RTOL * tensor.norm(), name


@pytest.mark.slow
def test_sigterm_to_torchrun_saves_once_and_a_resume_continues_exactly(
    two_processes: Run, digits: str, tmp_path: Path
) -> None:
    run = Run(tmp_path / "stopped")
    args = ["--data", digits, *SETTINGS, "--batch-size", "50", "--epochs", str(EPOCHS)]
    launched = subprocess.Popen(
        [*TORCHRUN, *args, "--out", str(run.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: run.exists() and len(events(run, "step")) >= 3, "two processes train")
        workers = [worker_pid(launched.pid, rank) for rank in (0, 1)]
        launched.send_signal(signal.SIGTERM)
        launched.communicate(timeout=WAIT_S)
    finally:
        if launched.poll() is None:
            launched.kill()
    assert None not in workers and not any(process_alive(pid) for pid in workers)
    assert [e["status"] for e in events(run, "end")] == ["stopped"]
    saved = run.load_checkpoint()["progress"]["global_step"]
    assert 3 <= saved < EPOCHS * 31 and saved == len(events(run, "step"))  # saved once, all
    assert not run.is_training()

    torchrun("--resume", str(run.path))
    for name, tensor in two_processes.load_checkpoint()["model"].items():
        torch.testing.assert_close(run.load_checkpoint()["model"][name], tensor)
    assert [e["resumed"] for e in events(run, "start")] == [False, True]
    assert sorted({e["epoch"] for e in events(run, "epoch")}) == list(range(1, EPOCHS + 1))
    assert [e["status"] for e in events(run, "end")] == ["stopped", "finished"]


@pytest.mark.slow
def test_a_job_of_two_processes_stops_resumes_and_fails_cleanly_when_one_dies(
    cleanup: None, digits: str
) -> None:
    config = RunConfig(
        model=ModelConfig(arch="mlp", latent_dim=2, hidden=(64,)),
        train=TrainConfig(data=digits, epochs=500, batch_size=50, world_size=2, seed=1),
    )
    run = jobs.start(config, "two")
    wait_for(lambda: len(events(run, "step")) >= 3, "the job trains")
    assert jobs.state(run).pid == worker_pid(run.job_record().pid, 0)  # process 0 holds the lock
    assert jobs.stop(run)
    wait_for(lambda: not jobs.state(run).active, "the job has stopped")
    assert jobs.state(run).status == STOPPED
    assert [e["status"] for e in events(run, "end")] == ["stopped"]
    assert run.load_checkpoint()["progress"]["global_step"] == len(events(run, "step"))

    jobs.resume(run)
    wait_for(lambda: len(events(run, "epoch")) >= 1 and jobs.state(run).active, "it trains again")
    launcher_pid = run.job_record().pid
    workers = [worker_pid(launcher_pid, rank) for rank in (0, 1)]
    os.kill(workers[1], signal.SIGKILL)
    wait_for(lambda: not jobs.state(run).active, "the job has ended", timeout_s=WAIT_S)
    failed = jobs.state(run)
    assert failed.status == FAILED and "lost contact with the others" in failed.message
    assert "last checkpoint is kept" in failed.message
    wait_for(
        lambda: not any(process_alive(pid) for pid in [launcher_pid, *workers]), "all have exited"
    )
    model, _ = run.load_model()
    assert all(torch.isfinite(p).all() for p in model.parameters())
