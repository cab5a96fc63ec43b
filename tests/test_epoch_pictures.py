"""Per-epoch pictures: reconstruction and prior-sample grids written into the run directory."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from vaeapp.training.epoch_pictures import write_epoch_pictures
from vaeapp.training.trainer import Trainer, initial_model


def test_grids_are_pngs_of_eight_columns_with_the_originals_on_top(new_run, tiny_dataset) -> None:
    run = new_run()
    model = initial_model(run.read_config())
    write_epoch_pictures(run, model, tiny_dataset.test.images, seed=0)
    pairs_png, samples_png = run.pictures()
    with Image.open(io.BytesIO(pairs_png)) as pairs, Image.open(io.BytesIO(samples_png)) as samples:
        assert pairs.size == (8 * 30 + 2, 2 * 30 + 2)  # originals above their reconstructions
        assert samples.size == (8 * 30 + 2, 4 * 30 + 2)
        first_tile = np.asarray(pairs.convert("L"))[2:30, 2:30] / 255
    original = tiny_dataset.test.images[0, 0].numpy()
    assert np.abs(first_tile - original).max() < 1 / 255 + 1e-6
    assert model.training  # the trainer's mode is left as it was


def test_training_writes_the_pictures_each_epoch(new_run, tiny_dataset) -> None:
    run = new_run(epochs=1)
    assert run.pictures() is None
    Trainer(run, tiny_dataset).fit()
    assert run.pictures() is not None
