"""Interpolation in a real browser: upload two pictures, see the strip, download the animation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app
from testkit.interpolate_page import (
    PREVIEW,
    WAIT_MS,
    open_interpolate_page,
    upload,
    wait_for_strip,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The path's trace is the one drawn with a line (the dots are WebGL; the ends' letters have none).
PATH_POINTS = """() => document.querySelectorAll(
    '.st-key-interpolate_map .scatterlayer .trace:has(.js-line) .points .point').length"""


def test_two_uploads_give_a_strip_and_an_animation_with_the_steps_asked(
    page: Page, app_server: AppServer, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    open_interpolate_page(page, app_server)
    upload(page, "A", photos[0], previews=1)
    upload(page, "B", photos[1], previews=2)
    wait_for_strip(page, 10)
    page.locator(".st-key-interpolate_steps input[type=range]").focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    wait_for_strip(page, 6)
    page.locator(".st-key-interpolate_map .js-plotly-plot").wait_for(timeout=WAIT_MS)
    assert page.evaluate(PATH_POINTS) == 6

    with page.expect_download() as gif_download:
        page.get_by_role("button", name="Download the animation (GIF, there and back)").click()
    gif_path = tmp_path / gif_download.value.suggested_filename
    gif_download.value.save_as(gif_path)
    with Image.open(gif_path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 2 * 6 - 2

    with page.expect_download() as png_download:
        page.get_by_role("button", name="Download the strip (PNG)").click()
    strip = Image.open(io.BytesIO(Path(png_download.value.path()).read_bytes()))
    assert strip.size == (3 * (6 * 30 + 2), 3 * 32)


def test_a_bad_upload_is_explained_and_the_page_keeps_working(
    page: Page, app_server: AppServer, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(photos[1].read_bytes()[:400])
    open_interpolate_page(page, app_server)
    upload(page, "A", photos[0], previews=1)
    page.locator(".st-key-interpolate_upload_B input[type=file]").set_input_files(truncated)
    alert = page.get_by_test_id("stAlert").filter(has_text="truncated.jpg is damaged")
    alert.wait_for(timeout=WAIT_MS)
    assert page.get_by_text("Traceback").count() == 0
    upload(page, "B", photos[1], previews=2)
    wait_for_strip(page, 10)
    assert alert.count() == 0


def test_a_digit_drawn_on_the_canvas_is_an_input(page: Page, app_server: AppServer) -> None:
    open_interpolate_page(page, app_server)
    page.locator(".st-key-interpolate_source_A").get_by_text("Draw", exact=True).click()
    page.locator(".st-key-interpolate_source_B").get_by_text("Test set", exact=True).click()
    canvas = page.locator(".st-key-interpolate_canvas_A canvas").first
    canvas.wait_for(timeout=WAIT_MS)
    wait_for_app(page)
    box = canvas.bounding_box()
    assert box is not None
    left, top = box["x"], box["y"]
    page.mouse.move(left + 50, top + 40)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(left + 50 + 6 * step, top + 40)
    for step in range(1, 31):
        page.mouse.move(left + 170 - 3 * step, top + 40 + 5 * step)
    page.mouse.up()
    page.get_by_text(PREVIEW).nth(1).wait_for(timeout=WAIT_MS)
    wait_for_strip(page, 10)


BOX = """(selector) => {
    const box = document.querySelector(selector).getBoundingClientRect();
    return [box.left, box.top, box.right, box.bottom];
}"""


def test_the_mode_bar_leaves_the_path_maps_legend_title_readable(
    page: Page, app_server: AppServer
) -> None:
    open_interpolate_page(page, app_server)
    for side in "AB":
        page.locator(f".st-key-interpolate_source_{side}").get_by_text("Test set").click()
        wait_for_app(page)
    wait_for_strip(page, 10)
    figure = ".st-key-interpolate_map .js-plotly-plot"
    page.locator(figure).hover()  # the bar shows while the pointer is over the figure
    bar = page.evaluate(BOX, f"{figure} .modebar")
    title = page.evaluate(BOX, f"{figure} .legendtitletext")
    assert bar[2] > bar[0] and title[2] > title[0]  # both drawn
    apart = bar[3] <= title[1] or title[3] <= bar[1] or bar[2] <= title[0] or title[2] <= bar[0]
    assert apart, f"mode bar {bar} over the legend's title {title}"
