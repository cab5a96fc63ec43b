"""A fresh server's first Explore view in Chromium: the map an earlier session kept is drawn
before torch is imported, decodes under the pointer, and is the very map the page then keeps
when it runs in full; a click made on it before that is the page's pin."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from testkit.app_server import running_app
from testkit.chromium import VIEWPORT
from testkit.console import console_errors
from testkit.explore_page import (
    IN_FULL,
    MAP,
    READY,
    hook,
    latent_sliders,
    open_explore,
    pin_by_click,
    settle,
)
from vaeapp.data.sources import load_dataset

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Kept in the page from its start: whether the page ran in full when the map first showed, and
# that map (its owner, which a map mounted again replaces).
FIRST_SEEN = f"""
new MutationObserver(() => {{
  const map = {MAP};
  if (map && window.__firstMap === undefined) {{
    window.__firstMap = map.owner;
    window.__inFullAtFirstMap = {IN_FULL};
  }}
}}).observe(document, {{subtree: true, childList: true}});
"""


def test_a_fresh_server_draws_the_kept_map_first_and_the_page_keeps_it(
    browser: Browser, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    load_dataset("sample", data_dir=data)
    with running_app(tmp_path / "runs", data) as server:  # a session's first map is kept
        context = browser.new_context(viewport=VIEWPORT)
        open_explore(context.new_page(), server)
        context.close()
    assert list((data / "cache" / "first-maps").iterdir())

    with running_app(tmp_path / "runs", data) as server:  # a fresh server: torch not imported
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        errors = console_errors(page)
        page.add_init_script(FIRST_SEEN)
        page.goto(server.url)
        page.wait_for_function(READY, timeout=120_000)
        assert page.evaluate("() => window.__inFullAtFirstMap") is False
        pin_by_click(page, 0.3, 0.6)  # on the first view, on a slow browser on the page's map
        settle(page)
        pinned = [round(v, 2) for v in hook(page, "pin()")["code"]]
        assert page.evaluate(f"() => {MAP}.owner === window.__firstMap")  # never mounted again
        assert [round(v, 2) for v in latent_sliders(page)] == pinned
        assert "Starting vaeapp" not in page.inner_text("body")
        assert errors == []
        context.close()
