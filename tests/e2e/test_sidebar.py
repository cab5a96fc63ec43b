"""The sidebar's model picker in Chromium: its labels fit its box, and it shows only on the
pages that show a model, while the choice holds across all of them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.chromium import open_from_sidebar, wait_for_app
from vaeapp.store.catalog import SHIPPED

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PICKER = ".st-key-model_path"
# The box shows its label in an input, cut at the box's edge where it is wider.
CUT = "(input) => input.scrollWidth > input.clientWidth"


@pytest.mark.parametrize("viewport", [(1280, 800), (1920, 1080)])
@pytest.mark.parametrize("model", [model.name for model in SHIPPED])
def test_the_pickers_label_shows_whole(
    page: Page, app_server: AppServer, model: str, viewport: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto(f"{app_server.url}/interpolate?run={model}")
    wait_for_app(page)
    box = page.locator(f"{PICKER} input")
    assert box.input_value().startswith(model)
    assert not box.evaluate(CUT), box.input_value()


def test_train_and_compare_show_no_picker_and_keep_the_model_chosen(
    page: Page, app_server: AppServer
) -> None:
    page.goto(f"{app_server.url}/interpolate")
    wait_for_app(page)
    page.locator(f"{PICKER} input").click()
    page.get_by_role("option", name="default (shipped)").click()
    wait_for_app(page)
    for name in ("Compare", "Train"):
        open_from_sidebar(page, name)
        assert page.url.endswith(f"/{name.lower()}?run=default"), page.url
        assert page.locator(PICKER).count() == 0, name
    open_from_sidebar(page, "Interpolate")
    assert page.locator(f"{PICKER} input").input_value().startswith("default")
