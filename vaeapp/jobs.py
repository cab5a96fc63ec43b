"""Training as a background process: start, find, stop and resume jobs, from the app or anywhere.

A job is `python -m vaeapp train ... --out RUN` in a session of its own, so a closed tab, a rerun
or a restarted app loses no training, and every browser tab sees the same job. Its state is read
back from the run directory only, never from memory:

- `train.lock`: held by the training process (`Run.lock`), with its pid: the job is running.
- `job.lock`: taken by `start` and handed to the child, which holds it for its whole life: the
  job is starting (importing, loading data). The OS drops both locks when the process dies, even
  by kill -9, so a crashed job never leaves a stale lock and a dead pid is never trusted.
- `job.json`: when and how the job was launched; `train.log`: its output, for the message of a
  job that failed before it trained.
- `metrics.jsonl`: the history, ending with an `end` event that says how the job ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from vaeapp.config import RunConfig
from vaeapp.errors import CheckpointError, ConfigError
from vaeapp.paths import runs_dir
from vaeapp.runs import (
    CONFIG_FILE,
    LOCK_ATTEMPTS,
    Run,
    is_locked,
    parse_event,
    run_path,
    try_flock,
    write_atomically,
)

JOB_FILE = "job.json"
JOB_LOCK = "job.lock"
LOG_FILE = "train.log"
ERROR_PREFIX = "vaeapp: error: "
TAIL_BYTES = 16_384

STARTING, RUNNING, ENDING = "starting", "running", "ending"
FINISHED, STOPPED, DIVERGED, FAILED, INTERRUPTED = (
    "finished",
    "stopped",
    "diverged",
    "failed",
    "interrupted",
)

_children: list[subprocess.Popen] = []
_children_lock = threading.Lock()


@dataclass(frozen=True)
class JobState:
    """What a run's job is doing, as read from its directory."""

    run: Run
    status: str
    pid: int | None = None
    message: str = ""

    @property
    def active(self) -> bool:
        return self.status in (STARTING, RUNNING, ENDING)

    @property
    def resumable(self) -> bool:
        return not self.active and self.run.has_checkpoint()


def train_command(config: RunConfig, out: Path) -> list[str]:
    """The CLI call that trains `config` into `out`: every setting passed as its own flag."""
    command = [sys.executable, "-m", "vaeapp", "train", "--out", str(out), "--quiet"]
    for section in (config.model, config.train):
        for setting in fields(section):
            value, flag = getattr(section, setting.name), "--" + setting.name.replace("_", "-")
            if isinstance(value, bool):
                command += [flag] if value else []
            elif isinstance(value, tuple):
                command += [flag, ",".join(str(v) for v in value)]
            else:
                command += [flag, str(value)]
    return command


def start(config: RunConfig, name: str, root: Path | None = None) -> Run:
    """Launch a new run called `name` under the runs folder; raises VaeappError if it cannot."""
    config.validated()
    run = Run(run_path(root or runs_dir(), name))
    if run.exists():
        raise CheckpointError(f"a run named {name.strip()!r} exists already; choose another name")
    try:
        run.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create {run.path}: {exc.strerror}") from None
    return _launch(run, train_command(config, run.path))


def resume(run: Run, epochs: int | None = None) -> Run:
    """Continue a stopped, interrupted or finished run, up to `epochs` in all if given."""
    current = state(run)
    if current.active:
        raise CheckpointError(f"{run.name} is {current.status} already")
    if not run.has_checkpoint():
        raise CheckpointError(f"{run.name} has no checkpoint to resume from; start a new run")
    config = run.read_config()
    planned = config.train.epochs if epochs is None else epochs
    replace(config, train=replace(config.train, epochs=planned)).validated()
    if planned <= epochs_done(run):
        raise ConfigError(
            f"{run.name} has trained {epochs_done(run)} epochs; ask for more epochs to continue"
        )
    extend = [] if epochs is None else ["--epochs", str(epochs)]
    command = [sys.executable, "-m", "vaeapp", "train", "--resume", str(run.path), "--quiet"]
    return _launch(run, [*command, *extend])


