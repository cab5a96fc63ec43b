"""The Train and Compare pages through streamlit.testing: form checks, job view, comparison."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages import (
    COMPARE_PAGE,
    TRAIN_PAGE,
    chart,
    errors,
    following,
    open_page,
    saved_run,
    warnings,
)
from tests.conftest import small_config
from tests.reliability.test_job_identity import hold
from vaeapp.config import RunConfig
from vaeapp.data.sources import load_dataset
from vaeapp.paths import runs_dir
from vaeapp.store.run_jobs import JOB_FILE, JOB_LOCK_FILE, LOG_FILE
from vaeapp.store.runs import Run
from vaeapp.training import jobs
from vaeapp.training.precision import native_cpu_bf16
from vaeapp.training.trainer import Trainer
from vaeapp.ui import run_readers
from vaeapp.ui.widgets import literal


@pytest.fixture
def trained(tiny_dataset) -> Iterator[Run]:
    run = Run.create(runs_dir() / "trained", small_config(epochs=2))
    Trainer(run, tiny_dataset).fit()
    yield run


def test_bad_values_get_messages_beside_their_fields_and_start_nothing() -> None:
    app = open_page(TRAIN_PAGE)
    app.number_input(key="train_latent").set_value(0)
    app.number_input(key="train_lr").set_value(-0.1)
    app.number_input(key="train_epochs").set_value(0)
    app.text_input(key="train_name").set_value("../outside")
    app.button[0].click().run()
    messages = errors(app)
    assert any("latent dimension must be" in m for m in messages)
    assert any("learning rate must be > 0" in m for m in messages)
    assert any("epochs must be an integer" in m for m in messages)
    assert any("run name must be a plain name" in m for m in messages)
    for label in ("Latent dimension", "Learning rate", "Epochs", "Run name"):
        assert following(app, label) == "error", label
    assert following(app, "Seed") != "error"
    assert not runs_dir().exists() or not any(runs_dir().iterdir())
    assert jobs.active_jobs() == []


def test_a_message_quoting_what_a_user_typed_shows_it_as_typed_not_as_markdown() -> None:
    name = "![pixel](x.png) $x^2$ <b>"
    Run.create(runs_dir() / name, small_config())
    app = open_page(TRAIN_PAGE)
    app.text_input(key="train_name").set_value(name)
    app.button[0].click().run()
    assert following(app, "Run name") == "error"
    assert name in errors(app)[0]  # what a reader sees
    unescaped = re.findall(r"(?<!\\)[!\[\]()$<>]", app.error[0].value)
    assert unescaped == []  # markdown makes no image, link, maths or tag of it


@pytest.mark.parametrize(
    ("widget", "key", "value", "label", "message"),
    [
        ("number_input", "train_processes", 999, "Processes", "999 processes on"),
        ("selectbox", "train_precision", "fp16", "Precision", "fp16 needs a CUDA GPU"),
        ("text_input", "train_name", "taken", "Run name", "exists already"),
    ],
)
def test_a_value_the_core_refuses_is_refused_next_to_its_field(
    widget: str, key: str, value: object, label: str, message: str
) -> None:
    Run.create(runs_dir() / "taken", small_config())
    app = open_page(TRAIN_PAGE)
    getattr(app, widget)(key=key).set_value(value)
    app.button[0].click().run()
    assert following(app, label) == "error"
    assert message in errors(app)[0]
    assert jobs.active_jobs() == []


@pytest.mark.slow
def test_a_valid_form_starts_a_job_and_watches_it(cleanup: None) -> None:
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_arch").set_value("mlp")
    app.number_input(key="train_epochs").set_value(1)
    precision = "bf16" if native_cpu_bf16() else "fp32"
    app.selectbox(key="train_precision").set_value(precision)
    app.text_input(key="train_name").set_value("from-form")
    app.button[0].click().run()
    assert not app.error
    run = Run(runs_dir() / "from-form")
    assert run.read_config().train.precision == precision
    assert jobs.state(run).active
    assert app.session_state["train_watch"] == str(run.path)
    assert app.selectbox(key="train_watch").value == str(run.path)
    assert app.text_input(key="train_name").value != "from-form"  # ready for the next run


def test_a_finished_run_shows_its_history_pictures_and_resume(trained: Run) -> None:
    app = open_page(TRAIN_PAGE)
    assert app.selectbox(key="train_watch").value == str(trained.path)
    progress = app.get("progress")[0].proto
    assert progress.value == 100 and "finished · 2/2 epochs done" in progress.text
    figure = chart(app)
    lengths = {trace["name"]: len(trace["x"]) for trace in figure["data"]}
    assert lengths == {
        "ELBO per step": 8,  # 2 epochs of 4 steps
        "ELBO smoothed": 8,
        "reconstruction, smoothed": 8,
        "train ELBO per epoch": 2,
        "test ELBO per epoch": 2,
        "KL per step": 8,
        "KL smoothed": 8,
    }
    captions = [caption for image in app.get("image") for caption in image.captions]
    assert captions == [
        "Test images above their reconstructions, epoch 2",
        "Samples from the prior, epoch 2",
    ]
    assert app.number_input(key="train_resume:trained").value == 12
    assert [b.label for b in app.button if b.label == "Resume"] == ["Resume"]


def test_resume_starts_the_job_and_reruns_the_page_without_an_error(
    trained: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resume sits outside the live fragments, so it reruns the whole page (a fragment's rerun
    from there raised StreamlitInvalidLayoutContextError)."""
    resumed: list[tuple[str, int, Path | None]] = []
    monkeypatch.setattr(
        jobs,
        "resume",
        lambda run, epochs, tensorboard: resumed.append((run.name, epochs, tensorboard)),
    )
    app = open_page(TRAIN_PAGE)
    next(b for b in app.button if b.label == "Resume").click().run()
    assert not app.exception, app.exception
    assert resumed == [("trained", 12, None)]  # not started from this session: no folder


