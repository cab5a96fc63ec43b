"""The Compare page in Chromium: one click on a run's Explore link opens Explore on that run."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app
from tests.app_pages import saved_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_one_click_on_a_runs_explore_link_opens_explore_on_that_run(
    page: Page, own_server: AppServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAEAPP_RUNS", str(own_server.runs))
    saved_run("alpha", latent_dim=2)
    saved_run("beta", latent_dim=2)
    page.goto(f"{own_server.url}/compare")
    wait_for_app(page)
    links = page.locator(".st-key-compare_links")
    links.get_by_role("link", name="beta").click()
    page.wait_for_url("**/explore?run=beta", timeout=60_000)
    wait_for_app(page)
    picked = page.locator(".st-key-model_path input").input_value()  # the box shows its label
    assert picked.startswith("beta"), picked
    assert len(page.context.pages) == 1  # the same tab, not a new one
