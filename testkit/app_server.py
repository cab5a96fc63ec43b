"""The app as a user starts it: `streamlit run app.py` on a loopback port, with runs and data
folders of the caller's choosing, stopped with any training job it left running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testkit.waiting import wait_for
from vaeapp.training import jobs

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60


@dataclass
class AppServer:
    url: str
    runs: Path
    process: subprocess.Popen
    started_at: float
    ready_at: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    """Whether the Streamlit server at `url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_serving(
    process: subprocess.Popen, url: str, timeout_s: float = START_TIMEOUT_S
) -> None:
    """Wait until the server started as `process` answers at `url`; one that exits or does not
    answer in time is killed, and the wait fails."""
    try:
        wait_for(lambda: process.poll() is not None or healthy(url), "streamlit answers", timeout_s)
        if process.returncode is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before answering")
    except BaseException:
        process.kill()
        raise


def start_app(runs: Path, data: Path, port: int | None = None, script: str = "app.py") -> AppServer:
    """Start `streamlit run app.py` (or another script of the repository) and wait until it
    answers its health check."""
    port = port or free_port()
    env = {**os.environ, "VAEAPP_RUNS": str(runs), "VAEAPP_DATA": str(data)}
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(process, url)
    return AppServer(url, runs, process, started, time.monotonic())


def stop_app(server: AppServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@contextmanager
def running_app(runs: Path, data: Path) -> Iterator[AppServer]:
    """The app on `runs` and `data` for the length of the block; training jobs outlive the
    server, so any job still running under `runs` is stopped with it, whatever happened."""
    server = start_app(runs, data)
    try:
        yield server
    finally:
        for job in jobs.active_jobs(runs):
            jobs.stop(job.run)
        stop_app(server)
