"""The latent map component in Chromium: the browser's decoder, inverses, hover, pins,
selections, fallback, data transfer and layout, against the Python that made the map."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlparse

import numpy as np
import pytest
import torch
from matplotlib.path import Path
from playwright.sync_api import Browser, Page

from testkit.map_browser import (
    MAP,
    events,
    hook,
    lasso,
    map_app,
    new_page,
    open_scene,
    wait_for_events,
)
from testkit.map_scene import Scene, codes_and_labels, content, images, model, view
from testkit.shown_pictures import torch_levels, wait_until_shown
from testkit.waiting import wait_for

pytestmark = pytest.mark.browser

AXES = Scene(view="axes", n=500, dim=2)
PCA = Scene(view="pca", n=500, dim=16)
UMAP = Scene(view="umap", n=2000, dim=16)
COLOUR = Scene(view="axes", n=300, dim=2, channels=3, side=64)  # sent as 32 x 32 thumbnails


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with map_app() as url:
        yield url


@pytest.fixture
def map_page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser)
    yield page
    page.context.close()


def torch_picture(scene: Scene, code: np.ndarray) -> np.ndarray:
    """What the browser should show for a code: E[x|z] as levels 0-255, [C * H * W]."""
    return torch_levels(model(scene), code)


def python_inverse(scene: Scene, points: np.ndarray) -> np.ndarray:
    return view(scene).inverse(np.asarray(points, dtype=np.float64)).numpy()


def pinned_code(scene: Scene, pin: dict) -> np.ndarray:
    """The code Python holds for a pin: its dot's own code, or the inverse of an empty spot."""
    if pin["index"] is None:
        return python_inverse(scene, [pin["point"]])[0]
    codes, _ = codes_and_labels(scene)
    return codes[pin["index"]].numpy()


