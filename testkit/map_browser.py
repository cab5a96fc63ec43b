"""Driving the latent map's test app (testkit/map_component_app.py) in Chromium: start it,
open a scene, call the map's hooks (window.__vaeappMap, see frontend/metrics.js), read the
events the app shows. Used by tests/e2e/test_map_component.py and benchmarks/map_timings.py.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

from testkit.app_server import start_app, stop_app
from testkit.map_scene import Scene
from testkit.waiting import wait_for

APP = "testkit/map_component_app.py"
MAP = "window.__vaeappMap.maps.map"
VIEWPORT = {"width": 1280, "height": 720}
DRAWN = "() => window.__vaeappMap?.maps.map?.ready()"
READY = f"() => ({DRAWN})() && {MAP}.decoder() !== null"


@contextmanager
def map_app() -> Iterator[str]:
    """The test app on a loopback port; yields its URL."""
    with tempfile.TemporaryDirectory() as folder:
        server = start_app(Path(folder) / "runs", Path(folder) / "data", script=APP)
        try:
            yield server.url
        finally:
            stop_app(server)


def new_page(browser: Browser) -> Page:
    """A page in a context of its own (a fresh Streamlit session), 1280 x 720."""
    return browser.new_context(viewport=VIEWPORT).new_page()


def open_scene(page: Page, url: str, scene: Scene, timeout_ms: float = 120_000) -> None:
    """Open the app on a scene; return once the map is drawn and the decoder has loaded (or
    failed to)."""
    page.goto(f"{url}/?{scene.query()}")
    page.wait_for_function(READY, timeout=timeout_ms)


def hook(page: Page, call: str, arg: Any = None) -> Any:
    """`call` on the map's hooks, e.g. hook(page, "inverse(arg)", points)."""
    return page.evaluate(f"async (arg) => await {MAP}.{call}", arg)


def events(page: Page) -> dict[str, Any]:
    """The map's events as Python last returned them (the app shows them as JSON)."""
    return json.loads(page.locator(".st-key-events").inner_text())


def wait_for_events(page: Page, what: str, condition, timeout_s: float = 30) -> dict[str, Any]:
    """Poll the events until `condition(events)` holds; return them."""
    wait_for(lambda: condition(events(page)), what, timeout_s)
    return events(page)


def lasso(page: Page, fractions: list[tuple[float, float]], shift: bool = True) -> None:
    """Drag along points given as fractions of the plot area (shift held: a lasso)."""
    box = hook(page, "plotBox()")
    spots = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in fractions]
    if shift:
        page.keyboard.down("Shift")
    page.mouse.move(*spots[0])
    page.mouse.down()
    for spot in spots[1:]:
        page.mouse.move(*spot, steps=6)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")
