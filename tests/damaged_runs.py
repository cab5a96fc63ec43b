"""Ways a run directory gets broken or made hostile, shared by the CLI's tests and the app's: each
takes a run's folder and damages it in place."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import torch

from vaeapp.store.runs import Run

MARKER = "marker"  # the file a hostile checkpoint writes into its run when its code runs


class Payload:
    """Unpickling this writes a marker file: what a hostile checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.write_text, (self.marker, "code ran"))


def hostile_pickle(run: Path) -> None:
    """A plain pickle in place of the checkpoint."""
    (run / "checkpoint.pt").write_bytes(pickle.dumps({"model": Payload(run / MARKER)}))


def hostile_torch_checkpoint(run: Path) -> None:
    """A checkpoint saved by torch.save, as a real one is, with the payload among its weights."""
    torch.save({"model": {"w": Payload(run / MARKER)}}, run / "checkpoint.pt")


def truncated(run: Path) -> None:
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(data[: len(data) // 3])


def non_finite_weights(run: Path) -> None:
    state = Run(run).load_checkpoint()
    state["model"] = {name: torch.full_like(w, float("nan")) for name, w in state["model"].items()}
    Run(run).save_checkpoint(state)


def _edit_config(run: Path, edit: Callable[[dict], object]) -> None:
    config = json.loads((run / "config.json").read_text())
    edit(config)
    (run / "config.json").write_text(json.dumps(config))


def other_shapes(run: Path) -> None:
    """config.json describes another network than the checkpoint holds."""
    _edit_config(run, lambda config: config["model"].update(hidden=[65]))


def unknown_key(run: Path) -> None:
    _edit_config(run, lambda config: config["train"].update(momentum=0.9))


def missing_key(run: Path) -> None:
    _edit_config(run, lambda config: config["model"].pop("latent_dim"))
