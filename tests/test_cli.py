"""The command line as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from testkit.waiting import wait_for
from tests.command_line import VAEAPP, process_error, run_vaeapp
from tests.conftest import events
from vaeapp.data.sources import load_dataset
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.runs import Run

pytestmark = pytest.mark.slow  # every test here runs the CLI in processes of its own


def digit_folder(root: Path, per_class: int = 5) -> Path:
    """An MNIST-like image folder: real test digits as PNGs in label subfolders."""
    test = load_dataset("sample").test
    counts: dict[int, int] = {}
    for image, label in zip(test.images, test.labels.tolist(), strict=True):
        if counts.get(label, 0) == per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = (image[0] * 255).round().byte().numpy()
        Image.fromarray(pixels).save(root / str(label) / f"{counts[label]}.png")
    return root


def test_train_evaluate_on_a_folder_then_resume(tmp_path: Path) -> None:
    run = tmp_path / "RUN"
    trained = run_vaeapp(
        "train", "--data", "sample", "--latent-dim", "2", "--epochs", "3", "--out", str(run)
    )
    assert trained.returncode == 0, trained.stderr
    assert "finished" in trained.stdout and "epoch 3/3" in trained.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["command"].startswith("vaeapp train --data sample")
    assert config["data_source"].startswith("sample: 5,000 MNIST digits")
    assert set(config["versions"]) >= {"vaeapp", "torch"}

    folder = digit_folder(tmp_path / "digits")
    evaluated = run_vaeapp(
        "evaluate", str(run), "--data", f"folder:{folder}", "--importance-samples", "100", "--json"
    )
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert result["n"] == len(load_dataset(f"folder:{folder}").test)
    assert result["log_likelihood"] >= result["elbo"]
    assert -400 < result["elbo"] < -100

    resumed = run_vaeapp("train", "--resume", str(run), "--epochs", "4")
    assert resumed.returncode == 0, resumed.stderr
    assert [e["epoch"] for e in events(run, "epoch")] == [1, 2, 3, 4]


def test_evaluate_human_readable_output() -> None:
    shown = run_vaeapp("evaluate", str(DEFAULT_MODEL.path), "--limit", "50", "-k", "5")
    assert shown.returncode == 0, shown.stderr
    assert "ELBO" in shown.stdout and "log p(x), K=5" in shown.stdout


def test_sample_writes_a_grid(tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    made = run_vaeapp("sample", str(DEFAULT_MODEL.path), "--n", "16", "-o", str(out))
    assert made.returncode == 0, made.stderr
    with Image.open(out) as grid:
        assert grid.size == (4 * 30 + 2, 4 * 30 + 2)


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--epochs", "-1", "--out", "OUT"],
        ["train", "--latent-dim", "0", "--out", "OUT"],
        ["train", "--data", "no-such-source", "--out", "OUT"],
        ["train", "--lr", "abc", "--out", "OUT"],
        ["train", "--resume", "/no/such/run"],
        ["evaluate", "/no/such/run"],
        ["evaluate", str(DEFAULT_MODEL.path), "--importance-samples", "0"],
        ["sample", str(DEFAULT_MODEL.path), "--n", "0"],
        ["frobnicate"],
        [],
    ],
)
def test_bad_arguments_give_one_line_and_no_traceback(args: list[str], tmp_path: Path) -> None:
    out = tmp_path / "r"
    process_error(run_vaeapp(*(str(out) if a == "OUT" else a for a in args)))
    assert not out.exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_and_resume_finishes(tmp_path: Path, signum: int) -> None:
    run = tmp_path / "run"
    args = ["train", "--data", "sample", "--arch", "mlp", "--hidden", "64", "--epochs", "50"]
    process = subprocess.Popen(
        [*VAEAPP, *args, "--out", str(run), "--quiet"],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    metrics = run / "metrics.jsonl"
    wait_for(
        lambda: metrics.exists() and metrics.read_text().count('"step"') >= 3,
        "three steps are logged",
        timeout_s=120,
    )
    os.kill(process.pid, signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.startswith("stopped")
    progress = Run(run).load_checkpoint()["progress"]
    assert 0 < progress["global_step"] < 50 * 32
    assert Run(run).read_metrics()[-1]["status"] == "stopped"

    target = progress["epoch"] + 1
    finished = run_vaeapp("train", "--resume", str(run), "--epochs", str(target), "--quiet")
    assert finished.returncode == 0 and finished.stdout.startswith("finished"), finished.stderr
    assert [e["epoch"] for e in events(run, "epoch")] == list(range(1, target + 1))
