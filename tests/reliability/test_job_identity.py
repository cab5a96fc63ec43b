"""A job's pid comes from the run's files (job.json, the lock's contents), which a run folder
from anywhere may fill with any pid. Stop signals a process only if it holds the run's lock
open: a pid named by the files alone is never signalled."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import small_config
from vaeapp.errors import UnsafeFileError
from vaeapp.store.run_jobs import JOB_FILE, JOB_LOCK_FILE, LOG_FILE, TRAIN_LOCK_FILE
from vaeapp.store.runs import METRICS_FILE, Run
from vaeapp.training import jobs

HOLD = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process that has nothing to do with any run: the pid a hostile job.json names."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def hold(lock: Path) -> subprocess.Popen[str]:
    """Another process holding `lock`, as a job's would."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


@pytest.mark.parametrize("lock", [JOB_LOCK_FILE, TRAIN_LOCK_FILE])
def test_a_pid_the_files_name_is_never_signalled_without_holding_the_lock(
    tmp_path: Path, bystander: subprocess.Popen[bytes], lock: str
) -> None:
    run = Run.create(tmp_path / "run", small_config())
    run.file(JOB_FILE).write_text(json.dumps({"pid": bystander.pid, "started": 0}))
    run.file(TRAIN_LOCK_FILE).write_text(str(bystander.pid))
    holder = hold(run.file(lock))  # the lock is held, by a process other than the named one
    try:
        if lock == TRAIN_LOCK_FILE:  # the holder wrote another process's pid into it
            run.file(TRAIN_LOCK_FILE).write_text(str(bystander.pid))
        assert jobs.state(run).active and jobs.state(run).pid == bystander.pid
        assert jobs.stop(run) is False
        assert bystander.poll() is None  # never signalled
    finally:
        holder.kill()
        holder.wait()


def test_the_process_that_holds_the_lock_is_the_one_stopped(tmp_path: Path) -> None:
    run = Run.create(tmp_path / "run", small_config())
    holder = hold(run.file(JOB_LOCK_FILE))
    try:
        run.file(JOB_FILE).write_text(json.dumps({"pid": holder.pid, "started": 0}))
        assert run.locked_by(holder.pid)
        assert jobs.stop(run) is True
        assert holder.wait(timeout=30) != 0  # ended by the SIGTERM
    finally:
        holder.kill()
        holder.wait()


def test_no_process_is_proven_by_a_file_it_does_not_hold(tmp_path: Path) -> None:
    run = Run.create(tmp_path / "run", small_config())
    with open(run.file(JOB_LOCK_FILE), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert run.locked_by(os.getpid())
    assert not run.locked_by(1)
    assert not run.locked_by(2**22 + 12345)


def copied_with_hard_links(run: Run) -> Run:
    """The copy `cp -al` makes: a folder of its own whose files are the original's."""
    copy = run.path.with_name(run.path.name + "-copy")
    subprocess.run(["cp", "-al", str(run.path), str(copy)], check=True)
    return Run(copy)


def test_a_copy_made_with_hard_links_never_writes_into_the_originals_files(
    tmp_path: Path,
) -> None:
    run = Run.create(tmp_path / "run", small_config())
    run.append_metrics({"kind": "end", "status": "stopped", "epoch": 0, "time": 1.0})
    run.file(LOG_FILE).write_bytes(b"the original's log\n")
    run.file(TRAIN_LOCK_FILE).write_bytes(b"")
    run.file(JOB_LOCK_FILE).write_bytes(b"")
    before = {name: run.file(name).read_bytes() for name in (METRICS_FILE, LOG_FILE)}
    copy = copied_with_hard_links(run)
    with pytest.raises(UnsafeFileError, match="hard link"):
        copy.append_metrics({"kind": "end", "status": "stopped", "epoch": 0, "time": 2.0})
    for taking in (copy.lock, copy.job_lock, copy.log_for_writing):
        with pytest.raises(UnsafeFileError, match="hard link"), taking():
            pass
    assert {name: run.file(name).read_bytes() for name in before} == before


def test_stop_on_a_copy_made_with_hard_links_never_signals_the_originals_job(
    tmp_path: Path,
) -> None:
    run = Run.create(tmp_path / "run", small_config())
    holder = hold(run.file(JOB_LOCK_FILE))  # the original's job
    try:
        run.file(JOB_FILE).write_text(json.dumps({"pid": holder.pid, "started": 0}))
        copy = copied_with_hard_links(run)  # its lock file is the original's, held
        assert not copy.locked_by(holder.pid)
        assert jobs.stop(copy) is False
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait()
