"""UMAP embeddings of latent codes, computed in a background process and cached on disk.

umap-learn's numba code takes about a minute to compile, and even loaded from numba's disk
cache it takes seconds, so the app never fits in its own process: one worker process, started
when a view may need UMAP, warms up on a small fit and then serves every request. Each result
is saved under the cache folder, named by a hash of the codes and the settings (so per model
and data set), and a second visit reads the file. Neighbours come from scikit-learn's exact
search, which spares pynndescent's compile as well, and numba keeps umap-learn's compiled
functions on disk (as pynndescent's are). The install compiles them once
(`python -m vaeapp.latent.umap_embedding`, which scripts/setup.sh runs), so that even the first view
on a fresh machine only loads them.

While it fits, the worker reports what it is doing in its scratch folder (the stage, and during
the layout the epochs done), which `BackgroundUmap.status` hands to the page.

This module imports only numpy at the top, so the worker starts without torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from vaeapp import files
from vaeapp.errors import ConfigError, VaeappError

SETTINGS = {"n_neighbors": 15, "min_dist": 0.1, "n_epochs": 200, "random_state": 0}
MIN_CODES = 5
WARM_UP_CODES = 300
CACHE_LIMIT = 1 << 27  # bytes: an embedding of 8 million points
# A cached embedding is a hint, from a file anyone could have written: it is used only if it
# has a row per code, finite coordinates no layout reaches past MAX_COORDINATE, and a spread in
# both directions (the views triangulate it: points on a line or at one place have no
# triangles). MIN_SPREAD bounds the ratio of its smaller principal spread to its larger.
MAX_COORDINATE = 1e6
MIN_SPREAD = 1e-6
PROGRESS_LIMIT = 1 << 12
NEIGHBOURS, GRAPH, LAYOUT = (
    "finding each point's neighbours",
    "building the neighbour graph and a first layout",
    "laying out the points",
)
Report = Callable[[str, int, int], None]  # stage, epochs done, epochs in all


@dataclass(frozen=True)
class UmapProgress:
    """What the worker says it is doing for one embedding; during the layout, its epochs."""

    stage: str
    done: int = 0
    total: int = 0

    @property
    def fraction(self) -> float | None:
        """The share of the layout's epochs done, once the layout has begun."""
        return min(1.0, self.done / self.total) if self.total > 0 else None

    def describe(self) -> str:
        if self.total > 0:
            return f"{self.stage}, epoch {self.done} of {self.total}"
        return self.stage


def embedding_key(codes: np.ndarray) -> str:
    """A name for the embedding of exactly these codes under these settings."""
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    digest = hashlib.sha256(json.dumps([codes.shape, SETTINGS]).encode())
    digest.update(codes.tobytes())
    return digest.hexdigest()[:32]