def isolated_dot(page: Page, scene: Scene, gap_px: float = 10) -> tuple[int, tuple[int, int]]:
    """A dot with no other within `gap_px` on screen, well inside the plot; and its pixel."""
    points = content(scene).points
    screen = np.array(hook(page, "toClient(arg)", points.tolist()))
    box = hook(page, "plotBox()")
    distances = np.linalg.norm(screen[:, None] - screen[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    inside = (
        (screen[:, 0] > box["x"] + 20)
        & (screen[:, 0] < box["right"] - 20)
        & (screen[:, 1] > box["y"] + 20)
        & (screen[:, 1] < box["bottom"] - 20)
    )
    candidates = np.flatnonzero(inside & (distances.min(axis=1) > gap_px))
    assert len(candidates), "no isolated dot to hover"
    index = int(candidates[0])
    # whole pixels: the page sees the pointer at the pixel it was moved to
    return index, (round(screen[index, 0]), round(screen[index, 1]))


def plot_spot(page: Page, fx: float, fy: float) -> tuple[int, int]:
    box = hook(page, "plotBox()")
    return round(box["x"] + fx * box["width"]), round(box["y"] + fy * box["height"])


def wait_for_picture(page: Page, canvas: str, expected: np.ndarray) -> None:
    """Until the canvas shows `expected` to within one grey level (rounding on either side)."""
    wait_until_shown(
        lambda: hook(page, "pixels(arg)", canvas), expected, f"the {canvas} picture shows it"
    )


@pytest.mark.parametrize("likelihood", ["bernoulli", "cbernoulli", "gaussian"])
@pytest.mark.parametrize("arch", ["conv", "mlp"])
def test_the_browsers_decoder_agrees_with_torch(
    map_page: Page, app_url: str, arch: str, likelihood: str
) -> None:
    scene = Scene(view="axes", n=50, dim=16, arch=arch, likelihood=likelihood)
    open_scene(map_page, app_url, scene)
    assert hook(map_page, "decoder()") == "ready"
    codes = 1.5 * torch.randn(100, 16, generator=torch.Generator().manual_seed(7))
    in_browser = np.array(hook(map_page, "decode(arg)", codes.tolist()))
    exact = copy.deepcopy(model(scene)).double()  # the mean without float32's cancellation
    with torch.no_grad():
        expected = exact.decode_mean(codes.double()).numpy().reshape(100, -1)
    assert np.abs(in_browser - expected).max() < 1e-4


def test_a_colour_model_decodes_in_colour_as_torch_does(map_page: Page, app_url: str) -> None:
    open_scene(map_page, app_url, COLOUR)
    assert hook(map_page, "decoder()") == "ready"
    codes = 1.5 * torch.randn(20, 2, generator=torch.Generator().manual_seed(7))
    in_browser = np.array(hook(map_page, "decode(arg)", codes.tolist()))
    with torch.no_grad():
        expected = copy.deepcopy(model(COLOUR)).double().decode_mean(codes.double()).numpy()
    assert expected.shape == (20, 3, 64, 64)
    assert np.abs(in_browser - expected.reshape(20, -1)).max() < 1e-4

    pictures = pictures_under_the_pointer(map_page, COLOUR)
    for picture in pictures:  # as drawn, to a level: not grey
        red, green, blue = np.asarray(picture).reshape(3, 64, 64)
        assert np.abs(red - green).max() > 2 and np.abs(green - blue).max() > 2
    assert np.abs(pictures[0] - pictures[1]).max() > 1

    index, spot = isolated_dot(map_page, COLOUR)
    map_page.mouse.move(*spot)
    map_page.get_by_text(f"#{index} · label {index % 10}").wait_for(timeout=10_000)
    thumbnail = content(COLOUR).thumbnails[index]
    assert thumbnail.shape == (3, 32, 32)
    assert np.array_equal(np.array(hook(map_page, "pixels('test')")), thumbnail.ravel())
    dots, _ = codes_and_labels(COLOUR)
    wait_for_picture(map_page, "reconstruction", torch_picture(COLOUR, dots[index].numpy()))


def test_hovering_a_dot_shows_its_test_image_and_reconstruction(
    map_page: Page, app_url: str
) -> None:
    open_scene(map_page, app_url, AXES)
    index, spot = isolated_dot(map_page, AXES)
    map_page.mouse.move(*spot)
    map_page.get_by_text(f"#{index} · label {index % 10}").wait_for(timeout=10_000)
    shown = np.array(hook(map_page, "pixels('test')"))
    assert np.array_equal(shown, images(AXES)[index].ravel())
    codes, _ = codes_and_labels(AXES)
    wait_for_picture(map_page, "reconstruction", torch_picture(AXES, codes[index].numpy()))


def test_moving_the_pointer_decodes_the_code_under_it(map_page: Page, app_url: str) -> None:
    open_scene(map_page, app_url, AXES)
    pictures = pictures_under_the_pointer(map_page, AXES)
    assert np.abs(pictures[0] - pictures[1]).max() > 1


def pictures_under_the_pointer(map_page: Page, scene: Scene) -> list[np.ndarray]:
    """The pictures torch decodes at two spots of the plot, once the page has drawn each."""
    pictures = []
    for fx, fy in [(0.15, 0.2), (0.85, 0.8)]:
        spot = plot_spot(map_page, fx, fy)
        map_page.mouse.move(*spot)
        point = hook(map_page, "toMap(arg)", spot)
        expected = torch_picture(scene, python_inverse(scene, [point])[0])
        wait_for_picture(map_page, "decoded", expected)
        pictures.append(expected)
    return pictures


def test_a_click_pins_the_code_there_and_python_receives_it(map_page: Page, app_url: str) -> None:
    open_scene(map_page, app_url, PCA)
    spot = plot_spot(map_page, 0.02, 0.03)  # inside the range's margin: no dot there
    map_page.mouse.click(*spot)
    pin = wait_for_events(map_page, "the pin reaches Python", lambda e: e["pin"])["pin"]
    assert pin["index"] is None
    assert np.allclose(pin["point"], hook(map_page, "toMap(arg)", spot), atol=1e-9)
    assert np.abs(np.array(pin["code"]) - pinned_code(PCA, pin)).max() < 1e-4
    assert hook(map_page, "pin()")["point"] == pin["point"]  # the cross marks it

    index, dot = isolated_dot(map_page, PCA)
    map_page.mouse.click(*dot)
    pin = wait_for_events(map_page, "the second pin", lambda e: e["pin"]["seq"] == 2)["pin"]
    assert pin["index"] == index
    assert np.abs(np.array(pin["code"]) - pinned_code(PCA, pin)).max() < 1e-6
    assert np.allclose(pin["point"], content(PCA).points[index])


def test_a_lasso_and_a_box_select_exactly_the_shown_dots_inside(
    map_page: Page, app_url: str
) -> None:
    open_scene(map_page, app_url, AXES)
    points, labels = content(AXES).points, content(AXES).labels
    map_page.get_by_role("button", name="3", exact=True).click()  # hide class 3
    lasso(map_page, [(0.2, 0.2), (0.65, 0.15), (0.8, 0.7), (0.35, 0.85), (0.25, 0.5)])
    selection = wait_for_events(map_page, "a lasso", lambda e: e["selection"])["selection"]
    inside = Path(selection["polygon"]).contains_points(points) & (labels != 3)
    assert selection["kind"] == "lasso"
    assert len(selection["indices"]) > 20
    assert selection["indices"] == np.flatnonzero(inside).tolist()

    map_page.get_by_role("button", name="3", exact=True).click()  # show it again
    map_page.get_by_role("button", name="Box").click()
    lasso(map_page, [(0.3, 0.3), (0.7, 0.6)], shift=False)
    selection = wait_for_events(map_page, "a box", lambda e: e["selection"]["kind"] == "box")[
        "selection"
    ]
    (x0, y0), (x1, y1) = np.min(selection["polygon"], 0), np.max(selection["polygon"], 0)
    in_box = (points[:, 0] > x0) & (points[:, 0] < x1) & (points[:, 1] > y0) & (points[:, 1] < y1)
    assert selection["indices"] == np.flatnonzero(in_box).tolist()


def test_the_embedding_view_inverts_in_the_browser_as_in_python(
    map_page: Page, app_url: str
) -> None:
    open_scene(map_page, app_url, UMAP)
    projection = view(UMAP)
    rng = np.random.default_rng(5)
    low, high = projection.embedding.min(0), projection.embedding.max(0)
    points = rng.uniform(low - 0.3 * (high - low), high + 0.3 * (high - low), size=(400, 2))
    inside = projection.triangulation.find_simplex(points) >= 0
    assert 50 < inside.sum() < 350  # both sides of the hull are checked
    in_browser = np.array(hook(map_page, "inverse(arg)", points.tolist()))
    assert np.abs(in_browser - python_inverse(UMAP, points)).max() < 1e-5

    spot = plot_spot(map_page, 0.4, 0.45)
    map_page.mouse.move(*spot)
    point = hook(map_page, "toMap(arg)", spot)
    wait_for_picture(map_page, "decoded", torch_picture(UMAP, python_inverse(UMAP, [point])[0]))
    map_page.mouse.click(*spot)
    pin = wait_for_events(map_page, "the pin reaches Python", lambda e: e["pin"])["pin"]
    assert np.abs(np.array(pin["code"]) - pinned_code(UMAP, pin)).max() < 1e-5


@pytest.mark.slow
def test_a_hundred_clicks_each_pin_their_own_code(map_page: Page, app_url: str) -> None:
    scene = Scene(view="axes", n=300, dim=2)
    open_scene(map_page, app_url, scene)
    spots = [
        plot_spot(map_page, fx, fy)
        for fx, fy in np.random.default_rng(9).uniform(0.05, 0.95, size=(100, 2))
    ]
    pins = []
    for spot in spots:
        started = time.monotonic()
        map_page.mouse.click(*spot)
        pins.append(hook(map_page, "pin()"))  # right after the click, in the browser
        map_page.wait_for_timeout(max(0.0, 150 - 1000 * (time.monotonic() - started)))
    for spot, pin in zip(spots, pins, strict=True):
        if pin["index"] is None:
            assert np.allclose(pin["point"], hook(map_page, "toMap(arg)", spot), atol=1e-9)
        assert np.abs(np.array(pin["code"]) - pinned_code(scene, pin)).max() < 1e-6
    last = wait_for_events(
        map_page, "Python has the last click", lambda e: e["pin"]["seq"] == 100, 60
    )["pin"]
    assert last["code"] == pins[-1]["code"]


def test_nothing_is_fetched_from_beyond_the_loopback(browser: Browser, app_url: str) -> None:
    context = browser.new_context()
    seen: list[str] = []
    refused: list[str] = []

    def only_loopback(route) -> None:
        url = route.request.url
        seen.append(url)
        if urlparse(url).hostname != "127.0.0.1":
            refused.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_loopback)
    page = context.new_page()
    try:
        open_scene(page, app_url, UMAP)
        page.mouse.move(*plot_spot(page, 0.5, 0.5))
        page.mouse.click(*plot_spot(page, 0.5, 0.5))
        wait_for_events(page, "the pin reaches Python", lambda e: e["pin"])
        assert hook(page, "decoder()") == "ready"
    finally:
        context.close()
    assert refused == []
    assert any(url.endswith(".wasm") for url in seen)  # the route saw the decoder's loading


def test_without_a_decoder_the_map_says_so_and_clicks_still_send_codes(
    map_page: Page, app_url: str
) -> None:
    scene = Scene(view="axes", n=200, dim=2, broken_decoder=True)
    open_scene(map_page, app_url, scene)
    state = wait_for_events(
        map_page, "the failure reaches Python", lambda e: e["browser_decodes"] is False
    )
    assert state["decoder_error"]
    map_page.mouse.click(*plot_spot(map_page, 0.02, 0.03))
    pin = wait_for_events(map_page, "the pin reaches Python", lambda e: e["pin"])["pin"]
    assert np.abs(np.array(pin["code"]) - pinned_code(scene, pin)).max() < 1e-6


def test_a_decoder_that_loads_runs_the_page_no_more(map_page: Page, app_url: str) -> None:
    open_scene(map_page, app_url, AXES)
    assert hook(map_page, "decoder()") == "ready"
    map_page.wait_for_timeout(1000)  # a report would have run the page again by now
    assert map_page.locator(".st-key-runs").inner_text().strip() == "1"
    assert events(map_page)["browser_decodes"] is None  # taken for granted: only news is told


def test_the_wheel_zooms_about_the_pointer_and_a_drag_pans(map_page: Page, app_url: str) -> None:
    open_scene(map_page, app_url, AXES)
    spot = plot_spot(map_page, 0.3, 0.6)
    under = hook(map_page, "toMap(arg)", spot)
    map_page.mouse.move(*spot)
    map_page.mouse.wheel(0, -300)
    wait_for(lambda: hook(map_page, "view()")["scale"] > 1.2, "the wheel zooms in")
    assert np.allclose(hook(map_page, "toMap(arg)", spot), under, atol=1e-9)
    end = (spot[0] + 120, spot[1] + 50)
    map_page.mouse.down()
    map_page.mouse.move(*end, steps=6)
    map_page.mouse.up()
    assert np.allclose(hook(map_page, "toMap(arg)", end), under, atol=1e-9)  # it came along
    assert hook(map_page, "clicks()") == 0  # and a drag pins nothing


def test_a_pin_from_python_shows_without_resetting_the_zoom(map_page: Page, app_url: str) -> None:
    open_scene(map_page, app_url, AXES)
    map_page.mouse.move(*plot_spot(map_page, 0.3, 0.3))
    map_page.mouse.wheel(0, -400)
    zoomed = hook(map_page, "view()")
    assert zoomed["scale"] > 1.5
    map_page.get_by_role("button", name="Pin the origin").click()
    wait_for(lambda: (hook(map_page, "pin()") or {}).get("point") == [0, 0], "the origin is pinned")
    assert hook(map_page, "view()") == zoomed


def test_reruns_send_the_content_once_and_again_when_the_browser_lacks_it(
    map_page: Page, app_url: str
) -> None:
    frames: list[int] = []
    map_page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(len(f))))
    open_scene(map_page, app_url, UMAP)
    wait_for(lambda: sum(frames) > 500_000, "the content arrived")
    map_page.wait_for_timeout(500)
    frames.clear()
    map_page.mouse.click(*plot_spot(map_page, 0.5, 0.5))
    wait_for_events(map_page, "the pin reaches Python", lambda e: e["pin"])
    map_page.wait_for_timeout(500)
    assert 0 < sum(frames) < 10_000  # the click's run: only the per-run values

    frames.clear()
    hook(map_page, "forgetContent()")
    map_page.wait_for_function("() => window.__vaeappMap.maps.map.ready()", timeout=30_000)
    assert max(frames) > 500_000  # asked for, and sent again
    assert events(map_page)["pin"]["seq"] == 1
    map_page.wait_for_timeout(3100)  # the map asks for a content again after 3 s, not sooner
    hook(map_page, "forgetContent()")  # again: the answer is the last message, but must be drawn
    map_page.wait_for_function("() => window.__vaeappMap.maps.map.ready()", timeout=30_000)


