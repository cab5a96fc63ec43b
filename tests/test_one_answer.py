"""One question, one answer: the CLI and the app ask the same place and say the same words for
the run listing (its order included), a refused resume and a config this machine cannot train."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from tests.app_pages import (
    COMPARE_PAGE,
    INTERPOLATE_PAGE,
    TRAIN_PAGE,
    errors,
    following,
    open_page,
)
from tests.command_line import cli_error
from tests.conftest import small_config
from vaeapp.cli import main
from vaeapp.config import RunConfig
from vaeapp.errors import VaeappError
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import SHIPPED
from vaeapp.store.runs import Run
from vaeapp.training import jobs
from vaeapp.training.trainer import Trainer

TOO_LARGE = {"batch_size": 65_536, "mc_samples": 1000}  # a step needs far more than 24 GB


def picker_names(labels: list[str]) -> list[str]:
    """The model names in the picker's labels ("name (shipped): 2-D")."""
    return [label.split(": ")[0].removesuffix(" (shipped)") for label in labels]


def test_the_cli_the_picker_and_compare_list_the_same_models_in_one_order(
    tiny_dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    for age, name in enumerate(("newer", "older", "oldest")):
        run = Run.create(runs_dir() / name, small_config(epochs=1))
        Trainer(run, tiny_dataset).fit()
        stamp = 1_700_000_000 - 1000 * age
        for file in run.path.iterdir():
            os.utime(file, (stamp, stamp))
    Run.create(runs_dir() / "never-trained", small_config())  # no checkpoint: not a model yet
    assert main(["models", "--json"]) == 0
    from_cli = [row["name"] for row in json.loads(capsys.readouterr().out)["models"]]
    assert from_cli == [*(model.name for model in SHIPPED), "newer", "older", "oldest"]
    picker = open_page(INTERPOLATE_PAGE).sidebar.selectbox(key="model_path")
    assert picker_names(picker.options) == from_cli
    app = open_page(COMPARE_PAGE)
    assert app.multiselect(key="compare_runs").options == from_cli


def test_a_resume_of_a_run_in_training_is_refused_in_the_same_words(
    tiny_dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run.create(runs_dir() / "busy", small_config(epochs=1))
    Trainer(run, tiny_dataset).fit()
    with run.lock():  # as a training job holds it
        from_cli = cli_error(["train", "--resume", "busy", "--epochs", "3"], capsys)
        with pytest.raises(VaeappError) as from_app:
            jobs.resume(run, epochs=3)
    assert from_cli.removeprefix("vaeapp: error: ").rstrip("\n") == str(from_app.value)
    assert str(from_app.value) == "busy is running already; stop that job before resuming"


def test_a_config_this_machine_cannot_train_is_refused_in_the_same_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    flags = ["--batch-size", "65536", "--mc-samples", "1000", "--out", str(runs_dir() / "big")]
    from_cli = cli_error(["train", "--data", "sample", *flags], capsys)
    with pytest.raises(VaeappError) as from_jobs:
        jobs.start(RunConfig.from_settings(TOO_LARGE), "big")
    app = open_page(TRAIN_PAGE)
    app.number_input(key="train_batch").set_value(TOO_LARGE["batch_size"])
    app.number_input(key="train_mc").set_value(TOO_LARGE["mc_samples"])
    app.button[0].click().run()
    assert following(app, "Batch size") == "error"
    message = from_cli.removeprefix("vaeapp: error: ").rstrip("\n")
    assert "more than the" in message and message == str(from_jobs.value)
    assert errors(app) == [message]
    assert not (runs_dir() / "big").exists()


def test_a_colleagues_run_on_more_processes_than_cores_is_not_resumed_by_the_app(
    tiny_dataset,
) -> None:
    run = Run.create(runs_dir() / "theirs", small_config(epochs=1))
    Trainer(run, tiny_dataset).fit()
    config = run.read_config()
    processes = (os.cpu_count() or 1) + 2
    train = replace(config.train, world_size=processes, epochs=5)
    run.write_config(replace(config, train=train))  # as a colleague's torchrun run records it
    with pytest.raises(VaeappError) as from_app:
        jobs.resume(run)
    with pytest.raises(VaeappError) as from_form:  # a new job: the check the form asks too
        jobs.start(RunConfig.from_settings({"world_size": processes}), "mine")
    assert str(from_app.value) == str(from_form.value)
    assert f"{processes} processes on" in str(from_app.value)
    assert not jobs.state(run).active
