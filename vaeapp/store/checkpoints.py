"""Reading a checkpoint file that may come from anyone, without trusting it.

A checkpoint is a zip archive written by torch.save. Before anything is unpickled or inflated,
its size and each entry's declared size are checked against what its run's config implies (the
weights and Adam's two moments of that model), and compressed entries, which torch.save never
writes and which could inflate a small file to gigabytes, are refused. It is then read with
`torch.load(weights_only=True)`, which refuses pickles that would run code, and its parts are
checked for shape: model weights as tensors, the training position as counts, fp16's grad
scaler (if any) as a few finite numbers.
"""

from __future__ import annotations

import dataclasses
import io
import math
import pickle
import pickletools
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vaeapp import files
from vaeapp.config import ModelConfig
from vaeapp.errors import CheckpointError
from vaeapp.model.networks import build_model

CHECKPOINT_SLACK = 1 << 20  # the pickle and the progress, beyond the tensors
SUMMED = ("elbo", "recon", "kl", "n")  # the running sums of an epoch
CHECKPOINT_KEYS = {"model", "optimizer", "progress", "scaler"}


@dataclass
class TrainingPosition:
    """Where training stands: the checkpoint's "progress", so that resume continues mid-epoch
    (its epoch, the step within it, the step in all, and the epoch's running sums)."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SUMMED, 0.0))

    def add(self, terms_sum: dict[str, float]) -> None:
        for key, value in terms_sum.items():
            self.sums[key] += value

    def epoch_means(self) -> dict[str, float]:
        n = max(self.sums["n"], 1.0)
        return {f"train_{k}": self.sums[k] / n for k in ("elbo", "recon", "kl")}

    def next_epoch(self) -> None:
        self.epoch += 1
        self.step_in_epoch = 0
        self.sums = dict.fromkeys(self.sums, 0.0)

    def as_state(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, raw: Any) -> TrainingPosition | None:
        """The position a checkpoint holds, or None where it is damaged: exactly this class's
        fields, counts where it has counts, finite sums of exactly SUMMED."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if not isinstance(raw, dict) or set(raw) != set(fields):
            return None
        sums = raw["sums"]
        if not (
            isinstance(sums, dict)
            and set(sums) == set(SUMMED)
            and all(_finite(v) for v in sums.values())
        ):
            return None
        counts = [raw[name] for name in fields if name != "sums"]
        return cls(**raw) if all(_count(c) for c in counts) else None


def read_checkpoint(path: Path, model: ModelConfig) -> dict[str, Any]:
    """The checkpoint at `path` of a model described by `model`; CheckpointError with the true
    reason if it is missing, too large, not a checkpoint, asks to run code, or is damaged."""
    limit = checkpoint_limit(model)
    with files.problems_as(CheckpointError, f"{path.parent} has no checkpoint yet"):
        data = files.read_bytes(path, limit)
    _check_entries(path, data, limit)
    state = _weights_only_load(path, data)
    _check_state(path, state)
    return state


def checkpoint_limit(model: ModelConfig) -> int:
    """The most bytes a checkpoint of this model can need: its weights and Adam's two moments
    in float32, and a little for the pickle."""
    return 3 * 4 * parameter_count(model) + CHECKPOINT_SLACK


def parameter_count(model: ModelConfig) -> int:
    """The number of weights of the model `model` describes, counted without allocating them."""
    return sum(math.prod(shape) for shape in weight_shapes(model).values())


def weight_shapes(model: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor of the model's state_dict (it has no buffers, so its
    weights), read from a model built without allocating them."""
    with torch.device("meta"):
        return {name: tuple(t.shape) for name, t in build_model(model).state_dict().items()}


def _check_entries(path: Path, data: bytes, limit: int) -> None:
    """Refuse a file that is no PyTorch zip, or whose entries claim more than `limit` bytes or
    are compressed (torch.save never compresses): either could inflate far past the file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise CheckpointError(_not_a_zip(path, data)) from None
    if any(entry.compress_type != zipfile.ZIP_STORED for entry in entries):
        raise CheckpointError(f"{path} has compressed entries, which torch.save never writes")
    declared = sum(entry.file_size for entry in entries)
    if declared > limit:
        raise CheckpointError(
            f"{path} declares {declared:,} bytes of content, more than its config.json's model "
            f"can need ({limit:,})"
        )


def _not_a_zip(path: Path, data: bytes) -> str:
    """Why a file that is no zip archive is refused: a bare pickle that asks for code (what an
    attacker's file does), an old-format checkpoint, a cut-short one, or no checkpoint at all."""
    if data.startswith(b"PK\x03\x04"):
        return f"{path} is unreadable or truncated (a zip archive cut short)"
    asks = _pickled_globals(data)
    if asks:
        return (
            f"{path} is not a weights-only checkpoint and was refused: loading it would run code "
            f"stored in it (it asks for {', '.join(asks[:3])})"
        )
    if asks is not None:
        return f"{path} is in PyTorch's old format (before 1.6); load and save it again with torch"
    return f"{path} is not a PyTorch checkpoint (not a zip archive as torch.save writes)"


def _pickled_globals(data: bytes) -> list[str] | None:
    """The importable names a pickle asks for, read from its opcodes without running any; None
    if `data` is no pickle."""
    if not data.startswith(b"\x80"):
        return None
    names, strings = [], []
    try:
        for opcode, argument, _ in pickletools.genops(data):
            if isinstance(argument, str):
                strings.append(argument)
            if opcode.name == "GLOBAL":
                names.append(str(argument).replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(".".join(strings[-2:]))
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        return names or None
    return names


def _weights_only_load(path: Path, data: bytes) -> Any:
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of files it then refuses or reads fine;
            # the outcome is reported below, on one line.
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path} is not a weights-only checkpoint and was refused: "
            f"loading it would run code stored in it ({_unpickler_reason(exc)})"
        ) from None
    except Exception as exc:  # torch's unpickler fails on damaged bytes in many ways
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise CheckpointError(f"{path} is unreadable or truncated ({reason})") from None


def _check_state(path: Path, state: Any) -> None:
    """The checkpoint's shape: model weights as tensors; progress, if any, as counts."""
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise CheckpointError(f"{path} does not hold vaeapp model weights")
    unknown = set(state) - CHECKPOINT_KEYS
    if unknown:
        raise CheckpointError(f"{path} has unknown entries {', '.join(sorted(map(str, unknown)))}")
    if not all(isinstance(v, torch.Tensor) for v in state["model"].values()):
        raise CheckpointError(f"{path}: its model weights are not all tensors")
    if "progress" in state and TrainingPosition.from_state(state["progress"]) is None:
        raise CheckpointError(f"{path}: its training position is damaged (wrong types or ranges)")
    if "optimizer" in state and not isinstance(state["optimizer"], dict):
        raise CheckpointError(f"{path}: its optimizer state is damaged")
    if "scaler" in state and not _valid_scaler(state["scaler"]):
        raise CheckpointError(f"{path}: its fp16 grad scaler state is damaged")


def _valid_scaler(scaler: Any) -> bool:
    """A grad scaler's state: a few named finite numbers (its scale, factors and counters)."""
    return (
        isinstance(scaler, dict)
        and len(scaler) <= 8
        and all(isinstance(k, str) and _finite(v) for k, v in scaler.items())
    )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


def _unpickler_reason(exc: pickle.UnpicklingError) -> str:
    """The line of torch's refusal that names what the file asked for, without its advice."""
    for line in str(exc).splitlines():
        if "GLOBAL" in line or "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:")[-1].strip().rstrip(".")
    return "content other than tensors and numbers"
