"""A run directory: `config.json`, `metrics.jsonl` and a weights-only `checkpoint.pt`.

Every write is atomic (a temp file in the same directory, fsync, rename), so a crash or a full disk
leaves the previous file intact. Checkpoints are read with `torch.load(weights_only=True)`,
which refuses pickles that would run code. A torn last line in `metrics.jsonl` (a killed
writer) is skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch

from vaeapp.config import RunConfig
from vaeapp.errors import CheckpointError, ConfigError
from vaeapp.model import VAE, build_model

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
LOCK_FILE = "train.lock"
MAX_RUN_NAME = 100
LOCK_ATTEMPTS = 20


class Run:
    """One training run on disk. Cheap to construct; files are read when asked for."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_FILE

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_FILE

    def exists(self) -> bool:
        return self.config_path.is_file()

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's training lock: one job per run directory, whoever started it.

        An flock on `train.lock`, which the OS drops when the holder exits, even by kill -9, so a
        crashed job never leaves a stale lock. The holder writes its pid into the file.
        """
        with self.lock_path.open("a+", encoding="ascii") as handle:
            if not try_flock(handle, LOCK_ATTEMPTS):
                raise CheckpointError(
                    f"{self.path} is being trained by another job (pid {self.training_pid()}); "
                    "stop it first or choose another run"
                )
            handle.truncate(0)
            handle.write(str(os.getpid()))
            handle.flush()
            yield

    def is_training(self) -> bool:
        """Whether some process holds the training lock right now."""
        return is_locked(self.lock_path)

    def training_pid(self) -> int | None:
        """The pid the lock holder wrote; meaningful only while `is_training()`."""
        try:
            text = self.lock_path.read_text(encoding="ascii").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() and int(text) > 0 else None

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    @classmethod
    def create(cls, path: Path | str, config: RunConfig) -> Run:
        """A new run directory holding `config`; refuses to overwrite an existing run."""
        run = cls(path)
        if run.exists():
            raise CheckpointError(f"{run.path} already holds a run; resume it or choose a new name")
        config.validated()
        try:
            run.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create run directory {run.path}: {exc.strerror}"
            ) from None
        write_atomically(run.config_path, config.to_json().encode())
        return run

    def read_config(self) -> RunConfig:
        if not self.path.is_dir():
            raise CheckpointError(f"no run at {self.path}")
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"cannot read {self.config_path}: {exc}") from None
        try:
            return RunConfig.from_json(text)
        except (ConfigError, TypeError) as exc:
            raise CheckpointError(f"{self.config_path}: {exc}") from None

    @contextmanager
    def metrics_appender(self) -> Iterator[Callable[[dict[str, Any]], None]]:
        """Append events as JSON lines through one open file, flushed after each event.

        A trainer writes an event per step: one write call each, not an open and a close.
        A line torn by a killed writer is ended first, so the next event starts a line.
        """
        with self.metrics_path.open("ab") as out:
            if out.tell() > 0 and not self._metrics_end_with_newline():
                out.write(b"\n")

            def append(event: dict[str, Any]) -> None:
                out.write(json.dumps(event).encode() + b"\n")
                out.flush()

            yield append

    def append_metrics(self, event: dict[str, Any]) -> None:
        with self.metrics_appender() as append:
            append(event)

    def _metrics_end_with_newline(self) -> bool:
        with self.metrics_path.open("rb") as metrics:
            metrics.seek(-1, os.SEEK_END)
            return metrics.read(1) == b"\n"

    def read_metrics(self) -> list[dict[str, Any]]:
        """All events written so far; lines that do not parse (a torn last write) are skipped."""
        return list(self.iter_metrics())

    def iter_metrics(self) -> Iterator[dict[str, Any]]:
        try:
            with self.metrics_path.open("rb") as lines:
                for line in lines:
                    event = parse_event(line)
                    if event is not None:
                        yield event
        except FileNotFoundError:
            return

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write the checkpoint atomically; on failure the previous one stays as it was."""
        with tempfile.SpooledTemporaryFile(max_size=1 << 30) as buffer:
            torch.save(state, buffer)
            buffer.seek(0)
            write_atomically(self.checkpoint_path, buffer.read())

    def load_checkpoint(self) -> dict[str, Any]:
        """The checkpoint's tensors and numbers; never runs code stored in the file."""
        if not self.has_checkpoint():
            raise CheckpointError(f"{self.path} has no checkpoint yet")
        try:
            with warnings.catch_warnings():
                # torch warns about the pickle protocol of files it then refuses or reads fine;
                # the outcome is reported below, on one line.
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise CheckpointError(
                f"{self.checkpoint_path} is not a weights-only checkpoint and was refused: "
                f"loading it would run code stored in it ({_unpickler_reason(exc)})"
            ) from None
        except (RuntimeError, OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
            raise CheckpointError(
                f"{self.checkpoint_path} is unreadable or truncated ({exc})"
            ) from None
        if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
            raise CheckpointError(f"{self.checkpoint_path} does not hold vaeapp model weights")
        return state

    def load_model(self, device: str | torch.device = "cpu") -> tuple[VAE, RunConfig]:
        """The trained model in eval mode, and the config it was built from."""
        config = self.read_config()
        model = build_model(config.model)
        state = self.load_checkpoint()
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            detail = str(exc).splitlines()[-1].strip() if str(exc) else ""
            raise CheckpointError(
                f"{self.checkpoint_path} does not match its config.json ({detail})"
            ) from None
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise CheckpointError(f"{self.checkpoint_path} holds non-finite weights")
        return model.to(device).eval(), config

    def summary(self) -> RunSummary:
        config = self.read_config()
        epochs = [e for e in self.iter_metrics() if e.get("kind") == "epoch"]
        return RunSummary(
            path=self.path,
            name=self.name,
            data=config.train.data,
            arch=config.model.arch,
            latent_dim=config.model.latent_dim,
            likelihood=config.model.likelihood,
            epochs_done=len(epochs),
            epochs_planned=config.train.epochs,
            test_elbo=epochs[-1].get("test_elbo") if epochs else None,
            has_checkpoint=self.has_checkpoint(),
        )


@dataclass(frozen=True)
class RunSummary:
    """What the model picker shows for a run."""

    path: Path
    name: str
    data: str
    arch: str
    latent_dim: int
    likelihood: str
    epochs_done: int
    epochs_planned: int
    test_elbo: float | None
    has_checkpoint: bool

    def label(self) -> str:
        elbo = "no epoch yet" if self.test_elbo is None else f"test ELBO {self.test_elbo:.1f}"
        return (
            f"{self.name}: {self.data}, {self.arch}, {self.latent_dim}-D latent, "
            f"{self.epochs_done}/{self.epochs_planned} epochs, {elbo}"
        )


def parse_event(line: bytes) -> dict[str, Any] | None:
    """One `metrics.jsonl` line as an event; None for a line that does not parse (a torn write)."""
    try:
        event = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return event if isinstance(event, dict) else None


def saved_runs(root: Path) -> list[Run]:
    """Run directories directly under `root` that hold a config and a checkpoint, newest first."""
    if not root.is_dir():
        return []
    runs = [Run(child) for child in root.iterdir()]
    found = [run for run in runs if run.exists() and run.has_checkpoint()]
    return sorted(found, key=lambda run: run.checkpoint_path.stat().st_mtime, reverse=True)


def run_path(root: Path, name: str) -> Path:
    """The directory for a run called `name` inside `root`; refuses names that would escape it."""
    cleaned = name.strip()
    if not cleaned:
        raise ConfigError("run name must not be empty")
    if len(cleaned) > MAX_RUN_NAME or len(cleaned.encode()) > 255:
        raise ConfigError(
            f"run name is too long: at most {MAX_RUN_NAME} characters, "
            "and at most 255 bytes in UTF-8 (about 85 in Chinese or Japanese)"
        )
    forbidden = set("/\\:\0") | {chr(c) for c in range(32)}
    if cleaned in {".", ".."} or cleaned.startswith(".") or forbidden & set(cleaned):
        raise ConfigError("run name must be a plain name: no slashes, no leading dot, no '..'")
    path = (root / cleaned).resolve()
    if path.parent != root.resolve():
        raise ConfigError("run name must stay inside the runs folder")
    return root / cleaned


def try_flock(handle: IO[str], attempts: int = 1) -> bool:
    """Try to take an exclusive flock a few times: a probe holds it only for microseconds."""
    for attempt in range(attempts):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < attempts:
                time.sleep(0.025)
    return False


def is_locked(path: Path) -> bool:
    """Whether a process holds an flock on `path`; probes with a shared lock, released at once."""
    try:
        handle = path.open("r", encoding="ascii")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file and rename; raise CheckpointError if it fails."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise CheckpointError(
            f"could not write {path} ({exc.strerror or exc}); the previous version is intact"
        ) from None


def _unpickler_reason(exc: pickle.UnpicklingError) -> str:
    """The line of torch's refusal that names what the file asked for, without its advice."""
    for line in str(exc).splitlines():
        if "GLOBAL" in line or "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:")[-1].strip().rstrip(".")
    return "content other than tensors and numbers"
