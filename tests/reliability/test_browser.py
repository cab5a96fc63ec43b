"""In Chromium: a second session explores while the first trains, and the upload limit and type
filter of the Interpolate page, each with Streamlit's own message and the page still working;
a client that skips the page's checks meets the server's (XSRF token, then size).

The click latency while the other session trains is measured in the page (mouse up to the new
decoded image shown) and recorded as the test's `click_latency_ms` property; it is not asserted
here (timings belong in reports), but every click must be answered while the job trains.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from testkit.app_server import AppServer
from testkit.chromium import VIEWPORT, wait_for_app
from testkit.explore_page import click_map, open_explore
from testkit.interpolate_page import PREVIEW, open_interpolate_page, upload, wait_for_strip
from testkit.train_page import start_from_form, wait_for_progress
from vaeapp.store.events import STOPPED
from vaeapp.store.runs import Run
from vaeapp.training import jobs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 120_000
CLICKS = 8
SPOTS = [
    (0.5 + 0.3 * math.cos(2 * math.pi * i / CLICKS), 0.5 + 0.3 * math.sin(2 * math.pi * i / CLICKS))
    for i in range(CLICKS)
]
UPLOAD_LIMIT_MB = 10
UPLOAD_ROUTE = "/_stcore/upload_file/"
XSRF_COOKIE, XSRF_HEADER = "_streamlit_xsrf", "X-Xsrftoken"


def test_a_second_session_explores_while_the_first_trains(
    page: Page, browser: Browser, own_server: AppServer, record_property: Callable
) -> None:
    start_from_form(page, own_server, "busy", epochs=200)
    wait_for_progress(page, "running")
    run = Run(own_server.runs / "busy")

    context = browser.new_context(viewport=VIEWPORT)
    explorer = context.new_page()
    try:
        open_explore(explorer, own_server)
        latencies = []
        for x, y in SPOTS:
            started = time.perf_counter()
            click_map(explorer, x, y)  # waits until the page shows the pin: every click answered
            latencies.append(1000 * (time.perf_counter() - started))
    finally:
        context.close()
    assert jobs.state(run).status == jobs.RUNNING  # ... while the other session's job trained
    assert len(latencies) == CLICKS
    record_property("click_latency_ms", [round(ms) for ms in latencies])
    print(
        f"click latency while training: median {statistics.median(latencies):.0f} ms, "
        f"all {[round(ms) for ms in latencies]}"
    )

    page.get_by_role("button", name="Stop").click()
    wait_for_progress(page, "stopped")
    assert jobs.state(run).status == STOPPED


def test_uploads_over_the_limit_or_of_another_type_are_refused_and_the_page_works(
    page: Page, own_server: AppServer, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    large = photos[1].read_bytes().ljust((UPLOAD_LIMIT_MB + 1) * 2**20, b"\0")
    too_large = tmp_path / "large.png"
    too_large.write_bytes(large)
    html = tmp_path / "page.html"
    html.write_text("<!doctype html><script>alert(1)</script>")
    open_interpolate_page(page, own_server)
    with page.expect_request(lambda r: r.method == "PUT" and UPLOAD_ROUTE in r.url) as sent:
        upload(page, "A", photos[0], previews=1)
    uploader = page.locator(".st-key-interpolate_upload_B")
    for refused, says in (
        (too_large, f"File must be {UPLOAD_LIMIT_MB:.1f}MB or smaller."),
        (html, "text/html files are not allowed."),
    ):
        uploader.locator("input[type=file]").set_input_files(refused)
        uploader.get_by_text(says).wait_for(timeout=WAIT_MS)
        wait_for_app(page)
        assert page.get_by_text(PREVIEW).count() == 1, refused.name
        assert page.get_by_text("Traceback").count() == 0

    # A client that skips the page's checks meets the server's: XSRF token, then size.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == XSRF_COOKIE)
    as_file = {"file": {"name": "large.png", "mimeType": "image/png", "buffer": large}}
    assert page.request.put(sent.value.url, multipart=as_file).status == 403
    with_token = page.request.put(sent.value.url, multipart=as_file, headers={XSRF_HEADER: token})
    assert with_token.status == 413

    upload(page, "B", photos[1], previews=2)
    wait_for_strip(page, 10)
