"""`vaeapp train` against the tutorial's whole program, each timed as a process from start to
exit (imports, data, checks, training, the test ELBO each epoch, and vaeapp's per-epoch extras:
checkpoint, pictures, replay), on Fashion-MNIST's 60,000 images (Debian's dataset-fashion-mnist):

    python -m benchmarks.train_process [--rounds 3] [--epochs 2]

Rounds alternate which goes first; prints one JSON object with each side's wall seconds, their
medians and the ratio of the medians (target: at most 1.0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
SETTINGS = ("--latent-dim", "20", "--batch-size", "128")


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    data = f"idx:{FASHION_MNIST}"
    epochs = ("--epochs", str(args.epochs))
    plain = [sys.executable, "-m", "testkit.plain_script", "--data", data, *SETTINGS, *epochs]
    seconds: dict[str, list[float]] = {"vaeapp": [], "plain": []}
    for round_ in range(args.rounds):
        order = ("vaeapp", "plain") if round_ % 2 == 0 else ("plain", "vaeapp")
        for which in order:
            with tempfile.TemporaryDirectory() as tmp:
                ours = [sys.executable, "-m", "vaeapp", "train", "--data", data, "--arch", "mlp"]
                ours += [*SETTINGS, *epochs, "--quiet", "--out", str(Path(tmp) / "run")]
                seconds[which].append(timed(ours if which == "vaeapp" else plain))
    medians = {side: statistics.median(values) for side, values in seconds.items()}
    print(
        json.dumps(
            {
                "command": "vaeapp train --arch mlp --latent-dim 20 --batch-size 128 "
                f"--epochs {args.epochs} on Fashion-MNIST",
                "vaeapp_wall_s": seconds["vaeapp"],
                "plain_wall_s": seconds["plain"],
                "vaeapp_median_s": medians["vaeapp"],
                "plain_median_s": medians["plain"],
                "ratio": medians["vaeapp"] / medians["plain"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
