"""Out-of-range hyperparameters and hostile run names, in the Train page's form (streamlit.testing)
and in `vaeapp train`: a clear message, and nothing started: no process, no run directory, and no
file written outside the runs folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from testkit.waiting import wait_for
from tests.app_pages import TRAIN_PAGE, errors, following, open_page
from tests.command_line import cli_error
from vaeapp.paths import runs_dir
from vaeapp.store.runs import CONFIG_FILE, Run
from vaeapp.training import jobs
from vaeapp.training.trainer import Trainer

TOO_LOW = {
    "train_latent": (0, "Latent dimension", "latent dimension must be an integer from 1 to 256"),
    "train_beta": (-1.0, "Beta (KL weight)", "beta must be a number from 0 to 1000"),
    "train_warmup": (-1.0, "KL warm-up (epochs)", "KL warm-up must be a number of epochs >= 0"),
    "train_epochs": (0, "Epochs", "epochs must be an integer from 1 to 100000"),
    "train_batch": (0, "Batch size", "batch size must be an integer from 1 to 65536"),
    "train_lr": (0.0, "Learning rate", "learning rate must be > 0 and at most 100"),
    "train_seed": (-1, "Seed", "seed must be a non-negative integer"),
}
TOO_HIGH = {
    "train_latent": (257, *TOO_LOW["train_latent"][1:]),
    "train_beta": (1001.0, *TOO_LOW["train_beta"][1:]),
    "train_epochs": (100_001, *TOO_LOW["train_epochs"][1:]),
    "train_batch": (65_537, *TOO_LOW["train_batch"][1:]),
    "train_lr": (50_000.0, *TOO_LOW["train_lr"][1:]),
}


def children() -> set[int]:
    """The pids of this process's children (a started job would be one), from /proc."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process has just ended
            continue
        if int(fields[1]) == os.getpid():
            found.add(int(stat.parent.name))
    return found


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


@pytest.fixture
def around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cleanup: None) -> Path:
    """The folder around the runs folder, also the working directory: whatever a test writes
    where it should not lands here, where it is seen. Any job a test started is stopped."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def train_form() -> AppTest:
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_arch").set_value("mlp")
    app.number_input(key="train_epochs").set_value(1)
    return app


@pytest.mark.parametrize("values", [TOO_LOW, TOO_HIGH], ids=["too low", "too high"])
def test_out_of_range_settings_in_the_form_start_nothing(
    around: Path, values: dict[str, tuple[float, str, str]]
) -> None:
    app = train_form()
    before_files, before_children = files_under(around), children()
    for key, (value, _, _) in values.items():
        app.number_input(key=key).set_value(value)
    app.button[0].click().run()
    assert not app.exception
    messages = errors(app)
    for key, (_, label, says) in values.items():
        assert says in messages, key
        assert following(app, label) == "error", key
    assert len(messages) == len(values)
    assert files_under(around) == before_files
    assert children() == before_children and jobs.active_jobs() == []


ALLOWED = "数字-ラン ✓"
REFUSED = {
    "../x": "plain name",
    "..": "plain name",
    ".hidden": "plain name",
    "a/b": "plain name",
    "a\\b": "plain name",
    "nul\0byte": "plain name",
    "": "must not be empty",
    "   ": "must not be empty",
    "x" * 300: "too long: at most 100 characters",
    "数" * 90: "at most 255 bytes",
}


@pytest.mark.slow
def test_hostile_run_names_in_the_form_write_nothing_outside_the_runs_folder(
    around: Path,
) -> None:
    outside = around / "elsewhere"
    app = train_form()
    before = files_under(around)
    for name, says in {**REFUSED, str(outside): "plain name"}.items():
        app.text_input(key="train_name").set_value(name)
        app.button[0].click().run()
        assert not app.exception, name
        assert following(app, "Run name") == "error", name
        assert len(app.error) == 1 and says in errors(app)[0], name
        assert files_under(around) == before, name
    assert jobs.active_jobs() == []

    app.text_input(key="train_name").set_value(ALLOWED)
    app.button[0].click().run()
    assert not app.error
    run = Run(runs_dir() / ALLOWED)
    assert jobs.state(run).active
    jobs.stop(run)
    wait_for(lambda: not jobs.state(run).active, "the job has ended")
    new = files_under(around) - before
    assert new and all(path.is_relative_to(run.path) for path in new - {runs_dir()}), new


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--latent-dim", "0"], "latent dimension must be"),
        (["--latent-dim", "257"], "latent dimension must be"),
        (["--hidden", "0"], "hidden sizes must be"),
        (["--hidden", ","], "hidden sizes must be"),
        (["--gaussian-std", "0"], "standard deviation must be > 0"),
        (["--epochs", "0"], "epochs must be"),
        (["--batch-size", "0"], "batch size must be"),
        (["--lr", "0"], "learning rate must be"),
        (["--lr", "-0.1"], "learning rate must be"),
        (["--lr", "nan"], "learning rate must be"),
        (["--lr", "inf"], "learning rate must be"),
        (["--beta", "-1"], "beta must be"),
        (["--warmup-epochs", "-1"], "KL warm-up must be"),
        (["--mc-samples", "0"], "Monte-Carlo samples must be"),
        (["--seed", "-1"], "seed must be"),
        (["--likelihood", "gaussian", "--binarize"], "binarisation only makes sense"),
        (["--arch", "transformer"], "invalid choice"),
        (["--batch-size", "many"], "invalid int value"),
    ],
)
def test_out_of_range_settings_in_the_cli_start_nothing(
    around: Path, flags: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = around / "runs" / "cli"
    before = files_under(around)
    argv = ["train", "--data", "sample", "--arch", "mlp", "--quiet", "--out", str(out), *flags]
    assert says in cli_error(argv, capsys)
    assert files_under(around) == before


def test_resume_with_out_of_range_epochs_changes_nothing(
    around: Path, new_run, tiny_dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    run = new_run(epochs=1)
    Trainer(run, tiny_dataset).fit()
    config = (run.path / CONFIG_FILE).read_bytes()
    argv = ["train", "--resume", str(run.path), "--epochs", "0"]
    assert "epochs must be" in cli_error(argv, capsys)
    assert (run.path / CONFIG_FILE).read_bytes() == config
