"""Shared fixtures: small data made here, and runs and caches kept out of the repository.

The whole suite, as CI runs it (browser tests included, 6 to 8 minutes on 2 cores):

    python -m pytest

The fast suite while developing (under a minute): no training processes, no app servers, no
Chromium, nothing that takes more than about 2 s:

    python -m pytest -m "not slow and not browser"

`slow` marks a test that starts a process that trains, starts a Streamlit server, or takes more
than about 2 s; `browser` one that drives Chromium. Mark a new test accordingly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from testkit.photo_digits import write_photos_of_test_digits
from testkit.waiting import wait_for
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data.datasets import Dataset, Split
from vaeapp.data.sources import DIGITS
from vaeapp.store.runs import Run
from vaeapp.training import jobs

pytest_plugins = ["tests.browser"]


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


@pytest.fixture(scope="session", autouse=True)
def session_paths(
    tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path
) -> Iterator[None]:
    """Data and runs in temporary folders from the session's start, so that module- and
    session-scoped fixtures (made before any test's own paths) write nothing into ./data or
    ./runs, and the processes they start neither."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAEAPP_DATA", str(shared_data_dir))
        patch.setenv("VAEAPP_RUNS", str(tmp_path_factory.mktemp("session-runs")))
        yield


@pytest.fixture(autouse=True)
def isolated_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_data_dir: Path) -> None:
    """Each test's runs folder is its own."""
    monkeypatch.setenv("VAEAPP_DATA", str(shared_data_dir))
    monkeypatch.setenv("VAEAPP_RUNS", str(tmp_path / "runs"))


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Phone-photo-like JPEGs of the first two test digits of `sample`: seven.jpg, eight.jpg."""
    return write_photos_of_test_digits(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="session")
def photo_bytes(photos: tuple[Path, Path]) -> tuple[bytes, bytes]:
    """The bytes of `photos`, as an upload sends them."""
    seven, eight = (path.read_bytes() for path in photos)
    return seven, eight


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


def events(run: Run | Path, kind: str) -> list[dict]:
    """The events of one kind ("start", "step", "epoch", "end") in a run's metrics, in order."""
    metrics = (run if isinstance(run, Run) else Run(run)).read_metrics()
    return [event for event in metrics if event["kind"] == kind]


@pytest.fixture
def new_run(tmp_path: Path):
    """A factory of fresh run directories with the small config."""
    counter = iter(range(1000))

    def create(**train: object) -> Run:
        return Run.create(tmp_path / f"run{next(counter)}", small_config(**train))

    return create
