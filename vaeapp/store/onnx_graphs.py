"""An imported model's ONNX graphs (`encoder.onnx`, `decoder.onnx`), read as untrusted input.

A graph is protobuf: parsing one runs no code, but running one could call any operator a library
registers, read whatever files its external-data entries name, and take any time or memory. So
before a session is made, a file's size is bounded (MAX_GRAPH_BYTES) and it is parsed without
loading external data, then refused if it has any (weights in other files, which may name any
path: vaeapp imports self-contained graphs only), an operator or function outside ONNX's default
domain (a custom operator is native code), or inputs and outputs other than an encoder's
(x [B, C, H, W] -> mean and spread [B, D] each, or both as one [B, 2D]) or a decoder's
(z [B, D] -> the likelihood's parameters [B, P*C, H, W]), with a free batch axis. Sessions run on
the CPU on one thread. At import, `probe` runs both graphs once on a batch of 2 in a child
process with a time and a memory limit, and checks the outputs' shapes and that they are finite;
loading a run folder probes its graphs again the first time this process loads them (a folder
someone handed over was never imported here), remembered in memory by a hash of the graphs and
settings: a mark on disk could be handed over with the folder.

This module imports no torch, so the probe's child process starts in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vaeapp import files
from vaeapp.config import ModelConfig
from vaeapp.errors import GraphError

if TYPE_CHECKING:
    import onnx

MAX_GRAPH_BYTES = 200 * 2**20
DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})
PROBE_BATCH = 2
PROBE_SECONDS = 60.0
PROBE_MEMORY = 4 * 2**30  # the child's address space: the interpreter, the graphs, their run
_PROBED: set[str] = set()  # the hashes of the probes that passed in this process


@dataclass(frozen=True)
class Signature:
    """What a pair of graphs computes, read from their declared shapes."""

    image_shape: tuple[int, int, int]
    latent_dim: int


def read_graph(path: Path, what: str, follow_links: bool = False) -> bytes:
    """The bytes of the `what` graph at `path`, at most MAX_GRAPH_BYTES; GraphError if there is
    none, or it is a link (unless `follow_links`: a file the user named), special or too large."""
    with files.problems_as(GraphError, f"no {what} graph at {path}"):
        return files.read_bytes(path, MAX_GRAPH_BYTES, follow_links)


def checked_graph(data: bytes, what: str) -> onnx.ModelProto:
    """The parsed graph, if it is self-contained and uses ONNX's own operators alone."""
    import onnx  # half a second to import: paid where a graph is read, not by every page

    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # protobuf's DecodeError and its kin: whatever the bytes are, one line
        model = None
    if model is None or not model.graph.node:
        raise GraphError(f"the {what} is not an ONNX model (a truncated file, or another format)")
    domains = {entry.domain for entry in model.opset_import}
    domains |= {node.domain for graph in _graphs(model.graph) for node in graph.node}
    if model.functions or not domains <= DEFAULT_DOMAINS:
        custom = sorted(domains - DEFAULT_DOMAINS) or ["model-local functions"]
        raise GraphError(
            f"the {what} uses operators outside ONNX's standard set ({', '.join(custom)[:80]}); "
            "vaeapp runs only standard ONNX operators"
        )
    if any(
        t.data_location == onnx.TensorProto.EXTERNAL or t.external_data
        for graph in _graphs(model.graph)
        for t in _tensors(graph)
    ):
        raise GraphError(
            f"the {what} keeps weights in external data files; vaeapp imports self-contained "
            "ONNX files only (save with onnx.save(model, path), without save_as_external_data)"
        )
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx's ValidationError and its C++ errors
        raise GraphError(f"the {what} is no valid ONNX model ({first_line(exc)})") from None
    return model


