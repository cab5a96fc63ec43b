"""`vaeapp export RUN --html FILE`: the latent map as one HTML file that opens from disk, offline.

The page runs the app's own map: the component's modules (`FRONTEND`, read from the package when
the page is written) and the vendored runtime (regl-scatterplot, ONNX Runtime Web), each as a
data: URL that an import map names "vaeapp/<file>". A module from file:// may import no file
beside it (its origin is null), so each "./<file>" a module imports is rewritten to that name.
The content is the one the Explore page draws first (`view_content` on `default_view`), packed
as the app sends it (`pack`); the WASM's bytes go to decoder.js as `vaeappOrtWasm`. Both travel
in base64, and frontend/standalone.js calls the component's `render` as Streamlit would.
A Content-Security-Policy lets the page load nothing but itself and data: or blob: URLs.

Its size: ONNX Runtime's WASM is 14 MB, 19 MB in base64; the shipped models' pages are 19 MiB
(`SIZE_BUDGET`: 25 MiB), 10,000 Fashion-MNIST images' 25 MiB, 70,000's 63 MiB.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from importlib import resources
from importlib.resources.abc import Traversable

from vaeapp.data.datasets import Dataset
from vaeapp.latent.codes import encode_dataset
from vaeapp.latent.map_content import MapContent, light_values, pack, view_content
from vaeapp.latent.views import default_view
from vaeapp.model.networks import VAE
from vaeapp.store.catalog import RunSummary

FRONTEND = resources.files("vaeapp").joinpath("ui", "map_component", "frontend")
VENDOR = ("regl-scatterplot.min.mjs", "ort.wasm.bundle.min.mjs")
WASM = "ort-wasm-simd-threaded.wasm"
SIZE_BUDGET = 25 * 2**20  # a shipped model's page; the WASM alone is 19 MB of it
MAP_HEIGHT = 460  # the app's: with the card below, fits 1280 x 800
MODULE_NAME = "vaeapp/"  # + the file's path in FRONTEND
IMPORTED = re.compile(r"""(["'])\./([\w/.-]+\.m?js)\1""")  # a "./<file>" in a module's source
POLICY = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' data:; "
    "style-src 'unsafe-inline'; img-src data: blob:; connect-src data: blob:"
)


def run_content(model: VAE, data: Dataset) -> MapContent:
    """The map of `data`'s test images under `model`, as the Explore page first draws it: their
    codes on the default view, dots coloured by the first known factor where the data has one."""
    from vaeapp.latent.onnx_decoder import decoder_onnx  # onnx: half a second, for an export only

    mu, logvar = encode_dataset(model.cpu(), data.test.images)
    view = default_view(mu)
    return view_content(
        data,
        mu,
        logvar,
        view,
        view.points,
        decoder_onnx(model.cpu()),
        image_shape=model.image_shape,
        colour_by=0 if data.factor_names else None,
    )


def standalone_page(content: MapContent, summary: RunSummary, data: Dataset) -> bytes:
    """The HTML page: the map of `content` and the card of the model `summary` describes."""
    # Pinned first: the dots' mean code, where a linear view (the default) maps it, so that
    # the picture and the sliders show a code before the pointer comes.
    mean = {
        "point": content.points.mean(axis=0).tolist(),
        "code": content.codes.mean(axis=0).tolist(),
    }
    light = light_values(content.content_id, key="map", height=MAP_HEIGHT, pin=mean)
    modules = _modules()
    imports = {name: _data_url("text/javascript", source) for name, source in modules.items()}
    title = html.escape(f"{summary.name}: the latent space")
    start = (
        f'import {{ showMap }} from "{MODULE_NAME}standalone.js";\n'
        'showMap(document.getElementById("map"), "vaeapp-content", "vaeapp-ort-wasm");'
    )
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_read("map.css").decode()}</style>
<style>{PAGE_CSS}</style>
<script type="importmap">{json.dumps({"imports": imports})}</script>
</head>
<body>
<h1>{title}</h1>
<p class="caption">Each dot: one of {len(content.points):,} test images of
{html.escape(data.spec)} at the mean of its posterior q(z|x), on {_axes(content)}.
Point to decode (in this page, with ONNX Runtime Web); click to pin; the sliders set each
latent dimension.</p>
<div id="map"></div>
{_card(summary, data)}
<p class="made">Made by <code>vaeapp export</code>. It needs no server and no network.</p>
<script type="application/octet-stream" id="vaeapp-content">
{base64.b64encode(pack(light, content)).decode()}
</script>
<script type="application/octet-stream" id="vaeapp-ort-wasm">
{base64.b64encode(_read("vendor", WASM)).decode()}
</script>
<script type="module">{start}</script>
</body>
</html>
"""
    return page.encode()


PAGE_CSS = """
body { font-family: sans-serif; margin: 16px 32px; color: #31333f; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 6px; }
.caption { color: #6b6d7a; margin: 0 0 12px; font-size: 14px; }
.card { border-collapse: collapse; margin-top: 12px; font-size: 13px; }
.card th { text-align: left; font-weight: normal; color: #6b6d7a; padding: 3px 16px 3px 0; }
.card td { padding: 3px 0; }
.made { color: #6b6d7a; font-size: 12px; }
"""


def _modules() -> dict[str, str]:
    """Every module of the map, by its import-map name, its "./" imports renamed to match."""
    files = [entry.name for entry in FRONTEND.iterdir() if entry.name.endswith(".js")]
    paths = sorted(files) + [f"vendor/{name}" for name in VENDOR]
    return {
        MODULE_NAME + path: IMPORTED.sub(_renamed(set(paths)), _read(*path.split("/")).decode())
        for path in paths
    }


def _renamed(paths: set[str]) -> Callable[[re.Match[str]], str]:
    """The substitution of a "./<file>" imported from this folder by its import-map name."""

    def rename(match: re.Match[str]) -> str:
        quote, path = match.groups()
        return f"{quote}{MODULE_NAME}{path}{quote}" if path in paths else match.group(0)

    return rename


def _read(*parts: str) -> bytes:
    entry: Traversable = FRONTEND.joinpath(*parts)
    return entry.read_bytes()


def _data_url(mime: str, text: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(text.encode()).decode()}"


def _axes(content: MapContent) -> str:
    x, y = content.axis_titles
    return html.escape(f"the axes {x} and {y}" if y else f"the axis {x}")


def _card(summary: RunSummary, data: Dataset) -> str:
    """The model's card: what it was trained on and how, and its test bounds as its history
    recorded them (nats per image)."""
    model = summary.config.model
    architecture = model.arch + (
        f" ({' x '.join(map(str, model.hidden))} hidden units)" if model.arch == "mlp" else ""
    )
    rows = [
        ("data", data.source),
        ("architecture", f"{architecture}, {model.latent_dim}-D latent space"),
        ("likelihood", model.likelihood),
        ("image shape", " x ".join(map(str, model.image_shape))),
        ("epochs", summary.epochs),
    ]
    figures = (
        ("test ELBO", summary.test_elbo),
        ("reconstruction term", summary.test_recon),
        ("KL term", summary.test_kl),
    )
    rows += [
        (f"{name} (nats/image)", f"{value:.3f}") for name, value in figures if value is not None
    ]
    body = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in rows
    )
    return f'<table class="card"><caption hidden>The model</caption>{body}</table>'
