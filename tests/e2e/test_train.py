"""Training from the browser: start a job, watch it live, re-attach, pick the run, explore it
while it trains, resume, stop."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page

from testkit.app_server import AppServer
from testkit.chromium import VIEWPORT, open_from_sidebar, wait_for_app
from testkit.explore_page import READY, click_map, decoded, open_explore
from testkit.train_page import open_train_page, start_from_form, wait_for_progress
from testkit.waiting import wait_for
from vaeapp.data.specs import check_spec
from vaeapp.errors import VaeappError
from vaeapp.store.catalog import saved_runs
from vaeapp.store.events import STOPPED
from vaeapp.store.runs import Run
from vaeapp.training import jobs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 240_000
CHART_POINTS = """() => {
    const plot = document.querySelector('.st-key-train_chart .js-plotly-plot');
    return plot && plot.data ? plot.data.reduce((n, trace) => n + (trace.x || []).length, 0) : 0;
}"""


def picker_options(page: Page) -> list[str]:
    page.locator(".st-key-model_path input").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def refused_data_source(page: Page, server: AppServer, typed: str, shown: str) -> Locator:
    """The form's error after starting a run on the data source `typed`, once it says `shown`."""
    open_train_page(page, server)
    page.locator(".st-key-train_data input").fill(typed)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Start training").click()
    error = page.locator('[data-testid="stForm"] [data-testid="stAlert"]')
    error.filter(has_text=shown).wait_for(timeout=WAIT_MS)
    return error


def test_an_unknown_data_source_is_refused_beside_its_field(
    page: Page, own_server: AppServer
) -> None:
    error = refused_data_source(page, own_server, "idx:/no/such/folder", "/no/such/folder")
    assert error.count() == 1
    assert saved_runs(own_server.runs) == []


def test_an_error_quoting_a_link_or_image_shows_it_as_text(
    page: Page, own_server: AppServer
) -> None:
    typed = "idx:/nowhere/![pixel](http://127.0.0.1:9/x.png) [link](http://127.0.0.1:9/)"
    error = refused_data_source(page, own_server, typed, "/nowhere/")
    with pytest.raises(VaeappError) as refused:
        check_spec(typed)
    assert error.inner_text().strip() == str(refused.value)  # as the core words it, verbatim
    assert error.locator("img, a").count() == 0


def test_train_watch_reattach_resume_stop_and_pick(
    page: Page, browser: Browser, own_server: AppServer
) -> None:
    # conv, four epochs: long enough (seconds, not the mlp's fraction of one) for the chart,
    # redrawn every two seconds, to be seen growing however fast the machine
    start_from_form(page, own_server, "e2e-run", epochs=4, arch="conv")

    counts = [0]

    def grew_twice() -> bool:
        """Note each growth of the live chart; true once it has gained points twice."""
        points = page.evaluate(CHART_POINTS)
        if points > counts[-1]:
            counts.append(points)
        return len(counts) >= 3

    wait_for(grew_twice, "the live chart gains points twice", WAIT_MS / 1000, interval_s=0.5)

    second = browser.new_page()  # a second tab re-attaches to the job with its whole history
    open_train_page(second, own_server)
    assert second.locator(".st-key-train_watch input").input_value().startswith("e2e-run")
    second.wait_for_function(f"() => ({CHART_POINTS})() >= {counts[-1]}", timeout=WAIT_MS)
    second.close()

    wait_for_progress(page, "finished · 4/4 epochs done")
    open_from_sidebar(page, "Interpolate")  # the picker shows on the model pages only
    assert "e2e-run: 2-D" in picker_options(page)  # at once, with no reload
    open_from_sidebar(page, "Train")

    page.reload()  # a reload re-attaches too
    wait_for_app(page)
    wait_for_progress(page, "finished · 4/4 epochs done")

    page.get_by_label("Epochs in all").fill("30")
    page.get_by_role("button", name="Resume").click()
    wait_for_progress(page, "running")

    explorer = browser.new_page(viewport=VIEWPORT)
    open_explore(explorer, own_server)  # the explorer, on the checkpoint of the job still training
    explorer.locator(".st-key-model_path input").click()
    explorer.get_by_role("option", name=re.compile("^e2e-run")).click()
    explorer.get_by_text(re.compile("^e2e-run: conv network")).wait_for(timeout=WAIT_MS)  # details
    explorer.wait_for_function(READY, timeout=WAIT_MS)  # its map; the click waits till it settles
    first, first_image = click_map(explorer, 0.3, 0.35), decoded(explorer)
    second_click, second_image = click_map(explorer, 0.7, 0.75), decoded(explorer)
    assert first != second_click and first_image != second_image and len(first) == 2
    run = Run(own_server.runs / "e2e-run")
    assert jobs.state(run).status == jobs.RUNNING  # both clicks decoded while it trained
    explorer.close()

    page.get_by_role("button", name="Stop").click()
    wait_for_progress(page, "stopped")
    assert jobs.state(run).status == STOPPED and not run.is_training()
    assert page.get_by_role("button", name="Resume").is_visible()


def test_start_training_shows_without_scrolling_on_a_laptops_screen(
    page: Page, own_server: AppServer
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    open_train_page(page, own_server)
    start = page.get_by_role("button", name="Start training").bounding_box()
    assert start is not None and start["y"] + start["height"] <= 800, start
    assert page.evaluate("() => window.scrollY") == 0
