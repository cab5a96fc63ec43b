"""Training history from events: curves, smoothing, progress and incremental reading."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from vaeapp.store.history import History, MetricsFollower, ema, thin
from vaeapp.store.runs import Run


def start(epoch: int = 0, step: int = 0, t: float = 0.0) -> dict:
    return {
        "kind": "start",
        "epoch": epoch,
        "step": step,
        "epochs": 2,
        "steps_per_epoch": 4,
        "n_train": 400,
        "time": t,
    }


def step(n: int, t: float, elbo: float = -100.0) -> dict:
    return {"kind": "step", "step": n, "epoch": (n - 1) // 4 + 1, "elbo": elbo, "recon": elbo - 5,
            "kl": 5.0, "time": t}  # fmt: skip


def epoch(n: int, test_elbo: float) -> dict:
    terms = {
        f"{split}_{term}": test_elbo
        for split in ("train", "test")
        for term in ("elbo", "recon", "kl")
    }
    return {"kind": "epoch", "epoch": n, **terms, "time": 0.0}  # fmt: skip


def test_ema_is_bias_corrected_and_follows_a_step() -> None:
    assert ema([4.0, 4.0, 4.0]) == pytest.approx([4.0, 4.0, 4.0])
    smoothed = ema([0.0] * 5 + [10.0] * 50, weight=0.9)
    assert smoothed[5] == pytest.approx(1.0 / (1 - 0.9**6))  # 0.1 * 10, debiased
    assert smoothed[-1] == pytest.approx(10.0, abs=0.1)
    assert all(a <= b for a, b in itertools.pairwise(smoothed))


def test_thin_keeps_the_ends_and_bounds_the_length() -> None:
    values = [float(i) for i in range(10_001)]
    kept = thin(values, 100)
    assert len(kept) <= 101 and kept[0] == 0.0 and kept[-1] == 10_000.0
    assert thin(values[:50], 100) == values[:50]


def test_progress_images_per_second_and_eta() -> None:
    history = History()
    for event in (start(), step(1, 10.0), step(2, 11.0), step(3, 12.0)):
        history.add(event)
    progress = history.progress(now=12.0)
    assert (progress.epoch, progress.epochs, progress.steps_done, progress.steps_total) == (
        1,
        2,
        3,
        8,
    )
    assert progress.images_per_s == pytest.approx(100.0)  # 100 images a step, one step a second
    assert progress.eta_s == pytest.approx(5.0)
    assert progress.fraction == pytest.approx(3 / 8)


def test_epochs_done_do_not_go_back_when_a_job_stops() -> None:
    """Running in its second epoch (6 of 8 steps, 4 to an epoch), then stopped there."""
    history = History()
    for event in (start(), *(step(n, float(n)) for n in range(1, 7))):
        history.add(event)
    running = history.progress(now=7.0)
    history.add({"kind": "end", "status": "stopped", "epoch": 1, "time": 7.0})
    stopped = history.progress(now=7.0)
    assert running.epoch == 2 and stopped.epoch == 1  # the epoch under way, then the last done
    assert running.epochs_done == stopped.epochs_done == 1


def test_finished_run_has_no_eta() -> None:
    history = History()
    for n in range(1, 9):
        history.add(step(n, float(n)))
    assert history.progress(now=0.0) is None  # nothing known before a start event
    history = History()
    for event in (
        start(),
        *(step(n, float(n)) for n in range(1, 9)),
        {"kind": "end", "status": "finished", "epoch": 2, "time": 9.0},
    ):
        history.add(event)
    progress = history.progress(now=9.0)
    assert progress.eta_s is None and progress.fraction == 1.0 and progress.epoch == 2


def test_a_resume_drops_steps_past_its_checkpoint() -> None:
    history = History()
    events = [start(), *(step(n, n, elbo=-200.0) for n in range(1, 7)), epoch(1, -150.0)]
    # crashed at step 6; the checkpoint was at the end of epoch 1 (step 4); resumed from there
    events += [start(epoch=1, step=4, t=100.0), step(5, 101.0, elbo=-90.0)]
    for event in events:
        history.add(event)
    snapshot = history.frozen(now=101.0)
    assert sorted(snapshot.steps) == [1, 2, 3, 4, 5]
    assert snapshot.steps[5]["elbo"] == -90.0
    assert snapshot.epoch_curve("test_elbo") == ([1], [-150.0])
    curve = snapshot.step_curve("elbo")
    assert curve.x == [0.25, 0.5, 0.75, 1.0, 1.25] and curve.raw[-1] == -90.0
    assert len(curve.smoothed) == len(curve.raw)


def test_follower_reads_only_complete_new_lines(tmp_path: Path) -> None:
    run = Run(tmp_path)
    path = run.metrics_path
    follower = MetricsFollower(run)
    assert follower.read().start is None  # no file yet
    path.write_text(json.dumps(start()) + "\n" + json.dumps(step(1, 1.0)) + "\n")
    assert sorted(follower.read().steps) == [1]
    torn = json.dumps(step(2, 2.0))
    with path.open("a") as out:
        out.write(torn[:20])
    assert sorted(follower.read().steps) == [1]  # the half-written line waits
    with path.open("a") as out:
        out.write(torn[20:] + "\n")
    assert sorted(follower.read().steps) == [1, 2]
    path.write_text(json.dumps(start()) + "\n")  # the file was replaced by a shorter one
    assert follower.read().steps == {}


def test_training_time_adds_up_each_session_to_its_last_event() -> None:
    history = History()
    for event in (start(t=100.0), step(1, 103.0), start(step=1, t=500.0), step(2, 502.0)):
        history.add(event)
    assert history.trained_s == 3.0 + 2.0  # the pause between sessions is no training
    assert history.progress(now=502.0).steps_done == 2
