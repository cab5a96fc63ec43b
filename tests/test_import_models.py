"""`vaeapp import`: a plain PyTorch VAE trained outside vaeapp (docs/import_example.py, the
README's example), exported to ONNX and imported as a user does it, scores as the user's own
torch model does and works with every command; hostile graphs are refused in one line."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from tests.app_pages import EXPLORE_PAGE, INTERPOLATE_PAGE, TRAIN_PAGE, as_read, open_page
from tests.command_line import cli_error, encode_with_cli, run_vaeapp
from tests.conftest import make_dataset
from vaeapp.cli import main
from vaeapp.data.sources import load_dataset
from vaeapp.errors import GraphError, RunError
from vaeapp.latent.onnx_decoder import decoder_onnx
from vaeapp.model.evaluate import evaluate_test_set
from vaeapp.model.likelihoods import Bernoulli
from vaeapp.model.networks import VAE
from vaeapp.paths import runs_dir
from vaeapp.store import onnx_graphs
from vaeapp.store.catalog import entries, summarise
from vaeapp.store.runs import Run
from vaeapp.training.resume import plan_resume

pytestmark = pytest.mark.slow  # trains the tutorial's VAE and runs the CLI in processes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "import_example.py"
K, SEED = 4, 0
IMPORT = ["--likelihood", "bernoulli", "--data", "sample"]
MODULE = "import_example:tutorial_vae"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return _example()


@pytest.fixture(scope="module")
def trained(
    example: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> tuple[nn.Module, Path]:
    """The README's VAE trained one epoch on a thousand of its digits, and its ONNX files."""
    torch.manual_seed(0)
    model = example.VAE()
    example.train(model, example.mnist_images()[:1000], epochs=1)
    out = tmp_path_factory.mktemp("exported")
    example.export(model, out)
    return model.eval(), out


