"""`vaeapp import --module`: a PyTorch VAE given as its own code and a weights file, made the
same run folder as its ONNX graphs would be.

The factory the user names ("package.module:attribute") is imported with importlib and called:
this is the only place vaeapp runs user code, and only because the user names it on their own
machine; a run folder never makes vaeapp import anything. The weights are read as data alone
(safetensors, or torch.load with weights_only=True: no pickled code runs) and loaded strictly.
`encode` runs once on a small batch to find the latent size; then encode and decode are exported
to ONNX in a temporary folder and handed to `onnx_import.import_onnx`, so the folder holds the
graphs and config.json only, and every check and the probe of an ONNX import apply.
"""

from __future__ import annotations

import importlib
import io
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from torch import nn

from vaeapp import files
from vaeapp.data.specs import check_shape, native_shape
from vaeapp.errors import UserModuleError
from vaeapp.export.onnx_import import import_onnx
from vaeapp.latent.onnx_decoder import OPSET, exported
from vaeapp.store.onnx_graphs import MAX_GRAPH_BYTES, PROBE_BATCH, first_line
from vaeapp.store.runs import DECODER_FILE, ENCODER_FILE, Run


class _Method(nn.Module):
    """One method of the user's module (encode or decode) as a module's forward, to export."""

    def __init__(self, module: nn.Module, method: str) -> None:
        super().__init__()
        self.module, self.method = module, method

    def forward(self, value: torch.Tensor) -> Any:
        return getattr(self.module, self.method)(value)


def import_module(
    out: Path,
    target: str,
    weights: Path,
    image_shape: tuple[int, int, int] | None,
    likelihood: str,
    data: str,
    posterior: str = "logvar",
    binarize: bool | None = None,
    command: str = "",
) -> Run:
    """The run folder `out` of the module `target` makes, with the weights at `weights`, on
    images of `image_shape` (default: the data source's own); a VaeappError saying what went
    wrong, before anything is written."""
    shape = image_shape or native_shape(data)
    check_shape(shape)
    module = built_module(target, weights)
    latent_dim = _latent_dim(module, shape)
    with tempfile.TemporaryDirectory(prefix="vaeapp-import-") as folder:
        encoder, decoder = Path(folder) / ENCODER_FILE, Path(folder) / DECODER_FILE
        for path, method, example, name, outputs in (
            (encoder, "encode", torch.zeros(1, *shape), "x", ("mu", "spread")),
            (decoder, "decode", torch.zeros(1, latent_dim), "z", ("params",)),
        ):
            try:
                graph = exported(_Method(module, method), example, name, OPSET, outputs)
            except Exception as exc:  # whatever the user's code or the tracer raises
                raise UserModuleError(
                    f"torch.onnx.export cannot export the module's {method} ({first_line(exc)})"
                ) from None
            path.write_bytes(graph.SerializeToString())
        return import_onnx(out, encoder, decoder, likelihood, data, posterior, binarize, command)


def built_module(target: str, weights: Path) -> nn.Module:
    """The module the factory `target` returns, with the state dict at `weights` loaded
    strictly, in eval mode."""
    module = _factory(target)
    try:
        module = module()
    except Exception as exc:  # the user's code: whatever it raises is theirs to read
        raise UserModuleError(f"{target} raised {first_line(exc)}") from None
    if not isinstance(module, nn.Module) or not all(
        callable(getattr(module, method, None)) for method in ("encode", "decode")
    ):
        raise UserModuleError(
            f"{target} returned a {type(module).__name__}, not a torch nn.Module with "
            "encode(x) -> (mean, log-variance) and decode(z) methods"
        )
    try:
        module.load_state_dict(_state_dict(weights), strict=True)
    except RuntimeError as exc:  # missing or unexpected keys, shapes that differ
        raise UserModuleError(f"{weights} does not fit {target}: {first_line(exc)}") from None
    return module.eval()


def _factory(target: str) -> Callable[[], Any]:
    """The callable "package.module:attribute" names, imported with importlib."""
    name, colon, attribute = target.partition(":")
    if not (name and colon and attribute):
        raise UserModuleError(f"--module {target!r} must be package.module:factory")
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise UserModuleError(
            f"cannot import {name}: {first_line(exc)} (is its folder on PYTHONPATH?)"
        ) from None
    except (Exception, SystemExit) as exc:  # the module's own code failed as it was imported
        raise UserModuleError(f"importing {name} raised {first_line(exc)}") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise UserModuleError(f"{name} has no function or class {attribute}")
    return factory


def _state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    """The tensors by name in a safetensors file or a weights-only torch.save file; no code
    the file may carry runs."""
    with files.problems_as(UserModuleError, f"no weights file at {path}"):
        data = files.read_bytes(path, MAX_GRAPH_BYTES, follow_links=True)
    if data[8:9] == b"{":  # safetensors: a little-endian header length, then its JSON
        try:
            state: Any = load_safetensors(data)
        except Exception as exc:  # SafetensorError and the header's JSON errors
            raise UserModuleError(
                f"{path} is a damaged safetensors file ({first_line(exc)})"
            ) from None
    else:
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError (a global it refuses), a damaged zip
            lines = [line for line in str(exc).splitlines() if line.strip()]
            reason = " ".join(lines[1:2] or lines[:1])[:200] or type(exc).__name__
            raise UserModuleError(
                f"{path} is no safetensors file nor a state dict torch.load(weights_only=True) "
                f"reads: {reason}"
            ) from None
    if not isinstance(state, Mapping) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise UserModuleError(
            f"{path} holds no state dict (tensors by name, as model.state_dict() gives)"
        )
    return state


def _latent_dim(module: nn.Module, shape: tuple[int, int, int]) -> int:
    """D, from the module's encode on a batch of PROBE_BATCH random images of `shape`."""
    x = torch.rand(PROBE_BATCH, *shape, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            codes = module.encode(x)
    except Exception as exc:  # the user's code, on images it may not take
        raise UserModuleError(
            f"the module's encode fails on images of {list(x.shape)} ({first_line(exc)}); "
            "give --image-shape C,H,W if it takes others"
        ) from None
    pair = isinstance(codes, tuple | list) and all(isinstance(c, torch.Tensor) for c in codes)
    shapes = [list(c.shape) for c in codes] if pair else []
    if (
        len(shapes) != 2
        or shapes[0] != shapes[1]
        or len(shapes[0]) != 2
        or shapes[0][0] != PROBE_BATCH
    ):
        raise UserModuleError(
            f"the module's encode must return (mean, log-variance), [{PROBE_BATCH}, D] each, "
            f"for {PROBE_BATCH} images; it returned {shapes or type(codes).__name__}"
        )
    return shapes[0][1]