def signature(
    encoder: onnx.ModelProto, decoder: onnx.ModelProto, outputs_per_channel: int
) -> Signature:
    """The image shape (from the encoder's input) and latent size (from the decoder's input),
    which must be declared; the rest of the declared shapes must agree with them."""
    (x,), (z,) = _inputs(encoder, "encoder", 4), _inputs(decoder, "decoder", 2)
    channels, height, width = _dims(x)[1:]
    latent = _dims(z)[1]
    if None in (channels, height, width):
        raise GraphError("the encoder's input must declare its channels, height and width")
    if latent is None:
        raise GraphError("the decoder's input must declare the latent size D: [batch, D]")
    assert channels is not None and height is not None and width is not None
    codes = _outputs(encoder, "encoder", 2)
    expected = [latent] * 2 if len(codes) == 2 else [2 * latent] if len(codes) == 1 else []
    if [_dims(v)[1] or d for v, d in zip(codes, expected, strict=False)] != expected:
        raise GraphError(
            f"the encoder must give the mean and the spread of a {latent}-D code ([batch, "
            f"{latent}] each, or one [batch, {2 * latent}]), as the decoder's input is "
            f"[batch, {latent}]; it declares {_shapes(codes)}"
        )
    (image,) = _outputs(decoder, "decoder", 4, count=1)
    wanted = [outputs_per_channel * channels, height, width]
    if [d or w for d, w in zip(_dims(image)[1:], wanted, strict=True)] != wanted:
        raise GraphError(_decoder_shape_message(wanted, _shapes([image])))
    return Signature((channels, height, width), latent)


def checked_pair(encoder: bytes, decoder: bytes, model: ModelConfig, params_per_value: int) -> None:
    """Both graphs checked, and their shapes those of `model` (a run's config.json)."""
    found = signature(
        checked_graph(encoder, "encoder"), checked_graph(decoder, "decoder"), params_per_value
    )
    if found != Signature(model.image_shape, model.latent_dim):
        raise GraphError(
            f"the graphs take {found.image_shape} images and {found.latent_dim}-D codes, but "
            f"config.json says {model.image_shape} and {model.latent_dim}"
        )


def session(data: bytes) -> Any:
    """An ONNX Runtime session of a checked graph, on the CPU, on one thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: a warning about the user's graph is no error
    try:
        return onnxruntime.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ONNX Runtime's own errors: an operator it lacks, a bad type
        raise GraphError(f"ONNX Runtime cannot run the graph ({first_line(exc)})") from None


def probe(
    encoder: bytes,
    decoder: bytes,
    found: Signature,
    outputs: int,
    posterior: str,
    once: bool = False,
) -> None:
    """Run both graphs on a batch of PROBE_BATCH in a child process limited to PROBE_SECONDS
    and PROBE_MEMORY; GraphError with what went wrong (a shape, a non-finite value, the time).
    With `once` (loading), not again for the same graphs and settings in this process."""
    job = {
        "sizes": [len(encoder), len(decoder)],
        "image_shape": found.image_shape,
        "latent_dim": found.latent_dim,
        "outputs": outputs,
        "posterior": posterior,
    }
    stdin = json.dumps(job).encode() + b"\n" + encoder + decoder
    key = hashlib.sha256(stdin).hexdigest()
    if once and key in _PROBED:
        return
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__],
            input=stdin,
            capture_output=True,
            timeout=PROBE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GraphError(
            f"the graphs took more than {PROBE_SECONDS:g} s to run on a batch of {PROBE_BATCH}; "
            "vaeapp does not import them"
        ) from None
    try:
        answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError, UnicodeDecodeError):
        answer = {"error": f"the graphs stopped ONNX Runtime (exit status {done.returncode})"}
    if answer.get("error"):
        raise GraphError(str(answer["error"]))
    _PROBED.add(key)


def _probe_child() -> None:
    """The child of `probe`: the job's graphs run on random inputs; one JSON line says how."""
    resource.setrlimit(resource.RLIMIT_AS, (PROBE_MEMORY, PROBE_MEMORY))
    source = sys.stdin.buffer
    job = json.loads(source.readline())
    encoder, decoder = (source.read(size) for size in job["sizes"])
    try:
        _run_probe(encoder, decoder, job)
        answer: dict[str, str] = {}
    except GraphError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": f"the graphs needed more than {PROBE_MEMORY / 2**30:g} GB to run"}
    print(json.dumps(answer))


