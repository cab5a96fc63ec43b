"""The Train page in Chromium: start a run from its form, and wait for the progress it shows."""

from __future__ import annotations

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app
from testkit.waiting import wait_for

PROGRESS_TIMEOUT_MS = 240_000


def open_train_page(page: Page, server: AppServer) -> None:
    page.goto(f"{server.url}/train")
    wait_for_app(page)


def choose(page: Page, key: str, option: str, attempts: int = 3) -> None:
    """Pick `option` in the select box whose widget key is `key`, typed as a user would: a
    list opened below the fold of the page's scrolled container may never show its options.
    A list the page closes under the typing (a rerun of the form, an expander above still
    unfolding) is opened again, as a user would."""
    box = page.locator(f".st-key-{key}")
    for attempt in range(attempts):
        wait_for_app(page)
        box.scroll_into_view_if_needed()
        box.locator("input").click()
        page.keyboard.type(option)
        listed = page.get_by_role("option", name=option, exact=True)
        try:
            listed.click(timeout=10_000)  # Enter took what was lit
            break
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
    wait_for(lambda: box.locator("input").input_value() == option, f"{key} shows {option}", 30)


def start_from_form(
    page: Page, server: AppServer, name: str, epochs: int, arch: str = "mlp"
) -> None:
    """Open the Train page and start a run of the offline sample from its form."""
    open_train_page(page, server)
    choose(page, "train_arch", arch)
    page.get_by_label("Epochs", exact=True).fill(str(epochs))
    page.get_by_role("textbox", name="Run name").fill(name)
    page.get_by_role("button", name="Start training").click()


def wait_for_progress(page: Page, words: str, timeout_ms: float = PROGRESS_TIMEOUT_MS) -> None:
    """Wait until the progress bar of the watched run says `words`."""
    page.get_by_test_id("stProgress").filter(has_text=words).wait_for(timeout=timeout_ms)
