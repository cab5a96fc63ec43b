"""UMAP embeddings of latent codes, computed in a background process and cached on disk.

In a fresh process umap-learn's numba code compiles for about a minute before the first fit,
so the app never fits in its own process: one worker process, started when a view may need
UMAP, compiles on a small warm-up fit and then serves every request. Each result is saved under
the cache folder, named by a hash of the codes and the settings (so per model and data set),
and a second visit reads the file. Neighbours come from scikit-learn's exact search, which
spares pynndescent's compile as well, and the worker lets numba keep umap-learn's compiled
functions on disk (as pynndescent's are), so only the first worker on a machine compiles.

This module imports only numpy at the top, so the worker starts without torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from vaeapp import files
from vaeapp.errors import ConfigError, VaeappError

SETTINGS = {"n_neighbors": 15, "min_dist": 0.1, "n_epochs": 200, "random_state": 0}
MIN_CODES = 5
WARM_UP_CODES = 300
CACHE_LIMIT = 1 << 27  # bytes: an embedding of 8 million points


def embedding_key(codes: np.ndarray) -> str:
    """A name for the embedding of exactly these codes under these settings."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    digest = hashlib.sha256(json.dumps([codes.shape, SETTINGS]).encode())
    digest.update(codes.tobytes())
    return digest.hexdigest()[:32]


def umap_embedding(codes: np.ndarray) -> np.ndarray:
    """UMAP of the codes [N, D] into the plane: [N, 2]. Slow the first time in a process."""
    import umap
    from sklearn.neighbors import NearestNeighbors

    codes = np.asarray(codes, dtype=np.float32)
    if len(codes) < MIN_CODES:
        raise ConfigError(f"UMAP needs at least {MIN_CODES} codes, got {len(codes)}")
    neighbours = min(SETTINGS["n_neighbors"], len(codes) - 1)
    distances, indices = NearestNeighbors(n_neighbors=neighbours).fit(codes).kneighbors(codes)
    reducer = umap.UMAP(
        n_neighbors=neighbours,
        min_dist=SETTINGS["min_dist"],
        n_epochs=SETTINGS["n_epochs"],
        random_state=SETTINGS["random_state"],
        precomputed_knn=(indices, distances.astype(np.float32)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reducer.fit_transform(codes).astype(np.float64)


@dataclass(frozen=True)
class EmbeddingStatus:
    """Where one embedding stands: ready (with it), running (since when), or failed (why)."""

    embedding: np.ndarray | None = None
    running_since: float | None = None
    error: str | None = None


class BackgroundUmap:
    """One worker process that fits UMAP embeddings in turn; results land in `cache_dir`.

    Thread-safe: every session of the app shares one instance, and a request that is already
    computed, or being computed, is never started twice.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._requests: Connection | None = None
        self._started: dict[str, float] = {}
        self._work: Path | None = None

    def path(self, key: str) -> Path:
        return self.cache_dir / f"umap-{key}.npy"

    def prepare(self, codes: np.ndarray) -> None:
        """Start the worker now, unless these codes' embedding is on disk already, so that numba
        has compiled by the time a user asks for UMAP."""
        if self.path(embedding_key(codes)).is_file():
            return
        with self._lock:
            self._ensure_worker()

    def request(self, codes: np.ndarray) -> EmbeddingStatus:
        """The embedding if it is on disk; otherwise start it (once) and say how it goes."""
        if len(codes) < MIN_CODES:
            raise ConfigError(f"a UMAP view needs at least {MIN_CODES} codes, got {len(codes)}")
        key = embedding_key(codes)
        status = self.status(key)
        if status.embedding is not None or status.error is not None:
            return status
        with self._lock:
            if key not in self._started:
                self._ensure_worker()
                self._started[key] = time.time()
                assert self._requests is not None and self._work is not None
                # The codes go through a file: a large message would block this thread until
                # the worker, busy compiling or fitting, reads it.
                codes_path = self._work / f"{key}.npy"
                np.save(codes_path, np.asarray(codes, dtype=np.float32))
                self._requests.send((codes_path, self.path(key), self._error_path(key)))
            return EmbeddingStatus(running_since=self._started[key])

    def status(self, key: str) -> EmbeddingStatus:
        embedding = _read(self.path(key))
        if embedding is not None:
            return EmbeddingStatus(embedding=embedding)
        error = self._error_path(key)
        if error is not None and error.is_file():
            return EmbeddingStatus(error=error.read_text(encoding="utf-8"))
        with self._lock:
            since = self._started.get(key)
            if since is not None and not self.worker_alive:
                del self._started[key]
                return EmbeddingStatus(error="the UMAP worker process stopped unexpectedly")
        return EmbeddingStatus(running_since=since)

    @property
    def worker_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def stop(self) -> None:
        """End the worker (a running fit is abandoned)."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=5)
            self._process, self._requests = None, None
            self._started.clear()

    def _error_path(self, key: str) -> Path | None:
        """Failures are kept for this process only: a later start tries again."""
        return None if self._work is None else self._work / f"{key}.error.txt"

    def _ensure_worker(self) -> None:
        if self.worker_alive:
            return
        if self._work is None:
            self._work = Path(tempfile.mkdtemp(prefix="vaeapp-umap-"))
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve, args=(receiver,), name="vaeapp-umap", daemon=True
        )
        self._process.start()
        receiver.close()
        self._requests = sender
        self._started.clear()


def _keep_compiled_umap() -> None:
    """Ask numba to cache umap-learn's jitted functions on disk, which their authors did not ask
    for; numba skips any it cannot cache (with a warning) and compiles those each time."""
    import umap.layouts
    import umap.spectral
    import umap.umap_
    import umap.utils
    from numba.core.registry import CPUDispatcher

    for module in (umap.umap_, umap.layouts, umap.spectral, umap.utils):
        for function in vars(module).values():
            if isinstance(function, CPUDispatcher):
                function.enable_caching()


def _serve(requests: Connection) -> None:
    """The worker: compile on a warm-up fit, then fit each request until the app goes away."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _keep_compiled_umap()
    warm_up = np.random.default_rng(0).normal(size=(WARM_UP_CODES, 8)).astype(np.float32)
    umap_embedding(warm_up)
    while True:
        try:
            codes_path, path, error_path = requests.recv()
        except (EOFError, OSError):
            return
        try:
            _save(path, umap_embedding(np.load(codes_path)))
        except Exception as exc:
            error_path.write_text(f"UMAP failed: {exc}", encoding="utf-8")


def _read(path: Path) -> np.ndarray | None:
    """A cached embedding, or None if there is none usable (a link, a damaged or foreign file)."""
    try:
        data = files.read_bytes(path, CACHE_LIMIT)
        embedding = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError, VaeappError):
        return None
    usable = embedding.ndim == 2 and embedding.shape[1] == 2 and np.isfinite(embedding).all()
    return embedding.astype(np.float64) if usable else None


def _save(path: Path, embedding: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, embedding)
    files.write_atomically(path, buffer.getvalue())
