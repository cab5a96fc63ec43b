"""Model and training settings: one dataclass each, validated, with a strict JSON round trip.

The CLI flags, the app's training form and a run's `config.json` all go through these classes, so a
value is checked in one place and a saved run always records every hyperparameter it used.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from vaeapp.errors import ConfigError

ARCHITECTURES = ("conv", "mlp")  # the networks vaeapp builds and trains
IMPORTED_ARCH = "onnx"  # a VAE trained elsewhere, imported as ONNX graphs: never trained here
POSTERIORS = ("logvar", "std")  # what an imported encoder's second output is
LIKELIHOODS = ("bernoulli", "cbernoulli", "gaussian", "gaussian-learned", "dlogistic")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16", "fp16")
MAX_LATENT_DIM = 256
MAX_LAYERS = 8
MAX_HIDDEN = 8192
MAX_PROCESSES = 4096
CHANNELS = (1, 3)
MIN_SIDE, MAX_SIDE = 16, 256


@dataclass(frozen=True)
class ModelConfig:
    """What the network looks like and which pixel distribution the decoder parameterises."""

    arch: str = "conv"
    latent_dim: int = 2
    hidden: tuple[int, ...] = (512, 256)
    likelihood: str = "bernoulli"
    gaussian_std: float = 0.1
    image_shape: tuple[int, int, int] = (1, 28, 28)  # channels, height, width
    posterior: str = "logvar"  # the encoder's spread: log-variance, or (imported only) std

    # Keys a config.json written before they existed lacks; such a file takes their defaults.
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset({"image_shape", "posterior"})

    def problems(self) -> dict[str, str]:
        """Every invalid field with a message for the user; empty when the config is valid."""
        found: dict[str, str] = {}
        if self.arch not in (*ARCHITECTURES, IMPORTED_ARCH):
            found["arch"] = f"architecture must be one of {', '.join(ARCHITECTURES)}"
        if self.posterior not in POSTERIORS or (
            self.posterior != "logvar" and self.arch != IMPORTED_ARCH
        ):
            found["posterior"] = (
                "the encoder gives a log-variance ('logvar'); only an imported one may give "
                "a standard deviation ('std')"
            )
        if not _is_int(self.latent_dim) or not 1 <= self.latent_dim <= MAX_LATENT_DIM:
            found["latent_dim"] = f"latent dimension must be an integer from 1 to {MAX_LATENT_DIM}"
        if not (
            isinstance(self.hidden, tuple)
            and 1 <= len(self.hidden) <= MAX_LAYERS
            and all(_is_int(h) and 1 <= h <= MAX_HIDDEN for h in self.hidden)
        ):
            found["hidden"] = (
                f"hidden sizes must be 1 to {MAX_LAYERS} integers from 1 to {MAX_HIDDEN}"
            )
        if self.likelihood not in LIKELIHOODS:
            found["likelihood"] = f"likelihood must be one of {', '.join(LIKELIHOODS)}"
        if not _is_positive(self.gaussian_std):
            found["gaussian_std"] = "the Gaussian likelihood's standard deviation must be > 0"
        if not (
            isinstance(self.image_shape, tuple)
            and len(self.image_shape) == 3
            and all(_is_int(n) for n in self.image_shape)
            and self.image_shape[0] in CHANNELS
            and all(MIN_SIDE <= n <= MAX_SIDE for n in self.image_shape[1:])
        ):
            found["image_shape"] = (
                f"images must have 1 or 3 channels and sides of {MIN_SIDE} to {MAX_SIDE} pixels"
            )
        return found


@dataclass(frozen=True)
class TrainConfig:
    """How to optimise the (beta-weighted) ELBO."""

    data: str = "sample"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    warmup_epochs: float = 0.0
    mc_samples: int = 1
    binarize: bool = True  # Bernoulli's default: resampled each batch (Burda et al., 2015)
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    world_size: int = 1

    # Keys a config.json written before they existed lacks; such a file takes their defaults.
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset(
        {"precision", "world_size", "global_batch_size"}
    )
    # Values that follow from the settings: written to config.json for whoever reads it, and
    # checked against the settings on reading, never set.
    DERIVED: ClassVar[tuple[str, ...]] = ("global_batch_size",)

    @property
    def global_batch_size(self) -> int:
        """The images of one step: `batch_size` per process, `world_size` processes."""
        return self.batch_size * self.world_size

    def problems(self) -> dict[str, str]:
        """Every invalid field with a message for the user; empty when the config is valid."""
        found: dict[str, str] = {}
        if not isinstance(self.data, str) or not self.data.strip():
            found["data"] = "data source must be a non-empty name such as 'sample'"
        if not _is_int(self.epochs) or not 1 <= self.epochs <= 100_000:
            found["epochs"] = "epochs must be an integer from 1 to 100000"
        if not _is_int(self.batch_size) or not 1 <= self.batch_size <= 65_536:
            found["batch_size"] = "batch size must be an integer from 1 to 65536"
        if not _is_positive(self.lr) or self.lr > 100:
            found["lr"] = "learning rate must be > 0 and at most 100"
        if not _is_number(self.beta) or not 0 <= self.beta <= 1000:
            found["beta"] = "beta must be a number from 0 to 1000"
        if not _is_number(self.warmup_epochs) or not 0 <= self.warmup_epochs <= 100_000:
            found["warmup_epochs"] = "KL warm-up must be a number of epochs >= 0"
        if not _is_int(self.mc_samples) or not 1 <= self.mc_samples <= 1000:
            found["mc_samples"] = "Monte-Carlo samples must be an integer from 1 to 1000"
        if not isinstance(self.binarize, bool):
            found["binarize"] = "binarize must be true or false"
        if not _is_int(self.seed) or not 0 <= self.seed < 2**63:
            found["seed"] = "seed must be a non-negative integer"
        if self.device not in DEVICES:
            found["device"] = f"device must be one of {', '.join(DEVICES)}"
        if self.precision not in PRECISIONS:
            found["precision"] = f"precision must be one of {', '.join(PRECISIONS)}"
        if not _is_int(self.world_size) or not 1 <= self.world_size <= MAX_PROCESSES:
            found["world_size"] = f"processes must be an integer from 1 to {MAX_PROCESSES}"
        return found


@dataclass(frozen=True)
class RunConfig:
    """Everything a run directory records about how it was made."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data_source: str = ""
    command: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    SECTIONS: ClassVar[dict[str, type]] = {"model": ModelConfig, "train": TrainConfig}
    # The settings a user chooses by name (a CLI flag, a form field): every field of both sections.
    SETTINGS: ClassVar[frozenset[str]] = frozenset(
        f.name for kind in SECTIONS.values() for f in dataclasses.fields(kind) if f.init
    )

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> RunConfig:
        """A config from settings by name, defaults for the rest; not yet validated. Without a
        `likelihood`, grey images take the Bernoulli and colour ones the discretised logistic;
        without a `binarize`, the Bernoulli binarises and the other likelihoods do not."""
        chosen = {k: v for k, v in settings.items() if k in cls.SETTINGS}
        chosen.setdefault("likelihood", default_likelihood(chosen.get("image_shape")))
        chosen.setdefault("binarize", chosen["likelihood"] == "bernoulli")
        sections = {
            name: kind(**{k: v for k, v in chosen.items() if k in kind.__dataclass_fields__})
            for name, kind in cls.SECTIONS.items()
        }
        return cls(**sections)

    def problems(self) -> dict[str, str]:
        found = {f"model.{k}": v for k, v in self.model.problems().items()}
        found.update({f"train.{k}": v for k, v in self.train.problems().items()})
        if self.model.likelihood != "bernoulli" and self.train.binarize:
            found["train.binarize"] = (
                "dynamic binarisation only makes sense with 'bernoulli' (use --no-binarize)"
            )
        return found

    def validated(self) -> RunConfig:
        """Return self, or raise one ConfigError that lists every problem."""
        found = self.problems()
        if found:
            raise ConfigError("; ".join(found.values()))
        return self

    def to_json(self) -> str:
        raw = dataclasses.asdict(self)
        for name, kind in self.SECTIONS.items():
            section = getattr(self, name)
            raw[name].update({key: getattr(section, key) for key in getattr(kind, "DERIVED", ())})
        return json.dumps(raw, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """Parse and validate a saved config; missing or unknown keys, and values of the wrong
        type, are errors, not guesses. Only the keys added after the first release (each
        section's `ADDED_LATER`) may be missing: an older run takes their defaults (fp32, one
        process, 1x28x28 images), which is how it was trained."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config.json is not valid JSON ({exc.msg})") from None
        except (ValueError, RecursionError):  # digits past int's limit, nesting past the stack
            raise ConfigError("config.json holds values no config can have") from None
        if not isinstance(raw, dict):
            raise ConfigError("config.json must hold a JSON object")
        _check_keys("config.json", raw, _field_names(cls))
        sections = {name: _section(kind, raw[name], name) for name, kind in cls.SECTIONS.items()}
        versions = raw["versions"]
        if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
            raise ConfigError("config.json: 'versions' must be an object of strings")
        if not isinstance(raw["data_source"], str) or not isinstance(raw["command"], str):
            raise ConfigError("config.json: 'data_source' and 'command' must be strings")
        config = cls(
            **sections,
            data_source=raw["data_source"],
            command=raw["command"],
            versions=versions,
        ).validated()
        for name in cls.SECTIONS:
            _check_derived(getattr(config, name), raw[name], name)
        return config


def default_likelihood(image_shape: Any) -> str:
    """The Bernoulli for grey images (MNIST's classic), the discretised logistic for colour:
    a normalised likelihood of 8-bit pixels whose bits/dim compare with the literature."""
    colour = isinstance(image_shape, tuple) and image_shape[:1] == (3,)
    return "dlogistic" if colour else ModelConfig.likelihood


def parse_sizes(text: str) -> tuple[int, ...]:
    """Layer sizes written as '512,256' (what the CLI's --hidden and the form's field take)."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"expected integers separated by commas, got {text!r}") from None


def _section(kind: type, raw: Any, name: str) -> Any:
    """One section, built from its settings; the values derived from them are checked once the
    whole config is valid (`_check_derived`)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config.json: '{name}' must be an object")
    derived = getattr(kind, "DERIVED", ())
    optional = getattr(kind, "ADDED_LATER", frozenset())
    _check_keys(f"config.json '{name}'", raw, _field_names(kind) | set(derived), optional)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k not in derived}
    return kind(**values)


def _check_derived(section: Any, raw: dict[str, Any], name: str) -> None:
    """A derived value written to config.json (the global batch) must agree with its settings."""
    for key in getattr(section, "DERIVED", ()):
        if key in raw and raw[key] != getattr(section, key):
            raise ConfigError(
                f"config.json '{name}.{key}' is {raw[key]!r} but its settings give "
                f"{getattr(section, key)!r}"
            )


@functools.cache
def _field_names(kind: type) -> frozenset[str]:
    return frozenset(field.name for field in dataclasses.fields(kind))


def _check_keys(
    where: str, raw: dict[str, Any], expected: set[str], optional: frozenset[str] = frozenset()
) -> None:
    missing, unknown = expected - raw.keys() - optional, raw.keys() - expected
    if missing:
        raise ConfigError(f"{where} is missing {', '.join(sorted(missing))}")
    if unknown:
        raise ConfigError(f"{where} has unknown keys {', '.join(sorted(unknown))}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_positive(value: Any) -> bool:
    return _is_number(value) and value > 0