def test_resume_appends_to_the_tensorboard_folder_the_run_was_started_with(
    trained: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resumed: list[Path | None] = []
    monkeypatch.setattr(jobs, "start", lambda config, name, tensorboard: trained)
    monkeypatch.setattr(
        jobs, "resume", lambda run, epochs, tensorboard: resumed.append(tensorboard)
    )
    app = open_page(TRAIN_PAGE)
    app.text_input(key="train_tensorboard").set_value(str(tmp_path / "board"))
    app.button[0].click().run()
    assert not app.error and app.session_state["train_watch"] == str(trained.path)
    shown = [caption.value for caption in app.caption]
    assert f"TensorBoard: resuming appends to {literal(str(tmp_path / 'board'))}" in shown
    next(b for b in app.button if b.label == "Resume").click().run()
    assert resumed == [tmp_path / "board"]


def test_the_run_pickers_label_follows_the_jobs_state_read_after_it(
    trained: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job changes state between the page's read for the picker and the status fragment's
    read a moment later (here: "starting" once, then what its directory says, "finished"):
    the picker must not keep the first."""
    real_state = jobs.state
    reads: list[str] = []

    def changing_state(run: Run) -> jobs.JobState:
        reads.append(run.name)
        now = real_state(run)
        return replace(now, status=jobs.STARTING) if len(reads) == 1 else now

    monkeypatch.setattr(jobs, "state", changing_state)
    app = open_page(TRAIN_PAGE)
    assert app.selectbox(key="train_watch").options == ["trained (finished)"]
    assert [b.label for b in app.button if b.label == "Resume"] == ["Resume"]


@pytest.mark.parametrize(("arch", "refused"), [("conv", False), ("mlp", True)])
def test_the_mlps_hidden_sizes_are_checked_only_for_an_mlp(
    arch: str, refused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    def start(config: RunConfig, name: str, tensorboard: Path | None = None) -> Run:
        started.append(config.model.arch)
        return Run(runs_dir() / name)

    monkeypatch.setattr(jobs, "start", start)
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_arch").set_value(arch)
    app.text_input(key="train_hidden").set_value("not sizes")
    app.button[0].click().run()
    assert (following(app, "Hidden sizes (mlp)") == "error") == refused
    assert started == ([] if refused else [arch])


THE_CODES = "The test set's codes after epoch 2"


def shown_in_a_fresh_process(script: str) -> tuple[list[str], int, list[str]]:
    """A page run in a process of its own: its markdown, its number of charts, and which of
    torch and torchvision it imported."""
    code = (
        "import json, sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_string({script!r}, default_timeout=120)\n"
        "app.run()\n"
        "assert not app.exception, app.exception\n"
        "heavy = sorted({'torch', 'torchvision'} & set(sys.modules))\n"
        "print(json.dumps([[m.value for m in app.markdown], len(app.get('plotly_chart')), heavy]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    markdown, charts, heavy = json.loads(done.stdout.splitlines()[-1])
    return markdown, charts, heavy


def test_train_and_compare_show_a_trained_run_without_importing_torch(trained: Run) -> None:
    """Their server holds no torch (half a gigabyte here): the status, the chart, the pictures
    and the test codes coloured by the labels the run kept come from the run's files."""
    markdown, charts, heavy = shown_in_a_fresh_process(TRAIN_PAGE)
    assert any(THE_CODES in text for text in markdown) and charts == 3 and heavy == []
    _, charts, heavy = shown_in_a_fresh_process(COMPARE_PAGE)
    assert charts == 1 and heavy == []


def test_a_run_trained_before_its_labels_were_kept_colours_its_codes_from_the_data() -> None:
    run = saved_run("unlabelled", latent_dim=2)  # on the sample data
    run.save_replay(2, np.zeros((len(load_dataset("sample").test), 2)))
    assert run.load_replay_labels() is None
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_watch").set_value(str(run.path)).run()
    assert any(THE_CODES in m.value for m in app.markdown)


def test_a_job_that_failed_before_training_shows_why(trained: Run) -> None:
    failed = Run.create(runs_dir() / "failed", small_config()).path
    (failed / JOB_FILE).write_text(json.dumps({"pid": 1, "started": time.time()}))
    (failed / LOG_FILE).write_text("vaeapp: error: no IDX files in /nowhere\n")
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_watch").set_value(str(failed)).run()
    assert any("failed: no IDX files in /nowhere" in error for error in errors(app))


def test_compare_draws_every_chosen_run_on_one_chart(trained: Run, tiny_dataset) -> None:
    other = Run.create(runs_dir() / "other", small_config(epochs=1, lr=1e-2))
    Trainer(other, tiny_dataset).fit()
    app = open_page(COMPARE_PAGE)
    app.multiselect(key="compare_runs").set_value([str(trained.path), str(other.path)]).run()
    figure = chart(app)
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["trained (test)", "trained (train)", "other (test)", "other (train)"]
    assert [len(trace["x"]) for trace in figure["data"]] == [2, 2, 1, 1]
    assert not [c for c in app.caption if "score different images" in c.value]


def test_compare_says_when_runs_score_different_images(trained: Run) -> None:
    colour = saved_run("colour", 2, image_shape=(3, 28, 28), likelihood="dlogistic")
    app = open_page(COMPARE_PAGE)
    app.multiselect(key="compare_runs").set_value([str(trained.path), str(colour.path)]).run()
    (said,) = [c.value for c in app.caption if "score different images" in c.value]
    assert "toy 1x28x28" in said and "sample 3x28x28" in said


def test_choosing_another_run_shows_its_chart(trained: Run, tiny_dataset) -> None:
    other = Run.create(runs_dir() / "other", small_config(epochs=1))
    Trainer(other, tiny_dataset).fit()
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_watch").set_value(str(trained.path)).run()
    app.selectbox(key="train_watch").set_value(str(other.path)).run()
    assert not app.exception
    figure = chart(app)
    epochs = next(t for t in figure["data"] if t["name"] == "test ELBO per epoch")
    assert epochs["x"] == [1]
    assert "finished · 1/1 epochs done" in app.get("progress")[0].proto.text


def test_the_epoch_pictures_come_inline(trained: Run) -> None:
    app = open_page(TRAIN_PAGE)
    pictures = [url for image in app.image for url in image.value]
    assert len(pictures) == 2 and all(url.startswith("data:image/png;base64,") for url in pictures)


def test_compare_links_each_chosen_run_to_explore_on_it(trained: Run, tiny_dataset) -> None:
    other = saved_run("other", latent_dim=2)
    app = open_page(COMPARE_PAGE)
    app.multiselect(key="compare_runs").set_value([str(trained.path), str(other.path)]).run()
    links = [link.proto for link in app.get("page_link")]
    assert [(link.page, link.label, link.query_string) for link in links] == [
        ("explore", "trained", "run=trained"),
        ("explore", "other", "run=other"),
    ]


PAGES = """
import streamlit as st
from vaeapp.ui.widgets import keep_model_choice, model_picker
if st.session_state.get("page") == "Compare":
    keep_model_choice()
else:
    model_picker("Interpolate")
"""


def test_a_run_named_in_the_url_by_a_link_in_the_app_becomes_the_choice() -> None:
    """Compare's links switch page with `?run=NAME` in the same session: the picker takes the
    name, as it does from the URL a session opens with, though it read that URL already."""
    first, second = saved_run("first", latent_dim=2), saved_run("second", latent_dim=2)
    app = AppTest.from_string(PAGES, default_timeout=60)
    app.query_params["run"] = "first"
    app.run()
    assert app.sidebar.selectbox(key="model_path").value == str(first.path)
    app.query_params["run"] = "second"
    app.run()
    assert app.sidebar.selectbox(key="model_path").value == str(second.path)
    app.run()  # the URL now names what the picker shows: nothing changes
    assert app.sidebar.selectbox(key="model_path").value == str(second.path)


def test_train_and_compare_draw_no_picker_and_keep_the_choice_in_the_url() -> None:
    chosen = saved_run("chosen", latent_dim=2)
    for page in (TRAIN_PAGE, COMPARE_PAGE):
        assert not open_page(page).sidebar.selectbox, page
    app = AppTest.from_string(PAGES, default_timeout=60)
    app.run()
    app.sidebar.selectbox(key="model_path").select(str(chosen.path)).run()
    app.session_state["page"] = "Compare"
    app.run()
    assert not app.exception and not app.sidebar.selectbox
    assert app.query_params["run"] == "chosen"  # a reload or a link from here keeps it
    app.session_state["page"] = "Interpolate"
    app.run()
    assert app.sidebar.selectbox(key="model_path").value == str(chosen.path)


def test_a_link_to_compare_names_the_model_the_other_pages_then_open() -> None:
    named = saved_run("named", latent_dim=2)
    app = AppTest.from_string(PAGES, default_timeout=60)
    app.session_state["page"] = "Compare"
    app.query_params["run"] = "named"
    app.run()
    assert app.query_params["run"] == "named"
    app.session_state["page"] = "Interpolate"
    app.run()
    assert app.sidebar.selectbox(key="model_path").value == str(named.path)


def test_a_refused_setting_in_the_closed_expander_opens_it() -> None:
    app = open_page(TRAIN_PAGE)
    more = next(e for e in app.expander if e.label == "More settings")
    assert not more.proto.expanded  # closed at first: the form fits the screen
    app.number_input(key="train_processes").set_value(999)
    app.button[0].click().run()
    more = next(e for e in app.expander if e.label == "More settings")
    assert more.proto.expanded
    assert following(app, "Processes") == "error"


@pytest.mark.parametrize(
    ("data", "channels", "size", "shape", "likelihood"),
    [
        ("sample", 0, 0, (1, 28, 28), "bernoulli"),
        ("shapes", 0, 0, (3, 64, 64), "dlogistic"),
        ("shapes", 1, 32, (1, 32, 32), "bernoulli"),
        ("sample", 3, 0, (3, 28, 28), "dlogistic"),
    ],
)
def test_the_images_of_a_new_run_are_the_datas_unless_the_form_says(
    data: str,
    channels: int,
    size: int,
    shape: tuple[int, int, int],
    likelihood: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[RunConfig] = []

    def start(config: RunConfig, name: str, tensorboard: Path | None = None) -> Run:
        started.append(config)
        return Run(runs_dir() / name)

    monkeypatch.setattr(jobs, "start", start)
    app = open_page(TRAIN_PAGE)
    app.selectbox(key="train_data").set_value(data)
    app.selectbox(key="train_channels").set_value(channels)
    app.selectbox(key="train_image_size").set_value(size)
    app.button[0].click().run()
    (config,) = started
    assert config.model.image_shape == shape and config.model.likelihood == likelihood
    assert config.train.binarize == (likelihood == "bernoulli")


def test_with_many_runs_the_live_view_reads_the_watched_runs_state_not_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page reads every saved run's state once a run; its live view, every second, reads
    the watched run's and, with more than 500 runs, everyone's only every few seconds (5,000
    runs' states read every second kept the server busy two thirds of the time)."""
    count = 600
    for i in range(count):
        Run.create(runs_dir() / f"many-{i:03d}", small_config())
    reads: list[Run] = []
    read = run_readers._job_state
    monkeypatch.setattr(
        run_readers, "_job_state", lambda run, kept: reads.append(run) or read(run, kept)
    )
    open_page(TRAIN_PAGE)
    assert count <= len(reads) < count + 5  # the page's read; the live view's is the watched run


def test_the_train_page_reads_the_chosen_models_config_not_every_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page draws no model picker: it keeps the choice by reading that one model (5,000
    runs' configs, read for a list it never draws, would cost its first visit about a second)."""
    for i in range(12):
        saved_run(f"model-{i:02d}", latent_dim=2)
    reads: list[Path] = []
    read = Run.read_config
    monkeypatch.setattr(Run, "read_config", lambda run: reads.append(run.path) or read(run))
    open_page(TRAIN_PAGE)
    assert len(set(reads)) <= 2, reads  # the run it watches, for its chart


def test_stop_says_so_when_no_process_can_be_proved_to_be_the_jobs(tmp_path: Path) -> None:
    """The job's lock is shared by a hard link with another folder: whoever holds it may be
    that folder's job, so nobody is signalled, and the page says why nothing stops."""
    run = Run.create(runs_dir() / "linked", small_config())
    holder = hold(run.file(JOB_LOCK_FILE))
    try:
        run.file(JOB_FILE).write_text(json.dumps({"pid": holder.pid, "started": time.time()}))
        os.link(run.file(JOB_LOCK_FILE), tmp_path / "another-folders.lock")
        app = open_page(TRAIN_PAGE)
        app = next(b for b in app.button if b.label == "Stop").click().run()
        assert any("hard links" in text for text in warnings(app)), warnings(app)
        assert holder.poll() is None  # never signalled
    finally:
        holder.kill()
        holder.wait()
