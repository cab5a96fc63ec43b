"""`vaeapp export`: a model folder loads wherever a run does, with the run's bounds and images;
its card holds the figures `evaluate` prints; a hostile folder is refused in one line."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_safetensors

from tests.command_line import cli_error, run_vaeapp
from tests.conftest import make_dataset, small_config
from vaeapp.cli import main
from vaeapp.config import ModelConfig
from vaeapp.errors import CheckpointError, RunError
from vaeapp.export.model_folder import export_model
from vaeapp.latent.codes import decode, prior_codes
from vaeapp.model.evaluate import evaluate_test_set
from vaeapp.store.catalog import DEFAULT_MODEL, entries, summarise
from vaeapp.store.runs import WEIGHTS_FILE, Run
from vaeapp.store.weights import WEIGHTS_FORMAT, WEIGHTS_VERSION
from vaeapp.training.resume import plan_resume
from vaeapp.training.trainer import Trainer

K, SEED = 3, 0
METADATA = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION}


def _exported(run: Run, images: torch.Tensor, out: Path) -> Run:
    model, config = run.load_model()
    result = evaluate_test_set(model, config, images, K, SEED)
    return export_model(model, config, images, result, out)


def _same_model(run: Run, folder: Run, images: torch.Tensor) -> None:
    """The folder's model gives the run's bounds to the float and its decoded images exactly."""
    (model, config), (loaded, loaded_config) = run.load_model(), folder.load_model()
    assert loaded_config == config
    assert evaluate_test_set(loaded, config, images, K, SEED) == evaluate_test_set(
        model, config, images, K, SEED
    )
    codes = prior_codes(16, config.model.latent_dim, seed=1)
    assert torch.equal(decode(loaded, codes), decode(model, codes))


@pytest.fixture(scope="module")
def default_folder(tmp_path_factory: pytest.TempPathFactory) -> Run:
    images = make_dataset(n_test=40).test.images
    return _exported(DEFAULT_MODEL.run, images, tmp_path_factory.mktemp("export") / "default")


def test_the_shipped_model_exported_loads_as_itself(default_folder: Run) -> None:
    _same_model(DEFAULT_MODEL.run, default_folder, make_dataset(n_test=40).test.images)
    assert default_folder.is_model_folder() and not default_folder.has_checkpoint()
    assert sorted(p.name for p in default_folder.path.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "reconstructions.png",
        "samples.png",
    ]


@pytest.mark.slow
def test_a_colour_model_exported_loads_as_itself(tmp_path: Path) -> None:
    model = ModelConfig(arch="conv", latent_dim=4, image_shape=(3, 32, 32), likelihood="bernoulli")
    config = small_config(epochs=1)
    config = type(config)(model=model, train=config.train, data_source="toy")
    grey = make_dataset(n_train=60, n_test=20)
    colour = type(grey)(
        grey.spec,
        grey.source,
        grey.classes,
        type(grey.train)(_colour(grey.train.images), grey.train.labels),
        type(grey.test)(_colour(grey.test.images), grey.test.labels),
    )
    run = Run.create(tmp_path / "colour", config)
    Trainer(run, colour).fit()
    folder = _exported(run, colour.test.images, tmp_path / "exported")
    _same_model(run, folder, colour.test.images)


def _colour(images: torch.Tensor) -> torch.Tensor:
    """Grey 28x28 bars as 3x32x32 colour images (padded, one tint a channel)."""
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    return torch.cat([padded, 0.5 * padded, 1 - padded], dim=1)


def test_the_card_holds_the_figures_evaluate_prints(default_folder: Run) -> None:
    """The folder's own score on the images it was exported with, as `evaluate` prints it."""
    card = default_folder.file("README.md").read_text()
    model, config = default_folder.load_model()
    result = evaluate_test_set(model, config, make_dataset(n_test=40).test.images, K, SEED)
    assert card.startswith("---\nlibrary_name: vaeapp\n")
    for figure in (f"{result.elbo:.3f}", f"{result.log_likelihood:.3f}"):
        assert f"value: {figure}\n" in card and f"| {figure} |" in card
    assert f"{result.bits_per_dim:.4f}" in card and f"K={K}" in card
    assert "![Samples from the prior](samples.png)" in card
    assert config.command in card and "active units | 2 of 2" in card


