"""A VAE trained elsewhere, as ONNX graphs that ONNX Runtime runs on the CPU: an encoder and a
decoder module with the signatures of `networks`' own, so that `VAE`, and everything built on
its encode and decode (the bounds, codes, samples, the pages), works on it unchanged.

The sessions come checked from `store.onnx_graphs`; tensors go to NumPy on the CPU and back to
the device they came from. Nothing here has gradients: an imported model is never trained.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from vaeapp.config import ModelConfig
from vaeapp.model.likelihoods import make_likelihood
from vaeapp.model.networks import VAE


class _OnnxModule(nn.Module):
    """A session as a module. Its one buffer, empty, goes where the model is moved, so that
    `VAE.device` answers as for vaeapp's own networks."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.register_buffer("anchor", torch.empty(0), persistent=False)

    def outputs(self, value: torch.Tensor) -> list[torch.Tensor]:
        array = value.detach().to("cpu", torch.float32).contiguous().numpy()
        results = self.session.run(None, {self.input_name: array})
        return [torch.from_numpy(np.asarray(r)).to(value.device) for r in results]


class OnnxEncoder(_OnnxModule):
    """q(z|x): the graph's mean and spread, two outputs or one split in half; a standard
    deviation (`posterior` "std") turned into the log-variance `VAE.encode` gives."""

    def __init__(self, session: Any, posterior: str) -> None:
        super().__init__(session)
        self.posterior = posterior

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = self.outputs(x)
        mu, spread = codes if len(codes) == 2 else codes[0].chunk(2, dim=-1)
        return mu, 2 * torch.log(spread) if self.posterior == "std" else spread


class OnnxDecoder(_OnnxModule):
    """p(x|z): the graph's likelihood parameters. It keeps the graph's bytes, from which the
    page's in-browser decoder is made (`onnx_decoder.decoder_onnx`)."""

    def __init__(self, session: Any, graph: bytes) -> None:
        super().__init__(session)
        self.graph = graph

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.outputs(z)[0]


def imported_vae(encoder: Any, decoder: Any, decoder_graph: bytes, config: ModelConfig) -> VAE:
    """The VAE of an imported model's two sessions, with the likelihood its config declares."""
    likelihood = make_likelihood(config.likelihood, config.gaussian_std)
    return VAE(
        OnnxEncoder(encoder, config.posterior),
        OnnxDecoder(decoder, decoder_graph),
        likelihood,
        config.latent_dim,
        config.image_shape,
    )
