"""The latent map component's speed in headless Chromium, on its test app.

    python -m benchmarks.map_timings
    python -m benchmarks.map_timings --decoding 3x64x64   # only the decoding figures, that shape

Prints one JSON object:

- decodes_per_s_conv16, decodes_per_s_conv2, decodes_per_s_conv16_3x64x64: decoder runs per
  second while Playwright moves the pointer over the map without pause for `MOVE_S` seconds
  (conv decoder, 16-D and 2-D latent space; 28 x 28 grey unless the key names another image
  shape), with pointer_moves_per_s_*: the moves it made; decodes_per_s_flooded_*: the
  same under synthetic pointer events dispatched in the page as fast as it takes them
  (positions that pile up are dropped: the decoder's own pace); decode_run_ms_p50_*: one run
  (a hover decodes two codes in one run where the pointer is on a dot);
- hover_thumbnail_ms_p50/_p95: pointer event to the hovered dot's test image drawn; and
  hover_decode_ms_p50/_p95: pointer event to the decoded picture drawn (both in the page, from
  the event's timestamp; Playwright's own round trip is not in them);
- first_map_s_10k, first_map_s_70k: page opened to the map drawn, in a new session of a server
  that has built that content already (so: transfer, unpacking, drawing); and
  content_build_s_10k/_70k: building and packing that content in Python, once per server;
- pan_frame_ms_p50/_p95 at 70k: intervals between animation frames while dragging the map;
- rerun_bytes, rerun_bytes_resending: websocket bytes the browser receives for one click's
  rerun, with the content sent once (the component's way) and sent in every run (?resend=1);
  first_load_bytes_10k: what the first load of the 10k map received;
- onnx_export_s_conv16, onnx_export_s_mlp16: `decoder_onnx` (median of 5);
- encode_70k_s: the 70,000 Fashion-MNIST images through a 16-D conv encoder on one thread;
- webgl: the renderer Chromium draws with (SwiftShader, in software, without a GPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from playwright.sync_api import Browser, Page, sync_playwright

from testkit.chromium import CHROMIUM, CHROMIUM_ARGS
from testkit.map_browser import DRAWN, READY, hook, map_app, new_page, open_scene
from testkit.map_scene import Scene, content, model
from vaeapp.data.sources import load_dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.onnx_decoder import decoder_onnx

FASHION = Path("/usr/share/datasets/fashion-mnist")
MOVE_S = 5.0
HOVERED_DOTS = 200
PAN_S = 3.0
CLICKS = 5
FLOOD = """async (seconds) => {
    const layer = window.__vaeappMap.maps.map.owner.layer;
    const box = layer.getBoundingClientRect();
    const before = window.__vaeappMap.decodes;
    const started = performance.now();
    let moves = 0;
    while (performance.now() - started < seconds * 1000) {
        const angle = 0.05 * moves++;
        layer.dispatchEvent(new PointerEvent("pointermove", {
            clientX: box.left + box.width * (0.5 + 0.35 * Math.cos(angle)),
            clientY: box.top + box.height * (0.5 + 0.35 * Math.sin(angle)),
            bubbles: true,
        }));
        await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const elapsed = (performance.now() - started) / 1000;
    return {decodes: window.__vaeappMap.decodes - before, moves, seconds: elapsed};
}"""
WEBGL_RENDERER = """() => {
    const gl = document.createElement('canvas').getContext('webgl');
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    return gl.getParameter(info.UNMASKED_RENDERER_WEBGL);
}"""


def percentiles(values: list[float], name: str) -> dict[str, float]:
    return {
        f"{name}_p50": round(float(np.percentile(values, 50)), 2),
        f"{name}_p95": round(float(np.percentile(values, 95)), 2),
    }


def metric(page: Page, name: str):
    return page.evaluate(f"() => window.__vaeappMap.{name}")


def decoding(
    browser: Browser, url: str, dim: int, channels: int = 1, side: int = 28
) -> dict[str, float]:
    """Decodes per second under Playwright's pointer, then under synthetic pointer events sent
    as fast as the page takes them; and the decoder's run time. Keys end in the image shape
    where it is not MNIST's."""
    page = new_page(browser)
    scene = Scene(view="axes", n=2000, dim=dim, channels=channels, side=side)
    name = f"conv{dim}" if (channels, side) == (1, 28) else f"conv{dim}_{channels}x{side}x{side}"
    open_scene(page, url, scene)
    box = hook(page, "plotBox()")
    centre = np.array([box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    radius = 0.35 * min(box["width"], box["height"])
    before = metric(page, "decodes")
    started = time.monotonic()
    moves = 0
    while time.monotonic() - started < MOVE_S:
        angle = 0.05 * moves
        page.mouse.move(*(centre + radius * np.array([np.cos(angle), np.sin(angle)])))
        moves += 1
    seconds = time.monotonic() - started
    decodes = metric(page, "decodes") - before
    flooded = page.evaluate(FLOOD, MOVE_S)
    result = {
        f"decodes_per_s_{name}": round(decodes / seconds, 1),
        f"pointer_moves_per_s_{name}": round(moves / seconds, 1),
        f"decodes_per_s_flooded_{name}": round(flooded["decodes"] / flooded["seconds"], 1),
        f"pointer_moves_per_s_flooded_{name}": round(flooded["moves"] / flooded["seconds"], 1),
        f"decode_run_ms_p50_{name}": round(statistics.median(metric(page, "decodeMs")), 2),
    }
    page.context.close()
    return result


def hover_latencies(browser: Browser, url: str) -> dict[str, float]:
    scene = Scene(view="axes", n=2000, dim=16)
    page = new_page(browser)
    open_scene(page, url, scene)
    dots = hook(page, "toClient(arg)", content(scene).points[:HOVERED_DOTS].tolist())
    for x, y in dots:
        page.mouse.move(round(x), round(y))
        page.wait_for_timeout(20)
    result = {
        **percentiles(metric(page, "hoverMs"), "hover_thumbnail_ms"),
        **percentiles(metric(page, "hoverDecodeMs"), "hover_decode_ms"),
    }
    page.context.close()
    return result


def first_map(browser: Browser, url: str, n: int) -> dict[str, float]:
    scene = Scene(view="axes", n=n, dim=16)
    started = time.monotonic()
    content(scene).sections  # noqa: B018 - build and pack here, as the server will
    built = time.monotonic() - started
    warm = new_page(browser)  # the server builds it once too
    open_scene(warm, url, scene, timeout_ms=600_000)
    warm.context.close()
    page = new_page(browser)
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(len(f))))
    started = time.monotonic()
    page.goto(f"{url}/?{scene.query()}")
    page.wait_for_function(DRAWN, timeout=600_000)
    seconds = time.monotonic() - started
    result = {
        f"first_map_s_{n // 1000}k": round(seconds, 2),
        f"content_build_s_{n // 1000}k": round(built, 2),
        f"first_load_bytes_{n // 1000}k": sum(frames),
    }
    if n == 70_000:
        result.update(pan_frames(page))
    page.context.close()
    return result


def pan_frames(page: Page) -> dict[str, float]:
    box = hook(page, "plotBox()")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    started = time.monotonic()
    step = 0
    while time.monotonic() - started < PAN_S:
        dx = 0.2 * box["width"] * np.sin(0.05 * step)
        page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2)
        step += 1
    page.mouse.up()
    return percentiles(metric(page, "frameMs"), "pan_frame_ms")