def umap_embedding(codes: np.ndarray, report: Report | None = None) -> np.ndarray:
    """UMAP of the codes [N, D] into the plane: [N, 2]. Slow the first time in a process.
    `report`, if given, hears each stage and, during the layout, the epochs done."""
    import umap
    from sklearn.neighbors import NearestNeighbors

    codes = np.asarray(codes, dtype=np.float32)
    if len(codes) < MIN_CODES:
        raise ConfigError(f"UMAP needs at least {MIN_CODES} codes, got {len(codes)}")
    report = report or (lambda stage, done, total: None)
    report(NEIGHBOURS, 0, 0)
    neighbours = min(SETTINGS["n_neighbors"], len(codes) - 1)
    distances, indices = NearestNeighbors(n_neighbors=neighbours).fit(codes).kneighbors(codes)
    report(GRAPH, 0, 0)
    reducer = umap.UMAP(
        n_neighbors=neighbours,
        min_dist=SETTINGS["min_dist"],
        n_epochs=SETTINGS["n_epochs"],
        random_state=SETTINGS["random_state"],
        precomputed_knn=(indices, distances.astype(np.float32)),
        tqdm_kwds=_epoch_bar(report),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reducer.fit_transform(codes).astype(np.float64)


def _epoch_bar(report: Report) -> dict[str, object]:
    """Settings for umap-learn's tqdm bar over the layout epochs: shown (it is off unless
    verbose), at most twice a second, as "done/total" to a file that reports each line."""
    return {
        "disable": False,
        "file": _EpochLines(report),
        "bar_format": "{n}/{total}",
        "mininterval": 0.5,
    }


class _EpochLines(io.TextIOBase):
    """Where the epoch bar writes: each "done/total" it writes becomes a report."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def write(self, text: str) -> int:
        found = re.search(r"(\d+)/(\d+)", text)
        if found:
            self.report(LAYOUT, int(found[1]), int(found[2]))
        return len(text)


@dataclass(frozen=True)
class EmbeddingStatus:
    """Where one embedding stands: ready (with it), running (since when), or failed (why)."""

    embedding: np.ndarray | None = None
    running_since: float | None = None
    error: str | None = None
    progress: UmapProgress | None = None  # while running: None until the worker begins it


class BackgroundUmap:
    """One worker process that fits UMAP embeddings in turn; results land in `cache_dir`.

    Thread-safe: every session of the app shares one instance, and a request that is already
    computed, or being computed, is never started twice.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._started: dict[str, float] = {}
        self._rows: dict[str, int] = {}  # how many codes each requested key embeds
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
        """The embedding if it is on disk (and fits the codes); otherwise start it (once per
        loss: a cache deleted or damaged after it was made is made again) and say how it goes."""
        if len(codes) < MIN_CODES:
            raise ConfigError(f"a UMAP view needs at least {MIN_CODES} codes, got {len(codes)}")
        key = embedding_key(codes)
        self._rows[key] = len(codes)
        status = self.status(key)
        if status.embedding is not None or status.error is not None:
            return status
        with self._lock:
            if key in self._started and self._finished(key):  # ... and its result is lost
                del self._started[key]
            if key not in self._started:
                self._ensure_worker()
                self._started[key] = time.time()
                assert self._process is not None and self._work is not None
                # The codes go through a file: a large message would block this thread until
                # the worker, busy compiling or fitting, reads it. The worker removes the file
                # when it is done with them.
                codes_path = self._codes_path(key)
                np.save(codes_path, np.asarray(codes, dtype=np.float32))
                paths = {
                    "codes": codes_path,
                    "out": self.path(key),
                    "error": self._error_path(key),
                    "progress": self._progress_path(key),
                }
                assert self._process.stdin is not None
                self._process.stdin.write(json.dumps({k: str(v) for k, v in paths.items()}))
                self._process.stdin.write("\n")
                self._process.stdin.flush()
        return self.status(key)

    def status(self, key: str) -> EmbeddingStatus:
        """Where the embedding named `key` stands; one on disk counts only if it fits the codes
        requested under that key (any number of them, for a key never requested here)."""
        embedding = _read(self.path(key), self._rows.get(key))
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
        return EmbeddingStatus(
            running_since=since, progress=_read_progress(self._progress_path(key))
        )

    @property
    def worker_alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """End the worker (a running fit is abandoned)."""
        with self._lock:
            if self.worker_alive:
                assert self._process is not None
                self._process.terminate()
                self._process.wait(timeout=5)
            self._process = None
            self._started.clear()

    def _codes_path(self, key: str) -> Path:
        assert self._work is not None
        return self._work / f"{key}.npy"

    def _finished(self, key: str) -> bool:
        """Whether the worker is done with a request it was sent: it removes the codes."""
        return self._work is None or not self._codes_path(key).exists()

    def _error_path(self, key: str) -> Path | None:
        """Failures are kept for this process only: a later start tries again."""
        return None if self._work is None else self._work / f"{key}.error.txt"

    def _progress_path(self, key: str) -> Path | None:
        """Where the worker reports how one embedding goes (in this process's scratch folder)."""
        return None if self._work is None else self._work / f"{key}.progress.json"

    def _ensure_worker(self) -> None:
        if self._work is None or not self._work.is_dir():  # a temp cleaner may remove it
            self._work = Path(tempfile.mkdtemp(prefix="vaeapp-umap-"))
        if self.worker_alive:
            return
        # A process of its own, not multiprocessing's: that would run the app's page script
        # again in the worker (it is `__main__` while Streamlit runs it), warnings and all.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "vaeapp.latent.umap_embedding", "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
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


def compile_umap() -> None:
    """A small fit that compiles umap-learn's numba functions into numba's disk cache (or, when
    they are there, loads them): run once at install, and by each worker before it serves."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _keep_compiled_umap()
    warm_up = np.random.default_rng(0).normal(size=(WARM_UP_CODES, 8)).astype(np.float32)
    umap_embedding(warm_up)


def _serve(requests: TextIO) -> None:
    """The worker: warm up, then fit each request (a JSON line of paths) until the app goes
    away (its end of the pipe closes)."""
    compile_umap()
    for line in requests:
        paths = {name: Path(value) for name, value in json.loads(line).items()}
        try:
            codes = np.load(paths["codes"])
            embedding = umap_embedding(codes, _reporter(paths["progress"]))
            problem = embedding_problem(embedding, len(codes))
            if problem is not None:  # saved, it would be refused and fitted again, forever
                raise ValueError(problem)
            _save(paths["out"], embedding)
        except Exception as exc:
            with contextlib.suppress(OSError):  # the scratch folder may be gone
                paths["error"].write_text(f"UMAP failed: {exc}", encoding="utf-8")
        finally:
            paths["codes"].unlink(missing_ok=True)


def _reporter(path: Path) -> Report:
    """Reports the worker writes where `BackgroundUmap.status` reads them."""

    def report(stage: str, done: int, total: int) -> None:
        progress = {"stage": stage, "done": done, "total": total}
        with contextlib.suppress(OSError, VaeappError):  # a report lost stops no fit
            files.write_atomically(path, json.dumps(progress).encode())

    return report


def _read_progress(path: Path | None) -> UmapProgress | None:
    """The worker's last report on one embedding, if it has made one (and it reads well)."""
    if path is None:
        return None
    try:
        raw = json.loads(files.read_text(path, PROGRESS_LIMIT))
        return UmapProgress(str(raw["stage"]), int(raw["done"]), int(raw["total"]))
    except (OSError, ValueError, TypeError, KeyError, VaeappError):
        return None


def _read(path: Path, rows: int | None) -> np.ndarray | None:
    """A cached embedding, or None if there is none usable (a link, a damaged or foreign file,
    one that does not fit `rows` codes)."""
    try:
        data = files.read_bytes(path, CACHE_LIMIT)
        embedding = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)  # .npy only
    except (OSError, ValueError, EOFError, VaeappError):
        return None
    return None if embedding_problem(embedding, rows) else embedding.astype(np.float64)


def embedding_problem(embedding: np.ndarray, rows: int | None) -> str | None:
    """Why `embedding` cannot be the map of `rows` codes (any number, where None), or None."""
    if embedding.dtype.kind not in "fiu" or embedding.ndim != 2 or embedding.shape[1] != 2:
        return f"an embedding is [N, 2] numbers, not {embedding.dtype} {embedding.shape}"
    if len(embedding) < MIN_CODES or (rows is not None and len(embedding) != rows):
        return f"{len(embedding)} points for {rows} codes"
    points = embedding.astype(np.float64)
    if not np.isfinite(points).all() or np.abs(points).max() > MAX_COORDINATE:
        return f"coordinates not finite or past {MAX_COORDINATE:g}"
    spread = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    if not spread[0] > 0 or spread[1] < MIN_SPREAD * spread[0]:
        return "the points lie at one place or on a line"
    return None


def _save(path: Path, embedding: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, embedding)
    files.write_atomically(path, buffer.getvalue())


if __name__ == "__main__":
    # `python -m vaeapp.latent.umap_embedding`: the install's step (scripts/setup.sh); with --serve,
    # the app's worker
    if sys.argv[1:] == ["--serve"]:
        _serve(sys.stdin)
    else:
        compile_umap()
