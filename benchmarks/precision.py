"""Mixed precision on this machine: the Trainer in bf16 autocast against fp32.

Both train the same model on the same data with the same seed for the same epochs, in this
process; rounds alternate which precision goes first (and use seeds 0, 1, ...), so that noise
on a shared machine hits both alike. Per architecture: images/s (the epoch events' rate over
the step loop, median over the epochs after the first, then over rounds), their ratio, and the
test ELBO after the last epoch (median over rounds, and bf16 minus fp32 in each round).

    python -m benchmarks.precision [--quick]    # from the repository root; one JSON object
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data import Dataset, load_dataset
from vaeapp.precision import native_cpu_bf16
from vaeapp.runs import Run
from vaeapp.train import Trainer

ARCHITECTURES = {
    "mlp": (ModelConfig(arch="mlp", latent_dim=20, hidden=(512, 256)), 10),
    "conv": (ModelConfig(arch="conv", latent_dim=2), 4),
}  # each with its epochs
PRECISIONS = ("fp32", "bf16")
BATCH_SIZE = 128


def train_once(model: ModelConfig, dataset: Dataset, precision: str, epochs: int, seed: int):
    """Images/s (median over epochs after the first) and the last epoch's test ELBO."""
    config = RunConfig(
        model=model,
        train=TrainConfig(
            epochs=epochs, batch_size=BATCH_SIZE, seed=seed, device="cpu", precision=precision
        ),
        data_source=dataset.source,
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = Run.create(Path(tmp) / "run", config)
        Trainer(run, dataset).fit()
        epochs_seen = [e for e in run.read_metrics() if e["kind"] == "epoch"]
    rate = statistics.median(e["img_per_s"] for e in epochs_seen[1:])
    return rate, epochs_seen[-1]["test_elbo"]


def precision_figures(dataset: Dataset, rounds: int) -> dict[str, object]:
    if not native_cpu_bf16():
        return {"skipped": "this CPU has no native bf16 (AVX-512 BF16 or AMX)"}
    figures: dict[str, object] = {"data": dataset.source, "batch_size": BATCH_SIZE}
    for name, (model, epochs) in ARCHITECTURES.items():
        rates: dict[str, list[float]] = {p: [] for p in PRECISIONS}
        elbos: dict[str, list[float]] = {p: [] for p in PRECISIONS}
        for r in range(rounds):
            for precision in PRECISIONS if r % 2 == 0 else reversed(PRECISIONS):
                rate, elbo = train_once(model, dataset, precision, epochs, seed=r)
                rates[precision].append(rate)
                elbos[precision].append(elbo)
        median = {p: statistics.median(rates[p]) for p in PRECISIONS}
        figures[name] = {
            "epochs": epochs,
            **{f"{p}_img_per_s": median[p] for p in PRECISIONS},
            "bf16_speedup": median["bf16"] / median["fp32"],
            "speedup_each_round": [
                b / f for f, b in zip(rates["fp32"], rates["bf16"], strict=True)
            ],
            **{f"{p}_test_elbo": statistics.median(elbos[p]) for p in PRECISIONS},
            "elbo_bf16_minus_fp32_each_round": [
                b - f for f, b in zip(elbos["fp32"], elbos["bf16"], strict=True)
            ],
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sample = load_dataset("sample", data_dir=Path(tmp))
        print(json.dumps(precision_figures(sample, rounds=1 if args.quick else 3), indent=1))


if __name__ == "__main__":
    main()