def rerun_bytes(browser: Browser, url: str, resend: bool) -> int:
    scene = Scene(view="axes", n=10_000, dim=16)
    page = new_page(browser)
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(len(f))))
    page.goto(f"{url}/?{scene.query()}" + ("&resend=1" if resend else ""))
    page.wait_for_function(READY)
    page.wait_for_timeout(1000)
    box = hook(page, "plotBox()")
    per_click = []
    for k in range(CLICKS):
        frames.clear()
        runs = page.locator(".st-key-runs").inner_text()
        page.mouse.click(box["x"] + (0.2 + 0.1 * k) * box["width"], box["y"] + 0.5 * box["height"])
        page.wait_for_function(
            "(before) => document.querySelector('.st-key-runs').innerText !== before", arg=runs
        )
        page.wait_for_timeout(500)
        per_click.append(sum(frames))
    page.context.close()
    return int(statistics.median(per_click))


def export_seconds(arch: str) -> float:
    vae = model(Scene(arch=arch, dim=16))
    times = []
    for _ in range(5):
        started = time.perf_counter()
        decoder_onnx(vae)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def encode_seconds(n: int = 70_000) -> float:
    """Encoding n images (Fashion-MNIST's train and test sets together, else made up) with a
    16-D conv encoder on one thread, as the app does for a map of every image."""
    if FASHION.is_dir():
        data = load_dataset(f"idx:{FASHION}")
        images = torch.cat([data.train.images, data.test.images])[:n]
    else:
        images = torch.rand(n, 1, 28, 28)
    encoder = model(Scene(dim=16, n=16))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        started = time.perf_counter()
        encode_dataset(encoder, images)
        return round(time.perf_counter() - started, 2)
    finally:
        torch.set_num_threads(threads)


def map_figures(only_decoding: tuple[int, int] | None = None) -> dict[str, object]:
    """Every figure above, for benchmarks/run.py and for this module's main; with
    `only_decoding` (channels, side), the 16-D conv decoder's figures for that image shape."""
    result: dict[str, object] = {}
    if only_decoding is None:
        result["onnx_export_s_conv16"] = export_seconds("conv")
        result["onnx_export_s_mlp16"] = export_seconds("mlp")
        result["encode_70k_s"] = encode_seconds()
    with sync_playwright() as playwright, map_app() as url:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        result["webgl"] = page.evaluate(WEBGL_RENDERER)
        page.close()
        if only_decoding is not None:
            result.update(decoding(browser, url, 16, *only_decoding))
            browser.close()
            return result
        result.update(decoding(browser, url, 16))
        result.update(decoding(browser, url, 16, channels=3, side=64))
        result.update(decoding(browser, url, 2))
        result.update(hover_latencies(browser, url))
        result.update(first_map(browser, url, 10_000))
        result.update(first_map(browser, url, 70_000))
        result["rerun_bytes"] = rerun_bytes(browser, url, resend=False)
        result["rerun_bytes_resending"] = rerun_bytes(browser, url, resend=True)
        browser.close()
    return result


def image_shape(text: str) -> tuple[int, int]:
    """ "3x64x64" -> (3, 64): channels and side of a square image."""
    channels, height, width = (int(n) for n in text.split("x"))
    if height != width:
        raise argparse.ArgumentTypeError("the test map's images are square")
    return channels, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--decoding", type=image_shape, metavar="CxHxW", help="only decoding, at this shape"
    )
    print(json.dumps(map_figures(parser.parse_args().decoding), indent=2))


if __name__ == "__main__":
    main()
