"""Colour end to end in Chromium: a colour run trained from the Train page, its map decoding
colour pictures under the pointer, and two colour photos interpolated by it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.explore_page import READY, decoded_at, hook, open_explore, settle
from testkit.interpolate_page import open_interpolate_page, upload, wait_for_strip
from testkit.train_page import choose, open_train_page, wait_for_progress
from vaeapp.data.sources import load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.store.runs import Run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_MS = 300_000
NAME = "e2e-colour"


def colour_photo(path: Path, colour: str, box: tuple[int, int, int, int]) -> Path:
    """A photo-sized picture of one coloured shape on black, as a phone would save it."""
    picture = Image.new("RGB", (640, 480), "black")
    ImageDraw.Draw(picture).ellipse(box, fill=colour)
    picture.save(path, format="JPEG", quality=92)
    return path


def pick(page: Page, name: str) -> None:
    page.locator(".st-key-model_path input").click()
    page.get_by_role("option", name=re.compile(f"^{name}")).click()


def test_a_colour_run_from_the_train_page_decodes_and_interpolates_in_colour(
    page: Page, own_server: AppServer, tmp_path: Path
) -> None:
    open_train_page(page, own_server)
    choose(page, "train_data", "shapes")
    page.get_by_label("Epochs", exact=True).fill("1")
    page.get_by_role("textbox", name="Run name").fill(NAME)
    page.get_by_text("More settings").click()
    choose(page, "train_image_size", "32 x 32")
    page.get_by_role("button", name="Start training").click()
    wait_for_progress(page, "finished · 1/1 epochs done", WAIT_MS)
    config = Run(own_server.runs / NAME).read_config()
    assert config.model.image_shape == (3, 32, 32) and config.model.likelihood == "dlogistic"

    open_explore(page, own_server)
    pick(page, NAME)
    page.get_by_text(re.compile(f"^{NAME}: conv network")).wait_for(timeout=WAIT_MS)
    page.wait_for_function(READY, timeout=WAIT_MS)
    settle(page)
    model, _ = Run(own_server.runs / NAME).load_model()
    data = load_dataset("shapes", shape=(3, 32, 32))
    mean = encode_dataset(model, data.test.images)[0].mean(0).tolist()
    assert hook(page, "sliders()") == pytest.approx(mean, abs=1e-3)  # not the last model's pin
    first, second = decoded_at(page, 0.3, 0.3), decoded_at(page, 0.7, 0.7)
    area = 32 * 32
    assert len(first) == 3 * area and first != second
    red, green, blue = (first[k * area : (k + 1) * area] for k in range(3))
    assert red != green or green != blue, "the decoded picture has colour"

    open_interpolate_page(page, own_server)
    pick(page, NAME)
    preview = "What the model sees (32x32)"
    upload(page, "A", colour_photo(tmp_path / "a.jpg", "red", (100, 100, 300, 300)), 1, preview)
    upload(page, "B", colour_photo(tmp_path / "b.jpg", "blue", (350, 200, 550, 400)), 2, preview)
    wait_for_strip(page, 10)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the strip (PNG)").click()
    strip = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert strip.mode == "RGB"
    pixels = strip.getdata()
    assert any(r != g or g != b for r, g, b in pixels), "the strip is in colour"
