"""What the pages read of runs, each read once and shared by every session: run summaries, job
states and training histories. No torch: the Train and Compare pages show runs in a server that
never imports it (the model pages' loaders, with torch, are `loaders`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

import streamlit as st

from vaeapp.store.catalog import RunSummary, summarise
from vaeapp.store.history import MetricsFollower, TrainingHistory
from vaeapp.store.run_jobs import JOB_FILE, LOG_FILE
from vaeapp.store.runs import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, Run
from vaeapp.training import jobs

T = TypeVar("T")


class LatestByRun(Generic[T]):
    """One value per run, kept with the file times it was read at and read again when they
    differ: a picker lists every saved run on every rerun, and 5,000 runs fit as well as 5 (an
    LRU cache smaller than the runs folder would read every run again on each rerun)."""

    def __init__(self, read: Callable[[Run], T], names: tuple[str, ...]) -> None:
        self._read, self._names = read, names
        self._values: dict[Path, tuple[tuple[float, ...], T]] = {}

    def __call__(self, run: Run) -> T:
        stamps = tuple(run.modified(name) for name in self._names)
        kept = self._values.get(run.path)
        if kept is not None and kept[0] == stamps:
            return kept[1]
        value = self._read(run)
        self._values[run.path] = (stamps, value)  # one entry per run: a dict's set is atomic
        return value


@st.cache_resource(show_spinner=False)
def _summaries() -> LatestByRun[RunSummary]:
    return LatestByRun(summarise, (METRICS_FILE, CONFIG_FILE, CHECKPOINT_FILE, WEIGHTS_FILE))


def run_summary(run: Run) -> RunSummary:
    """The catalog's summary of `run`, read again when its metrics, config or checkpoint
    change (a RunSummary is frozen: every session shares it)."""
    return _summaries()(run)


def summary_reader() -> Callable[[Run], RunSummary]:
    """`run_summary` for a list of runs: its cache found once, not once a run."""
    return _summaries()


@st.cache_resource(show_spinner=False)
def _settled_states() -> LatestByRun[jobs.JobState]:
    return LatestByRun(jobs.state, (METRICS_FILE, JOB_FILE, LOG_FILE))


def job_state(run: Run) -> jobs.JobState:
    """`jobs.state(run)`, read afresh while a process holds one of the run's locks. A run that
    no process holds changes only when one takes a lock, so its state is the one its files
    (metrics, job record, log) gave when they last changed: the Train page asks for every
    saved run's state every second. A state read as active is never trusted from the cache (a
    job may have taken its lock between the check and the read)."""
    return _job_state(run, _settled_states())


def job_states(runs: Iterable[Run]) -> dict[str, jobs.JobState]:
    """`job_state` of each run, by folder: its cache found once, not once a run."""
    settled = _settled_states()
    return {str(run.path): _job_state(run, settled) for run in runs}


def _job_state(run: Run, settled_states: LatestByRun[jobs.JobState]) -> jobs.JobState:
    if run.is_training() or run.is_launching():
        return jobs.state(run)
    settled = settled_states(run)
    return jobs.state(run) if settled.active else settled


@st.cache_resource(max_entries=64, show_spinner=False)
def _follower(run_path: str) -> MetricsFollower:
    return MetricsFollower(Run(run_path))


def run_history(run: Run) -> TrainingHistory:
    """The run's curves and progress so far; each call parses only the newly added lines."""
    return _follower(str(run.path)).read()
