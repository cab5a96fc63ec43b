"""The Train page: a form that starts a training job, and a live view of any run's job.

A job is a process of its own (`vaeapp.training.jobs`); this page only reads run directories, in two
fragments (status and progress every second, chart and pictures every two seconds), so a rerun,
a reload or a second tab shows the same job and its whole history, and a closed tab loses no
training.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import streamlit as st

from vaeapp.config import (
    ARCHITECTURES,
    CHANNELS,
    LIKELIHOODS,
    PRECISIONS,
    ModelConfig,
    RunConfig,
    default_likelihood,
    parse_sizes,
)
from vaeapp.data.specs import image_shape_for, source_names
from vaeapp.errors import VaeappError
from vaeapp.export import tensorboard
from vaeapp.latent.view_choice import default_points
from vaeapp.model.activity import is_active
from vaeapp.model.normalised import NOT_NORMALISED, run_is_normalised
from vaeapp.paths import runs_dir, user_path
from vaeapp.store.catalog import run_path, saved_runs
from vaeapp.store.events import DIVERGED, FAILED, FINISHED
from vaeapp.store.history import TrainingHistory, TrainingProgress, UnitHealth
from vaeapp.store.runs import Run
from vaeapp.training import jobs
from vaeapp.ui.code_maps import codes_figure
from vaeapp.ui.explain import what_am_i_looking_at
from vaeapp.ui.run_readers import job_state, job_states, run_history
from vaeapp.ui.training_charts import kl_per_dim_figure, training_figure
from vaeapp.ui.widgets import inline_png, keep_model_choice, literal

REFRESH_S = 1.0
CHART_REFRESH_S = 2.0
PROBLEMS_KEY = "train_problems"
WATCH_KEY = "train_watch"
SEEN_KEY = "train_seen"
NAME_KEY = "train_name"
SCANNED_KEY = "train_scanned"  # session state: when every saved run's state was last read, and them
SCAN_S_PER_RUN = 0.002  # the live view reads every run's state again after this long per run
NAMED_SOURCES = [name for name in source_names() if ":" not in name]


def render() -> None:
    keep_model_choice()
    st.title("Train a VAE")
    what_am_i_looking_at("Train")
    form, live = st.columns([2, 3], gap="large")  # the form two fields wide
    with form:
        _form()
    with live:
        states = _states()
        st.session_state[SCANNED_KEY] = (time.monotonic(), states)
        # What the picker and the controls are drawn from: the status fragment reruns the page
        # as soon as what it reads differs, so neither shows a state the job has left.
        st.session_state[SEEN_KEY] = _seen(states)
        watched = _run_picker(states)
        _live_view(watched)
        if watched is not None and not watched.is_model_folder():  # it has no history to show
            _controls(states.get(str(watched.path)) or job_state(watched))
            _live_chart(watched)


def _form() -> None:
    """The settings of a new run; each invalid value gets its message under its field. Two
    fields a row, and the settings a first run keeps at their defaults in a closed expander,
    so that "Start training" shows without scrolling on a laptop's screen."""
    st.session_state.setdefault(NAME_KEY, _fresh_name())
    with st.form("train_form", border=True):
        st.subheader("New run")
        _main_fields()
        _more_settings()
        st.form_submit_button("Start training", type="primary", on_click=_start_from_form)


def _main_fields() -> None:
    """What a first run chooses: data, name, network, latent size, likelihood, epochs."""
    defaults = RunConfig()
    left, right = st.columns(2)
    with left:
        st.selectbox(
            "Data source",
            NAMED_SOURCES,
            key="train_data",
            accept_new_options=True,
            help="A named source, or type idx:DIR or folder:DIR. 'sample' works offline.",
        )
        _problem("train.data")
    with right:
        st.text_input("Run name", key=NAME_KEY, help=f"A folder under {runs_dir()}")
        _problem("name")
    _network_fields(defaults.model)
    left, right = st.columns(2, vertical_alignment="bottom")
    with left:
        _number_field(EPOCHS)
    with right:
        st.checkbox(
            "Binarise",
            value=defaults.train.binarize,
            key="train_binarize",
            help="Bernoulli only. Each batch's pixels drawn as 0 or 1 with their grey level as "
            "probability, the test set once with the run's seed: the Bernoulli's bound is "
            "then a bound on the log-likelihood. Off, a Bernoulli on grey levels is no "
            "normalised likelihood.",
        )
        _problem("train.binarize")


