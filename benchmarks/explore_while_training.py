"""Click latency on the Explore page while a training job runs, against no job at all.

Chromium opens the Explore page on the shipped model; each click on the latent map, at a random
spot, is timed from the mouse event until the page shows the pinned code (the measure of
benchmarks/run.py's click_ms). Rounds of clicks
alternate between an idle machine (as far as this app goes) and one where a job started from
the app trains (`vaeapp.training.jobs`, the same process the Train page launches).

    python -m benchmarks.explore_while_training [--clicks 10] [--rounds 2]   # from the repo root
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from functools import partial
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.explore_timings import click_seconds
from testkit.app_server import running_app
from testkit.chromium import VIEWPORT, launch_chromium
from testkit.explore_page import click_map, open_explore
from testkit.waiting import wait_for
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.paths import data_dir
from vaeapp.store.runs import Run
from vaeapp.training import jobs

JOB = RunConfig(model=ModelConfig(arch="mlp"), train=TrainConfig(epochs=1000))


def training(run: Run) -> bool:
    """Whether the job of `run` is running and has logged a training step."""
    return jobs.state(run).status == jobs.RUNNING and any(
        e.get("kind") == "step" for e in run.read_metrics()
    )


def ended(run: Run) -> bool:
    return not jobs.state(run).active


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "clicks": len(ordered),
        "median_s": statistics.median(ordered),
        "p90_s": ordered[int(0.9 * (len(ordered) - 1))],
        "max_s": ordered[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=10, help="clicks per round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    idle: list[float] = []
    busy: list[float] = []
    with running_app(runs, data_dir().resolve()) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        open_explore(page, server)
        click_map(page, 0.5, 0.5)  # warm-up: model, data and map are cached from here on
        for round_ in range(args.rounds):
            idle += click_seconds(page, args.clicks, seed=2 * round_)
            run = jobs.start(JOB, f"job-{round_}", root=runs)
            wait_for(partial(training, run), f"{run.path} trains", timeout_s=600, interval_s=0.5)
            busy += click_seconds(page, args.clicks, seed=2 * round_ + 1)
            jobs.stop(run)
            wait_for(partial(ended, run), f"{run.path} has stopped", interval_s=0.2)
        browser.close()
    result = {"no_job": summary(idle), "while_training": summary(busy)}
    print(json.dumps({"job": "sample, mlp 512-256, 2-D latent, batch 128", **result}, indent=2))


if __name__ == "__main__":
    main()