PCA_SHOWN = f"() => {MAP}.ready() && {MAP}.owner.content.inverse.kind === 'linear'"


def frames_received(page: Page) -> list[int]:
    """The sizes of the websocket frames the page receives from now on."""
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(len(f))))
    return frames


def test_another_view_sends_only_its_own_sections_and_shows_the_kept_ones(
    map_page: Page, app_url: str
) -> None:
    frames = frames_received(map_page)
    open_scene(map_page, app_url, UMAP)
    wait_for(lambda: max(frames) > 500_000, "the content arrived")
    frames.clear()
    map_page.get_by_role("button", name="Show PCA").click()
    map_page.wait_for_function(PCA_SHOWN, timeout=30_000)
    assert sum(frames) < 100_000  # the points and the inverse: codes, images, decoder kept
    pca = replace(UMAP, view="pca")
    points = np.random.default_rng(6).normal(size=(50, 2))
    in_browser = np.array(hook(map_page, "inverse(arg)", points.tolist()))
    assert np.abs(in_browser - python_inverse(pca, points)).max() < 1e-5
    index, spot = isolated_dot(map_page, pca, gap_px=4)
    map_page.mouse.move(*spot)
    map_page.get_by_text(f"#{index} · label {index % 10}").wait_for(timeout=10_000)
    assert np.array_equal(np.array(hook(map_page, "pixels('test')")), images(pca)[index].ravel())