def _network_fields(model: ModelConfig) -> None:
    left, right = st.columns(2)
    with left:
        st.selectbox("Architecture", ARCHITECTURES, key="train_arch")
        _problem("model.arch")
    with right:
        st.text_input(
            "Hidden sizes (mlp)",
            value=",".join(map(str, model.hidden)),
            key="train_hidden",
            help="The mlp's hidden layers, from the image inwards; the decoder mirrors them.",
        )
        _problem("model.hidden")
    left, right = st.columns(2)
    with left:
        st.number_input("Latent dimension", value=model.latent_dim, step=1, key="train_latent")
        _problem("model.latent_dim")
    with right:
        st.selectbox(
            "Likelihood p(x|z)",
            LIKELIHOODS,
            index=None,
            placeholder="bernoulli (grey), dlogistic (colour)",
            key="train_likelihood",
            help="Left empty: the Bernoulli for grey images, the discretised logistic (a "
            "distribution over 8-bit values) for colour.",
        )
        _problem("model.likelihood")


def _more_settings() -> None:
    """The settings a first run keeps at their defaults, in an expander a refusal opens: a
    message in the closed expander would go unseen. Not a widget: inside a form, a widget's
    rerun could drop a choice made in the form just before it."""
    refused = MORE_FIELDS & st.session_state.get(PROBLEMS_KEY, {}).keys()
    with st.expander("More settings", expanded=bool(refused)):
        for row in range(0, len(MORE_NUMBERS), 2):
            for column, number in zip(st.columns(2), MORE_NUMBERS[row : row + 2], strict=False):
                with column:
                    _number_field(number)
        left, right = st.columns(2)
        with left:
            st.selectbox(
                "Channels",
                (DATA_OWN, *CHANNELS),
                format_func=lambda c: CHANNEL_NAMES.get(c, "the data's"),
                key="train_channels",
            )
        with right:
            st.selectbox(
                "Image size",
                (DATA_OWN, *IMAGE_SIZES),
                format_func=lambda n: f"{n} x {n}" if n else "the data's",
                key="train_image_size",
                help="Images resized and centre-cropped to this size.",
            )
        _problem("model.image_shape")
        left, right = st.columns(2)
        with left:
            st.selectbox(
                "Precision",
                PRECISIONS,
                key="train_precision",
                help="bf16 autocast runs on CUDA GPUs and on CPUs with native bf16, fp16 (with "
                "a grad scaler) on CUDA only. The weights, Adam's state and the bounds stay in "
                "fp32.",
            )
            _problem("train.precision")
        with right:
            st.text_input(
                "TensorBoard folder",
                key=TENSORBOARD_KEY,
                placeholder="none",
                help="Also write TensorBoard event files here: the curves, each epoch's "
                f"pictures and the test codes for the projector (needs {tensorboard.INSTALL}).",
            )
            _problem(TENSORBOARD_KEY)


NumberField = tuple[str, str, str, dict[str, object]]
# TrainConfig field, label, widget key, st.number_input's options
EPOCHS: NumberField = ("epochs", "Epochs", "train_epochs", {"step": 1})
MORE_NUMBERS: tuple[NumberField, ...] = (
    ("beta", "Beta (KL weight)", "train_beta", {"step": 0.1, "format": "%g"}),
    ("warmup_epochs", "KL warm-up (epochs)", "train_warmup", {"step": 1.0, "format": "%g"}),
    ("batch_size", "Batch size", "train_batch", {"step": 32}),
    (
        "mc_samples",
        "Monte-Carlo samples",
        "train_mc",
        {"step": 1, "help": "Draws of z per image for the reconstruction term."},
    ),
    (
        "world_size",
        "Processes",
        "train_processes",
        {
            "step": 1,
            "help": "Training processes on this machine, started through torchrun: one per GPU, "
            "or a share of the CPU cores each. The batch size is per process.",
        },
    ),
    ("lr", "Learning rate", "train_lr", {"step": 1e-4, "format": "%g"}),
    ("seed", "Seed", "train_seed", {"step": 1}),
)
TENSORBOARD_KEY = "train_tensorboard"
# The TensorBoard folder of each run started in this session, by run folder: Resume appends
# there. Only this session's own choices: a folder named by a run's files (a colleague's) is
# never written.
LOGGED_TO_KEY = "train_tensorboard_of"
MORE_FIELDS = {f"train.{number[0]}" for number in MORE_NUMBERS} | {
    "train.precision",
    "model.image_shape",
    TENSORBOARD_KEY,
}
DATA_OWN = 0  # the images' channels or size: as the data source gives them
CHANNEL_NAMES = {1: "1 (grey)", 3: "3 (colour)"}
IMAGE_SIZES = (28, 32, 64)


