"""The pages' cached loaders: one snapshot of a run gives one set of weights, whatever training
writes meanwhile."""

from __future__ import annotations

import os

import torch

from tests.app_pages import saved_run
from vaeapp.model.networks import build_model
from vaeapp.store.runs import CHECKPOINT_FILE, Run
from vaeapp.ui import loaders
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
    images = load_data("sample").test.images[:5]
    with torch.no_grad():
        own_codes = model.encode(images)[0]
    torch.testing.assert_close(loaders.test_posteriors(taken, "sample")[0][:5], own_codes)
    newer = snapshot(run)
    assert newer.key != taken.key
    assert not torch.allclose(loaders.test_posteriors(newer, "sample")[0][:5], own_codes)
    assert browser_decoder(newer) != browser_decoder(taken)
    plane = pca_view(taken, "sample")
    assert plane is pca_view(taken, "sample") and plane is not pca_view(newer, "sample")
