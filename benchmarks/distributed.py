"""Training on one process against two (torchrun, gloo) on this machine's CPU cores.

The same run (mlp 512-256, latent 20, on the offline sample) with the same global batch of 128:
one process with a thread per core, one process with one thread (a core's worth, the base of
the scaling), and two processes of 64 images and one thread each under torchrun. Each is the
CLI in a fresh process; rounds alternate the order. Figures per variant: images/s over the step
loop (the epoch events, median over the epochs after the first, then over rounds), the wall
time of the whole command (start-up included), and the last test ELBO, which is the same for all
up to the order of float additions: two processes take the steps of one.

    python -m benchmarks.distributed [--quick]    # from the repository root; one JSON object
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.scratch import rounds_from_command_line
from vaeapp.data.sources import load_dataset
from vaeapp.store.runs import Run
from vaeapp.training.launch import launcher

REPO = Path(__file__).resolve().parents[1]
GLOBAL_BATCH = 128
EPOCHS = 5
MODEL = ["--arch", "mlp", "--hidden", "512,256", "--latent-dim", "20", "--seed", "0"]
VARIANTS = {  # name: (processes, threads each)
    "one_process": (1, os.cpu_count() or 1),
    "one_process_one_thread": (1, 1),
    "two_processes": (2, 1),
}


def train_once(processes: int, threads: int, workdir: Path, name: str) -> dict[str, float]:
    out = workdir / name
    command = [
        *launcher(processes),
        *["-m", "vaeapp", "train", "--quiet", "--data", "sample", "--device", "cpu", *MODEL],
        *["--batch-size", str(GLOBAL_BATCH // processes), "--epochs", str(EPOCHS)],
        *["--out", str(out)],
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "VAEAPP_DATA": str(workdir / "data")}
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env=env, capture_output=True)
    wall = time.perf_counter() - started
    epochs = [e for e in Run(out).read_metrics() if e["kind"] == "epoch"]
    return {
        "img_per_s": statistics.median(e["img_per_s"] for e in epochs[1:]),
        "wall_s": wall,
        "test_elbo": epochs[-1]["test_elbo"],
    }


def distributed_figures(rounds: int) -> dict[str, object]:
    figures: dict[str, object] = {"global_batch": GLOBAL_BATCH, "epochs": EPOCHS}
    each: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        load_dataset("sample", data_dir=Path(tmp) / "data")  # converted once, before the clocks
        for r in range(rounds):
            names = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
            for name in names:
                each[name].append(train_once(*VARIANTS[name], Path(tmp), f"{name}-{r}"))
    for name, results in each.items():
        figures[name] = {
            "processes_threads": VARIANTS[name],
            **{key: statistics.median(r[key] for r in results) for key in results[0]},
            "img_per_s_each": [r["img_per_s"] for r in results],
        }
    rate = {name: figures[name]["img_per_s"] for name in VARIANTS}  # type: ignore[index]
    figures["two_processes_over_one"] = rate["two_processes"] / rate["one_process"]
    figures["two_processes_over_one_thread"] = (
        rate["two_processes"] / rate["one_process_one_thread"]
    )
    return figures


def main() -> None:
    rounds = rounds_from_command_line(__doc__.splitlines()[0])
    print(json.dumps(distributed_figures(rounds=rounds), indent=1))


if __name__ == "__main__":
    main()
