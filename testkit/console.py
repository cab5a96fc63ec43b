"""What a page's console would show a developer: errors logged, uncaught exceptions."""

from __future__ import annotations

import re

from playwright.sync_api import ConsoleMessage, Page

# Streamlit, opened at a page's address (/explore), first looks for its server one level up
# (/explore/_stcore/health, /explore/_stcore/host-config) in case the app is served under a
# path prefix; the two 404s of that probe are its own way of finding the server, not a fault.
BASE_PATH_PROBE = re.compile(r"/[\w-]+/_stcore/(?:health|host-config)$")


def console_errors(page: Page) -> list[str]:
    """A list that fills, from now on, with `page`'s console errors and uncaught exceptions,
    each with where it came from."""
    found: list[str] = []

    def logged(message: ConsoleMessage) -> None:
        source = message.location.get("url", "")
        if message.type == "error" and not BASE_PATH_PROBE.search(source):
            found.append(f"{message.text} ({source})")

    page.on("console", logged)
    page.on("pageerror", lambda error: found.append(f"uncaught: {error}"))
    return found
