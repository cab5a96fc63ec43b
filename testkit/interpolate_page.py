"""The Interpolate page in Chromium: upload the two pictures and wait for the strip."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app

WAIT_MS = 120_000
PREVIEW = "What the model sees (28x28)"


def open_interpolate_page(page: Page, server: AppServer) -> None:
    page.goto(f"{server.url}/interpolate")
    wait_for_app(page)
    page.locator(".st-key-interpolate_upload_B").wait_for(timeout=WAIT_MS)


def upload(page: Page, side: str, path: Path, previews: int, preview: str = PREVIEW) -> None:
    """Give image `side` a file, then wait until `previews` previews (captioned `preview`)
    show and the run is over."""
    page.locator(f".st-key-interpolate_upload_{side} input[type=file]").set_input_files(path)
    page.get_by_text(preview).nth(previews - 1).wait_for(timeout=WAIT_MS)
    wait_for_app(page)


def wait_for_strip(page: Page, steps: int) -> None:
    page.get_by_text(f"{steps} images decoded along the path").wait_for(timeout=WAIT_MS)
    wait_for_app(page)
