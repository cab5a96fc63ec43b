"""Training throughput started from the app (with its page open and live) against the bare CLI.

The same config is trained alternately by the Train page in Chromium, whose live view redraws
once a second for the whole run, and by `python -m vaeapp train` in a terminal with no app
page open. Rounds alternate so that noise on a shared machine hits both alike; reported are
medians, and the median over rounds of app / CLI (each app run against the CLI run after it).
Two figures per run: the trainer's own images/s over its step loop (epochs 2 on, after
warm-up), and end to end, all training images over the wall time from `start` to `end`.
For the app runs it also reports the CPU, in cores, that the app itself used while the job
trained (the Streamlit server and Chromium) next to the job's: a figure that a busy machine
hardly moves, unlike images/s.

    python -m benchmarks.train_from_app [--rounds 3] [--epochs 3]   # from the repository root
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from testkit.app_server import AppServer, running_app
from testkit.chromium import VIEWPORT, launch_chromium
from testkit.train_page import start_from_form
from testkit.waiting import wait_for
from vaeapp.paths import data_dir
from vaeapp.store.runs import Run

ARCH = "conv"  # the seed's network: epochs of seconds, long enough to watch live
VAEAPP_TRAIN = [sys.executable, "-m", "vaeapp", "train"]


def throughput(run: Run) -> dict[str, float]:
    events = run.read_metrics()
    start = next(e for e in events if e["kind"] == "start")
    end = next(e for e in events if e["kind"] == "end")
    epochs = [e for e in events if e["kind"] == "epoch"]
    images = start["n_train"] * len(epochs)
    return {
        "step_loop_img_per_s": statistics.median(e["img_per_s"] for e in epochs[1:]),
        "end_to_end_img_per_s": images / (end["time"] - start["time"]),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one live process (Linux /proc), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_processes(server_pid: int) -> list[int]:
    """The app's own processes: the Streamlit server, and the Chromium processes we started."""
    table: dict[int, tuple[str, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        table[int(stat.parent.name)] = (comm, int(rest.split()[1]))
    ours, frontier = set(), [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (_, ppid) in table.items() if ppid == parent]
        ours.update(children)
        frontier += children
    return [server_pid, *(pid for pid in ours if "chrom" in table[pid][0])]


def train_from_page(
    page: Page, server: AppServer, name: str, epochs: int, runs: Path
) -> tuple[Run, dict[str, float]]:
    """Start a run with the form, follow it to the end; the app's and the job's CPU use."""
    start_from_form(page, server, name, epochs, arch=ARCH)
    watched = "() => document.querySelector('.st-key-train_watch input')?.value"
    page.wait_for_function(f"{watched}?.startsWith('{name} (')", timeout=120_000)
    run = Run(runs / name)
    wait_for(run.is_training, "the job trains, past loading the data", 120, interval_s=0.05)
    job, app = run.training_pid() or 0, app_processes(server.process.pid)
    first = last = (time.monotonic(), sum(map(cpu_seconds, app)), cpu_seconds(job))
    while run.is_training():
        last = (time.monotonic(), sum(map(cpu_seconds, app)), cpu_seconds(job))
        time.sleep(0.5)
    page.wait_for_function(f"{watched} === '{name} (finished)'", timeout=600_000)
    wall = max(last[0] - first[0], 1e-9)
    return run, {
        "app_cpu_cores": (last[1] - first[1]) / wall,
        "job_cpu_cores": (last[2] - first[2]) / wall,
    }


def train_from_cli(name: str, epochs: int, runs: Path) -> Run:
    """`vaeapp train` as typed in a terminal, with its progress bar, on the app's defaults."""
    out = runs / name
    command = ["--data", "sample", "--arch", ARCH, "--epochs", str(epochs), "--out", str(out)]
    subprocess.run([*VAEAPP_TRAIN, *command], check=True, capture_output=True)
    return Run(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=data_dir(), help="$VAEAPP_DATA or ./data")
    args = parser.parse_args()
    os.environ["VAEAPP_DATA"] = str(args.data_dir.resolve())  # the CLI runs read the same data
    runs = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    results: dict[str, list[dict[str, float]]] = {"app": [], "cli": []}
    with running_app(runs, args.data_dir.resolve()) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for round_ in range(args.rounds):
            page = browser.new_page(viewport=VIEWPORT)
            run, cpu = train_from_page(page, server, f"app-{round_}", args.epochs, runs)
            page.close()
            results["app"].append({**throughput(run), **cpu})
            results["cli"].append(throughput(train_from_cli(f"cli-{round_}", args.epochs, runs)))
        browser.close()
    summary = {
        source: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        for source, rounds in results.items()
    }
    pairs = list(zip(results["app"], results["cli"], strict=True))
    ratio = {
        key: statistics.median(app[key] / cli[key] for app, cli in pairs) for key in summary["cli"]
    }
    print(
        json.dumps(
            {
                "config": f"sample, {ARCH}, 2-D latent, batch 128, {args.epochs} epochs",
                "rounds": results,
                "median": summary,
                "app_over_cli": ratio,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