@pytest.fixture(scope="module")
def imported(trained: tuple[nn.Module, Path], tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`vaeapp import` in its own process, as the README runs it."""
    _, exported = trained
    out = tmp_path_factory.mktemp("runs") / "tutorial"
    done = run_vaeapp(
        "import",
        "tutorial",
        "--encoder",
        str(exported / "encoder.onnx"),
        "--decoder",
        str(exported / "decoder.onnx"),
        *IMPORT,
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "2-D codes, 1x28x28 images, bernoulli likelihood" in done.stdout
    return Run(out)


@pytest.fixture(scope="module", params=["vae.pt", "vae.safetensors"])
def module_imported(
    request: pytest.FixtureRequest,
    trained: tuple[nn.Module, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    """`vaeapp import --module` in its own process, docs/ on PYTHONPATH, with the weights the
    example saves (torch.save of the state dict) or the same as safetensors."""
    model, exported = trained
    weights = exported / request.param
    if not weights.exists():
        save_file(model.state_dict(), weights)
    out = tmp_path_factory.mktemp("runs") / "tutorial"
    path = os.pathsep.join([str(EXAMPLE.parent), str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = run_vaeapp(
        *["import", "tutorial", "--module", MODULE, "--weights", str(weights), *IMPORT],
        *["--out", str(out)],
        env={**os.environ, "PYTHONPATH": path},
    )
    assert done.returncode == 0, done.stderr
    assert "2-D codes, 1x28x28 images, bernoulli likelihood" in done.stdout
    return Run(out)


def _users_vae(model: nn.Module) -> VAE:
    """The user's own torch modules inside vaeapp's VAE: what the imported graphs must match."""
    return VAE(model.encoder, model.decoder, Bernoulli(), 2).eval()


def test_the_run_folder_holds_the_graphs_and_a_config_only(
    imported: Run, trained: tuple[nn.Module, Path]
) -> None:
    assert sorted(p.name for p in imported.path.iterdir()) == [
        "config.json",
        "decoder.onnx",
        "encoder.onnx",
    ]
    for name in ("encoder.onnx", "decoder.onnx"):
        assert imported.file(name).read_bytes() == (trained[1] / name).read_bytes()
    config = imported.read_config()
    assert (config.model.arch, config.model.latent_dim) == ("onnx", 2)
    assert config.model.image_shape == (1, 28, 28) and config.train.data == "sample"
    assert config.command.startswith("vaeapp import tutorial --encoder ")
    assert imported.is_imported() and imported.is_model_folder()


def test_vaeapp_scores_the_graphs_as_the_users_torch_model(
    imported: Run, trained: tuple[nn.Module, Path]
) -> None:
    images = make_dataset(n_test=40).test.images
    model, config = imported.load_model()
    ours = evaluate_test_set(model, config, images, K, SEED)
    theirs = evaluate_test_set(_users_vae(trained[0]), config, images, K, SEED)
    assert ours.elbo == pytest.approx(theirs.elbo, abs=1e-4)
    assert ours.log_likelihood == pytest.approx(theirs.log_likelihood, abs=1e-4)
    assert ours.kl == pytest.approx(theirs.kl, abs=1e-4)


def test_the_module_route_scores_as_the_onnx_route_and_the_users_model(
    module_imported: Run, imported: Run, trained: tuple[nn.Module, Path]
) -> None:
    assert sorted(p.name for p in module_imported.path.iterdir()) == [
        "config.json",
        "decoder.onnx",
        "encoder.onnx",
    ]
    assert module_imported.read_config().command.startswith("vaeapp import tutorial --module ")
    images = make_dataset(n_test=40).test.images
    config = imported.read_config()
    models = [module_imported.load_model()[0], imported.load_model()[0], _users_vae(trained[0])]
    module_route, onnx_route, theirs = (
        evaluate_test_set(model, config, images, K, SEED) for model in models
    )
    for other in (onnx_route, theirs):
        assert module_route.elbo == pytest.approx(other.elbo, abs=1e-4)
        assert module_route.log_likelihood == pytest.approx(other.log_likelihood, abs=1e-4)


def test_one_output_of_mean_and_std_scores_as_mean_and_logvar(
    trained: tuple[nn.Module, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An encoder giving [B, 2D] of mean then standard deviation, imported with
    --posterior std, is the same posterior."""
    user, exported = trained

    class MeanAndStd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = user.encoder

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mu, logvar = self.encoder(x)
            return torch.cat([mu, torch.exp(0.5 * logvar)], dim=1)

    encoder = tmp_path / "encoder.onnx"
    _export(MeanAndStd(), torch.zeros(1, 1, 28, 28), encoder)
    out = tmp_path / "std"
    argv = ["import", "std", "--encoder", str(encoder), "--decoder", str(exported / "decoder.onnx")]
    assert main([*argv, *IMPORT, "--posterior", "std", "--out", str(out)]) == 0
    images = make_dataset(n_test=20).test.images
    model, config = Run(out).load_model()
    ours = evaluate_test_set(model, config, images, K, SEED)
    theirs = evaluate_test_set(_users_vae(user), config, images, K, SEED)
    assert ours.elbo == pytest.approx(theirs.elbo, abs=1e-4)


def test_the_browsers_decoder_decodes_as_decode_mean(imported: Run) -> None:
    model, _ = imported.load_model()
    session = onnxruntime.InferenceSession(decoder_onnx(model))
    z = torch.randn(7, 2, generator=torch.Generator().manual_seed(3))
    (shown,) = session.run(None, {"z": z.numpy()})
    np.testing.assert_allclose(shown, model.decode_mean(z).numpy(), atol=1e-6)


def test_evaluate_encode_interpolate_on_the_command_line(
    imported: Run,
    photos: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = str(imported.path)
    assert main(["evaluate", run, "-k", "2", "--limit", "20", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] == 20 and figures["log_likelihood"] >= figures["elbo"] - 1e-3
    rows = encode_with_cli(run, photos, capsys)
    assert [len(row["mean"]) for row in rows] == [2, 2]
    strip = tmp_path / "strip.png"
    assert main(["interpolate", run, *map(str, photos), "--steps", "4", "-o", str(strip)]) == 0
    assert strip.stat().st_size > 0


def test_listed_but_never_trained(imported: Run, capsys: pytest.CaptureFixture[str]) -> None:
    listed, unreadable = entries(imported.path.parent)
    assert [entry.name for entry in listed][-1] == "tutorial" and not unreadable
    assert summarise(imported).epochs_done is None
    with pytest.raises(RunError, match="imported model.*does not own its optimiser"):
        plan_resume(imported, 1)
    refused = cli_error(["train", "--resume", str(imported.path), "--epochs", "20"], capsys)
    assert "imported model" in refused


def _copy(run: Run, folder: Path) -> Run:
    """The run folder as someone hands it over: its files, copied."""
    folder.mkdir(parents=True)
    for path in run.path.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return Run(folder)


def test_a_graph_swapped_in_the_run_folder_is_refused_on_loading(
    imported: Run, tmp_path: Path
) -> None:
    copy = _copy(imported, tmp_path / "copy")
    copy.file("decoder.onnx").write_bytes(_evil_operator(imported.file("decoder.onnx")))
    with pytest.raises(GraphError, match="outside ONNX's standard set"):
        copy.load_model()


def test_a_folder_handed_over_is_probed_on_its_first_load_in_a_process(
    imported: Run,
    trained: tuple[nn.Module, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A decoder that passes the static checks but gives NaN is refused on loading as at
    import; graphs that passed are not run again, in whatever folder they are."""
    monkeypatch.setattr(onnx_graphs, "_PROBED", set())
    nan = _copy(imported, tmp_path / "nan")
    _hostile_decoder("nan", imported.file("decoder.onnx"), nan.path)
    with pytest.raises(GraphError, match=f"{nan.path}: the decoder gives non-finite values"):
        nan.load_model()
    probes: list[object] = []
    real_run = subprocess.run
    monkeypatch.setattr(
        subprocess, "run", lambda *args, **kwargs: probes.append(args) or real_run(*args, **kwargs)
    )
    for name in ("first", "second"):
        copy = _copy(imported, tmp_path / name)
        copy.load_model()
        copy.load_model()
    assert len(probes) == 1


# --- hostile graphs -----------------------------------------------------------------------


def _export(module: nn.Module, example: torch.Tensor, path: Path, batch_free: bool = True) -> None:
    torch.onnx.export(
        module,
        (example,),
        path,
        input_names=["in"],
        output_names=["out"],
        dynamic_axes={"in": {0: "batch"}, "out": {0: "batch"}} if batch_free else None,
        dynamo=False,
    )


def _evil_operator(path: Path) -> bytes:
    graph = onnx.load(path)
    last = graph.graph.node[-1]
    last.output[0], inner = "hidden", last.output[0]
    graph.graph.node.append(onnx.helper.make_node("Evil", ["hidden"], [inner], domain="com.evil"))
    graph.opset_import.append(onnx.helper.make_opsetid("com.evil", 1))
    return graph.SerializeToString()


class _Decoder(nn.Module):
    """z -> logits of a chosen side, times `scale` (NaN for non-finite output)."""

    def __init__(self, side: int = 28, scale: float = 1.0) -> None:
        super().__init__()
        self.layer, self.side, self.scale = nn.Linear(2, side * side), side, scale

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layer(z).view(-1, 1, self.side, self.side) * self.scale


def _hostile_decoder(kind: str, good: Path, folder: Path) -> Path:
    path = folder / "decoder.onnx"
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "pickle":
        path.write_bytes(b"\x80\x04\x95" + b"cos\nsystem\n" * 4)
    elif kind == "wrong-size":
        _export(_Decoder(side=27), torch.zeros(1, 2), path)
    elif kind == "nan":
        _export(_Decoder(scale=float("nan")), torch.zeros(1, 2), path)
    elif kind == "fixed-batch":
        _export(_Decoder(), torch.zeros(1, 2), path, batch_free=False)
    elif kind == "evil-op":
        path.write_bytes(_evil_operator(good))
    elif kind == "external-data":  # as onnx.save(..., location="../x.bin") would write it
        graph = onnx.load(good)
        tensor = graph.graph.initializer[0]
        onnx.external_data_helper.set_external_data(tensor, location="../outside.bin")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        tensor.ClearField("raw_data")
        path.write_bytes(graph.SerializeToString())
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("truncated", "not an ONNX model"),
        ("pickle", "not an ONNX model"),
        ("wrong-size", "the decoder must give the likelihood's parameters [batch, 1, 28, 28]"),
        ("nan", "non-finite values"),
        ("fixed-batch", "free batch axis"),
        ("evil-op", "outside ONNX's standard set (com.evil)"),
        ("external-data", "external data files"),
    ],
)
def test_hostile_decoders_are_refused_in_one_line(
    trained: tuple[nn.Module, Path],
    tmp_path: Path,
    kind: str,
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exported = trained[1]
    hostile = _hostile_decoder(kind, exported / "decoder.onnx", tmp_path)
    out = tmp_path / "out"
    argv = ["import", "x", "--encoder", str(exported / "encoder.onnx"), "--decoder", str(hostile)]
    error = cli_error([*argv, *IMPORT, "--out", str(out)], capsys)
    assert words in error
    assert not out.exists()


BAD_VAES = """
import torch
from import_example import VAE


def raises():
    raise ValueError("no GPU named cuda:7")


class OneOutput(VAE):
    def encode(self, x):
        return torch.cat(self.encoder(x), dim=1)


def one_output():
    return OneOutput()
"""


class _Evil:
    """A pickle that runs a command when loaded without weights_only."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize(
    ("target", "weights", "words"),
    [
        ("no_such_module:vae", "vae.pt", "cannot import no_such_module: No module named"),
        ("import_example:no_such", "vae.pt", "import_example has no function or class no_such"),
        ("bad_vaes:raises", "vae.pt", "bad_vaes:raises raised no GPU named cuda:7"),
        ("bad_vaes:one_output", "vae.pt", "encode must return (mean, log-variance), [2, D] each"),
        (
            MODULE,
            "renamed",
            "does not fit import_example:tutorial_vae: Error(s) in loading "
            "state_dict for VAE: Missing key(s) in state_dict",
        ),
        (MODULE, "evil", "unsupported GLOBAL posix.system"),
    ],
)
def test_hostile_modules_and_weights_are_refused_in_one_line(
    trained: tuple[nn.Module, Path],
    tmp_path: Path,
    target: str,
    weights: str,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "bad_vaes.py").write_text(BAD_VAES)
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    monkeypatch.syspath_prepend(str(tmp_path))
    path, marker = trained[1] / weights, tmp_path / "ran"
    if weights == "renamed":
        path = tmp_path / "renamed.pt"
        torch.save({f"vae.{k}": v for k, v in trained[0].state_dict().items()}, path)
    elif weights == "evil":
        path = tmp_path / "evil.pt"
        torch.save({"encoder.hidden.weight": _Evil(marker)}, path)
    out = tmp_path / "out"
    argv = ["import", "x", "--module", target, "--weights", str(path), *IMPORT]
    error = cli_error([*argv, "--out", str(out)], capsys)
    assert words in error
    assert not out.exists() and not marker.exists()


def test_a_graph_over_the_size_cap_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.onnx"
    with huge.open("wb") as sparse:
        sparse.truncate(onnx_graphs.MAX_GRAPH_BYTES + 1)
    argv = ["import", "x", "--encoder", str(huge), "--decoder", str(huge), *IMPORT]
    assert "is larger than 200 MB" in cli_error([*argv, "--out", str(tmp_path / "o")], capsys)


def test_graphs_that_run_too_long_are_refused(
    trained: tuple[nn.Module, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exported = trained[1]
    monkeypatch.setattr(onnx_graphs, "PROBE_SECONDS", 0.01)
    argv = ["import", "x", "--encoder", str(exported / "encoder.onnx")]
    argv += ["--decoder", str(exported / "decoder.onnx"), *IMPORT, "--out", str(tmp_path / "o")]
    assert "took more than 0.01 s" in cli_error(argv, capsys)


def test_the_readme_shows_the_example_the_tests_run() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Explore a VAE trained anywhere" in readme
    assert "python docs/import_example.py" in readme
    assert "vaeapp import tutorial --encoder exported/encoder.onnx" in readme
    assert " ".join(IMPORT) in readme
    assert f"vaeapp import tutorial --module {MODULE} --weights exported/vae.pt" in readme


def test_the_pages_open_an_imported_model(imported: Run) -> None:
    """Saved in the runs folder, it opens in Explore and Interpolate; the Train page shows it
    without a chart and says why."""
    copy = _copy(imported, runs_dir() / "tutorial").path
    for page in (EXPLORE_PAGE, INTERPOLATE_PAGE):
        shown = open_page(page, Run(copy))
        assert not shown.exception and not shown.error, [e.value for e in shown.error]
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_watch").set_value(str(copy)).run()
    assert not app.exception
    said = " ".join(info.value for info in app.info)
    assert "imported model, trained outside vaeapp" in said and "no chart" in said


def test_explore_maps_the_images_the_user_chooses_for_an_imported_model(imported: Run) -> None:
    """The data named at import first; another source, made the model's 1x28x28 (the coloured
    64x64 shapes here), maps its own test images."""
    copy = _copy(imported, runs_dir() / "tutorial-data").path
    app = open_page(EXPLORE_PAGE, Run(copy))
    box = app.sidebar.selectbox(key=f"explore_images:{copy}")
    assert box.value == "sample" and "shapes" in box.options
    box.select("shapes").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    shown = as_read(" ".join(caption.value for caption in app.caption))
    assert f"of {len(load_dataset('shapes').test):,} test images of shapes" in shown
