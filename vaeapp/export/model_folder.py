"""`vaeapp export RUN --model DIR`: a model folder others can load without vaeapp's checkpoints.

    config.json         the run's RunConfig, as a run has it
    model.safetensors   the model's weights alone (`store.weights`): no pickle, no optimiser
    README.md           a model card in the Hugging Face Hub layout: YAML metadata, then what
                        the model was trained on and how, and its test figures
    samples.png, reconstructions.png    the grids the card shows (as a run's epoch pictures)

The card's figures are an `Evaluation` (the one `vaeapp evaluate` prints for the same K and
seed). The folder is a run to `runs.Run`, so it loads wherever a run does.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from pathlib import Path

import torch

from vaeapp import files
from vaeapp.config import RunConfig
from vaeapp.errors import RunError, WriteError
from vaeapp.latent.codes import encode_dataset
from vaeapp.model.evaluate import Evaluation, evaluation_images
from vaeapp.model.networks import VAE
from vaeapp.model.normalised import NOT_NORMALISED
from vaeapp.model.posterior import active_units
from vaeapp.store.epoch_outputs import RECONSTRUCTIONS_FILE, SAMPLES_FILE
from vaeapp.store.runs import CONFIG_FILE, WEIGHTS_FILE, Run
from vaeapp.store.weights import weights_bytes
from vaeapp.training.epoch_pictures import write_epoch_pictures

CARD_FILE = "README.md"
EXPORT_FILES = frozenset({CONFIG_FILE, WEIGHTS_FILE, CARD_FILE, RECONSTRUCTIONS_FILE, SAMPLES_FILE})


def export_model(
    model: VAE, config: RunConfig, test_images: torch.Tensor, result: Evaluation, out: Path
) -> Run:
    """Write the model folder `out` for `model`, scored as `result` on `test_images` (the data
    set's, before binarisation); refuses a folder holding anything but a previous export."""
    folder = Run(_prepared(out))
    images = evaluation_images(test_images, config.train.binarize, result.seed)
    active = active_units(encode_dataset(model, images)[0])
    write_epoch_pictures(folder, model, images, result.seed)
    files.write_atomically(folder.file(WEIGHTS_FILE), weights_bytes(model))
    card = model_card(folder.name, config, result, active)
    files.write_atomically(folder.file(CARD_FILE), card.encode())
    folder.write_config(config)  # last: a folder cut short holds no config, so is no model yet
    return folder


def _prepared(out: Path) -> Path:
    """`out`, made if missing: a new or empty folder, or a previous export (which is replaced)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise RunError(f"{out} exists and is not a folder; choose a new one")
    if out.is_dir():
        names = {entry.name for entry in itertools.islice(out.iterdir(), len(EXPORT_FILES) + 1)}
        if names and not (WEIGHTS_FILE in names and names <= EXPORT_FILES):
            raise RunError(
                f"{out} is a folder with other files in it, not a vaeapp model folder; "
                "choose a new or empty folder"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create the model folder {out}: {exc.strerror}") from None
    return out


def model_card(name: str, config: RunConfig, result: Evaluation, active: int) -> str:
    """The model card: Hugging Face's YAML header (library, tags, data set, model-index), then
    the figures as `vaeapp evaluate` prints them (3 decimals; bits/dim 4) and the pictures."""
    model, train = config.model, config.train
    figures = _figures(result)
    metrics = "".join(
        f"      - type: {metric}\n        name: {_q(label)}\n        value: {value}\n"
        for metric, label, value in figures
    )
    header = (
        "---\n"
        "library_name: vaeapp\n"
        "tags:\n"
        + "".join(
            f"- {_q(tag)}\n"
            for tag in ("vae", "variational-autoencoder", "pytorch", model.arch, model.likelihood)
        )
        + f"datasets:\n- {_q(train.data)}\n"
        + "metrics:\n"
        + "".join(f"- {metric}\n" for metric, _, _ in figures)
        + f"model-index:\n- name: {_q(name)}\n  results:\n"
        "  - task:\n      type: unconditional-image-generation\n"
        f"    dataset:\n      name: {_q(config.data_source or train.data)}\n"
        f"      type: {_q(train.data)}\n      split: test\n"
        f"    metrics:\n{metrics}---\n"
    )
    return header + _body(name, config, result, active)


def _figures(result: Evaluation) -> list[tuple[str, str, str]]:
    """(metric type, label, value as `vaeapp evaluate` prints it) for the card's figures."""
    k = result.importance_samples
    figures = [
        ("elbo", "test ELBO (nats/image)", f"{result.elbo:.3f}"),
        ("iwae", f"IWAE bound, K={k} (nats/image)", f"{result.log_likelihood:.3f}"),
    ]
    if result.discrete_log_likelihood is not None:
        figures.append(
            (
                "log-likelihood",
                "log P(8-bit x) >= (nats/image)",
                f"{result.discrete_log_likelihood:.3f}",
            )
        )
    if result.bits_per_dim is not None:
        figures.append(("bits-per-dim", "bits per dimension", f"{result.bits_per_dim:.4f}"))
    return figures


def _body(name: str, config: RunConfig, result: Evaluation, active: int) -> str:
    model, train = config.model, config.train
    channels, height, width = model.image_shape
    rows = "".join(f"| {label} | {value} |\n" for _, label, value in _figures(result))
    command = config.command or "(not recorded)"
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", command)), default=0))
    return (
        f"\n# {name}\n\n"
        f"A variational autoencoder made with vaeapp: a {model.arch} network with a "
        f"{model.latent_dim}-D latent space and a {model.likelihood} likelihood, for "
        f"{channels} x {height} x {width} images.\n\n"
        f"## Training\n\nTrained on `{train.data}` ({config.data_source or 'source not recorded'}) "
        f"for {train.epochs} epochs, batch {train.batch_size}, learning rate {train.lr:g}, "
        f"beta {train.beta:g}, seed {train.seed}"
        f"{', dynamically binarised' if train.binarize else ''}, by:\n\n"
        f"{fence}\n{command}\n{fence}\n\n"
        f"## Evaluation\n\nOn {result.n} test images (seed {result.seed}), as `vaeapp evaluate` "
        "reports them:\n\n| figure | value |\n|---|---|\n"
        f"{rows}| active units | {active} of {model.latent_dim} |\n\n"
        + ("" if result.normalised else f"These figures are {NOT_NORMALISED}.\n\n")
        + "## Pictures\n\n"
        f"![Test images above their reconstructions]({RECONSTRUCTIONS_FILE})\n\n"
        f"![Samples from the prior]({SAMPLES_FILE})\n\n"
        "## Use\n\n"
        f"{fence}\nvaeapp evaluate {shlex.quote(name)}\nvaeapp sample {shlex.quote(name)}\n"
        f"{fence}\n\n"
        "The weights are `model.safetensors` (the model's state_dict, float32); `config.json` "
        "says how to build the model.\n"
    )


def _q(text: str) -> str:
    """A YAML string: JSON's quoting is YAML's double-quoted scalar, so any text stays one."""
    return json.dumps(text)
