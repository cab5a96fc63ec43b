"""Shared fixtures: small data made here, and runs and caches kept out of the repository."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from vaeapp import jobs
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data import DIGITS, Dataset, Split
from vaeapp.runs import Run

pytest_plugins = ["tests.browser"]

VAEAPP = [sys.executable, "-m", "vaeapp"]


def run_vaeapp(
    *args: str, timeout: float = 300, **popen: object
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in its own process."""
    return subprocess.run(
        [*VAEAPP, *args], capture_output=True, text=True, timeout=timeout, check=False, **popen
    )


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 240) -> None:
    """Poll until `condition()` holds; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


@pytest.fixture
def cleanup() -> Iterator[None]:
    """Stop every job a test left running, and wait until its process is gone."""
    yield
    for job in jobs.active_jobs():
        jobs.stop(job.run)
    wait_for(lambda: not jobs.active_jobs(), "every job has ended")


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory per test session, so the offline sample is converted only once."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def isolated_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_data_dir: Path) -> None:
    monkeypatch.setenv("VAEAPP_DATA", str(shared_data_dir))
    monkeypatch.setenv("VAEAPP_RUNS", str(tmp_path / "runs"))


def bar_images(labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Toy digits: label k is a bright bar at row 4 + 2k, with a little noise, in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    images = 0.05 * torch.rand(len(labels), 1, 28, 28, generator=generator)
    for i, label in enumerate(labels.tolist()):
        row = 4 + 2 * label
        images[i, 0, row : row + 2, 6:22] = 0.9
    return images.clamp(0, 1)


def make_dataset(n_train: int = 200, n_test: int = 50) -> Dataset:
    train_labels = torch.arange(n_train) % 10
    test_labels = torch.arange(n_test) % 10
    return Dataset(
        spec="toy",
        source="toy: bars made by the tests",
        classes=DIGITS,
        train=Split(bar_images(train_labels, seed=1), train_labels),
        test=Split(bar_images(test_labels, seed=2), test_labels),
    )


@pytest.fixture
def tiny_dataset() -> Dataset:
    return make_dataset()


def small_config(**train: object) -> RunConfig:
    """A fast MLP run config; keyword arguments override training settings."""
    settings = {"data": "toy", "epochs": 2, "batch_size": 50, "lr": 3e-3, "seed": 0, **train}
    return RunConfig(
        model=ModelConfig(arch="mlp", latent_dim=2, hidden=(32,)),
        train=TrainConfig(**settings),  # type: ignore[arg-type]
        data_source="toy",
    )


@pytest.fixture
def new_run(tmp_path: Path):
    """A factory of fresh run directories with the small config."""
    counter = iter(range(1000))

    def create(**train: object) -> Run:
        return Run.create(tmp_path / f"run{next(counter)}", small_config(**train))

    return create
