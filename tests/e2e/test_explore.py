"""The Explore page in Chromium, on the shipped models: the map decodes under the pointer, a
click pins (a dot: that dot), sliders and map agree, the page fits a laptop screen, the model
choice holds across pages and links; and the VAE's own views: ellipses, your own image, KL per
dimension, the training replay, the UMAP view's inverse."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.chromium import wait_for_app
from testkit.console import console_errors
from testkit.explore_page import (
    MAP,
    click_map,
    decoded,
    hook,
    latent_sliders,
    open_explore,
    plot_spot,
    settle,
)
from testkit.waiting import wait_for
from vaeapp.data.sources import load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.umap_embedding import BackgroundUmap, embedding_key
from vaeapp.latent.views import EmbeddingProjection
from vaeapp.paths import cache_dir
from vaeapp.store.catalog import DEFAULT_MODEL, find
from vaeapp.store.runs import Run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def test_codes() -> np.ndarray:
    """The shipped 2-D model's test codes: where the map's dots are."""
    model, _ = Run(DEFAULT_MODEL.path).load_model()
    return encode_dataset(model, load_dataset("sample").test.images)[0].numpy()


def test_hover_shows_a_dots_image_and_the_pointer_decodes_as_it_moves(
    page: Page, app_server: AppServer, test_codes: np.ndarray
) -> None:
    open_explore(page, app_server)
    sample = load_dataset("sample").test
    (spot,) = hook(page, "toClient(arg)", [test_codes[5].tolist()])
    page.mouse.move(*spot)
    page.wait_for_function(f"() => {MAP}?.pixels('test').some(v => v > 0)")
    shown = np.array(hook(page, "pixels('test')")).reshape(28, 28) / 255
    nearest = int(np.argmin(np.abs(sample.images[:, 0].numpy() - shown).sum((1, 2))))
    assert np.linalg.norm(test_codes[nearest] - test_codes[5]) < 0.05  # that dot, or its twin
    pictures = []
    for x in (0.2, 0.5, 0.8):
        page.mouse.move(*plot_spot(page, x, 0.5), steps=4)
        page.wait_for_timeout(300)
        pictures.append(decoded(page))
    assert pictures[0] != pictures[1] != pictures[2]


def test_a_click_on_a_dot_pins_that_dot_and_the_sliders_follow(
    page: Page, app_server: AppServer, test_codes: np.ndarray
) -> None:
    open_explore(page, app_server)
    for index in (11, 250, 777):
        (spot,) = hook(page, "toClient(arg)", [test_codes[index].tolist()])
        page.mouse.click(*spot)
        page.wait_for_function(f"() => {MAP}?.pin()?.index === {index}")
    wait_for(lambda: latent_sliders(page) == [round(float(v), 2) for v in test_codes[777]], "z")
    assert hook(page, "pin()")["code"] == pytest.approx(test_codes[777].tolist(), abs=1e-5)
    anywhere = click_map(page, 0.1, 0.1)
    assert anywhere == pytest.approx(hook(page, "inverse(arg)", [hook(page, "pin()")["point"]])[0])


def test_a_slider_moves_the_cross_and_keeps_the_zoom(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    page.mouse.move(*plot_spot(page, 0.5, 0.5))
    page.mouse.wheel(0, -400)  # zoom in
    page.wait_for_timeout(500)
    zoomed = hook(page, "view()")
    slider = page.get_by_test_id("stSlider").filter(has_text="z1").get_by_role("slider")
    slider.focus()
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    wait_for_app(page)
    page.wait_for_function(
        f"() => {MAP}?.pin() && Math.abs({MAP}.pin().code[0] - {latent_sliders(page)[0]}) < 0.011"
    )
    assert hook(page, "view()") == zoomed


def test_a_slider_beside_the_picture_decodes_while_dragged_and_pins_the_code_on_release(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server)
    before, python_before = decoded(page), latent_sliders(page)
    assert hook(page, "sliders()") == pytest.approx(python_before, abs=0.006)
    box = page.locator(".vaeapp-map .code input[type=range]").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 3, y, steps=6)
    page.wait_for_function(  # the picture follows the slider before it is let go
        f"(before) => {MAP}.pixels('decoded').some((v, i) => v !== before[i])", arg=before
    )
    assert page.get_by_text("the sliders' code").count() == 1
    page.wait_for_timeout(300)
    assert latent_sliders(page) == python_before  # nothing sent yet
    dragged = hook(page, "sliders()")
    assert dragged[0] > python_before[0] + 0.5
    page.mouse.up()
    wait_for(lambda: latent_sliders(page) == [round(v, 2) for v in dragged], "Python's sliders")
    settle(page)
    pin = hook(page, "pin()")  # the page placed the cross: on this view, at the code
    assert pin["point"] == pytest.approx(dragged, abs=1e-5)
    assert pin["code"] == pytest.approx(dragged, abs=1e-5)
    assert "set by the sliders" in page.locator("body").inner_text()


# Whether each dot (by index) has a ring drawn round it: the overlay's four points 7 px away.
RINGED = f"""(indices) => {{
    const map = {MAP};
    const canvas = map.owner.overlay;
    const box = canvas.getBoundingClientRect();
    const ratio = canvas.width / box.width;
    const points = map.owner.content.points;
    const lit = ([x, y]) => canvas.getContext("2d").getImageData(
        Math.round((x - box.left) * ratio), Math.round((y - box.top) * ratio), 1, 1).data[3] > 0;
    return indices.map((i) => {{
        const [[x, y]] = map.toClient([[points[2 * i], points[2 * i + 1]]]);
        return [[7, 0], [-7, 0], [0, 7], [0, -7]].every(([dx, dy]) => lit([x + dx, y + dy]));
    }});
}}"""


def test_the_neighbours_are_named_and_ringed_on_the_map(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    marked = hook(page, "marked()")
    assert len(marked) == 8
    assert all(page.evaluate(RINGED, marked))
    page.get_by_role("tab", name="Neighbours").click()
    page.get_by_text("(label, latent distance)").wait_for()
    page.get_by_text("Ring them on the map").click()
    page.wait_for_function(f"() => {MAP}?.marked().length === 0")
    settle(page)
    assert sum(page.evaluate(RINGED, marked)) <= 1  # the cross may cross one ring's spots


def test_the_search_box_shows_one_class_or_rings_one_dot(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    search = page.locator(".vaeapp-map input.search")
    search.fill("3")  # a class name
    page.wait_for_function(f"() => {MAP}.hidden().length === 9")
    assert hook(page, "hidden()") == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert page.locator(".vaeapp-map .legend .entry.off").count() == 9
    search.fill("#5")  # a dot: every class again, that dot ringed, its images shown
    page.wait_for_function(f"() => {MAP}.found() === 5 && {MAP}.hidden().length === 0")
    assert page.evaluate(RINGED, [5]) == [True]
    page.wait_for_function(f"() => {MAP}.pixels('reconstruction').some(v => v > 0)")
    sample = load_dataset("sample").test
    shown = np.array(hook(page, "pixels('test')")).reshape(28, 28)
    assert np.abs(shown / 255 - sample.images[5, 0].numpy()).max() < 0.01
    search.fill("no such thing")
    page.get_by_text('No class or dot "no such thing".').wait_for()
    search.fill("")
    page.wait_for_function(f"() => {MAP}.found() === null && {MAP}.hidden().length === 0")
    assert page.evaluate(RINGED, [5]) == [False] or 5 in hook(page, "marked()")


def test_the_map_and_the_decoded_image_fit_a_1280_by_720_screen(browser, app_server) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        open_explore(page, app_server)
        box = hook(page, "plotBox()")
        assert box["y"] + box["height"] <= 720
        decoded_box = page.evaluate(
            f"() => {MAP}.owner.panel.decoded.getBoundingClientRect().toJSON()"
        )
        assert decoded_box["y"] + decoded_box["height"] <= 720 and decoded_box["x"] < 1280
    finally:
        context.close()


def test_the_model_choice_holds_across_pages_and_in_the_url(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server, "?run=digits-16d")
    assert "16-D" in page.get_by_test_id("stSidebar").inner_text()
    assert "run=digits-16d" in page.url
    page.get_by_test_id("stSidebarNav").get_by_text("Interpolate").click()
    page.wait_for_selector("text=Interpolate between two images")
    wait_for_app(page)
    assert "16-D latent" in page.get_by_test_id("stSidebar").inner_text()
    assert "run=digits-16d" in page.url
    page.get_by_test_id("stSidebarNav").get_by_text("Explore").click()
    page.wait_for_function(f"() => {MAP}?.ready()")
    wait_for_app(page)
    assert "16-D latent" in page.get_by_test_id("stSidebar").inner_text()
    page.reload()
    page.wait_for_function(f"() => {MAP}?.ready()")
    assert "16-D latent" in page.get_by_test_id("stSidebar").inner_text()


def test_interpolate_opens_the_16_dimensional_model_and_shows_the_ends(
    page: Page, app_server: AppServer
) -> None:
    page.goto(f"{app_server.url}/interpolate")
    wait_for_app(page)
    assert "16-D latent" in page.get_by_test_id("stSidebar").inner_text()
    for side in ("A", "B"):
        page.locator(f".st-key-interpolate_source_{side}").get_by_text("Test set").click()
        wait_for_app(page)
    page.wait_for_selector("text=A and B as the model rebuilds them")
    assert page.get_by_text("apart in latent space").count() == 1


def test_ellipses_your_own_image_and_the_kl_per_dimension(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server)
    sidebar = page.get_by_test_id("stSidebarUserContent")
    sidebar.get_by_text("Posterior ellipses of every dot").click()
    wait_for_app(page)
    page.wait_for_function(f"() => {MAP}?.owner.light.overlays.length === 1000")
    sidebar.get_by_text("Posterior ellipses of every dot").click()
    wait_for_app(page)
    settle(page)  # the map, drawn again without the ellipses, has said so: no rerun to come
    page.get_by_role("tab", name="Encode your own").click()
    page.locator(".st-key-explore_source_yours").get_by_text("Test set").click()
    wait_for_app(page)
    page.wait_for_function(
        f"() => {MAP}?.owner.light.overlays.some(line => line.color === '#d62728')"
    )
    assert page.get_by_text("Its nearest test images").count() == 1
    page.get_by_role("tab", name="KL per dimension").click()
    page.wait_for_selector("text=of 2 units active")
    bars = page.locator(".st-key-explore_kl .bars .point path")
    wait_for(lambda: bars.count() == 2, "two KL bars")


def test_the_map_outlives_the_sessions_second_run(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)  # the session's first run loads the chart library early
    page.evaluate(f"() => {{ window.firstMap = {MAP}.owner; }}")
    page.get_by_test_id("stSidebarUserContent").get_by_text(
        "Posterior ellipses of every dot"
    ).click()
    page.wait_for_function(f"() => {MAP}?.owner.light.overlays.length === 1000")
    settle(page)
    assert page.evaluate(f"() => {MAP}.owner === window.firstMap")  # not mounted again


def test_the_open_tab_stays_open_when_a_note_shows_above_it(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server)
    page.get_by_test_id("stSidebarUserContent").get_by_text("Prior and aggregate posterior").click()
    settle(page)
    page.get_by_role("tab", name="Neighbours").click()
    [spot] = hook(page, "toClient(arg)", [[-0.75, 1.5]])  # a hole of the shipped model
    page.mouse.click(*spot)
    page.get_by_text("This code lies in a hole").wait_for()
    settle(page)
    assert page.get_by_role("tab", name="Neighbours").get_attribute("aria-selected") == "true"


def test_training_replay_moves_the_dots(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    first = hook(page, "owner.content.id")
    sidebar = page.get_by_test_id("stSidebarUserContent")
    slider = sidebar.get_by_role("slider")
    slider.first.focus()
    page.keyboard.press("Home")  # epoch 1
    wait_for_app(page)
    page.wait_for_function(f"() => {MAP}?.ready() && {MAP}.owner.content.id !== '{first}'")
    assert page.get_by_text("after epoch 1").count() >= 1


def test_play_steps_through_the_replay_on_axes_that_hold(page: Page, app_server: AppServer) -> None:
    open_explore(page, app_server)
    shown = [hook(page, "owner.content.id")]
    page.get_by_test_id("stSidebarUserContent").get_by_text("Play the replay").click()
    boxes = []
    for epoch in (1, 2):  # no click after the first: Play steps by itself
        page.get_by_text(re.compile(f"after epoch {epoch},")).wait_for(timeout=60_000)
        page.wait_for_function(
            f"(id) => {MAP}?.ready() && {MAP}.owner.content.id !== id", arg=shown[-1]
        )
        shown.append(hook(page, "owner.content.id"))
        boxes.append(
            page.evaluate(f"() => [...{MAP}.owner.content.xRange, ...{MAP}.owner.content.yRange]")
        )
    assert boxes[0] == boxes[1]
    page.get_by_test_id("stSidebarUserContent").get_by_text("Play the replay").click()


def test_the_umap_view_decodes_under_the_pointer_and_on_click(
    page: Page, app_server: AppServer
) -> None:
    """With an embedding in the app's cache (any embedding: the inverse is what is tested), the
    map's inverse is the page's: barycentric inside the hull, the nearest code outside."""
    model, _ = find("digits-16d").load_model()
    codes = encode_dataset(model, load_dataset("sample").test.images)[0]
    embedding = np.random.default_rng(0).normal(size=(len(codes), 2))
    cache = BackgroundUmap(cache_dir()).path(embedding_key(codes.numpy()))  # the app's too
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, embedding)
    open_explore(page, app_server, "?run=digits-16d")
    page.get_by_test_id("stSidebarUserContent").get_by_text("UMAP").click()
    page.wait_for_function(
        f"() => {MAP}?.ready() && {MAP}.owner.content.inverse.kind === 'delaunay'"
    )
    view = EmbeddingProjection(codes, embedding)
    points = [[0.1, -0.2], [1.5, 0.3], [9.0, 9.0]]
    browser = np.array(hook(page, "inverse(arg)", points))
    np.testing.assert_allclose(browser, view.inverse(np.array(points)).numpy(), atol=1e-4)
    before = decoded(page)
    page.mouse.move(*plot_spot(page, 0.4, 0.6), steps=3)
    page.wait_for_timeout(300)
    assert decoded(page) != before
    pinned = click_map(page, 0.6, 0.4)
    assert len(pinned) == 16


def test_switching_models_drops_the_old_models_pin(page: Page, app_server: AppServer) -> None:
    """A pin on the 16-D model means nothing on the 2-D one: after the switch the map marks the
    new model's starting code (the sliders'), its buttons move the cross, and nothing decodes
    a code of the wrong length."""
    errors = console_errors(page)
    open_explore(page, app_server, "?run=digits-16d")
    assert len(click_map(page, 0.3, 0.7)) == 16
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option").filter(has_text="default (shipped)").click()
    page.wait_for_function(f"() => {MAP}?.ready() && {MAP}.owner.content.dim === 2")
    settle(page)
    pin = hook(page, "pin()")
    assert len(pin["code"]) == 2
    assert [round(v, 2) for v in pin["code"]] == latent_sliders(page)
    page.get_by_role("button", name="Origin").click()
    page.wait_for_function(f"() => {MAP}?.pin()?.code.every(v => v === 0)")
    settle(page)
    assert hook(page, "pin()")["point"] == [0, 0]
    assert errors == []


def test_what_am_i_looking_at_opens_wide_over_the_page_and_moves_no_map(
    page: Page, app_server: AppServer
) -> None:
    open_explore(page, app_server)
    before = hook(page, "plotBox()")
    page.get_by_text("What am I looking at?").click()
    panel = page.get_by_test_id("stPopoverBody")
    panel.get_by_text("evidence lower bound").wait_for()
    page.wait_for_timeout(300)  # the popover's opening transition
    assert panel.bounding_box()["width"] >= 600  # the narrow column's was a quarter of the page
    assert hook(page, "plotBox()") == before


def test_a_map_unmounted_while_its_content_loads_draws_nothing(
    page: Page, app_server: AppServer
) -> None:
    """Streamlit may hand the map its content and unmount it (a page or model switch) before
    the content is decoded: the map must not then draw into its released renderer (which threw
    "Cannot set properties of undefined (setting 'width')")."""
    errors = console_errors(page)
    open_explore(page, app_server)
    page.evaluate(
        f"""() => {{
            const map = {MAP}.owner;
            const update = map.update.bind(map);
            map.update = (light, send) => {{ update(light, send); map.destroy(); }};
        }}"""
    )
    hook(page, "forgetContent()")  # the page sends the content again: an update, then unmount
    page.wait_for_function(f"() => !{MAP}")
    page.wait_for_timeout(1000)
    assert errors == []


def test_the_thumbnails_ask_for_a_hover_until_one_comes(
    page: Page, app_server: AppServer, test_codes: np.ndarray
) -> None:
    open_explore(page, app_server)
    placeholders = page.locator(".vaeapp-map .thumbs .placeholder")
    assert placeholders.all_inner_texts() == ["hover a dot", "hover a dot"]
    thumb = page.locator(".vaeapp-map canvas.thumb").first
    assert thumb.evaluate("(c) => getComputedStyle(c).backgroundColor") != "rgb(0, 0, 0)"
    (spot,) = hook(page, "toClient(arg)", [test_codes[5].tolist()])
    page.mouse.move(*spot)
    page.wait_for_function(f"() => {MAP}?.pixels('test').some(v => v > 0)")
    assert (
        placeholders.filter(has_text="hover a dot").evaluate_all(
            "(all) => all.filter((e) => e.offsetParent !== null).length"
        )
        == 0
    )


def test_a_sidebar_change_that_reaches_python_with_a_map_event_redraws_the_page(
    page: Page, app_server: AppServer
) -> None:
    """Streamlit sends widget changes made together as one rerun: a map event (the decoder's
    word as the map loads, a click) with a sidebar change ran only the map's fragment, and the
    page stayed on the view the sidebar no longer showed (seen: UMAP chosen, PCA shown)."""
    open_explore(page, app_server, "?run=digits-16d")
    page.evaluate(
        f"""() => {{
            const map = {MAP};
            map.owner.send.setStateValue("pin", {{
                seq: map.clicks() + 1, code: Array(16).fill(0), point: [0, 0], index: null,
            }});
            [...document.querySelectorAll('[data-testid="stSidebar"] label')]
                .find((label) => label.innerText.trim() === "Latent axes").click();
        }}"""
    )
    page.get_by_test_id("stSidebar").get_by_text("Horizontal axis").wait_for(timeout=60_000)
    settle(page)
    caption = page.get_by_text(re.compile(r"^Each dot: one of")).inner_text()
    assert "PCA" not in caption and "plane of the two main directions" not in caption
