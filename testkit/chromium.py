"""Debian's Chromium, driven by Playwright, and waiting for a Streamlit page to settle in it."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}  # wide enough for the map beside its sidebar
# The app's own script state, set the moment a run is asked for or starts; the running icon
# (stStatusWidget) shows only after half a second, so a short run passed unseen.
NO_SCRIPT_RUNNING = """() => document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state') === 'notRunning'"""


def launch_chromium(playwright: Playwright) -> Browser:
    """A headless Chromium, without the background traffic that would skew timings."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def wait_until_idle(page: Page, timeout_ms: float = 60_000) -> None:
    """Wait until Streamlit has no script run in progress in `page`."""
    page.wait_for_function(NO_SCRIPT_RUNNING, timeout=timeout_ms)


def wait_for_app(page: Page, ready: str = "h1", timeout_ms: float = 60_000) -> None:
    """Wait until the element `ready` shows and Streamlit has no script run in progress."""
    page.wait_for_selector(ready, timeout=timeout_ms)
    wait_until_idle(page, timeout_ms)


def open_from_sidebar(page: Page, title: str, timeout_ms: float = 60_000) -> None:
    """Click the sidebar's link to the page `title` and wait until that page has run. Waiting
    for the app alone is not enough: until the new page's run starts, the page left still
    shows its heading, and no run is in progress."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(f"/{title.lower()}(\\?|$)"), timeout=timeout_ms)
    wait_for_app(page, timeout_ms=timeout_ms)


def wait_until_quiet(
    page: Page, condition: str, quiet_ms: float, timeout_ms: float = 60_000
) -> None:
    """Wait until the JavaScript `condition` has held, and no script has run, for `quiet_ms`:
    a component may ask for a run just after one ends (the map, once its decoder loads), and
    the page knows of that run only when it starts."""
    page.evaluate("() => { window.__vaeappQuietSince = null; }")
    page.wait_for_function(
        f"""(quietMs) => {{
            const settled = Boolean(({condition})()) && ({NO_SCRIPT_RUNNING})();
            const now = performance.now();
            if (!settled) window.__vaeappQuietSince = null;
            else window.__vaeappQuietSince ??= now;
            return settled && now - window.__vaeappQuietSince >= quietMs;
        }}""",
        arg=quiet_ms,
        timeout=timeout_ms,
    )
