"""vaeapp's benchmark: training speed against a plain loop and the hardware, and the app's speed.

    python -m benchmarks.run [--quick] [--out benchmarks/results.json]

Prints one JSON object and writes it to --out. Figures (see training.py and
explore_timings.py for how each is taken):

- per architecture (`mlp` latent 20, `conv` latent 2): train_img_per_s (vaeapp's Trainer),
  plain_img_per_s (a tutorial's loop, same modules, batch and data), train_speed_ratio, and
  roofline_img_per_s (this machine's matrix-multiply FLOP/s over the training FLOPs per image);
- precision (precision.py): per architecture, bf16 autocast against fp32 in the Trainer:
  images/s, bf16_speedup, and the test ELBO after the same epochs;
- distributed (distributed.py): one process against two under torchrun (gloo) with the same
  global batch: images/s, wall time and the test ELBO of each;
- first_map_s, click_ms_p50, click_ms_p95 in Chromium, on the shipped default model;
- map (map_timings.py): the in-browser map on its test app: decodes per second under a moving
  pointer, hover to thumbnail, first map with 10k and 70k dots, pan frames at 70k, bytes per
  rerun, the ONNX export, encoding 70k images;
- umap_first_s, umap_cached_s, inverse_ms for a 16-D model of Fashion-MNIST's 10,000 test images
  (Debian's dataset-fashion-mnist; left out, with the reason, where it is not installed);
- loglik_eval_s: importance-weighted log p(x), K = 1000, on the default model's test images
  (1,000; --quick takes 100 and says so in loglik_images);
- the machine: cores, CPU, torch and its threads, the load average before and after.

--quick (about 4 minutes here) runs one training round instead of three (in each of training,
precision and distributed), one cold start instead of three, and leaves out the slower UMAP
variants.

Run on their own, each printing its JSON: quality.py, photo_knn.py, train_from_app.py,
explore_while_training.py, and hostile_scale.py (the pages on a 200 MB metrics file and with
5,000 saved runs: seconds to settle, the server's peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from playwright.sync_api import sync_playwright

from benchmarks.distributed import distributed_figures
from benchmarks.explore_timings import click_timings, first_view_seconds, umap_timings
from benchmarks.map_timings import map_figures
from benchmarks.precision import precision_figures
from benchmarks.training import training_figures
from testkit.app_server import REPO
from testkit.chromium import launch_chromium
from vaeapp.data.sources import load_dataset
from vaeapp.model.evaluate import dataset_log_likelihood, evaluation_images
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.runs import Run

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IMPORTANCE_SAMPLES = 1000
VAEAPP_TRAIN = [sys.executable, "-m", "vaeapp", "train", "--quiet", "--data"]
MODEL16 = ["--arch", "mlp", "--latent-dim", "16", "--epochs", "1"]


def machine() -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


def loglik_figures(sample_dir: Path, images: int) -> dict[str, float]:
    """Seconds for IWAE_1000 over the default model's first `images` test images."""
    model, config = Run(DEFAULT_MODEL.path).load_model()
    model.eval()
    test = load_dataset(config.train.data, data_dir=sample_dir).test.images[:images]
    x = evaluation_images(test, config.train.binarize, config.train.seed)
    started = time.perf_counter()
    log_px = dataset_log_likelihood(model, x, k=IMPORTANCE_SAMPLES)
    return {
        "loglik_eval_s": time.perf_counter() - started,
        "loglik_images": images,
        "loglik_nats": log_px,
    }


def model16(workdir: Path) -> Path:
    """A 16-D MLP trained one epoch on Fashion-MNIST through the CLI: a 10k-point test set."""
    out = workdir / "fm16"
    subprocess.run(
        [*VAEAPP_TRAIN, f"idx:{FASHION_MNIST}", *MODEL16, "--out", str(out)],
        check=True,
        cwd=REPO,
        env={**os.environ, "VAEAPP_DATA": str(workdir / "data")},
    )
    return out


def app_figures(sample_dir: Path, workdir: Path, quick: bool) -> dict[str, object]:
    figures: dict[str, object] = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        first_view_seconds(browser, sample_dir)  # the decoder's export and first map kept
        starts = [first_view_seconds(browser, sample_dir)[0] for _ in range(1 if quick else 3)]
        figures["first_map_s"] = statistics.median(starts)
        figures["first_map_s_each"] = starts
        figures.update(click_timings(browser, sample_dir, clicks=20))
        if FASHION_MNIST.is_dir():
            figures.update(umap_timings(browser, model16(workdir), sample_dir, thorough=not quick))
        else:
            figures["umap_skipped"] = f"no {FASHION_MNIST}: apt-get install dataset-fashion-mnist"
        browser.close()
    return figures


def rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3 if abs(value) < 100 else 1)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds: under 3 minutes")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.json")
    args = parser.parse_args()
    started = time.monotonic()
    result: dict[str, object] = {"quick": args.quick, "machine": machine()}
    result["load_average_before"] = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sample_dir = workdir / "sample"
        sample = load_dataset("sample", data_dir=sample_dir)
        rounds = 1 if args.quick else 3
        result["training"] = training_figures(sample, rounds=rounds)
        result["precision"] = precision_figures(sample, rounds=rounds)
        result["distributed"] = distributed_figures(rounds=rounds)
        result.update(loglik_figures(sample_dir, images=100 if args.quick else 1000))
        result.update(app_figures(sample_dir, workdir, args.quick))
        result["map"] = map_figures()
    result["load_average_after"] = os.getloadavg()
    result["total_s"] = time.monotonic() - started
    text = json.dumps(rounded(result), indent=1)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