def _number_field(number: NumberField) -> None:
    field, label, key, options = number
    st.number_input(label, value=getattr(RunConfig().train, field), key=key, **options)
    _problem(f"train.{field}")


def _problem(field: str) -> None:
    message = st.session_state.get(PROBLEMS_KEY, {}).get(field)
    if message:
        st.error(literal(message))


def _start_from_form() -> None:
    """Validate everything with the core's own rules; start the job only if nothing is wrong."""
    state = st.session_state
    config, problems = _config_from_form()
    try:
        run_path(runs_dir(), state[NAME_KEY])
    except VaeappError as exc:
        problems["name"] = str(exc)
    folder = None
    if state.get(TENSORBOARD_KEY, "").strip():
        try:
            folder = user_path(state[TENSORBOARD_KEY].strip(), "the TensorBoard folder")
            tensorboard.require()
        except VaeappError as exc:
            problems[TENSORBOARD_KEY] = str(exc)
    from vaeapp.training.machine import machine_problem  # builds the model: torch, from here on

    if not problems and (problem := machine_problem(config)) is not None:
        field, error = problem
        problems[field] = str(error)
    if not problems:
        try:
            run = jobs.start(config, state[NAME_KEY], tensorboard=folder)
        except VaeappError as exc:
            problems["name"] = str(exc)
        else:
            if folder is not None:
                state.setdefault(LOGGED_TO_KEY, {})[str(run.path)] = folder
            state[WATCH_KEY] = str(run.path)
            state[NAME_KEY] = _fresh_name()
    state[PROBLEMS_KEY] = problems


def _config_from_form() -> tuple[RunConfig, dict[str, str]]:
    """The form's settings as a config, and every problem the config's own checks find."""
    state = st.session_state
    problems: dict[str, str] = {}
    hidden = RunConfig().model.hidden  # a conv network has no hidden sizes: the field is the mlp's
    if state.train_arch == "mlp":
        try:
            hidden = parse_sizes(state.train_hidden)
        except VaeappError as exc:
            hidden, problems["model.hidden"] = (), str(exc)
    data = state.train_data or ""
    try:  # a quick look at the source: the job reads the data, not the page
        shape = image_shape_for(data, state.train_channels, state.train_image_size)
    except VaeappError as exc:
        shape, problems["train.data"] = RunConfig().model.image_shape, str(exc)
    likelihood = state.train_likelihood or default_likelihood(shape)
    config = RunConfig.from_settings(
        {
            "arch": state.train_arch,
            "latent_dim": state.train_latent,
            "hidden": hidden,
            "likelihood": likelihood,
            "image_shape": shape,
            "data": data,
            "epochs": state.train_epochs,
            "batch_size": state.train_batch,
            "lr": state.train_lr,
            "beta": state.train_beta,
            "warmup_epochs": state.train_warmup,
            "mc_samples": state.train_mc,
            "binarize": state.train_binarize and likelihood == "bernoulli",
            "seed": state.train_seed,
            "world_size": state.train_processes,
            "precision": state.train_precision,
        }
    )
    return config, {**config.problems(), **problems}


def _fresh_name() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S")


def _run_picker(states: dict[str, jobs.JobState]) -> Run | None:
    """The run to watch: the one just started, else the one chosen, else one training now.

    It and the Stop and Resume controls sit outside the live fragments, so choosing another run
    redraws the whole view; the status fragment reruns the page whenever a job's state differs
    from `states`, which refreshes the statuses and the controls."""
    if not states:
        return None
    if st.session_state.get(WATCH_KEY) not in states:
        active = [path for path, job in states.items() if job.active]
        st.session_state[WATCH_KEY] = (active or list(states))[0]
    watched = st.selectbox(
        "Run",
        list(states),
        key=WATCH_KEY,
        format_func=lambda path: f"{Path(path).name} ({states[path].status})",
    )
    return Run(watched)


