"""Per-epoch pictures: reconstruction and prior-sample grids written into the run directory."""

from __future__ import annotations

import torch
from PIL import Image

from tests.conftest import small_config
from vaeapp.snapshots import (
    prior_samples,
    reconstructions,
    reconstructions_path,
    samples_path,
    write_snapshots,
)
from vaeapp.train import Trainer, initial_model


def test_reconstructions_decode_the_encoder_mean(tiny_dataset) -> None:
    model = initial_model(small_config()).eval()
    images = tiny_dataset.test.images[:4]
    mean, _ = model.encode(images)
    expected = model.decode_mean(mean)
    assert torch.allclose(reconstructions(model, images), expected)


def test_prior_samples_depend_on_the_seed_only() -> None:
    model = initial_model(small_config()).eval()
    first, again, other = (prior_samples(model, 6, seed) for seed in (3, 3, 4))
    assert first.shape == (6, 1, 28, 28)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.min() >= 0 and first.max() <= 1


def test_grids_are_written_as_pngs_of_eight_columns(new_run, tiny_dataset) -> None:
    run = new_run()
    model = initial_model(run.read_config())
    write_snapshots(run, model, tiny_dataset.test.images, seed=0)
    with Image.open(reconstructions_path(run)) as pairs, Image.open(samples_path(run)) as samples:
        assert pairs.size == (8 * 30 + 2, 2 * 30 + 2)  # originals above their reconstructions
        assert samples.size == (8 * 30 + 2, 4 * 30 + 2)
    assert model.training  # the trainer's mode is left as it was


def test_training_writes_the_pictures_each_epoch(new_run, tiny_dataset) -> None:
    run = new_run(epochs=1)
    Trainer(run, tiny_dataset).fit()
    assert reconstructions_path(run).is_file() and samples_path(run).is_file()
