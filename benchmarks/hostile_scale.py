"""The app at scale: the Train page on a run whose metrics.jsonl is 200 MB, and Explore and Train
with 5,000 saved runs under the runs folder; seconds until each page settles in Chromium, and the
app server's peak memory. Targets: under 500 MB of server memory, settled under 5 s. The same two
pages on a folder of one run give the floor: what a fresh server costs whatever the runs folder.

    python -m benchmarks.hostile_scale [--runs 5000] [--metrics-mb 200]   # from the repo root

Prints one JSON object. Each page of each case gets a fresh `streamlit run app.py` (its peak
memory is that server's VmHWM, read after the page's two visits: a server that shows only the
Train page never imports torch, one that shows Explore does). A page's seconds run from the
request to
the page settled: its title drawn, what it is for shown (the Train page's progress bar at the
run's last epoch; Explore's map with its decoder), and no script run for half a second; `first`
is the server's first session (nothing cached), `again` a second session on the same server.
The runs are written as the trainer writes them (`events.encode_event`), each holding the shipped
default model's config and a hard link to its checkpoint, so 5,000 runs take seconds and no space.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from testkit.app_server import AppServer, running_app
from testkit.chromium import VIEWPORT, launch_chromium, wait_until_quiet
from testkit.explore_page import READY, SETTLE_MS
from vaeapp.paths import data_dir
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.events import FINISHED, encode_event
from vaeapp.store.runs import Run

TARGET_MB, TARGET_S = 500, 5.0
STEPS_PER_EPOCH = 1000
N_TRAIN = 128_000
TIMEOUT_MS = 120_000


def new_run(path: Path, epochs: int) -> Run:
    """A run of the default model's config trained for `epochs`, its checkpoint a hard link."""
    config = DEFAULT_MODEL.run.read_config()
    run = Run.create(path, replace(config, train=replace(config.train, epochs=epochs)))
    os.link(DEFAULT_MODEL.run.checkpoint_path, run.checkpoint_path)
    return run


def epoch_event(epoch: int, when: float) -> dict:
    return {"kind": "epoch", "epoch": epoch, "time": when, "train_elbo": -150.0 + 1 / epoch,
            "test_elbo": -155.0 + 1 / epoch, "test_recon": -150.0, "test_kl": 5.0,
            "img_per_s": 5000.0}  # fmt: skip


