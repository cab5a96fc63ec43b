"""Cached loaders shared by the model pages: each model, data set and its codes is read once
(what is read of runs without a model, summaries, job states and histories: `run_readers`).

Models are keyed by the checkpoint's modification time, so a run that is still training is
reloaded when it saves a newer epoch and served from the cache otherwise. A page reads that time
once per run (`snapshot`) and hands the same `Snapshot` to every loader: the model, its codes, its
decoder and its PCA plane then come from one set of weights, even when training replaces the
checkpoint between two of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from vaeapp.config import RunConfig
from vaeapp.data.datasets import Dataset
from vaeapp.data.sources import load_dataset
from vaeapp.errors import VaeappError
from vaeapp.latent.browser_decoder import browser_decoder as cached_browser_decoder
from vaeapp.latent.codes import box_around, encode_dataset, padded_range
from vaeapp.latent.map_content import MapContent, view_content
from vaeapp.latent.umap_embedding import BackgroundUmap
from vaeapp.latent.views import EmbeddingProjection, PCAProjection, ShownView
from vaeapp.model.networks import VAE
from vaeapp.model.posterior import DensityMap, density_map
from vaeapp.paths import cache_dir
from vaeapp.store.runs import Run


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
    return Snapshot(run, run.modified(run.weights_path.name))


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _model(run_path: str, checkpoint_stamp: float) -> tuple[VAE, RunConfig]:
    return Run(run_path).load_model()


def load_model(snap: Snapshot) -> tuple[VAE, RunConfig]:
    """The snapshot's checkpoint in eval mode; raises CheckpointError with a message."""
    return _model(str(snap.run.path), snap.stamp)


@st.cache_resource(max_entries=4, show_spinner="Loading the data…")
def load_data(spec: str, shape: tuple[int, int, int]) -> Dataset:
    """A data source by spec, as images of `shape` (a model's); raises DataError with what to
    do when it is missing."""
    return load_dataset(spec, shape=shape)


@st.cache_resource(max_entries=8, show_spinner="Encoding the images…")
def _posteriors(
    run_path: str, checkpoint_stamp: float, spec: str, split: str
) -> tuple[torch.Tensor, torch.Tensor]:
    model, _ = _model(run_path, checkpoint_stamp)
    return encode_dataset(model, getattr(load_data(spec, model.image_shape), split).images)


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
    return cached_browser_decoder(_model(run_path, checkpoint_stamp)[0], cache_dir())


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
def _replayed_cached(run_path: str, stamp: float, epoch: int) -> torch.Tensor:
    codes = Run(run_path).load_replay(epoch)
    if codes is None:
        raise VaeappError(f"the codes of epoch {epoch} are missing or damaged")
    return torch.from_numpy(codes)


def replayed_codes(snap: Snapshot, epoch: int) -> torch.Tensor:
    """The test codes the run kept after `epoch`; VaeappError where they are missing or damaged."""
    return _replayed_cached(str(snap.run.path), snap.stamp, epoch)


@st.cache_resource(max_entries=16, show_spinner="Preparing the map…")
def _content_cached(
    key: str,
    _data: Dataset,
    _codes: torch.Tensor,
    _logvar: torch.Tensor,
    _view: ShownView,
    _points: np.ndarray,
    _decoder: bytes,
    image_shape: tuple[int, int, int],
    ellipses: bool,
    box: tuple[tuple[float, float], tuple[float, float]] | None,
    colour_by: int | None,
) -> MapContent:
    return view_content(
        _data,
        _codes,
        _logvar,
        _view,
        _points,
        _decoder,
        image_shape=image_shape,
        ellipses=ellipses,
        box=box,
        colour_by=colour_by,
    )


def map_content_for(
    snap: Snapshot,
    data: Dataset,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    view: ShownView,
    points: np.ndarray,
    epoch: int | None,
    box: tuple[tuple[float, float], tuple[float, float]] | None = None,
    colour_by: int | None = None,
) -> MapContent:
    """The map's heavy part, built once per model, view, replayed epoch and colouring; `box`:
    the map's x and y ranges where they are not the points' own (a replay's, the same every
    epoch); `colour_by`: the data's known factor that colours the dots (None: the labels)."""
    key = f"{snap.key}|{data.spec}|{view.identity}|{epoch}|{len(mu)}|{colour_by}"
    decoder = browser_decoder(snap) or b""  # none sent: the browser says it cannot decode
    shape = load_model(snap)[0].image_shape
    return _content_cached(
        key, data, mu, logvar, view, points, decoder, shape, epoch is None, box, colour_by
    )


@st.cache_resource(max_entries=8, show_spinner="Fitting the replay's axes…")
def _replay_box_cached(
    key: str, _snap: Snapshot, _view: ShownView, epochs: tuple[int, ...]
) -> tuple[tuple[float, float], tuple[float, float]]:
    points = np.vstack([_view.projection.project(replayed_codes(_snap, e)) for e in epochs])
    return padded_range(points[:, 0]), padded_range(points[:, 1])


def replay_box(
    snap: Snapshot, view: ShownView, epochs: Sequence[int]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The map's x and y ranges over every kept epoch's test codes, so that a replay keeps its
    axes while the dots move; VaeappError where an epoch's codes are missing or damaged."""
    key = f"{snap.key}|{view.identity}"
    return _replay_box_cached(key, snap, view, tuple(epochs))


@st.cache_resource(max_entries=8, show_spinner="Drawing the prior and aggregate posterior…")
def _density_cached(key: str, _mu: np.ndarray, _var: np.ndarray, _points: np.ndarray) -> DensityMap:
    return density_map(_mu, _var, *box_around(_points, at_least=3.0))


def density_for(snap: Snapshot, spec: str, points: np.ndarray) -> DensityMap:
    """The prior's and the aggregate posterior's contours over the map's box (and at least
    three prior standard deviations), once per checkpoint."""
    mu, logvar = test_posteriors(snap, spec)
    key = f"{snap.key}|{spec}"
    return _density_cached(key, mu.numpy(), logvar.exp().numpy(), points)
