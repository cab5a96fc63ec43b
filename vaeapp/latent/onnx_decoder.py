"""The decoder as an ONNX model, so that a browser can decode latent codes itself.

`decoder_onnx` exports z [B, D] -> E[x | z] [B, C, H, W] in [0, 1] (the model's `image_shape`:
grey or RGB): the decoder followed by the likelihood's `mean`, the image to show, with a dynamic
batch axis. The latent map runs it with ONNX Runtime Web under the pointer; the map's content
declares the shape (`MapContent.image_shape`), and the browser checks the output against it.

The exporter is torch's TorchScript one (`dynamo=False`): it takes 0.02-0.1 s for the shipped
architectures here, where the torch.export-based exporter took 1-3 s a model (and 2 s more to
import onnxscript). It writes `torch.max` of two boolean masks (the continuous Bernoulli's
"outside the unstable region") as an ONNX Max, which ONNX defines for numbers only; on booleans
max is logical or, so those nodes become Or.

The likelihood's mean is computed in float64: the continuous Bernoulli's mean subtracts two
terms of about 1/|2p - 1| near p = 1/2 (where a fresh or undecided decoder puts many pixels), and
in float32 that loses up to 0.006. In float64 the browser's image is within 1e-6 of the exact
mean; the decoder itself stays float32.

An imported model's decoder is already a graph (`onnx_networks.OnnxDecoder`): the likelihood's
mean alone is exported, at the graph's opset and IR version, and the two are joined by
`onnx.compose.merge_models`, the user's nodes under a prefix so no name clashes with ours.
"""

from __future__ import annotations

import io
import warnings

import onnx
import torch
from torch import nn

from vaeapp.model.likelihoods import Likelihood
from vaeapp.model.networks import VAE
from vaeapp.model.onnx_networks import OnnxDecoder

INPUT, OUTPUT = "z", "image"
OPSET = 20


PARAMS, DECODER_PREFIX = "params", "decoder/"


class _ImageMean(nn.Module):
    """The likelihood's parameters -> E[x | z], computed in float64 (see the module's doc)."""

    def __init__(self, likelihood: Likelihood) -> None:
        super().__init__()
        self.likelihood = likelihood

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(params.double()).float()


class _ImageDecoder(nn.Module):
    """z -> E[x | z]: what the browser shows for a latent code."""

    def __init__(self, model: VAE) -> None:
        super().__init__()
        self.model, self.mean = model, _ImageMean(model.likelihood)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean(self.model.decode(z))


def decoder_onnx(model: VAE) -> bytes:
    """The serialised ONNX model of z [B, D] -> E[x | z] [B, C, H, W] (`model.image_shape`),
    B free."""
    if isinstance(model.decoder, OnnxDecoder):
        return _imported_decoder_onnx(model, onnx.load_from_string(model.decoder.graph))
    example = torch.zeros(1, model.latent_dim, device=model.device)
    return exported(_ImageDecoder(model), example, INPUT, OPSET).SerializeToString()


def exported(
    module: nn.Module,
    example: torch.Tensor,
    name: str,
    opset: int,
    outputs: tuple[str, ...] = (OUTPUT,),
) -> onnx.ModelProto:
    """`module` of one input, called `name`, and `outputs`, the batch axis free in all, as ONNX
    at `opset`."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated, and chosen on purpose (see the module's doc)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            (example,),
            buffer,
            input_names=[name],
            output_names=list(outputs),
            dynamic_axes={axis: {0: "batch"} for axis in (name, *outputs)},
            opset_version=opset,
            dynamo=False,
        )
    exported = onnx.load_from_string(buffer.getvalue())
    _boolean_max_as_or(exported)
    return exported


def _imported_decoder_onnx(model: VAE, decoder: onnx.ModelProto) -> bytes:
    """The user's decoder graph, then the likelihood's mean: z -> params -> E[x | z]. The
    mean is exported at the graph's opset (merge_models joins only graphs of one opset and IR
    version) and its input renamed; the graph's own input becomes `z` through an Identity."""
    opset = next(entry.version for entry in decoder.opset_import if entry.domain in ("", "ai.onnx"))
    params = torch.zeros(
        1, model.likelihood.params_per_value * model.image_shape[0], *model.image_shape[1:]
    )
    mean = exported(_ImageMean(model.likelihood), params, PARAMS, min(opset, OPSET))
    if opset > OPSET:
        mean = onnx.version_converter.convert_version(mean, opset)
    mean.ir_version = decoder.ir_version
    source, code = decoder.graph.input[0].name, "code"
    identity = onnx.helper.make_model(
        onnx.helper.make_graph(
            [onnx.helper.make_node("Identity", [INPUT], [code])],
            "z",
            [_latent(INPUT, model.latent_dim)],
            [_latent(code, model.latent_dim)],
        ),
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        ir_version=decoder.ir_version,
    )
    joined = onnx.compose.merge_models(
        identity, decoder, io_map=[(code, source)], prefix2=DECODER_PREFIX
    )
    output = DECODER_PREFIX + decoder.graph.output[0].name
    return onnx.compose.merge_models(joined, mean, io_map=[(output, PARAMS)]).SerializeToString()


def _latent(name: str, latent_dim: int) -> onnx.ValueInfoProto:
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["batch", latent_dim])


def _boolean_max_as_or(exported: onnx.ModelProto) -> None:
    """Replace Max nodes whose inputs are all booleans by Or, in place."""
    typed = onnx.shape_inference.infer_shapes(exported).graph
    element_type = {
        value.name: value.type.tensor_type.elem_type for value in [*typed.input, *typed.value_info]
    }
    for node in exported.graph.node:
        if node.op_type == "Max" and all(
            element_type.get(name) == onnx.TensorProto.BOOL for name in node.input
        ):
            node.op_type = "Or"
