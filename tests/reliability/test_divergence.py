"""A run that diverges after a good epoch (test_run_faults.py covers one that diverges before any):
it stops with a clear message, and the last good checkpoint is kept, loadable and shown as such.
"""

from __future__ import annotations

import pytest

from tests.app_pages import TRAIN_PAGE, open_page
from tests.conftest import small_config
from vaeapp.data.datasets import Dataset
from vaeapp.errors import TrainingDiverged
from vaeapp.paths import runs_dir
from vaeapp.store.events import DIVERGED
from vaeapp.store.runs import Run
from vaeapp.training import jobs
from vaeapp.training.trainer import Trainer

EXPLOSIVE_LR = 50.0


def test_a_run_that_diverges_keeps_its_last_good_checkpoint(tiny_dataset: Dataset) -> None:
    run = Run.create(runs_dir() / "diverging", small_config(epochs=5))
    saved: list[bytes] = []

    def after_the_first_epoch(event: dict) -> None:
        """Keep the good checkpoint's bytes, then make every later step far too large."""
        if event["kind"] == "epoch" and event["epoch"] == 1:
            saved.append(run.checkpoint_path.read_bytes())
            for group in trainer.optimizer.param_groups:
                group["lr"] = EXPLOSIVE_LR

    trainer = Trainer(run, tiny_dataset, on_event=after_the_first_epoch)
    with pytest.raises(
        TrainingDiverged, match="training stopped. The last good checkpoint is kept"
    ):
        trainer.fit()

    assert run.checkpoint_path.read_bytes() == saved[0]
    model, _ = run.load_model()  # finite weights, or it would raise
    assert model.latent_dim == 2 and run.load_checkpoint()["progress"]["epoch"] == 1
    assert jobs.state(run).status == DIVERGED and jobs.state(run).resumable

    app = open_page(TRAIN_PAGE)
    assert any(e.value.startswith("Training diverged: the ") for e in app.error)
    assert app.get("progress")[0].proto.text.startswith("diverged · 1/5 epochs done")
