"""Validation and the strict JSON round trip of run configs."""

from __future__ import annotations

import json

import pytest

from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.errors import ConfigError


def test_round_trip_keeps_every_field() -> None:
    config = RunConfig(
        model=ModelConfig(arch="mlp", latent_dim=16, hidden=(300, 100), likelihood="cbernoulli"),
        train=TrainConfig(epochs=3, beta=4.0, warmup_epochs=1.5, seed=9, binarize=False),
        data_source="sample: …",
        command="vaeapp train",
        versions={"torch": "2"},
    )
    assert RunConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("model", "train", "field"),
    [
        ({"latent_dim": 0}, {}, "model.latent_dim"),
        ({"latent_dim": 257}, {}, "model.latent_dim"),
        ({"arch": "resnet"}, {}, "model.arch"),
        ({"hidden": ()}, {}, "model.hidden"),
        ({"likelihood": "poisson"}, {}, "model.likelihood"),
        ({}, {"epochs": -1}, "train.epochs"),
        ({}, {"batch_size": 0}, "train.batch_size"),
        ({}, {"lr": 0.0}, "train.lr"),
        ({}, {"lr": float("nan")}, "train.lr"),
        ({}, {"beta": -1.0}, "train.beta"),
        ({}, {"warmup_epochs": -2.0}, "train.warmup_epochs"),
        ({}, {"seed": -3}, "train.seed"),
        ({}, {"device": "tpu"}, "train.device"),
        ({}, {"precision": "fp8"}, "train.precision"),
        ({}, {"world_size": 0}, "train.world_size"),
        ({"likelihood": "gaussian"}, {"binarize": True}, "train.binarize"),
    ],
)
def test_out_of_range_values_are_named(model: dict, train: dict, field: str) -> None:
    config = RunConfig(model=ModelConfig(**model), train=TrainConfig(**train))
    assert field in config.problems()
    with pytest.raises(ConfigError):
        config.validated()


def test_defaults_are_valid_and_binarise_for_the_bernoulli() -> None:
    assert RunConfig().problems() == {}
    assert RunConfig().model.likelihood == "bernoulli" and RunConfig().train.binarize


def test_settings_by_name_fill_both_sections_and_the_rest_keep_their_defaults() -> None:
    config = RunConfig.from_settings(
        {"arch": "mlp", "latent_dim": 8, "epochs": 3, "world_size": 2, "out": "ignored"}
    )
    assert (config.model.arch, config.model.latent_dim) == ("mlp", 8)
    assert (config.train.epochs, config.train.world_size) == (3, 2)
    assert config.train.global_batch_size == 2 * config.train.batch_size
    assert config.model.hidden == ModelConfig().hidden and config.train.lr == TrainConfig().lr
    assert "global_batch_size" not in RunConfig.SETTINGS  # derived, never chosen


@pytest.mark.parametrize(
    ("likelihood", "given", "binarize"),
    [("bernoulli", {}, True), ("gaussian", {}, False), ("bernoulli", {"binarize": False}, False)],
)
def test_binarising_follows_the_likelihood_unless_chosen(
    likelihood: str, given: dict, binarize: bool
) -> None:
    config = RunConfig.from_settings({"likelihood": likelihood, **given})
    assert config.train.binarize is binarize
    assert config.problems() == {}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: raw["model"].pop("latent_dim"), "missing latent_dim"),
        (lambda raw: raw["train"].update(momentum=0.9), "unknown keys momentum"),
        (lambda raw: raw.pop("versions"), "missing versions"),
        (lambda raw: raw.update(extra=1), "unknown keys extra"),
    ],
)
def test_missing_or_unknown_keys_are_refused(edit, message: str) -> None:
    raw = json.loads(RunConfig().to_json())
    edit(raw)
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_json(json.dumps(raw))


def test_invalid_json_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        RunConfig.from_json("{not json")


def test_a_config_from_before_precision_and_processes_takes_their_defaults() -> None:
    raw = json.loads(RunConfig(train=TrainConfig(batch_size=64)).to_json())
    for key in ("precision", "world_size", "global_batch_size"):
        del raw["train"][key]
    train = RunConfig.from_json(json.dumps(raw)).train
    assert (train.precision, train.world_size, train.global_batch_size) == ("fp32", 1, 64)


def test_the_global_batch_is_recorded_and_must_follow_from_its_settings() -> None:
    config = RunConfig(train=TrainConfig(batch_size=50, world_size=4))
    raw = json.loads(config.to_json())
    assert raw["train"]["global_batch_size"] == 200
    raw["train"]["global_batch_size"] = 100
    with pytest.raises(ConfigError, match="global_batch_size' is 100 but its settings give 200"):
        RunConfig.from_json(json.dumps(raw))
