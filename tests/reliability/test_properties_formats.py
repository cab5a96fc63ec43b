"""Property-based, for the file types this round brought: whatever bytes an exported model
folder's model.safetensors or an imported model's ONNX graph is made of, reading the folder as
users do (the catalog, the CLI) ends in a result or a `VaeappError` (the CLI: exit 1 and one
line), and no file outside the folder changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import small_config
from tests.reliability.test_properties import PROPERTY, hostile_copy, mutated, read_as_users_do
from vaeapp.export.onnx_import import import_onnx
from vaeapp.latent.onnx_decoder import exported
from vaeapp.model.networks import build_model
from vaeapp.store.runs import DECODER_FILE, ENCODER_FILE, WEIGHTS_FILE, Run
from vaeapp.store.weights import weights_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder as `vaeapp export --model` leaves it: config.json and the weights."""
    folder = tmp_path_factory.mktemp("folder") / "model"
    folder.mkdir()
    config = small_config()
    torch.manual_seed(0)
    (folder / WEIGHTS_FILE).write_bytes(weights_bytes(build_model(config.model)))
    Run(folder).write_config(config)
    return folder


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model imported from its two ONNX graphs, as `vaeapp import` makes it."""
    root = tmp_path_factory.mktemp("imported")
    torch.manual_seed(0)
    model = build_model(small_config().model).eval()
    graphs = {
        ENCODER_FILE: exported(model.encoder, torch.zeros(1, 1, 28, 28), "x", 17, ("mu", "lv")),
        DECODER_FILE: exported(model.decoder, torch.zeros(1, 2), "z", 17),
    }
    for name, graph in graphs.items():
        (root / name).write_bytes(graph.SerializeToString())
    run = import_onnx(root / "run", root / ENCODER_FILE, root / DECODER_FILE, "bernoulli", "sample")
    return run.path


@PROPERTY
@given(draw=st.data())
def test_byte_mutated_safetensors(
    model_folder: Path, capsys: pytest.CaptureFixture[str], draw: st.DataObject
) -> None:
    with hostile_copy(model_folder) as run:
        weights = run.file(WEIGHTS_FILE)
        weights.write_bytes(mutated(weights.read_bytes(), draw.draw))
        read_as_users_do(run, capsys)


@settings(PROPERTY, max_examples=25)  # each load probes the graphs in a process of its own
@given(draw=st.data(), graph=st.sampled_from([ENCODER_FILE, DECODER_FILE]))
def test_byte_mutated_onnx_graphs(
    imported: Path, capsys: pytest.CaptureFixture[str], draw: st.DataObject, graph: str
) -> None:
    with hostile_copy(imported) as run:
        file = run.file(graph)
        file.write_bytes(mutated(file.read_bytes(), draw.draw))
        read_as_users_do(run, capsys)
