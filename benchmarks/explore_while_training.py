"""Click latency on the Explore page while a training job runs, against no job at all.

Chromium opens the Explore page on the shipped model; each click on the latent map, at a random
spot, is timed from the mouse event until the new decoded image has loaded (the measure of
benchmarks/run.py's click_ms). Rounds of clicks
alternate between an idle machine (as far as this app goes) and one where a job started from
the app trains (`vaeapp.jobs`, the same process the Train page launches).

    python -m benchmarks.explore_while_training [--clicks 10] [--rounds 2]   # from the repo root
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.explore_timings import click_seconds
from tests.browser import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app
from tests.e2e.test_explore import click_map, open_explore
from vaeapp import jobs
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.paths import data_dir
from vaeapp.runs import Run

JOB = RunConfig(model=ModelConfig(arch="mlp"), train=TrainConfig(epochs=1000))


def wait_until_training(run: Run) -> None:
    deadline = time.monotonic() + 600
    while jobs.state(run).status != jobs.RUNNING or not any(
        e.get("kind") == "step" for e in run.read_metrics()
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{run.path} did not start training")
        time.sleep(0.5)


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
    training: list[float] = []
    server = start_app(runs, data_dir().resolve())
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_explore(page, server)
            click_map(page, 0.5, 0.5)  # warm-up: model, data and map are cached from here on
            for round_ in range(args.rounds):
                idle += click_seconds(page, args.clicks, seed=2 * round_)
                run = jobs.start(JOB, f"job-{round_}", root=runs)
                wait_until_training(run)
                training += click_seconds(page, args.clicks, seed=2 * round_ + 1)
                jobs.stop(run)
                while jobs.state(run).active:
                    time.sleep(0.2)
            browser.close()
    finally:
        for job in jobs.active_jobs(runs):  # jobs outlive the app: end them on any failure
            jobs.stop(job.run)
        stop_app(server)
    result = {"no_job": summary(idle), "while_training": summary(training)}
    print(json.dumps({"job": "sample, mlp 512-256, 2-D latent, batch 128", **result}, indent=2))


if __name__ == "__main__":
    main()
