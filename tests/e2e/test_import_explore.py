"""An imported model in Chromium: the README's tutorial VAE, trained by docs/import_example.py
and brought in with `vaeapp import` (its ONNX graphs), opens in Explore, where the browser
decodes with its decoder graph under the pointer and a click pins a code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page

from testkit.app_server import AppServer
from testkit.explore_page import READY, click_map, decoded, decoded_at, hook, open_explore, settle
from testkit.shown_pictures import torch_levels, wait_until_shown
from tests.command_line import run_vaeapp
from vaeapp.store.runs import Run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import_example.py"
NAME = "e2e-tutorial"
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def imported(own_server: AppServer, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The tutorial VAE after one epoch, imported into the server's runs folder as the README
    does it."""
    exported = tmp_path_factory.mktemp("exported")
    trained = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", "1", "--out", str(exported)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert trained.returncode == 0, trained.stderr
    done = run_vaeapp(
        *["import", NAME, "--encoder", str(exported / "encoder.onnx")],
        *["--decoder", str(exported / "decoder.onnx"), "--likelihood", "bernoulli"],
        *["--data", "sample", "--out", str(own_server.runs / NAME)],
    )
    assert done.returncode == 0, done.stderr
    return Run(own_server.runs / NAME)


def test_an_imported_model_decodes_in_the_browser_and_pins_a_click(
    page: Page, own_server: AppServer, imported: Run
) -> None:
    open_explore(page, own_server)
    picker = page.locator(".st-key-model_path input")
    picker.click()
    picker.fill(NAME)
    picker.press("Enter")
    page.get_by_text(re.compile(r"onnx network.*imported as ONNX")).wait_for(timeout=WAIT_MS)
    page.wait_for_function(READY, timeout=WAIT_MS)
    settle(page)
    assert hook(page, "decoder()") == "ready"
    first, second = decoded_at(page, 0.3, 0.3), decoded_at(page, 0.7, 0.7)
    assert len(first) == 28 * 28 and first != second
    code = click_map(page, 0.6, 0.4)
    assert len(code) == imported.read_config().model.latent_dim
    # the pinned picture is the imported decoder's, not the last model's; the pointer leaves,
    # since over the map it shows the code under it, and a click on a dot pins the dot's own
    page.mouse.move(1, 1)
    model, _ = imported.load_model()
    wait_until_shown(
        lambda: decoded(page), torch_levels(model, code), "the page shows the pin's picture"
    )
