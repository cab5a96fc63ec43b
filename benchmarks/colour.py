"""Colour images: training 3x64x64 `shapes`, the shipped colour model's bound, the map's speed.

    python -m benchmarks.colour [--rounds 3] [--train-images 2000]

Prints one JSON object:

- training: vaeapp's Trainer against the tutorial's loop (testkit/plain_loop.py) and the FLOP
  bound, on the first --train-images of `shapes` at 3x64x64 with the conv networks (three
  stride-2 stages), as benchmarks/training.py measures digits: images/s, medians over rounds
  that alternate which loop goes first;
- shipped_colour_model: the test ELBO, the importance-weighted bound (K = 100) and bits/dim of
  the shipped `shapes-colour` model on its first 1,000 test images (a discretised logistic:
  bits/dim of 8-bit pixels, as the literature reports them);
- map: the in-page decoder of a 16-D conv model of 3x64x64 images in Chromium (see
  map_timings.py): decodes per second under a moving pointer and flooded, one run's time;
- first_colour_map_s: a fresh `streamlit run app.py` to Explore's map of the shipped colour
  model drawn with its decoder loaded (`?run=shapes-colour`), median of three starts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.map_timings import map_figures
from benchmarks.training import training_figures
from testkit.app_server import running_app
from testkit.chromium import VIEWPORT, launch_chromium
from testkit.explore_page import READY
from vaeapp.config import ModelConfig
from vaeapp.data.datasets import Dataset, Split
from vaeapp.data.sources import load_dataset
from vaeapp.model.evaluate import evaluate, evaluation_images
from vaeapp.store.catalog import find

SHAPE = (3, 64, 64)
COLOUR_MODEL = "shapes-colour"


def training_subset(dataset: Dataset, count: int) -> Dataset:
    train = Split(dataset.train.images[:count], dataset.train.labels[:count])
    return Dataset(dataset.spec, dataset.source, dataset.classes, train, dataset.test)


def shipped_model_figures(data_dir: Path, images: int = 1000, k: int = 100) -> dict:
    model, config = find(COLOUR_MODEL).load_model()
    data = load_dataset(config.train.data, data_dir=data_dir, shape=config.model.image_shape)
    test = evaluation_images(data.test.images, config.train.binarize, config.train.seed)
    result = evaluate(model, config, test[:images], k=k, seed=config.train.seed)
    return {"images": images, "importance_samples": k, **result.as_dict()}


def first_colour_map_seconds(data_dir: Path, starts: int = 3) -> list[float]:
    """Server start to the colour model's map drawn and decoding, each start a fresh server."""
    seconds = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for _ in range(starts):
            with running_app(Path(tempfile.mkdtemp()), data_dir) as server:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"{server.url}/explore?run={COLOUR_MODEL}")
                page.wait_for_function(READY, timeout=300_000)
                seconds.append(time.monotonic() - server.started_at)
                page.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shapes = load_dataset("shapes", data_dir=Path(tmp), shape=SHAPE)
        config = ModelConfig(arch="conv", latent_dim=10, image_shape=SHAPE)
        result = {
            "training": training_figures(
                training_subset(shapes, args.train_images),
                rounds=args.rounds,
                architectures={"conv_3x64x64": config},
            ),
            "shipped_colour_model": shipped_model_figures(Path(tmp)),
            "map": map_figures(only_decoding=(3, 64)),
        }
        starts = first_colour_map_seconds(Path(tmp))
        result["first_colour_map_s"] = statistics.median(starts)
        result["first_colour_map_s_each"] = starts
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