def _states() -> dict[str, jobs.JobState]:
    return job_states(saved_runs())


def _live_states(watched: Run | None) -> dict[str, jobs.JobState]:
    """The saved runs' states for the live view: the watched run's read every second, and
    every run's once a second for up to 500 runs, else once per SCAN_S_PER_RUN a run (5,000
    runs: every 10 s). Reading 5,000 runs' states takes about 0.6 s here: read every second,
    it kept the server busy two thirds of the time, and a page on it from ever settling."""
    scanned_at, states = st.session_state.get(SCANNED_KEY) or (-math.inf, {})
    if time.monotonic() - scanned_at >= SCAN_S_PER_RUN * len(states):
        states = _states()
        st.session_state[SCANNED_KEY] = (time.monotonic(), states)
        return states
    if watched is None:
        return states
    return {**states, str(watched.path): job_state(watched)}


@st.fragment(run_every=REFRESH_S)
def _live_view(watched: Run | None) -> None:
    """The watched run's status, progress and controls, redrawn every second from its run
    directory."""
    states = _live_states(watched)
    _rerun_page_on_change(states)
    if watched is None:
        st.info("No runs yet. Fill in the form and start one; it will show here as it trains.")
        return
    others = [Path(p).name for p, job in states.items() if job.active and p != str(watched.path)]
    if others:
        st.caption("Also training now: " + literal(", ".join(others)))
    if watched.is_model_folder():
        made = (
            "an imported model, trained outside vaeapp"
            if watched.is_imported()
            else ("an exported model folder")
        )
        st.info(
            f"{literal(watched.name)} is {made}: it keeps no training history, so there is no "
            "chart, and it cannot be trained further. Open it in Explore, or compare it in "
            "Compare."
        )
        return
    job = states.get(str(watched.path)) or job_state(watched)
    _status(job, run_history(job.run).progress)


@st.fragment(run_every=CHART_REFRESH_S)
def _live_chart(watched: Run) -> None:
    """The watched run's curves and latest pictures, redrawn every two seconds rather than every
    second: each redraw of the Plotly chart costs the browser about 0.3 s of CPU, which a
    training job on the same machine would lose."""
    history = run_history(watched)
    try:  # the config alone: a summary of a live run would read its whole history again
        normalised = run_is_normalised(watched.read_config())
    except VaeappError:
        normalised = True  # an unreadable config: the status above says why
    if not normalised:
        st.caption(f"These ELBO figures are {NOT_NORMALISED}.")
    st.plotly_chart(training_figure(history), key="train_chart", theme=None)
    _units(history.unit_health())
    _epoch_pictures(watched, history)
    _epoch_map(watched, history)


def _units(health: UnitHealth | None) -> None:
    """The KL each latent unit spends at the newest epoch, and an alert when units die."""
    if health is None:
        return
    dims = len(health.kl_per_dim)
    st.markdown(f"**Latent units, epoch {health.epoch}: {health.active} of {dims} active**")
    active = [is_active(v) for v in health.activity_per_dim]
    st.plotly_chart(kl_per_dim_figure(health.kl_per_dim, active), key="train_kl", theme=None)
    if health.died:
        st.warning(
            f"{health.died} latent unit(s) died since epoch {health.most_active_epoch}: their "
            "posterior fell onto the prior and carries no information (posterior collapse). "
            "KL warm-up or a smaller beta keeps units alive.",
            icon=":material/battery_alert:",
        )


def _epoch_map(run: Run, history: TrainingHistory) -> None:
    """The test set's codes after the newest epoch: the latent space as it organises."""
    epochs = run.replay_epochs()
    codes = run.load_replay(epochs[-1]) if epochs else None
    if codes is None:
        return
    kept = run.load_replay_labels()
    if kept is None or len(kept[0]) != len(codes):
        kept = _labels_from_data(run)
    if kept is None:
        return
    labels, classes = kept
    st.markdown(f"**The test set's codes after epoch {epochs[-1]}**")
    st.plotly_chart(
        codes_figure(default_points(codes), labels, classes), key="train_map", theme=None
    )


