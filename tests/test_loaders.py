"""The pages' cached loaders: one snapshot of a run gives one set of weights, whatever training
writes meanwhile."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch

from tests.app_pages import saved_run
from vaeapp.model.networks import build_model
from vaeapp.store.catalog import summarise
from vaeapp.store.runs import CHECKPOINT_FILE, METRICS_FILE, Run
from vaeapp.training import jobs
from vaeapp.ui import loaders, run_readers
from vaeapp.ui.loaders import browser_decoder, load_data, load_model, pca_view, snapshot


def save_newer_weights(run: Run) -> None:
    """What training does at the end of an epoch: new weights, a later checkpoint."""
    torch.manual_seed(1)
    run.save_checkpoint({"model": build_model(run.read_config().model).state_dict()})
    later = run.modified(CHECKPOINT_FILE) + 5
    os.utime(run.file(CHECKPOINT_FILE), (later, later))


def test_a_snapshot_keeps_its_weights_when_training_saves_newer_ones() -> None:
    run = saved_run("training", latent_dim=4)
    taken = snapshot(run)
    model, _ = load_model(taken)
    save_newer_weights(run)  # between the page's first load and the rest
    images = load_data("sample", (1, 28, 28)).test.images[:5]
    with torch.no_grad():
        own_codes = model.encode(images)[0]
    torch.testing.assert_close(loaders.test_posteriors(taken, "sample")[0][:5], own_codes)
    newer = snapshot(run)
    assert newer.key != taken.key
    assert not torch.allclose(loaders.test_posteriors(newer, "sample")[0][:5], own_codes)
    assert browser_decoder(newer) != browser_decoder(taken)
    plane = pca_view(taken, "sample")
    assert plane is pca_view(taken, "sample") and plane is not pca_view(newer, "sample")


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """The caches of run summaries and job states made anew around a test that counts reads."""
    run_readers._summaries.clear()
    run_readers._settled_states.clear()
    yield
    run_readers._summaries.clear()
    run_readers._settled_states.clear()


def test_a_run_no_job_holds_is_read_again_only_when_its_files_change(
    monkeypatch: pytest.MonkeyPatch, fresh_caches: None
) -> None:
    run = saved_run("settled", latent_dim=2)
    reads, state = [], jobs.state
    monkeypatch.setattr(jobs, "state", lambda r: reads.append(r) or state(r))
    first = run_readers.job_state(run)
    assert run_readers.job_state(run) == first and len(reads) == 1  # every second, for every run
    run.append_metrics({"kind": "end", "status": "stopped", "epoch": 1, "time": 2.0})
    later = run.modified(METRICS_FILE) + 5
    os.utime(run.metrics_path, (later, later))
    assert run_readers.job_state(run).status == "stopped" and len(reads) == 2
    with run.lock():  # a job holds it: read afresh every time
        assert run_readers.job_state(run).status == jobs.RUNNING
        assert run_readers.job_state(run).status == jobs.RUNNING and len(reads) == 4
    assert run_readers.job_state(run).status == "stopped"


def test_every_saved_run_keeps_its_summary_however_many_there_are(
    monkeypatch: pytest.MonkeyPatch, fresh_caches: None
) -> None:
    many = [saved_run(f"many-{i}", latent_dim=2) for i in range(300)]  # past any small LRU
    reads = []
    monkeypatch.setattr(run_readers, "summarise", lambda r: reads.append(r) or summarise(r))
    for _ in range(2):
        assert [run_readers.run_summary(run).epochs_done for run in many] == [1] * len(many)
    assert len(reads) == len(many)