def step_event(step: int, when: float) -> dict:
    return {"kind": "step", "epoch": -(-step // STEPS_PER_EPOCH), "step": step,
            "elbo": -150.0 - 1e-6 * step, "recon": -145.0, "kl": 5.0, "beta": 1.0,
            "img_per_s": 6400.0, "time": when}  # fmt: skip


def write_metrics(run: Run, epochs: int) -> None:
    """Start, step and epoch events as the trainer writes them for `epochs`, then its end."""
    when = 1.8e9
    with run.metrics_path.open("wb") as out:
        out.write(encode_event({"kind": "start", "epoch": 0, "step": 0, "epochs": epochs,
                                "steps_per_epoch": STEPS_PER_EPOCH, "n_train": N_TRAIN,
                                "device": "cpu", "resumed": False, "world_size": 1,
                                "precision": "fp32", "time": when}))  # fmt: skip
        for step in range(1, epochs * STEPS_PER_EPOCH + 1):
            when += 0.02
            out.write(encode_event(step_event(step, when)))
            if step % STEPS_PER_EPOCH == 0:
                out.write(encode_event(epoch_event(step // STEPS_PER_EPOCH, when)))
        out.write(encode_event({"kind": "end", "status": FINISHED, "epoch": epochs, "time": when}))


def long_run(root: Path, megabytes: float) -> int:
    """One finished run whose metrics file holds about `megabytes`; its epochs."""
    per_epoch = len(encode_event(step_event(10**6, 1.8e9))) * STEPS_PER_EPOCH
    epochs = round(megabytes * 1e6 / per_epoch)
    write_metrics(new_run(root / "long", epochs), epochs)
    return epochs


def many_runs(root: Path, count: int) -> None:
    """`count` finished runs of two epochs each (a step logged per epoch)."""
    for i in range(count):
        run = new_run(root / f"run-{i:05d}", epochs=2)
        with run.metrics_appender() as append:
            append({"kind": "start", "epoch": 0, "step": 0, "epochs": 2,
                    "steps_per_epoch": STEPS_PER_EPOCH, "n_train": N_TRAIN,
                    "time": 1.8e9 + i})  # fmt: skip
            for epoch in (1, 2):
                append(step_event(epoch * STEPS_PER_EPOCH, 1.8e9 + i + epoch))
                append(epoch_event(epoch, 1.8e9 + i + epoch))
            append({"kind": "end", "status": FINISHED, "epoch": 2, "time": 1.8e9 + i + 3})


def peak_mb(server: AppServer) -> float:
    """The server process's peak resident memory so far (VmHWM)."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def progress_at(epochs: int) -> str:
    return f"""() => [...document.querySelectorAll('[data-testid="stProgress"]')]
        .some(e => e.innerText.includes('{epochs}/{epochs} epochs done'))"""


def settled_seconds(browser: Browser, url: str, condition: str) -> float | str:
    """Seconds until the page at `url` settled; what it had not done by TIMEOUT_MS, if so."""
    page: Page = browser.new_page(viewport=VIEWPORT)
    started = time.monotonic()
    try:
        page.goto(url)
        page.wait_for_selector("h1", timeout=TIMEOUT_MS)
        wait_until_quiet(page, condition, SETTLE_MS, timeout_ms=TIMEOUT_MS)
    except PlaywrightTimeoutError:
        return f"not settled after {TIMEOUT_MS / 1000:g} s"
    finally:
        page.close()
    return round(time.monotonic() - started - SETTLE_MS / 1000, 2)


def timed_page(browser: Browser, root: Path, data: Path, name: str, condition: str) -> dict:
    """A fresh server's page `name`, visited twice: seconds to settle, and its peak memory."""
    with running_app(root, data) as server:
        url = f"{server.url}/{name}"
        first = settled_seconds(browser, url, condition)
        again = settled_seconds(browser, url, condition)
        return {"first_s": first, "again_s": again, "server_peak_mb": round(peak_mb(server), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000, help="saved runs in the second case")
    parser.add_argument("--metrics-mb", type=float, default=200, help="the long run's metrics")
    args = parser.parse_args()
    data = data_dir().resolve()
    result: dict = {"targets": {"server_peak_mb": TARGET_MB, "settled_s": TARGET_S}}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        long_root, many_root, one_root = (Path(scratch, n) for n in ("long", "many", "one"))
        started = time.monotonic()
        epochs = long_run(long_root, args.metrics_mb)
        written = time.monotonic() - started
        started = time.monotonic()
        many_runs(many_root, args.runs)
        made = time.monotonic() - started
        many_runs(one_root, 1)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            result["long_metrics"] = {
                "metrics_mb": round(Run(long_root / "long").metrics_path.stat().st_size / 1e6),
                "steps": epochs * STEPS_PER_EPOCH,
                "written_s": round(written, 1),
                "train": timed_page(browser, long_root, data, "train", progress_at(epochs)),
            }
            result["many_runs"] = {
                "runs": args.runs,
                "made_s": round(made, 1),
                "explore": timed_page(browser, many_root, data, "explore", READY),
                "train": timed_page(browser, many_root, data, "train", progress_at(2)),
            }
            result["one_run"] = {  # the floor: what a fresh server costs, whatever the runs
                "explore": timed_page(browser, one_root, data, "explore", READY),
                "train": timed_page(browser, one_root, data, "train", progress_at(2)),
            }
            browser.close()
    result["machine"] = {"cores": os.cpu_count(), "load_after": os.getloadavg()[0]}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