def _run_probe(encoder: bytes, decoder: bytes, job: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    channels, height, width = job["image_shape"]
    latent, posterior = job["latent_dim"], job["posterior"]
    x = rng.random((PROBE_BATCH, channels, height, width), dtype=np.float32)
    codes = _run("encoder", encoder, x)
    shapes = [list(c.shape) for c in codes]
    if shapes not in ([[PROBE_BATCH, latent]] * 2, [[PROBE_BATCH, 2 * latent]]):
        raise GraphError(
            f"the encoder gives {shapes} for {PROBE_BATCH} images; expected the mean and the "
            f"spread, [{PROBE_BATCH}, {latent}] each, or one [{PROBE_BATCH}, {2 * latent}]"
        )
    spread = np.concatenate(codes, axis=1)[:, latent:]
    if posterior == "std" and not (spread > 0).all():
        raise GraphError("the encoder gives a standard deviation that is not positive")
    z = rng.standard_normal((PROBE_BATCH, latent), dtype=np.float32)
    (image,) = _run("decoder", decoder, z)
    wanted = [job["outputs"], height, width]
    if list(image.shape) != [PROBE_BATCH, *wanted]:
        raise GraphError(_decoder_shape_message(wanted, [list(image.shape)]))


def _run(what: str, graph: bytes, value: np.ndarray) -> list[np.ndarray]:
    """The graph's outputs for `value`; GraphError unless they are finite float arrays."""
    runner = session(graph)
    try:
        results = runner.run(None, {runner.get_inputs()[0].name: value})
    except MemoryError:
        raise
    except Exception as exc:  # ONNX Runtime's errors, including a failed allocation
        raise GraphError(f"the {what} failed to run ({first_line(exc)})") from None
    if not all(isinstance(r, np.ndarray) and r.dtype == np.float32 for r in results):
        raise GraphError(f"the {what} must give float32 tensors")
    if not all(np.isfinite(r).all() for r in results):
        raise GraphError(f"the {what} gives non-finite values (NaN or infinity)")
    return results


def _decoder_shape_message(wanted: list[int], found: list[Any]) -> str:
    return (
        f"the decoder must give the likelihood's parameters [batch, {', '.join(map(str, wanted))}] "
        f"(parameters times channels, height, width, as the encoder's images); it gives {found}"
    )


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """The graph and every subgraph of its nodes (If, Loop, Scan), however deep."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            own = [attribute.g] if attribute.HasField("g") else []
            for sub in [*own, *attribute.graphs]:
                yield from _graphs(sub)


def _tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Every tensor the graph itself holds: initialisers, sparse ones, node attributes."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield from (sparse.values, sparse.indices)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield from (attribute.sparse_tensor.values, attribute.sparse_tensor.indices)


def _inputs(model: onnx.ModelProto, what: str, rank: int) -> list[onnx.ValueInfoProto]:
    """The graph's one input (initialisers that older exporters list as inputs left out)."""
    weights = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in weights]
    if len(inputs) != 1:
        raise GraphError(f"the {what} must take one input; it takes {len(inputs)}")
    _check_values(inputs, what, "input", rank)
    if _dims(inputs[0])[0] is not None:
        raise GraphError(
            f"the {what}'s input must have a free batch axis (export with dynamic_axes="
            "{name: {0: 'batch'}}); it is fixed"
        )
    return inputs


def _outputs(
    model: onnx.ModelProto, what: str, rank: int, count: int = 2
) -> list[onnx.ValueInfoProto]:
    outputs = list(model.graph.output)
    if not 1 <= len(outputs) <= count:
        allowed = "one output" if count == 1 else f"one to {count} outputs"
        raise GraphError(f"the {what} must give {allowed}; it gives {len(outputs)}")
    _check_values(outputs, what, "output", rank)
    return outputs


def _check_values(values: list[onnx.ValueInfoProto], what: str, side: str, rank: int) -> None:
    import onnx

    for value in values:
        tensor = value.type.tensor_type
        if not value.type.HasField("tensor_type") or tensor.elem_type != onnx.TensorProto.FLOAT:
            raise GraphError(f"the {what}'s {side} {value.name!r} must be a float32 tensor")
        if len(tensor.shape.dim) != rank:
            raise GraphError(
                f"the {what}'s {side} {value.name!r} has {len(tensor.shape.dim)} axes, "
                f"not {rank}: {_shapes([value])}"
            )


def _dims(value: onnx.ValueInfoProto) -> list[int | None]:
    """Declared axis sizes; None where an axis is free (named or unknown)."""
    return [
        d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
        for d in value.type.tensor_type.shape.dim
    ]


def _shapes(values: list[onnx.ValueInfoProto]) -> str:
    return ", ".join(
        "[" + ", ".join("?" if d is None else str(d) for d in _dims(v)) + "]" for v in values
    )


def first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


if __name__ == "__main__":
    _probe_child()
