"""Cached loaders shared by the pages: each model, data set and run summary is read once.

Models are keyed by the checkpoint's modification time, so a run that is still training is
reloaded when it saves a newer epoch and served from the cache otherwise.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from vaeapp.config import RunConfig
from vaeapp.data import Dataset, load_dataset
from vaeapp.history import MetricsFollower, TrainingHistory
from vaeapp.model import VAE
from vaeapp.runs import Run, RunSummary


def file_stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _model(run_path: str, checkpoint_stamp: float) -> tuple[VAE, RunConfig]:
    return Run(run_path).load_model()


def load_model(run: Run) -> tuple[VAE, RunConfig]:
    """The run's newest checkpoint in eval mode; raises CheckpointError with a message."""
    return _model(str(run.path), file_stamp(run.checkpoint_path))


@st.cache_resource(max_entries=4, show_spinner="Loading the data…")
def load_data(spec: str) -> Dataset:
    """A data source by spec; raises DataError with what to do when it is missing."""
    return load_dataset(spec)


@st.cache_data(max_entries=256, show_spinner=False)
def _summary(run_path: str, metrics_stamp: float, config_stamp: float) -> RunSummary:
    return Run(run_path).summary()


def run_summary(run: Run) -> RunSummary:
    return _summary(str(run.path), file_stamp(run.metrics_path), file_stamp(run.config_path))


@st.cache_resource(max_entries=64, show_spinner=False)
def _follower(metrics_path: str) -> MetricsFollower:
    return MetricsFollower(Path(metrics_path))


def run_history(run: Run) -> TrainingHistory:
    """The run's curves and progress so far; each call parses only the newly added lines."""
    return _follower(str(run.metrics_path)).read()
