"""The Explore page in Chromium: the map renders, clicks anywhere decode, sliders decode."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.explore_page import IMAGES, MAP, after, click_map, decoded, open_explore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOT_POSITION = """() => {
    const plot = document.querySelector('.js-plotly-plot');
    const dots = plot._fullData[0];
    const {xaxis, yaxis} = plot._fullLayout;
    return [xaxis._offset + xaxis.l2p(dots.x[0]), yaxis._offset + yaxis.l2p(dots.y[0])];
}"""

PICKED_POSITION = """() => {
    const picked = document.querySelector('.js-plotly-plot')._fullData
        .find(t => t.selectedpoints && t.selectedpoints.length);
    const i = picked.selectedpoints[0];
    return [picked.x[i], picked.y[i]];
}"""


def latent_sliders(page: Page) -> list[float]:
    """The values the latent sliders z1, z2, ... show."""
    latent = page.get_by_test_id("stSlider").filter(has=page.get_by_text(re.compile(r"^z\d+$")))
    values = latent.get_by_test_id("stSliderThumbValue")
    return [float(text) for text in values.all_inner_texts()]


def test_map_renders_and_clicks_at_two_spots_decode_two_images(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server)
    legend = page.locator(f"{MAP} .legendtext").all_text_contents()
    assert legend[:10] == [str(d) for d in range(10)]
    assert page.locator(f"{MAP} canvas").count() > 0
    first = click_map(page, 0.3, 0.35)
    second = click_map(page, 0.7, 0.75)
    assert first != second
    assert first.startswith("data:image/png;base64,")
    picked = page.evaluate(
        "() => document.querySelector('.js-plotly-plot').data"
        ".filter(t => t.selectedpoints && t.selectedpoints.length).map(t => t.name)"
    )
    assert picked == ["anywhere"]
    assert latent_sliders(page) == [round(v, 2) for v in page.evaluate(PICKED_POSITION)]


def test_clicking_a_dot_shows_that_test_image_and_its_reconstruction(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server)
    x, y = page.evaluate(DOT_POSITION)
    plot = page.locator(".js-plotly-plot").first.bounding_box()
    assert plot is not None
    after(page, lambda: page.mouse.click(plot["x"] + x, plot["y"] + y))
    page.get_by_text("Test image #").wait_for(timeout=30_000)
    assert page.get_by_text("Reconstructed").is_visible()
    assert page.locator(IMAGES).count() >= 4


def test_a_slider_move_changes_the_decoded_image(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    slider = page.get_by_test_id("stSlider").filter(has_text="z1")
    slider.get_by_role("slider").focus()
    origin = decoded(page)
    moved = after(page, lambda: page.keyboard.press("End"))
    assert moved != origin
    assert float(slider.get_by_test_id("stSliderThumbValue").inner_text()) >= 3
