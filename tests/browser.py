"""Real-browser helpers and fixtures: `streamlit run app.py` on a loopback port, in Chromium.

One module for the e2e and reliability tests, registered once from tests/conftest.py, so the
whole session shares one Playwright (two at once in one thread refuse to start).

The server is started and stopped by the tests, with its runs folder in a temporary directory.
"""

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

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from vaeapp import jobs

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    url: str
    runs: Path
    process: subprocess.Popen
    started_at: float
    ready_at: float


def start_app(runs: Path, data: Path, port: int | None = None) -> AppServer:
    """Start `streamlit run app.py` and wait until it answers its health check."""
    port = port or free_port()
    env = {**os.environ, "VAEAPP_RUNS": str(runs), "VAEAPP_DATA": str(data)}
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
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
    deadline = started + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("streamlit did not start")
        time.sleep(0.1)
    return AppServer(url, runs, process, started, time.monotonic())


def stop_app(server: AppServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@contextmanager
def app_with_own_runs(
    tmp_path_factory: pytest.TempPathFactory, data: Path, name: str
) -> Iterator[AppServer]:
    """An app with a runs folder of its own, so its runs show in no other test's picker; any
    job left running is stopped with it."""
    app = start_app(tmp_path_factory.mktemp(name), data)
    try:
        yield app
    finally:
        for job in jobs.active_jobs(app.runs):
            jobs.stop(job.run)
        stop_app(app)


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path
) -> Iterator[AppServer]:
    server = start_app(tmp_path_factory.mktemp("app-runs"), shared_data_dir)
    yield server
    stop_app(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def wait_for_app(page: Page, ready: str = "h1", timeout_ms: float = 60_000) -> None:
    """Wait until the element `ready` shows and Streamlit has no script run in progress."""
    page.wait_for_selector(ready, timeout=timeout_ms)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
        timeout=timeout_ms,
    )
