"""Training as a background process: start, find, stop and resume jobs, from the app or anywhere.

A job trains a run directory that holds its settings already: `start` writes `config.json`, then
launches `python -m vaeapp train --resume RUN` in a session of its own, so a closed tab, a rerun
or a restarted app loses no training, and every browser tab sees the same job. A run of several
processes (`world_size` in its config) is launched through torchrun on this machine instead
(`python -m torch.distributed.run --standalone --nproc_per_node N -m vaeapp train --resume
RUN`). Its state is read back from the run directory only, never from memory (the files are
`runs.Run`'s):

- the training lock, held by the training process (process 0 of several) with its pid: the job
  is running;
- the job lock, taken by `start` and handed to the child, which holds it for its whole life: the
  job is starting (importing, loading data). The OS drops both locks when the process dies, even
  by kill -9, so a crashed job never leaves a stale lock and a dead pid is never trusted;
- the job record (when the job was launched) and its log (the message of a job that failed
  before it trained);
- the metrics, ending with an `end` event that says how the job ended.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from vaeapp.config import RunConfig
from vaeapp.errors import RunError
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import run_path, saved_runs
from vaeapp.store.events import FAILED
from vaeapp.store.runs import Run
from vaeapp.training.launch import launcher, threads_per_process
from vaeapp.training.resume import busy, plan_resume

# A job's states besides how its training ended (events.STATUSES): it is starting, training or
# saving and exiting; or it died without an end event.
STARTING, RUNNING, ENDING, INTERRUPTED = "starting", "running", "ending", "interrupted"

APP_COMMAND = "the Train page of the vaeapp app"

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
        """Whether the Train page offers Resume: for a run that saved a checkpoint (one that
        never did is started afresh from the form)."""
        return not self.active and self.run.has_checkpoint()


def train_command(run: Run, tensorboard: Path | None = None) -> list[str]:
    """The CLI call that trains the run directory `run` as its config.json says, on as many
    local processes as it records (writing TensorBoard's files into `tensorboard`, if given)."""
    processes = run.read_config().train.world_size
    logged = [] if tensorboard is None else ["--tensorboard", str(tensorboard)]
    train = ["train", "--resume", str(run.path), *logged, "--quiet"]
    return [*launcher(processes), "-m", "vaeapp", *train]


def start(
    config: RunConfig, name: str, root: Path | None = None, tensorboard: Path | None = None
) -> Run:
    """Write a new run called `name` under the runs folder and launch its training (writing
    TensorBoard's files into `tensorboard`, if given); raises VaeappError if it cannot."""
    from vaeapp.training.machine import check_machine  # torch, once a job is asked for

    check_machine(config.validated())
    path = run_path(root or runs_dir(), name)
    if Run(path).exists():
        raise RunError(f"a run named {name.strip()!r} exists already; choose another name")
    return _launch(Run.create(path, replace(config, command=APP_COMMAND)), tensorboard)


def resume(run: Run, epochs: int | None = None, tensorboard: Path | None = None) -> Run:
    """Continue a stopped, interrupted or finished run, up to `epochs` in all if given, on the
    processes it records, all on this machine (`resume.plan_resume` decides whether it may),
    appending TensorBoard's files to `tensorboard` if given."""
    current = state(run)
    if current.active:
        raise busy(run, current.status)
    if not run.has_checkpoint():
        raise RunError(f"{run.name} has no checkpoint to resume from; start a new run")
    processes = run.read_config().train.world_size
    plan_resume(run, processes, processes, epochs).write()
    return _launch(run, tensorboard)


def stop(run: Run) -> bool:
    """Ask the job to stop: SIGTERM makes the trainer finish its step, save and exit. Under
    torchrun the signal goes to process 0, the trainer that holds the lock; the processes agree
    on the stop at the next step, process 0 saves once, and all of them (and torchrun) exit.
    A pid the run's files name is signalled only if that process holds the run's lock open."""
    current = state(run)
    if not current.active or current.pid is None or not run.locked_by(current.pid):
        return False
    try:
        os.kill(current.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def state(run: Run) -> JobState:
    """Starting, running, ending (saved, exiting), or how the last job ended, from the directory."""
    _reap_children()
    if run.is_training():
        return JobState(run, RUNNING, run.training_pid())
    launch = run.job_record()
    launched_at = launch.started if launch else 0.0
    last = run.last_event()
    last_time = last["time"] if last else -1.0
    end = last if last and last["kind"] == "end" and last_time >= launched_at else None
    if run.is_launching():
        return JobState(run, STARTING if end is None else ENDING, launch.pid if launch else None)
    if end is not None:
        return JobState(run, end["status"], message=end.get("message", ""))
    if launch and last_time < launched_at:
        return JobState(run, FAILED, message=run.log_error() or "the job ended before it trained")
    return JobState(run, INTERRUPTED, message="the job ended without saving its last steps")


def active_jobs(root: Path | None = None) -> list[JobState]:
    """The jobs starting or running now, most recently active first."""
    return [job for job in (state(run) for run in saved_runs(root)) if job.active]


def _launch(run: Run, tensorboard: Path | None = None) -> Run:
    """Spawn the CLI in its own session, holding the job lock for as long as it lives."""
    started = time.time()
    command = train_command(run, tensorboard)
    with run.job_lock() as lock:
        if lock is None or run.is_training():
            raise RunError(f"{run.name} has a job already; one job per run")
        with run.log_for_writing() as log:
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(lock,),
                env=_job_environment(run),
            )
    with _children_lock:
        _children.append(child)
    run.write_job_record({"pid": child.pid, "started": started})
    return run


def _job_environment(run: Run) -> dict[str, str]:
    """The app's environment, unbuffered; processes that share this machine's CPU cores get
    a share of them each (torchrun would give each one thread)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = run.read_config().train.world_size
    if processes > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(threads_per_process(processes))
    return env


def _reap_children() -> None:
    """Collect the exit status of finished children, so that none lingers as a zombie."""
    with _children_lock:
        _children[:] = [child for child in _children if child.poll() is None]