@pytest.mark.slow
def test_evaluate_and_export_on_the_command_line_agree(tmp_path: Path) -> None:
    """As a user runs them: export the shipped model, then `evaluate` the folder; the card
    holds what `evaluate` printed, and the folder exports again over itself."""
    out = tmp_path / "shared"
    exported = run_vaeapp("export", "default", "--model", str(out), "-k", "2")
    assert exported.returncode == 0, exported.stderr
    evaluated = run_vaeapp("evaluate", str(out), "-k", "2", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    figures = json.loads(evaluated.stdout)
    card = (out / "README.md").read_text()
    assert f"value: {figures['elbo']:.3f}\n" in card
    assert f"value: {figures['log_likelihood']:.3f}\n" in card
    assert f"value: {figures['bits_per_dim']:.4f}\n" in card
    assert run_vaeapp("export", str(out), "--model", str(out), "-k", "2").returncode == 0


@pytest.mark.slow  # runs the CLI three times
def test_export_refuses_a_folder_of_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    error = cli_error(["export", "default", "--model", str(tmp_path)], capsys)
    assert "not a vaeapp model folder" in error
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_model_folder_is_listed_and_summarised_but_never_trained(
    default_folder: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Copied into the runs folder, it is a model to pick whose epochs are unknown (no
    history), and resuming it is refused."""
    runs = tmp_path / "runs"
    copy = runs / "copied"
    copy.mkdir(parents=True)
    for path in default_folder.path.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    listed, unreadable = entries(runs)
    assert [entry.name for entry in listed][-1] == "copied" and not unreadable
    summary = summarise(Run(copy))
    assert summary.epochs_done is None and summary.epochs == "?/60"
    with pytest.raises(RunError, match="exported model folder.*cannot be trained"):
        plan_resume(Run(copy), 1)
    monkeypatch.setenv("VAEAPP_RUNS", str(runs))
    assert main(["models"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("copied"))
    assert row.split()[1:4] == ["sample", "2", "?"]
    refused = cli_error(["train", "--resume", str(copy), "--epochs", "61"], capsys)
    assert "exported model folder" in refused


# --- hostile model folders ----------------------------------------------------------------------


def _weights(folder: Run) -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    return load(folder.file(WEIGHTS_FILE).read_bytes())


def _hostile(folder: Run, tmp_path: Path, content: bytes | None = None) -> Run:
    copy = tmp_path / "hostile"
    copy.mkdir()
    for name in ("config.json", "README.md"):
        (copy / name).write_bytes(folder.file(name).read_bytes())
    if content is not None:
        (copy / WEIGHTS_FILE).write_bytes(content)
    return Run(copy)


def _with_header(header: dict, body: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


class _Boom:
    def __reduce__(self) -> tuple:
        return (print, ("pwned",))


def _altered(default_folder: Run, change: str) -> bytes:
    weights = _weights(default_folder)
    name = min(weights, key=lambda key: weights[key].numel())  # a float64 copy still fits
    if change == "wrong-size":
        weights[name] = torch.zeros(weights[name].numel() + 1)
    elif change == "missing":
        del weights[name]
    elif change == "extra":
        weights["extra.weight"] = torch.zeros(3)
    elif change == "float64":
        weights[name] = weights[name].double()
    elif change == "nan":
        weights[name] = weights[name].clone().fill_(float("nan"))
    elif change == "no-metadata":
        return save_safetensors(weights)
    return save_safetensors(weights, METADATA)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("wrong-size", "has shape"),
        ("missing", "missing"),
        ("extra", "unknown extra.weight"),
        ("float64", "not float32"),
        ("nan", "non-finite"),
        ("no-metadata", "not a vaeapp model's weights"),
    ],
)
def test_altered_weights_are_refused_in_one_line(
    default_folder: Run, tmp_path: Path, change: str, words: str
) -> None:
    hostile = _hostile(default_folder, tmp_path, _altered(default_folder, change))
    with pytest.raises(CheckpointError, match=words):
        hostile.load_model()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (pickle.dumps(_Boom()), "not a safetensors file"),
        (struct.pack("<Q", 2**62) + b"{}", "claims"),
        (
            _with_header({"__metadata__": METADATA, "x": {"dtype": "F32", "shape": [10**12]}}),
            "does not match",
        ),
        (b"\x01\x00\x00\x00\x00\x00\x00\x00[", "no JSON"),
        (b"", "not a safetensors file"),
    ],
    ids=["pickle", "huge-header", "huge-tensor", "bad-json", "empty"],
)
def test_files_that_are_no_vaeapp_safetensors_are_refused_unread(
    default_folder: Run,
    tmp_path: Path,
    content: bytes,
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile = _hostile(default_folder, tmp_path, content)
    error = cli_error(["evaluate", str(hostile.path), "-k", "1", "--limit", "2"], capsys)
    assert words in error and "pwned" not in error


def test_a_linked_weights_file_is_refused(default_folder: Run, tmp_path: Path) -> None:
    hostile = _hostile(default_folder, tmp_path)
    (hostile.path / WEIGHTS_FILE).symlink_to(default_folder.file(WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="symbolic link"):
        hostile.load_model()


def test_a_file_larger_than_the_model_can_need_is_refused(
    default_folder: Run, tmp_path: Path
) -> None:
    padded = default_folder.file(WEIGHTS_FILE).read_bytes() + b" " * (1 << 17)
    with pytest.raises(CheckpointError, match="larger than"):
        _hostile(default_folder, tmp_path, padded).load_model()
