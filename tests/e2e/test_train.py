"""Training from the browser: start a job, watch it live, re-attach, pick the run, explore it
while it trains, resume, stop."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import AppServer, app_with_own_runs, wait_for_app
from tests.e2e.test_explore import PLOT_AREA, click_map, open_explore
from vaeapp import jobs
from vaeapp.runs import Run, list_runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 240_000
CHART_POINTS = """() => {
    const plot = document.querySelector('.st-key-train_chart .js-plotly-plot');
    return plot && plot.data ? plot.data.reduce((n, trace) => n + (trace.x || []).length, 0) : 0;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> Iterator[AppServer]:
    with app_with_own_runs(tmp_path_factory, shared_data_dir, "train-runs") as app:
        yield app


def start_from_form(page: Page, server: AppServer, name: str, epochs: int) -> None:
    """Open the Train page and start a small MLP run from its form."""
    open_train_page(page, server)
    choose(page, "train_arch", "mlp")
    page.get_by_label("Epochs", exact=True).fill(str(epochs))
    page.get_by_role("textbox", name="Run name").fill(name)
    page.get_by_role("button", name="Start training").click()


def open_train_page(page: Page, server: AppServer) -> None:
    page.goto(f"{server.url}/train")
    wait_for_app(page)


def choose(page: Page, key: str, option: str) -> None:
    page.locator(f".st-key-{key} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def wait_for_progress(page: Page, words: str) -> None:
    page.get_by_test_id("stProgress").filter(has_text=words).wait_for(timeout=WAIT_MS)


def picker_options(page: Page) -> list[str]:
    page.locator(".st-key-model_path input").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_an_unknown_data_source_is_refused_beside_its_field(page: Page, server: AppServer) -> None:
    open_train_page(page, server)
    page.locator(".st-key-train_data input").fill("idx:/no/such/folder")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Start training").click()
    error = page.locator('[data-testid="stForm"] [data-testid="stAlert"]')
    error.filter(has_text="/no/such/folder").wait_for(timeout=WAIT_MS)
    assert error.count() == 1
    assert list_runs(server.runs) == []


def test_train_watch_reattach_resume_stop_and_pick(
    page: Page, browser: Browser, server: AppServer
) -> None:
    start_from_form(page, server, "e2e-run", epochs=2)

    counts = [0]
    deadline = time.monotonic() + WAIT_MS / 1000
    while len(counts) < 3 and time.monotonic() < deadline:
        points = page.evaluate(CHART_POINTS)
        if points > counts[-1]:
            counts.append(points)
        time.sleep(0.5)
    assert len(counts) >= 3, f"the chart grew only {counts}"  # it gained points at least twice

    second = browser.new_page()  # a second tab re-attaches to the job with its whole history
    open_train_page(second, server)
    assert second.locator(".st-key-train_watch input").input_value().startswith("e2e-run")
    second.wait_for_function(f"() => ({CHART_POINTS})() >= {counts[-1]}", timeout=WAIT_MS)
    second.close()

    wait_for_progress(page, "finished · epoch 2/2")
    label = "e2e-run: sample, 2-D, ELBO"  # in the picker at once, with no reload
    assert any(option.startswith(label) for option in picker_options(page))

    page.reload()  # a reload re-attaches too
    wait_for_app(page)
    wait_for_progress(page, "finished · epoch 2/2")

    page.get_by_label("Epochs in all").fill("30")
    page.get_by_role("button", name="Resume").click()
    wait_for_progress(page, "running")

    explorer = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_explore(explorer, server)  # the explorer, on the checkpoint of the job still training
    explorer.locator(".st-key-model_path input").click()
    explorer.get_by_role("option", name=re.compile("^e2e-run")).click()
    explorer.get_by_text(re.compile("^mlp network")).wait_for(timeout=WAIT_MS)  # its details
    explorer.wait_for_selector(PLOT_AREA, timeout=WAIT_MS)
    wait_for_app(explorer)
    first, second_click = click_map(explorer, 0.3, 0.35), click_map(explorer, 0.7, 0.75)
    assert first != second_click and first.startswith("data:image/png")
    run = Run(server.runs / "e2e-run")
    assert jobs.state(run).status == jobs.RUNNING  # both clicks decoded while it trained
    explorer.close()

    page.get_by_role("button", name="Stop").click()
    wait_for_progress(page, "stopped")
    assert jobs.state(run).status == jobs.STOPPED and not run.is_training()
    assert page.get_by_role("button", name="Resume").is_visible()
