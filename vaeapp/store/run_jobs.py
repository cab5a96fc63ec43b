"""A run's training jobs as its files hold them: the training lock and its holder's pid, a
launched job's lock, record and log. Part of `runs.Run`, the one owner of a run's files, kept
here to keep each module short. A pid read from these files could name any process: only
`locked_by` proves it is the run's job."""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaeapp import files
from vaeapp.errors import RunError, UnsafeFileError

TRAIN_LOCK_FILE = "train.lock"
JOB_LOCK_FILE = "job.lock"
JOB_FILE = "job.json"
LOG_FILE = "train.log"
SMALL_FILE = 1 << 16  # config.json, job.json, a lock's pid
TAIL_BYTES = 1 << 14
ERROR_PREFIX = "vaeapp: error: "


class RunJobs(ABC):
    """`Run`'s locks, job record and log."""

    path: Path

    @abstractmethod
    def file(self, name: str) -> Path:
        """The path of one of the run's files."""

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's training lock: one job per run directory, whoever started it.

        An flock on `train.lock`, which the OS drops when the holder exits, even by kill -9, so a
        crashed job never leaves a stale lock. The holder writes its pid into the file.
        """
        with files.open_to_write(self.file(TRAIN_LOCK_FILE), "lock") as handle:
            if not files.try_flock(handle, files.LOCK_ATTEMPTS):
                raise RunError(
                    f"{self.path} is being trained by another job (pid {self.training_pid()}); "
                    "stop it first or choose another run"
                )
            handle.truncate(0)
            handle.write(str(os.getpid()).encode())
            handle.flush()
            yield

    def is_training(self) -> bool:
        """Whether some process holds the training lock right now."""
        return files.is_locked(self.file(TRAIN_LOCK_FILE))

    def training_pid(self) -> int | None:
        """The pid the lock holder wrote; meaningful only while `is_training()`."""
        return _pid(self._small_text(TRAIN_LOCK_FILE))

    def locked_by(self, pid: int) -> bool:
        """Whether process `pid` holds this run's training lock or job lock open: a pid read
        from the run's files (a lock's contents, job.json) could name any process, so only
        with this proof is it the job's, and signalled."""
        return any(
            files.holds_open(pid, self.file(name)) for name in (TRAIN_LOCK_FILE, JOB_LOCK_FILE)
        )

    def is_launching(self) -> bool:
        """Whether a launched job's process holds `job.lock` (from spawn to exit)."""
        return files.is_locked(self.file(JOB_LOCK_FILE))

    @contextmanager
    def job_lock(self) -> Iterator[int | None]:
        """Take `job.lock` to launch a job; yields its descriptor to hand to the child, or None
        when another job holds it."""
        with files.open_to_write(self.file(JOB_LOCK_FILE), "lock") as handle:
            yield handle.fileno() if files.try_flock(handle, files.LOCK_ATTEMPTS) else None

    @contextmanager
    def log_for_writing(self) -> Iterator[int]:
        """`train.log`, emptied, as a descriptor for a child process's output."""
        with files.open_to_write(self.file(LOG_FILE), "write") as log:
            yield log.fileno()

    def write_job_record(self, record: dict[str, Any]) -> None:
        files.write_atomically(self.file(JOB_FILE), json.dumps(record).encode())

    def job_record(self) -> JobRecord | None:
        """When and by which process the last job was launched; None if none was (or the
        record is unreadable: then the run is judged by its metrics alone)."""
        try:
            raw = json.loads(self._small_text(JOB_FILE) or "null")
        except (ValueError, RecursionError):
            return None
        if not isinstance(raw, dict):
            return None
        pid, started = raw.get("pid"), raw.get("started")
        if not (_is_pid(pid) and isinstance(started, int | float) and started >= 0):
            return None
        return JobRecord(pid=pid, started=float(started))

    def log_error(self) -> str:
        """The CLI's one-line error from the job's log, else its last line (a crash's)."""
        try:
            text = files.read_tail(self.file(LOG_FILE), TAIL_BYTES).decode("utf-8", "replace")
        except (FileNotFoundError, UnsafeFileError):
            return ""
        lines = text.splitlines()
        errors = [ln.removeprefix(ERROR_PREFIX) for ln in lines if ln.startswith(ERROR_PREFIX)]
        return errors[-1] if errors else next((ln for ln in reversed(lines) if ln.strip()), "")

    def _small_text(self, name: str) -> str:
        try:
            return files.read_text(self.file(name), SMALL_FILE)
        except (FileNotFoundError, UnsafeFileError):
            return ""


@dataclass(frozen=True)
class JobRecord:
    pid: int
    started: float


def _is_pid(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def _pid(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 10 and int(text) > 0 else None
