"""Every page on each shipped model, as a user who opens everything sees it: every expander and
popover opened, every tab shown; no maths left raw or in KaTeX's red, no exception box, nothing
in the console."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app, wait_until_idle
from testkit.console import console_errors
from testkit.explore_page import settle
from tests.conftest import make_dataset, small_config
from vaeapp.store.catalog import SHIPPED
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ("explore", "interpolate", "train", "compare")  # vaeapp/ui/app.py's
# A LaTeX command outside KaTeX's output: maths markdown did not hand to KaTeX.
RAW_LATEX = re.compile(r"\\(?:[A-Za-z]{2,}|[,;!|{}])")
TEXT_OUTSIDE_KATEX = """() => {
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll('.katex, script, style').forEach((e) => e.remove());
    return copy.innerText;
}"""


@pytest.fixture(scope="module")
def trained_server(own_server: AppServer) -> Iterator[AppServer]:
    """The app with one finished run, so that Train and Compare draw their charts."""
    run = Run.create(own_server.runs / "crawled", small_config(epochs=2))
    Trainer(run, make_dataset()).fit()
    yield own_server


def open_everything(page: Page) -> None:
    """Open every closed expander and the popovers, and show every tab in turn."""
    main = page.get_by_test_id("stMain")
    # One at a time, the first still closed: an opened one leaves the list, so the list's
    # indices, taken at the start, would skip one of every two.
    closed = main.locator('[data-testid="stExpander"] details:not([open]) > summary')
    while closed.count():
        closed.first.click()
        wait_until_idle(page)
    for tab in main.get_by_role("tab").all():
        tab.click()
        wait_until_idle(page)
    popovers = main.get_by_test_id("stPopover").locator("button")
    for index in range(popovers.count()):
        popovers.nth(index).click()
        page.get_by_test_id("stPopoverBody").last.wait_for()
        page.wait_for_timeout(300)  # its maths typeset


@pytest.mark.parametrize("model", [model.name for model in SHIPPED])
def test_every_page_shows_its_maths_and_no_error(
    page: Page, trained_server: AppServer, model: str
) -> None:
    errors = console_errors(page)
    for name in PAGES:
        page.goto(f"{trained_server.url}/{name}?run={model}")
        wait_for_app(page)
        if name == "explore":  # the map's word about its decoder reruns the page: wait for it
            settle(page)
        open_everything(page)
        where = f"{name} on {model}"
        assert page.locator(".katex").count() > 0, f"{where}: no maths typeset"
        assert page.locator(".katex-error").all_inner_texts() == [], where
        assert RAW_LATEX.findall(page.evaluate(TEXT_OUTSIDE_KATEX)) == [], where
        assert page.get_by_test_id("stException").all_inner_texts() == [], where
        assert errors == [], where
