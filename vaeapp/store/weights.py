"""A model's weights as safetensors (`model.safetensors` of an exported model folder): written
with the format's name and version in its metadata, and read as untrusted input.

safetensors is 8 bytes of header length, a JSON header naming each tensor's dtype, shape and byte
range, then the raw bytes: no pickle, so opening one runs no code. Before any tensor is read, the
file's size is bounded by what the config's model can need, the header's length by HEADER_LIMIT,
and the header must name exactly the model's tensors, each float32 of the built model's shape,
over byte ranges inside the file; the weights must then be finite.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from vaeapp import files
from vaeapp.config import ModelConfig
from vaeapp.errors import CheckpointError
from vaeapp.store.checkpoints import weight_shapes

WEIGHTS_FORMAT = "vaeapp-model"
WEIGHTS_VERSION = "1"
HEADER_LIMIT = 1 << 16  # a few hundred bytes per tensor, a few dozen tensors
LENGTH_BYTES = 8


def weights_bytes(model: torch.nn.Module) -> bytes:
    """The model's state_dict (weights only) as safetensors, its format named in the metadata."""
    state = {
        name: t.detach().to("cpu", torch.float32).contiguous()
        for name, t in model.state_dict().items()
    }
    return save_safetensors(state, {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION})


def read_weights(path: Path, model: ModelConfig) -> dict[str, torch.Tensor]:
    """The state_dict in `path` of the model `model` describes; CheckpointError with the reason
    if it is missing, a link, too large, no safetensors, not vaeapp's, or does not fit."""
    shapes = weight_shapes(model)
    limit = LENGTH_BYTES + HEADER_LIMIT + 4 * sum(math.prod(s) for s in shapes.values())
    with files.problems_as(CheckpointError, f"{path.parent} has no {path.name}"):
        data = files.read_bytes(path, limit)
    header, length = _header(path, data)
    _check_header(path, header, shapes, len(data) - LENGTH_BYTES - length)
    try:
        state = load_safetensors(data)
    except SafetensorError as exc:
        raise CheckpointError(f"{path} is damaged ({' '.join(str(exc).split())[:200]})") from None
    if not all(torch.isfinite(t).all() for t in state.values()):
        raise CheckpointError(f"{path} holds non-finite weights")
    return state


def _header(path: Path, data: bytes) -> tuple[dict[str, Any], int]:
    """The JSON header and its length, read only if that fits HEADER_LIMIT and the file."""
    not_safetensors = f"{path} is not a safetensors file (vaeapp reads model weights only so)"
    if len(data) < LENGTH_BYTES:
        raise CheckpointError(not_safetensors)
    (length,) = struct.unpack("<Q", data[:LENGTH_BYTES])
    if length > min(HEADER_LIMIT, len(data) - LENGTH_BYTES):
        raise CheckpointError(f"{not_safetensors}: its header claims {length:,} bytes")
    try:
        header = json.loads(data[LENGTH_BYTES : LENGTH_BYTES + length])
    except (ValueError, RecursionError):
        raise CheckpointError(f"{not_safetensors}: its header is no JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{not_safetensors}: its header is no JSON object")
    return header, length


def _check_header(
    path: Path, header: dict[str, Any], shapes: dict[str, tuple[int, ...]], size: int
) -> None:
    """Exactly the model's tensors, float32, of its shapes, in byte ranges inside the `size`
    bytes after the header; and vaeapp's format and version in the metadata."""
    metadata = header.pop("__metadata__", None)
    expected = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION}
    if not isinstance(metadata, dict) or {k: metadata.get(k) for k in expected} != expected:
        raise CheckpointError(
            f"{path} is not a vaeapp model's weights (its metadata lacks format "
            f"{WEIGHTS_FORMAT!r}, version {WEIGHTS_VERSION})"
        )
    missing, extra = sorted(shapes.keys() - header.keys()), sorted(header.keys() - shapes.keys())
    if missing or extra:
        what = [
            f"missing {', '.join(missing[:3])}" if missing else "",
            f"unknown {', '.join(map(str, extra[:3]))}" if extra else "",
        ]
        raise CheckpointError(
            f"{path} does not match its config.json ({'; '.join(filter(None, what))})"
        )
    for name, shape in shapes.items():
        entry = header[name]
        if not isinstance(entry, dict) or entry.get("dtype") != "F32":
            raise CheckpointError(f"{path}: {name} is not float32")
        if entry.get("shape") != list(shape):
            raise CheckpointError(
                f"{path}: {name} has shape {entry.get('shape')}, but the config.json's model "
                f"has {list(shape)}"
            )
        offsets = entry.get("data_offsets")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets)
            and offsets[0] >= 0
            and offsets[1] - offsets[0] == 4 * math.prod(shape)
            and offsets[1] <= size
        ):
            raise CheckpointError(f"{path}: {name}'s bytes are not where its header says")
