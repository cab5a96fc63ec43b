"""Cached loaders shared by the pages: each model, data set and run summary is read once.

Models are keyed by the checkpoint's modification time, so a run that is still training is
reloaded when it saves a newer epoch and served from the cache otherwise. A page reads that time
once per run (`snapshot`) and hands the same `Snapshot` to every loader: the model, its codes, its
decoder and its PCA plane then come from one set of weights, even when training replaces the
checkpoint between two of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from vaeapp.config import RunConfig
from vaeapp.data.sources import Dataset, load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.onnx_decoder import browser_decoder_onnx
from vaeapp.latent.umap_embedding import BackgroundUmap
from vaeapp.latent.views import EmbeddingProjection, PCAProjection
from vaeapp.model.networks import VAE
from vaeapp.paths import cache_dir
from vaeapp.store.catalog import RunSummary, summarise
from vaeapp.store.history import MetricsFollower, TrainingHistory
from vaeapp.store.runs import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, Run


@dataclass(frozen=True)
class Snapshot:
    """A run as of the checkpoint it had when the page began to draw."""

    run: Run
    stamp: float  # the checkpoint's modification time then

    @property
    def key(self) -> str:
        """Names this checkpoint of this run, for caches and charts."""
        return f"{self.run.path}@{self.stamp}"


def snapshot(run: Run) -> Snapshot:
    return Snapshot(run, run.modified(CHECKPOINT_FILE))


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _model(run_path: str, checkpoint_stamp: float) -> tuple[VAE, RunConfig]:
    return Run(run_path).load_model()


def load_model(snap: Snapshot) -> tuple[VAE, RunConfig]:
    """The snapshot's checkpoint in eval mode; raises CheckpointError with a message."""
    return _model(str(snap.run.path), snap.stamp)


@st.cache_resource(max_entries=4, show_spinner="Loading the data…")
def load_data(spec: str) -> Dataset:
    """A data source by spec; raises DataError with what to do when it is missing."""
    return load_dataset(spec)


@st.cache_data(max_entries=256, show_spinner=False)
def _summary(run_path: str, metrics_stamp: float, config_stamp: float) -> RunSummary:
    return summarise(Run(run_path))


def run_summary(run: Run) -> RunSummary:
    return _summary(str(run.path), run.modified(METRICS_FILE), run.modified(CONFIG_FILE))


@st.cache_resource(max_entries=8, show_spinner="Encoding the images…")
def _posteriors(
    run_path: str, checkpoint_stamp: float, spec: str, split: str
) -> tuple[torch.Tensor, torch.Tensor]:
    model, _ = _model(run_path, checkpoint_stamp)
    return encode_dataset(model, getattr(load_data(spec), split).images)


def test_posteriors(snap: Snapshot, spec: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and log-variance of q(z|x) for the test images of `spec`: [N, D] each, read-only."""
    return _posteriors(str(snap.run.path), snap.stamp, spec, "test")


def train_posteriors(snap: Snapshot, spec: str) -> tuple[torch.Tensor, torch.Tensor]:
    """q(z|x) of the training images: what the model saw (nearest neighbours, the full map)."""
    return _posteriors(str(snap.run.path), snap.stamp, spec, "train")


def encoded_test_set(snap: Snapshot, spec: str) -> torch.Tensor:
    """Posterior means of the test images of `spec` under the run's model: [N, D], read-only."""
    return test_posteriors(snap, spec)[0]


@st.cache_resource(max_entries=8, show_spinner=False)
def _decoder(run_path: str, checkpoint_stamp: float) -> bytes | None:
    return browser_decoder_onnx(_model(run_path, checkpoint_stamp)[0])


def browser_decoder(snap: Snapshot) -> bytes | None:
    """The run's decoder as ONNX, for the map to decode in the browser; exported once. None
    where it is too large to send: the page decodes on the server."""
    return _decoder(str(snap.run.path), snap.stamp)


@st.cache_resource(max_entries=8, show_spinner=False)
def _pca_view(run_path: str, checkpoint_stamp: float, spec: str) -> PCAProjection:
    return PCAProjection(_posteriors(run_path, checkpoint_stamp, spec, "test")[0])


def pca_view(snap: Snapshot, spec: str) -> PCAProjection:
    """The PCA plane of the run's test codes, fitted once per checkpoint."""
    return _pca_view(str(snap.run.path), snap.stamp, spec)


@st.cache_resource(max_entries=4, show_spinner="Triangulating the UMAP embedding…")
def embedding_view(key: str, _codes: torch.Tensor, _embedding: np.ndarray) -> EmbeddingProjection:
    """The invertible view of an embedding, built once per embedding `key`."""
    return EmbeddingProjection(_codes, _embedding)


@st.cache_resource(show_spinner=False)
def _umap_worker(cache: str) -> BackgroundUmap:
    return BackgroundUmap(Path(cache))


def umap_worker() -> BackgroundUmap:
    """The app's one background UMAP process, shared by every session."""
    return _umap_worker(str(cache_dir()))


@st.cache_resource(max_entries=64, show_spinner=False)
def _follower(run_path: str) -> MetricsFollower:
    return MetricsFollower(Run(run_path))


def run_history(run: Run) -> TrainingHistory:
    """The run's curves and progress so far; each call parses only the newly added lines."""
    return _follower(str(run.path)).read()
