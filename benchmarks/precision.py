"""Mixed precision on this machine: the Trainer in bf16 autocast against fp32.

Both train the same model on the same data with the same seed for the same epochs, in this
process, on one thread; rounds alternate which precision goes first (and use seeds 0, 1, ...),
so that noise on a shared machine hits both alike. Per architecture and precision: images/s
(the step events' rates after the first epoch, median, then median over rounds), images per
CPU second of the whole run (evaluations included; unlike wall time, hardly moved by other
processes on the machine), the speed-ups, and the test ELBO after the last epoch (median over
rounds, and bf16 minus fp32 in each round).

One thread, because on a shared two-core machine a process of two threads stalls whenever
another process takes a core (a run took five times as long), which buries the difference.

    python -m benchmarks.precision [--quick]    # from the repository root; one JSON object
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.scratch import rounds_from_command_line, trained
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data.datasets import Dataset
from vaeapp.data.sources import load_dataset
from vaeapp.training.precision import native_cpu_bf16

ARCHITECTURES = {  # each with its epochs
    "mlp": (ModelConfig(arch="mlp", latent_dim=20, hidden=(512, 256)), 10),
    "conv": (ModelConfig(arch="conv", latent_dim=2), 4),
}
PRECISIONS = ("fp32", "bf16")
BATCH_SIZE = 128
THREADS = 1
Result = tuple[float, float, float]  # images/s, images per CPU second, test ELBO


def train_once(
    model: ModelConfig, dataset: Dataset, precision: str, epochs: int, seed: int
) -> Result:
    """Images/s (median step rate after the first epoch), images per CPU second (the whole
    run), and the last epoch's test ELBO."""
    config = RunConfig(
        model=model,
        train=TrainConfig(
            epochs=epochs, batch_size=BATCH_SIZE, seed=seed, device="cpu", precision=precision
        ),
        data_source=dataset.source,
    )
    with trained(config, dataset) as done:
        cpu, events = done.cpu_s, done.run.read_metrics()
    steps = [e for e in events if e["kind"] == "step" and e["epoch"] > 1]
    last = [e for e in events if e["kind"] == "epoch"][-1]
    images = epochs * len(dataset.train.images)
    return statistics.median(e["img_per_s"] for e in steps), images / cpu, last["test_elbo"]


def precision_figures(dataset: Dataset, rounds: int) -> dict[str, object]:
    if not native_cpu_bf16():
        return {"skipped": "this CPU has no native bf16 (AVX-512 BF16 or AMX)"}
    figures: dict[str, object] = {
        "data": dataset.source,
        "batch_size": BATCH_SIZE,
        "threads": THREADS,
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        for name, (model, epochs) in ARCHITECTURES.items():
            figures[name] = _compare(model, dataset, epochs, rounds)
    finally:
        torch.set_num_threads(threads)
    return figures


def _compare(model: ModelConfig, dataset: Dataset, epochs: int, rounds: int) -> dict[str, object]:
    results: dict[str, list[Result]] = {p: [] for p in PRECISIONS}
    for r in range(rounds):
        for precision in PRECISIONS if r % 2 == 0 else reversed(PRECISIONS):
            results[precision].append(train_once(model, dataset, precision, epochs, seed=r))

    def median(precision: str, index: int) -> float:
        return statistics.median(result[index] for result in results[precision])

    def each_round(index: int, combine: Callable[[float, float], float]) -> list[float]:
        pairs = zip(results["fp32"], results["bf16"], strict=True)
        return [combine(fp32[index], bf16[index]) for fp32, bf16 in pairs]

    return {
        "epochs": epochs,
        **{f"{p}_img_per_s": median(p, 0) for p in PRECISIONS},
        **{f"{p}_img_per_cpu_s": median(p, 1) for p in PRECISIONS},
        "bf16_speedup": median("bf16", 0) / median("fp32", 0),
        "bf16_speedup_each_round": each_round(0, lambda f, b: b / f),
        "bf16_speedup_cpu": median("bf16", 1) / median("fp32", 1),
        "bf16_speedup_cpu_each_round": each_round(1, lambda f, b: b / f),
        **{f"{p}_test_elbo": median(p, 2) for p in PRECISIONS},
        "elbo_bf16_minus_fp32_each_round": each_round(2, lambda f, b: b - f),
    }


def main() -> None:
    rounds = rounds_from_command_line(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        sample = load_dataset("sample", data_dir=Path(tmp))
        print(json.dumps(precision_figures(sample, rounds=rounds), indent=1))


if __name__ == "__main__":
    main()
