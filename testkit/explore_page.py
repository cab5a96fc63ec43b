"""The Explore page in Chromium: open it, hover and click its latent map (the in-browser
component, through its hooks `window.__vaeappMap.maps.explore_map`), read what it decoded and
what the page shows after a pin."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from testkit.app_server import AppServer
from testkit.chromium import wait_until_quiet

MAP = "window.__vaeappMap?.maps?.explore_map"  # undefined while the map mounts
READY = f"() => {MAP}?.ready() && {MAP}.decoder() !== null"
# The model picker shows once the page runs in full: a fresh server's first view (the map an
# earlier session kept, drawn before torch) has none, and the page follows it.
IN_FULL = "document.querySelector('.st-key-model_path') !== null"
SETTLE_MS = 500  # quiet enough: a run the map asks for starts within tens of milliseconds
SLIDER_VALUES = """() => [...document.querySelectorAll('[data-testid="stSliderThumbValue"]')]
    .map(e => parseFloat(e.textContent))"""


def open_explore(page: Page, server: AppServer, query: str = "") -> None:
    """Open Explore; return once it has settled."""
    page.goto(f"{server.url}/explore{query}")
    page.wait_for_function(READY, timeout=120_000)
    settle(page)


def settle(page: Page) -> None:
    """Wait until the page runs in full, the map shows its current content, its decoder has
    loaded (or failed), and no script has run for a while: a run that changes the model may
    mount the map again, and a decoder that fails is told to Python, which runs the page once
    more."""
    wait_until_quiet(page, f"() => ({READY})() && {IN_FULL}", SETTLE_MS)


def hook(page: Page, call: str, arg: Any = None) -> Any:
    """`call` on the Explore map's hooks, e.g. hook(page, "toClient(arg)", [[0, 0]]), once the
    map is drawn: a rerun may be mounting it again, so the page waits and calls in one go."""
    return page.evaluate(
        f"""async (arg) => {{
            const ready = () => {MAP}?.ready();
            for (let waited = 0; !ready() && waited < 60000; waited += 50) {{
                await new Promise((done) => setTimeout(done, 50));
            }}
            return await {MAP}.{call};
        }}""",
        arg,
    )


def plot_spot(page: Page, x: float, y: float) -> tuple[float, float]:
    """The screen position at a fraction (x, y) of the plot area, from its top left."""
    box = hook(page, "plotBox()")
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def decoded_at(page: Page, x: float, y: float) -> list[int]:
    """The picture decoded under the pointer moved to a fraction (x, y) of the plot area."""
    page.mouse.move(*plot_spot(page, x, y), steps=4)
    page.wait_for_timeout(300)
    return decoded(page)


def decoded(page: Page) -> list[int]:
    """The grey levels of the picture decoded beside the map (28 x 28, row by row)."""
    return hook(page, "pixels('decoded')")


def latent_sliders(page: Page) -> list[float]:
    """The values the latent sliders z1, z2, ... show."""
    latent = page.get_by_test_id("stSlider").filter(has=page.get_by_text(re.compile(r"^z\d+$")))
    return [float(text) for text in latent.get_by_test_id("stSliderThumbValue").all_inner_texts()]


def click_map(page: Page, x: float, y: float) -> list[float]:
    """Click at a fraction (x, y) of the plot area of the settled page; wait until the page
    has the pin and has settled again; return the pinned code."""
    settle(page)
    pin_by_click(page, x, y)
    settle(page)
    return hook(page, "pin()")["code"]


def pin_by_click(page: Page, x: float, y: float) -> None:
    """Click at a fraction (x, y) of the plot area now; return once the page shows the pinned
    code (its sliders), which is what a user waits for."""
    before = hook(page, "clicks()")
    page.mouse.click(*plot_spot(page, x, y))
    page.wait_for_function(f"() => {MAP}?.clicks() > {before}")
    pinned = [round(v, 2) for v in hook(page, "pin()")["code"]]
    try:
        page.wait_for_function(
            f"""(code) => {{
                const values = ({SLIDER_VALUES})();
                return code.every(v => values.some(w => Math.abs(w - v) < 0.011));
            }}""",
            arg=pinned,
            timeout=30_000,
        )
    except PlaywrightTimeoutError:
        raise AssertionError(  # what a failure needs to be understood, read at the time
            f"the sliders never showed the pinned code {pinned}: they show "
            f"{page.evaluate(SLIDER_VALUES)}; the map's pin is now {hook(page, 'pin()')}; "
            f"the page says: {page.evaluate('() => document.body.innerText')[:600]!r}"
        ) from None
