"""The ONNX export of the decoder: valid, any batch size and image shape, the same images as
torch."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from vaeapp.config import ModelConfig
from vaeapp.latent.onnx_decoder import decoder_onnx
from vaeapp.model.networks import build_model


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64)])
@pytest.mark.parametrize("likelihood", ["bernoulli", "cbernoulli", "gaussian"])
@pytest.mark.parametrize("arch", ["conv", "mlp"])
def test_the_export_decodes_any_batch_as_torch_does(
    arch: str, likelihood: str, image_shape: tuple[int, int, int]
) -> None:
    torch.manual_seed(0)
    config = ModelConfig(
        arch=arch, latent_dim=3, hidden=(32,), likelihood=likelihood, image_shape=image_shape
    )
    model = build_model(config)
    exported = decoder_onnx(model)

    onnx.checker.check_model(onnx.load_from_string(exported), full_check=True)
    session = onnxruntime.InferenceSession(exported, providers=["CPUExecutionProvider"])
    [batch] = session.get_inputs()[0].shape[:1]
    assert isinstance(batch, str)  # a named, free dimension
    exact = copy.deepcopy(model).double()
    for size in (1, 7):
        z = 2 * torch.randn(size, 3, generator=torch.Generator().manual_seed(size))
        [images] = session.run(None, {session.get_inputs()[0].name: z.numpy()})
        with torch.no_grad():
            expected = exact.decode_mean(z.double()).numpy()
        assert images.shape == (size, *image_shape)
        assert np.abs(images - expected).max() < 1e-5
        if image_shape[0] == 3:  # colour: the planes are not one grey copied
            assert np.abs(images[:, 0] - images[:, 1]).max() > 1e-3


def test_the_continuous_bernoullis_mean_is_exact_where_float32_cancels() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="mlp", latent_dim=2, hidden=(8,), likelihood="cbernoulli"))
    with torch.no_grad():  # logits near 0: p near 1/2, where the mean's two terms nearly cancel
        model.decoder.net[0][-1].weight.mul_(1e-3)
        model.decoder.net[0][-1].bias.fill_(0.005)
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
    session = onnxruntime.InferenceSession(decoder_onnx(model), providers=["CPUExecutionProvider"])
    [images] = session.run(None, {"z": z.numpy()})
    with torch.no_grad():
        in_float32 = model.decode_mean(z).numpy()
        exact = copy.deepcopy(model).double().decode_mean(z.double()).numpy()
    assert np.abs(images - exact).max() < 1e-6
    assert np.abs(in_float32 - exact).max() > 1e-4  # what the float64 mean avoids
