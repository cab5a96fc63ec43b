"""Real-browser fixtures: the app served by `streamlit run app.py`, and Chromium pages on it.

Registered once from tests/conftest.py, so the whole session shares one Playwright (two at once
in one thread refuse to start). Starting the app, launching Chromium and reading its pages are
plain functions in `testkit`, shared with the benchmarks; each server's runs folder is in a
temporary directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from testkit.app_server import AppServer, running_app
from testkit.chromium import VIEWPORT, launch_chromium


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path
) -> Iterator[AppServer]:
    """The app for the session's browser tests that start no runs."""
    with running_app(tmp_path_factory.mktemp("app-runs"), shared_data_dir) as server:
        yield server


@pytest.fixture(scope="module")
def own_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path
) -> Iterator[AppServer]:
    """An app for one test module, with a runs folder of its own, so the runs its tests start
    show in no other module's picker."""
    runs = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    with running_app(runs, shared_data_dir) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()