def _labels_from_data(run: Run) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """The test labels of a run trained before they were kept with its codes, from its data set
    (which imports torch); None where the data cannot be read."""
    from vaeapp.ui.loaders import load_data

    try:
        config = run.read_config()
        data = load_data(config.train.data, config.model.image_shape)
    except VaeappError:
        return None
    return data.test.labels.numpy(), tuple(data.classes)


def _rerun_page_on_change(states: dict[str, jobs.JobState]) -> None:
    """Rerun the whole page when a job's state differs from the one the page was drawn with (it
    started, ended, or changed between the page's read and this one) or a run got its first
    checkpoint: the run picker's labels and the controls show the new state, and the model
    picker in the sidebar lists a run as soon as it can be explored."""
    if _seen(states) != st.session_state.get(SEEN_KEY):
        st.rerun()


def _seen(states: dict[str, jobs.JobState]) -> list[tuple[str, str, bool]]:
    return sorted((path, job.status, job.run.has_checkpoint()) for path, job in states.items())


def _status(job: jobs.JobState, progress: TrainingProgress | None) -> None:
    if job.status in (FAILED, DIVERGED):
        st.error(f"Training {job.status}: {literal(job.message)}")
    elif job.status == jobs.INTERRUPTED:
        st.warning(
            f"Interrupted: {literal(job.message)}. Resume continues from the last checkpoint."
        )
    elif job.status == jobs.STARTING:
        st.info("Starting: loading the data and building the model…")
    if progress is not None:
        st.progress(progress.fraction, text=_progress_text(job, progress))


def _progress_text(job: jobs.JobState, progress: TrainingProgress) -> str:
    parts = [f"{job.status}", f"{progress.epochs_done}/{progress.epochs} epochs done"]
    if progress.images_per_s is not None:
        parts.append(f"{progress.images_per_s:,.0f} images/s")
    if progress.eta_s is not None:
        minutes, seconds = divmod(round(progress.eta_s), 60)
        parts.append(f"ETA {minutes}:{seconds:02d}")
    return " · ".join(parts)


def _controls(job: jobs.JobState) -> None:
    """Stop for a job that is training; Resume, with the total epochs, for one that is not."""
    if job.status in (jobs.STARTING, jobs.RUNNING):
        if st.button("Stop", help="Finish the current step, save, and end the job."):
            if jobs.stop(job.run):
                st.toast("Stopping after the current step…")
            else:
                st.warning(
                    "No process of this run's job could be proved to hold its lock, so none was "
                    "signalled: the job may have ended already, or a copy made with `cp -al` "
                    "shares the lock by hard links, and its holder may be that copy's job."
                )
    elif job.resumable:
        try:
            planned = job.run.read_config().train.epochs
        except VaeappError as exc:
            st.error(literal(str(exc)))
            return
        more = planned + (10 if job.status == FINISHED else 0)
        epochs_col, button_col = st.columns([1, 1], vertical_alignment="bottom")
        epochs = epochs_col.number_input(
            "Epochs in all", value=more, step=1, key=f"train_resume:{job.run.name}"
        )
        folder = st.session_state.get(LOGGED_TO_KEY, {}).get(str(job.run.path))
        if folder is not None:
            st.caption(f"TensorBoard: resuming appends to {literal(str(folder))}")
        if button_col.button("Resume"):
            try:
                jobs.resume(job.run, epochs, tensorboard=folder)
            except VaeappError as exc:
                st.error(literal(str(exc)))
            else:  # the controls are outside the fragments: the whole page shows the job
                st.rerun()


def _epoch_pictures(run: Run, history: TrainingHistory) -> None:
    """The pictures the trainer saved after its latest epoch."""
    pictures = run.pictures()
    if pictures is None:
        return
    epoch = max(history.epochs, default=0)
    left, right = st.columns(2)
    left.image(
        inline_png(pictures[0]), caption=f"Test images above their reconstructions, epoch {epoch}"
    )
    right.image(inline_png(pictures[1]), caption=f"Samples from the prior, epoch {epoch}")
