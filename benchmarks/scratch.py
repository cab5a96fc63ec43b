"""What several benchmarks do alike: train a run in a folder thrown away afterwards, and read
`--quick` from the command line."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vaeapp.config import RunConfig
from vaeapp.data.datasets import Dataset
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer


@dataclass(frozen=True)
class Trained:
    """A run just trained: its directory (gone after the block), wall and CPU seconds."""

    run: Run
    wall_s: float
    cpu_s: float


@contextmanager
def trained(config: RunConfig, dataset: Dataset) -> Iterator[Trained]:
    """`config` trained on `dataset` by vaeapp's Trainer in a scratch directory."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Run.create(Path(tmp) / "run", config)
        wall, cpu = time.perf_counter(), time.process_time()
        Trainer(run, dataset).fit()
        yield Trained(run, time.perf_counter() - wall, time.process_time() - cpu)


def rounds_from_command_line(description: str) -> int:
    """Three rounds, or one with --quick."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="one round instead of three")
    return 1 if parser.parse_args().quick else 3
