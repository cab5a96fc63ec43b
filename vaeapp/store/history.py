"""A run's training history as curves and progress, read from the events in `metrics.jsonl`.

The Train page redraws once a second while `metrics.jsonl` grows by a line per step, so
`MetricsFollower` parses only the lines appended since its last look: following a long run costs
the same every second. A resumed run, or one resumed after a crash, repeats step numbers: the
newest event for a step or an epoch wins, and a `start` event drops what came after its position.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from vaeapp.store.events import Event
from vaeapp.store.runs import METRICS_PIECE, Run

SMOOTHING = 0.9
MAX_POINTS = 2000
# Steps kept in memory: a long run's metrics.jsonl (200 MB is 1.5 million steps) would hold
# gigabytes of events and copy them at every look. The steps kept are the multiples of a stride,
# a power of two that doubles as step numbers pass MAX_STEPS times it, and the newest: the
# chart draws at most MAX_POINTS anyway.
MAX_STEPS = 20_000
# Bytes per look, and seconds: a huge file is caught up with over several looks. The trainer's
# 200 MB take one (`Run.new_metrics` leaves out the steps the thinning would drop unparsed).
READ_LIMIT = 1 << 28
LOOK_S = 1.0
PIECE = METRICS_PIECE  # read at once: the stride as it stands says which steps to parse


def stride_for(step: int, stride: int = 1) -> int:
    """The stride once steps up to number `step` have come, from `stride` on."""
    while step > stride * MAX_STEPS:
        stride *= 2
    return stride


def ema(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """Exponential moving average, bias-corrected so the first points are not pulled to zero."""
    smoothed, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight**i))
    return smoothed


def thin(values: list[float], max_points: int) -> list[float]:
    """Every k-th value (and the last), so that at most about `max_points` remain for a chart."""
    if len(values) <= max_points:
        return values
    stride = -(-len(values) // max_points)
    kept = values[::stride]
    return kept if (len(values) - 1) % stride == 0 else [*kept, values[-1]]


@dataclass(frozen=True)
class TrainingProgress:
    """Where a job stands: steps done, throughput and the time left at that pace."""

    epoch: int
    epochs: int
    steps_done: int
    steps_total: int
    images_per_s: float | None
    eta_s: float | None

    @property
    def fraction(self) -> float:
        return min(1.0, self.steps_done / self.steps_total) if self.steps_total else 0.0

    @property
    def epochs_done(self) -> int:
        """Whole epochs trained: the same count before and after a stop (`epoch` is the one
        under way while a job runs, the last finished once it ends)."""
        return self.steps_done * self.epochs // self.steps_total if self.steps_total else 0


@dataclass(frozen=True)
class StepCurve:
    """One term per step (x in epochs), its smoothed version, both thinned for display."""

    x: list[float]
    raw: list[float]
    smoothed: list[float]


@dataclass(frozen=True)
class UnitHealth:
    """The latent units at the newest epoch that logged them: the KL each spends, how many are
    active, and how many were at most before (posterior collapse shows as units dying)."""

    epoch: int
    kl_per_dim: list[float]
    activity_per_dim: list[float]
    active: int
    most_active: int
    most_active_epoch: int

    @property
    def died(self) -> int:
        return max(0, self.most_active - self.active)


@dataclass(frozen=True)
class TrainingHistory:
    """A consistent copy of everything read so far; safe to use while the follower reads on."""

    steps: dict[int, Event]
    epochs: dict[int, Event]
    start: Event | None
    end: Event | None
    progress: TrainingProgress | None

    def step_curve(self, term: str, max_points: int = MAX_POINTS) -> StepCurve:
        """Per-step `term` (elbo, recon or kl) against training time in epochs."""
        per_epoch = self.start["steps_per_epoch"] if self.start else 1
        numbers = sorted(self.steps)
        raw = [float(self.steps[n][term]) for n in numbers]
        return StepCurve(
            x=thin([n / per_epoch for n in numbers], max_points),
            raw=thin(raw, max_points),
            smoothed=thin(ema(raw), max_points),
        )

    def epoch_curve(self, key: str) -> tuple[list[int], list[float]]:
        """A per-epoch value (`train_elbo`, `test_kl`, ...) against the epoch number; epochs
        without it (a hand-edited or foreign `metrics.jsonl`) are left out, not a crash."""
        numbers = sorted(n for n, event in self.epochs.items() if key in event)
        return numbers, [float(self.epochs[n][key]) for n in numbers]

    def unit_health(self) -> UnitHealth | None:
        """How the latent units stand after the newest epoch; None before any epoch logs them."""
        needed = ("active_units", "test_kl_per_dim", "test_activity_per_dim")
        logged = sorted(n for n, e in self.epochs.items() if all(k in e for k in needed))
        if not logged:
            return None
        newest = self.epochs[logged[-1]]
        peak = max(logged, key=lambda n: (self.epochs[n]["active_units"], -n))
        return UnitHealth(
            epoch=logged[-1],
            kl_per_dim=[float(v) for v in newest["test_kl_per_dim"]],
            activity_per_dim=[float(v) for v in newest["test_activity_per_dim"]],
            active=newest["active_units"],
            most_active=self.epochs[peak]["active_units"],
            most_active_epoch=peak,
        )


@dataclass
class _Session:
    """One training session, from its start event on: its wall time (to the last event seen)
    and its pace (from its first step to its latest, in time and step number)."""

    began: float
    last: float
    first_step: tuple[float, int] | None = None
    last_step: tuple[float, int] | None = None

    def see(self, event: Event) -> None:
        self.last = event["time"]
        if event["kind"] == "step":
            self.first_step = self.first_step or (event["time"], event["step"])
            self.last_step = (event["time"], event["step"])

    def seconds(self) -> float:
        return max(0.0, self.last - self.began)

    def seconds_per_step(self) -> float | None:
        first, last = self.first_step, self.last_step
        if first is None or last is None or last[1] <= first[1]:
            return None
        return (last[0] - first[0]) / (last[1] - first[1])


@dataclass
class History:
    """Accumulates events in the order they were written; `frozen` copies what it holds."""

    steps: dict[int, Event] = field(default_factory=dict)
    epochs: dict[int, Event] = field(default_factory=dict)
    start: Event | None = None
    end: Event | None = None
    session: _Session | None = None
    earlier_s: float = 0.0  # the wall time of the sessions before this one

    @property
    def trained_s(self) -> float:
        """Wall time spent training, over every session."""
        return self.earlier_s + (self.session.seconds() if self.session else 0.0)

    stride: int = 1  # the steps kept are the multiples of it, and the newest
    newest: int | None = None  # the step added last

    def add(self, event: Event) -> None:
        kind = event["kind"]
        if kind == "start":
            self.earlier_s = self.trained_s
            self.start, self.end = event, None
            self.session = _Session(event["time"], event["time"])
            position = event.get("step", event.get("epoch", 0) * event["steps_per_epoch"])
            self.steps = {n: e for n, e in self.steps.items() if n <= position}
            self.epochs = {n: e for n, e in self.epochs.items() if n <= event.get("epoch", 0)}
        elif self.session is not None:
            self.session.see(event)
        if kind == "step":
            self._keep_step(event)
        elif kind == "epoch":
            self.epochs[event["epoch"]] = event
        elif kind == "end":
            self.end = event

    def expect(self, step: int) -> None:
        """Thin as for steps up to number `step` from now on. The stride only ever rises, so a
        reader that knows a step to come parses only the steps it keeps, and keeps the same."""
        self.stride = stride_for(step, self.stride)

    def _keep_step(self, event: Event) -> None:
        step, last = event["step"], self.newest
        if last is not None and last % self.stride and last != step:
            self.steps.pop(last, None)  # it was kept only as the newest
        self.steps[step], self.newest = event, step
        stride = stride_for(step, self.stride)
        if stride != self.stride or len(self.steps) > MAX_STEPS + 1:  # (+1: steps out of order)
            self.stride = stride
            self.steps = {n: e for n, e in self.steps.items() if n % stride == 0 or n == step}

    def frozen(self, now: float | None = None) -> TrainingHistory:
        return TrainingHistory(
            steps=dict(self.steps),
            epochs=dict(self.epochs),
            start=self.start,
            end=self.end,
            progress=self.progress(time.time() if now is None else now),
        )

    def progress(self, now: float) -> TrainingProgress | None:
        """Epoch, steps, images/s and ETA at the pace since the last (re)start; None before it."""
        if self.start is None:
            return None
        per_epoch, epochs = self.start["steps_per_epoch"], self.start["epochs"]
        done = max(self.steps, default=self.start.get("step", 0))
        total = per_epoch * epochs
        seconds = self.session.seconds_per_step() if self.session else None
        running = self.end is None
        return TrainingProgress(
            epoch=min(epochs, done // per_epoch + (1 if running and done < total else 0)),
            epochs=epochs,
            steps_done=done,
            steps_total=total,
            images_per_s=self.start["n_train"] / per_epoch / seconds if seconds else None,
            eta_s=max(0, total - done) * seconds if seconds and running else None,
        )


class MetricsFollower:
    """Reads a run's growing `metrics.jsonl` incrementally (through `Run.new_metrics`); one
    follower may serve many readers."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._offset = 0
        self._history = History()
        self._lock = threading.Lock()

    def read(self, now: float | None = None) -> TrainingHistory:
        """The history including every complete line written so far (a torn last line waits)."""
        with self._lock:
            read, began = 0, time.monotonic()
            while read < READ_LIMIT and time.monotonic() - began < LOOK_S:
                before = self._offset
                if before == 0:  # the newest step at the file's end sets the stride at once
                    self._history.expect(self.run.newest_step())
                events, self._offset = self.run.new_metrics(before, PIECE, self._history.stride)
                if self._offset < before:  # the file was replaced by a shorter one: start over
                    self._history, self._offset = History(), 0
                    continue
                if self._offset == before:
                    break
                read += self._offset - before
                for event in events:
                    self._history.add(event)
            return self._history.frozen(now)
