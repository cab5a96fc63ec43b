"""The training loop: events, determinism, exact resume, stop, divergence."""

from __future__ import annotations

import threading

import pytest
import torch

from tests.conftest import events
from vaeapp.errors import TrainingDiverged
from vaeapp.training.trainer import Trainer, kl_weight


def final_weights(run) -> dict[str, torch.Tensor]:
    return run.load_checkpoint()["model"]


def test_events_and_files(new_run, tiny_dataset) -> None:
    run = new_run(epochs=2)
    events: list[dict] = []
    assert Trainer(run, tiny_dataset, on_event=events.append).fit() == "finished"
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and events[-1]["status"] == "finished"
    assert kinds.count("step") == 2 * 4 and kinds.count("epoch") == 2
    step = next(e for e in events if e["kind"] == "step")
    assert step["elbo"] == pytest.approx(step["recon"] - step["kl"])
    assert step["img_per_s"] > 0
    epoch = next(e for e in events if e["kind"] == "epoch")
    for key in ("train_elbo", "train_recon", "train_kl", "test_elbo", "test_recon", "test_kl"):
        assert isinstance(epoch[key], float)
    assert run.read_metrics() == events
    assert run.load_checkpoint()["progress"]["epoch"] == 2


def test_training_improves_the_elbo(new_run, tiny_dataset) -> None:
    run = new_run(epochs=6)
    Trainer(run, tiny_dataset).fit()
    epochs = events(run, "epoch")
    assert epochs[-1]["test_elbo"] > epochs[0]["test_elbo"] + 20


def test_same_seed_gives_the_same_metrics(new_run, tiny_dataset) -> None:
    def metrics(run) -> list[float]:
        Trainer(run, tiny_dataset).fit()
        return [e["elbo"] for e in events(run, "step")]

    assert metrics(new_run(seed=3)) == metrics(new_run(seed=3))
    assert metrics(new_run(seed=3)) != metrics(new_run(seed=4))


def test_stop_mid_epoch_then_resume_equals_an_uninterrupted_run(new_run, tiny_dataset) -> None:
    straight = new_run(epochs=2, binarize=True)
    Trainer(straight, tiny_dataset).fit()

    interrupted = new_run(epochs=2, binarize=True)
    stop = threading.Event()

    def stop_after_five_steps(event: dict) -> None:
        if event["kind"] == "step" and event["step"] == 5:
            stop.set()

    assert Trainer(interrupted, tiny_dataset, stop_after_five_steps, stop).fit() == "stopped"
    assert interrupted.load_checkpoint()["progress"]["global_step"] == 5
    assert Trainer(interrupted, tiny_dataset).fit() == "finished"

    for name, tensor in final_weights(straight).items():
        torch.testing.assert_close(final_weights(interrupted)[name], tensor)
    assert [e["resumed"] for e in events(interrupted, "start")] == [False, True]


def test_divergence_stops_and_keeps_the_last_good_checkpoint(new_run, tiny_dataset) -> None:
    run = new_run(epochs=5)
    trainer = Trainer(run, tiny_dataset)

    def blow_up_after_first_epoch(event: dict) -> None:
        if event["kind"] == "epoch":
            trainer.optimizer.param_groups[0]["lr"] = 50.0

    trainer.on_event = blow_up_after_first_epoch
    with pytest.raises(TrainingDiverged, match="last good checkpoint is kept. Try a lower"):
        trainer.fit()
    assert run.read_metrics()[-1]["status"] == "diverged"
    assert run.load_checkpoint()["progress"]["epoch"] == 1
    model, _ = run.load_model()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_divergence_before_any_checkpoint_says_so(new_run, tiny_dataset) -> None:
    run = new_run(epochs=3, lr=50.0)
    with pytest.raises(TrainingDiverged, match="No checkpoint had been saved yet"):
        Trainer(run, tiny_dataset).fit()
    assert not run.has_checkpoint()


def test_kl_warmup_ramps_linearly() -> None:
    assert kl_weight(2.0, 0, 0.0) == 2.0
    assert kl_weight(2.0, 4, 1.0) == 0.5
    assert kl_weight(2.0, 4, 10.0) == 2.0
