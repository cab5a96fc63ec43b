"""Mixed precision: bf16 autocast on a CPU with native bf16, the loss, KL and state in fp32."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.command_line import run_vaeapp
from vaeapp.model.networks import build_model
from vaeapp.model.objective import elbo_terms
from vaeapp.training.precision import Precision, native_cpu_bf16
from vaeapp.training.trainer import Trainer

needs_bf16 = pytest.mark.skipif(not native_cpu_bf16(), reason="this CPU has no native bf16")


@needs_bf16
def test_bf16_runs_the_network_in_bf16_and_the_elbo_in_fp32(new_run) -> None:
    model = build_model(new_run().read_config().model)
    layer_outputs: list[torch.dtype] = []
    model.encoder.net[1][0].register_forward_hook(lambda m, i, out: layer_outputs.append(out.dtype))
    with Precision("bf16", torch.device("cpu")).autocast():
        terms = elbo_terms(model, torch.rand(4, 1, 28, 28), generator=torch.Generator())
    assert layer_outputs == [torch.bfloat16]
    assert terms.recon.dtype == terms.kl.dtype == terms.loss().dtype == torch.float32


@needs_bf16
def test_bf16_training_learns_and_keeps_fp32_weights_and_adam_state(new_run, tiny_dataset) -> None:
    run = new_run(epochs=6, precision="bf16")
    assert Trainer(run, tiny_dataset).fit() == "finished"
    epochs = [e for e in run.read_metrics() if e["kind"] == "epoch"]
    assert epochs[-1]["test_elbo"] > epochs[0]["test_elbo"] + 20
    (start,) = [e for e in run.read_metrics() if e["kind"] == "start"]
    assert start["precision"] == "bf16"
    state = run.load_checkpoint()
    assert all(t.dtype == torch.float32 for t in state["model"].values())
    moments = [v for s in state["optimizer"]["state"].values() for k, v in s.items() if k != "step"]
    assert moments and all(t.dtype == torch.float32 for t in moments)
    assert "scaler" not in state  # bf16 needs no loss scaling


@pytest.mark.slow
def test_fp16_is_refused_on_the_cpu_before_a_run_is_made(tmp_path: Path) -> None:
    out = tmp_path / "fp16"
    result = run_vaeapp(
        "train", "--precision", "fp16", "--device", "cpu", "--out", str(out), "--quiet"
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "fp16 needs a CUDA GPU" in result.stderr
    assert not out.exists()