def test_a_view_whose_kept_sections_left_the_page_is_sent_again_whole(
    map_page: Page, app_url: str
) -> None:
    frames = frames_received(map_page)
    open_scene(map_page, app_url, UMAP)
    hook(map_page, "dropContents()")
    frames.clear()
    map_page.get_by_role("button", name="Show PCA").click()
    map_page.wait_for_function(PCA_SHOWN, timeout=30_000)
    assert max(frames) > 500_000  # asked for, and sent with every section


def test_map_and_picture_fit_a_small_screen_beside_the_sidebar(
    map_page: Page, app_url: str
) -> None:
    open_scene(map_page, app_url, AXES)
    assert map_page.get_by_test_id("stSidebar").is_visible()
    map_box = map_page.locator(".vaeapp-map").bounding_box()
    plot = map_page.locator(".vaeapp-map .plot").bounding_box()
    picture = map_page.locator(".vaeapp-map canvas.big").bounding_box()
    sliders = map_page.locator(".vaeapp-map .code").bounding_box()
    assert map_box is not None and plot is not None and picture is not None and sliders
    assert map_box["x"] + map_box["width"] <= 1280
    assert map_box["y"] + map_box["height"] <= 720
    assert plot["width"] >= 0.4 * map_box["width"]  # the dots keep most of the room
    # The picture and the code's sliders beside the plot, not below it, all on the screen.
    assert plot["x"] + plot["width"] <= picture["x"] < sliders["x"]
    assert sliders["x"] + sliders["width"] <= 1280 and picture["y"] < plot["y"] + plot["height"]


@pytest.mark.slow
def test_seventy_thousand_dots_render_and_hover_answers(map_page: Page, app_url: str) -> None:
    scene = Scene(view="axes", n=70_000, dim=2)
    open_scene(map_page, app_url, scene, timeout_ms=240_000)
    [dot] = hook(map_page, "toClient(arg)", content(scene).points[:1].tolist())
    map_page.mouse.move(*dot)
    caption = map_page.locator(".dot-caption").filter(has_text="#")
    caption.wait_for(timeout=10_000)
    index = int(caption.inner_text().split("#")[1].split(" ")[0])
    assert np.array_equal(np.array(hook(map_page, "pixels('test')")), images(scene)[index].ravel())
