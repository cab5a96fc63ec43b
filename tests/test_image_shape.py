"""The image shape is carried by the config: through config.json and the checkpoint, into
networks that take and give images of exactly that shape; old runs are 1x28x28."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vaeapp.config import ModelConfig, RunConfig
from vaeapp.errors import ConfigError
from vaeapp.model.networks import build_model, conv_stages
from vaeapp.store.catalog import SHIPPED
from vaeapp.store.runs import Run

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]


@pytest.mark.parametrize("shape", SHAPES)
def test_the_shape_survives_config_json(shape: tuple[int, int, int]) -> None:
    config = RunConfig(model=ModelConfig(image_shape=shape))
    assert RunConfig.from_json(config.to_json()).model.image_shape == shape


def test_a_config_written_before_image_shapes_is_one_channel_28_by_28() -> None:
    raw = json.loads(RunConfig().to_json())
    del raw["model"]["image_shape"]
    assert RunConfig.from_json(json.dumps(raw)).model.image_shape == (1, 28, 28)


@pytest.mark.parametrize(
    "shape", [(2, 28, 28), (3, 8, 8), (1, 28, 1000), (1, 28), (1, 28.0, 28), (True, 28, 28)]
)
def test_impossible_shapes_are_refused_in_one_line(shape: tuple) -> None:
    raw = json.loads(RunConfig().to_json())
    raw["model"]["image_shape"] = list(shape)
    with pytest.raises(ConfigError, match="1 or 3 channels and sides of 16 to 256"):
        RunConfig.from_json(json.dumps(raw))


@pytest.mark.parametrize(("side", "stages"), [(16, 1), (28, 2), (32, 2), (64, 3), (128, 4)])
def test_the_conv_networks_take_a_stage_per_doubling(side: int, stages: int) -> None:
    assert conv_stages((3, side, side))[0] == stages


@pytest.mark.parametrize("arch", ["conv", "mlp"])
@pytest.mark.parametrize("shape", [*SHAPES, (3, 30, 44)])
def test_networks_take_and_give_images_of_the_configured_shape(
    arch: str, shape: tuple[int, int, int]
) -> None:
    model = build_model(ModelConfig(arch=arch, latent_dim=3, hidden=(32,), image_shape=shape))
    mu, logvar = model.encode(torch.rand(2, *shape))
    assert mu.shape == logvar.shape == (2, 3)
    assert model.decode_mean(mu).shape == (2, *shape)
    assert model.image_shape == shape


@pytest.mark.parametrize("name", ["default", "digits-16d"])
def test_one_channel_28_by_28_keeps_the_shipped_architecture(name: str) -> None:
    shipped, config = next(m for m in SHIPPED if m.name == name).run.load_model()
    assert config.model.image_shape == (1, 28, 28)
    fresh = build_model(config.model)
    assert {k: v.shape for k, v in fresh.state_dict().items()} == {
        k: v.shape for k, v in shipped.state_dict().items()
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_the_shape_survives_the_checkpoint(tmp_path: Path, shape: tuple[int, int, int]) -> None:
    config = replace(RunConfig(), model=ModelConfig(latent_dim=2, image_shape=shape))
    run = Run.create(tmp_path / "run", config)
    torch.manual_seed(0)
    model = build_model(config.model)
    run.save_checkpoint({"model": model.state_dict()})
    loaded, read = run.load_model()
    z = torch.randn(4, 2)
    assert read.model.image_shape == shape
    assert torch.equal(loaded.decode_mean(z), model.eval().decode_mean(z))
