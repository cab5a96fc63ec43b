"""`vaeapp export RUN --html FILE`: one HTML file, under its size budget, that opens from disk
in Chromium with the network off and fetches nothing, draws the map, decodes under the pointer
as torch does, pins on a click (the panel's sliders follow), grey and colour alike."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import Browser, Page, Route

from testkit.map_browser import hook
from testkit.shown_pictures import torch_levels, wait_until_shown
from testkit.waiting import wait_for
from tests.command_line import cli_error, run_vaeapp
from tests.conftest import make_dataset, small_config
from vaeapp.config import ModelConfig
from vaeapp.data.datasets import Dataset, Split
from vaeapp.export.html_page import SIZE_BUDGET, run_content, standalone_page
from vaeapp.model.networks import VAE, build_model
from vaeapp.store.catalog import DEFAULT_MODEL, summarise
from vaeapp.store.runs import Run

READY = "() => window.__vaeappMap?.maps.map?.ready() && window.__vaeappMap.maps.map.decoder()"
URL = re.compile(r"https?://[^\s\"'<>)]*")
VENDORED = "vaeapp/vendor/"


@pytest.fixture(scope="module")
def default_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped default model's page, written as a user writes it."""
    out = tmp_path_factory.mktemp("html") / "map.html"
    result = run_vaeapp("export", "default", "--html", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    return out


@pytest.mark.slow
def test_the_default_models_page_is_under_its_budget(default_page: Path) -> None:
    size = default_page.stat().st_size
    assert 19 * 2**20 < size < SIZE_BUDGET  # the WASM alone is 19 MB in base64


@pytest.mark.slow
def test_the_page_names_no_url_it_could_fetch(default_page: Path) -> None:
    """Outside the vendored modules and the base64 blobs, no http(s) URL; every module is a
    data: URL whose imports name the import map's modules, never a file beside it."""
    page = default_page.read_text()
    [import_map] = re.findall(r'<script type="importmap">(.*?)</script>', page, re.S)
    imports = json.loads(import_map)["imports"]
    assert "vaeapp/index.js" in imports and "vaeapp/decoder.js" in imports
    assert all(url.startswith("data:text/javascript;base64,") for url in imports.values())
    ours = {
        name: base64.b64decode(url.partition(",")[2]).decode()
        for name, url in imports.items()
        if not name.startswith(VENDORED)
    }
    for name, source in ours.items():
        assert not URL.search(source), (name, URL.search(source))
        assert not re.search(r"""(from|import\()\s*["']\./""", source), name
    shell = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not URL.search(shell), URL.search(shell)
    assert "default-src 'none'" in shell  # the page's policy: nothing from outside it


def test_export_asks_for_what_to_write(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--html FILE" in cli_error(["export", "default"], capsys)


@dataclass
class Offline:
    """A page in a context with the network off: what is not file:, data: or blob: is
    aborted, and every request is recorded."""

    page: Page
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def offline(browser: Browser) -> Iterator[Offline]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = Offline(context.new_page())
    context.on("request", lambda request: opened.requests.append(request.url))

    def local_only(route: Route) -> None:
        local = route.request.url.startswith(("file:", "data:", "blob:"))
        route.continue_() if local else route.abort()

    context.route("**/*", local_only)
    yield opened
    context.close()


def open_page(offline: Offline, path: Path) -> Page:
    page = offline.page
    page.goto(path.as_uri())
    page.wait_for_function(READY, timeout=60_000)
    assert hook(page, "decoder()") == "ready"
    return page


def spot(page: Page, fx: float, fy: float) -> tuple[int, int]:
    box = hook(page, "plotBox()")
    return round(box["x"] + fx * box["width"]), round(box["y"] + fy * box["height"])


def panel_sliders(page: Page) -> tuple[list[float], list[float]]:
    """The panel's sliders: their values and their steps."""
    return page.evaluate(
        """() => {
            const inputs = [...document.querySelectorAll('.vaeapp-map .sliders input[type=range]')];
            return [inputs.map((i) => Number(i.value)), inputs.map((i) => Number(i.step))];
        }"""
    )


def decoded_at(page: Page, model: VAE, at: tuple[int, int]) -> np.ndarray:
    """Move the pointer to `at`; once the picture shows what torch decodes for the code there
    (to a level), return it."""
    page.mouse.move(*at)
    point = hook(page, "toMap(arg)", at)
    [code] = hook(page, "inverse(arg)", [point])
    expected = torch_levels(model, code)
    wait_until_shown(
        lambda: hook(page, "pixels('decoded')"),
        expected,
        "the page decodes the code under the pointer as torch does",
    )
    return expected


def check_map(page: Page, model: VAE) -> None:
    """The picture follows the pointer; a click pins, and the panel's sliders show the pin."""
    first = decoded_at(page, model, spot(page, 0.2, 0.25))
    second = decoded_at(page, model, spot(page, 0.8, 0.75))
    assert np.abs(first - second).max() > 1
    page.mouse.click(*spot(page, 0.03, 0.04))  # in the range's margin: no dot
    wait_for(lambda: hook(page, "clicks()") == 1, "the click pins", timeout_s=10)
    pin = hook(page, "pin()")
    assert pin["index"] is None and len(pin["code"]) == model.latent_dim
    values, steps = panel_sliders(page)
    assert len(values) == model.latent_dim
    assert np.all(np.abs(np.array(values) - pin["code"]) <= np.array(steps))


@pytest.mark.slow
@pytest.mark.browser
def test_the_default_page_works_from_disk_with_the_network_off(
    default_page: Path, offline: Offline
) -> None:
    page = open_page(offline, default_page)
    model, _ = DEFAULT_MODEL.run.load_model()
    check_map(page, model)
    page.get_by_text("test ELBO (nats/image)").wait_for()
    assert offline.requests == [default_page.as_uri()]


@pytest.mark.slow
@pytest.mark.browser
def test_a_colour_models_page_decodes_in_colour(tmp_path: Path, offline: Offline) -> None:
    """A 4-D colour model with random weights: its page shows PCA, four sliders, RGB pictures."""
    config = small_config()
    model_config = ModelConfig(arch="conv", latent_dim=4, image_shape=(3, 32, 32))
    config = type(config)(model=model_config, train=config.train, data_source="toy")
    run = Run.create(tmp_path / "colour", config)
    grey = make_dataset(n_train=10, n_test=300)
    images = torch.rand(300, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    test = Split(images, grey.test.labels)
    colour = Dataset(grey.spec, grey.source, grey.classes, grey.train, test)
    model = build_model(model_config).eval()
    with torch.no_grad():  # random weights decode one grey everywhere: louder ones do not
        for parameter in [*model.encoder.parameters(), *model.decoder.parameters()]:
            parameter.mul_(3)
    path = tmp_path / "colour.html"
    path.write_bytes(standalone_page(run_content(model, colour), summarise(run), colour))
    page = open_page(offline, path)
    assert page.get_by_text("on the axes PCA 1 and PCA 2").count() == 1
    check_map(page, model)
    red, green, blue = np.array(hook(page, "pixels('decoded')")).reshape(3, 32, 32)
    assert np.abs(red - green).max() > 0 or np.abs(green - blue).max() > 0
    assert offline.requests == [path.as_uri()]
