"""Debian's Chromium, driven by Playwright, and waiting for a Streamlit page to settle in it."""

from __future__ import annotations

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
NO_SCRIPT_RUNNING = """() => !document.querySelector('[data-testid="stStatusWidget"]')"""


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