def stop(run: Run) -> bool:
    """Ask the job to stop: SIGTERM makes the trainer finish its step, save and exit."""
    current = state(run)
    if not current.active or current.pid is None:
        return False
    try:
        os.kill(current.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def state(run: Run) -> JobState:
    """Starting, running, ending (saved, exiting), or how the last job ended, from the directory."""
    _reap_children()
    if run.is_training():
        return JobState(run, RUNNING, run.training_pid())
    launch = _launch_record(run)
    launched_at = float(launch.get("started", 0.0))
    last = last_event(run)
    last_time = float(last.get("time", 0.0)) if last else -1.0
    end = last if last and last.get("kind") == "end" and last_time >= launched_at else None
    if is_locked(run.path / JOB_LOCK):
        return JobState(run, STARTING if end is None else ENDING, launch.get("pid"))
    if end is not None:
        return JobState(run, str(end.get("status", FINISHED)), message=end.get("message", ""))
    if launch and last_time < launched_at:
        return JobState(run, FAILED, message=_log_error(run) or "the job ended before it trained")
    return JobState(run, INTERRUPTED, message="the job ended without saving its last steps")


def runs_in(root: Path | None = None) -> list[Run]:
    """Every run directory under the runs folder (trained or launched), newest first."""
    folder = root or runs_dir()
    if not folder.is_dir():
        return []
    found = [
        Run(child)
        for child in folder.iterdir()
        if (child / CONFIG_FILE).is_file() or (child / JOB_FILE).is_file()
    ]
    return sorted(found, key=lambda run: run.path.stat().st_mtime, reverse=True)


def active_jobs(root: Path | None = None) -> list[JobState]:
    """The jobs starting or running now, newest first."""
    return [job for job in (state(run) for run in runs_in(root)) if job.active]


def epochs_done(run: Run) -> int:
    """The highest epoch the run has completed."""
    numbers = (e.get("epoch", 0) for e in run.iter_metrics() if e.get("kind") == "epoch")
    return max(numbers, default=0)


def last_event(run: Run) -> dict[str, Any] | None:
    """The newest complete event in `metrics.jsonl`, reading only the end of the file."""
    try:
        with run.metrics_path.open("rb") as metrics:
            size = metrics.seek(0, os.SEEK_END)
            metrics.seek(max(0, size - TAIL_BYTES))
            lines = metrics.read().splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        event = parse_event(line)
        if event is not None:
            return event
    return None


def log_path(run: Run) -> Path:
    return run.path / LOG_FILE


def _launch(run: Run, command: list[str]) -> Run:
    """Spawn the CLI in its own session, holding `job.lock` for as long as it lives."""
    started = time.time()
    with (run.path / JOB_LOCK).open("a+", encoding="ascii") as lock:
        if not try_flock(lock, LOCK_ATTEMPTS) or run.is_training():
            raise CheckpointError(f"{run.name} has a job already; one job per run")
        with log_path(run).open("wb") as log:
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(lock.fileno(),),
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
    with _children_lock:
        _children.append(child)
    record = {"pid": child.pid, "started": started, "command": command}
    write_atomically(run.path / JOB_FILE, json.dumps(record).encode())
    return run


def _reap_children() -> None:
    """Collect the exit status of finished children, so that none lingers as a zombie."""
    with _children_lock:
        _children[:] = [child for child in _children if child.poll() is None]


def _launch_record(run: Run) -> dict[str, Any]:
    try:
        record = json.loads((run.path / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def _log_error(run: Run) -> str:
    """The CLI's one-line error from the job's log, else its last line (a crash's exception)."""
    try:
        lines = log_path(run).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line.removeprefix(ERROR_PREFIX) for line in lines if line.startswith(ERROR_PREFIX)]
    return errors[-1] if errors else next((line for line in reversed(lines) if line.strip()), "")
