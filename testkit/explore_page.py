"""The Explore page in Chromium: open it, click its latent map, read the decoded image."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app

MAP = ".st-key-explore_map .js-plotly-plot"  # not the empty chart that warms up Plotly
PLOT_AREA = f"{MAP} .nsewdrag"
IMAGES = '[data-testid="stImage"] img'
IMAGE_CHANGED = """([selector, before]) => {
    const image = document.querySelector(selector);
    return image && image.src !== before && image.complete;
}"""
PLOT_READY = """() => {
    const plots = document.querySelectorAll('.js-plotly-plot');
    const area = plots.length === 1 && plots[0]._fullLayout && plots[0].querySelector('.nsewdrag');
    return area && area.getBoundingClientRect().width > 0 && !plots[0]._transitioning;
}"""
SETTLE_MS = 700


def open_explore(page: Page, server: AppServer) -> None:
    page.goto(server.url)
    page.wait_for_selector(PLOT_AREA, timeout=90_000)
    wait_for_app(page)


def decoded(page: Page) -> str:
    """The decoded image's src (a data URL); empty before there is one."""
    return page.locator(IMAGES).first.get_attribute("src") or ""


def after(page: Page, action: Callable[[], object]) -> str:
    """Do `action`, wait for the decoded image to change, and return it."""
    before = decoded(page)
    action()
    page.wait_for_function(IMAGE_CHANGED, arg=[IMAGES, before], timeout=30_000)
    wait_for_app(page)
    return decoded(page)


def click_map(page: Page, x: float, y: float) -> str:
    """Click at a fraction (x, y) of the plot area, from its top left, once the map is drawn.

    A map just redrawn (another figure after a rerun) ignores clicks for a moment: Plotly
    reports them, but Streamlit sends nothing for about half a second here.
    """
    page.wait_for_function(PLOT_READY)
    page.wait_for_timeout(SETTLE_MS)
    area = page.locator(PLOT_AREA).first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    assert box is not None
    return after(
        page, lambda: page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    )
