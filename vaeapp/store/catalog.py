"""What runs mean: the models a user can pick, by name, those shipped in the package and the
runs saved under the runs folder, listed in one order with their summaries; which is the default,
which ship, what each is called. The CLI (`models`, RUN arguments), the app's model picker, its
`?run=NAME` links, Compare and Train all ask here, so a name means the same model everywhere.
(`runs.Run` is what one run directory *is*: its files.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from vaeapp import files
from vaeapp.config import RunConfig
from vaeapp.errors import ConfigError, RunError, VaeappError
from vaeapp.model.normalised import run_is_normalised
from vaeapp.paths import ASSETS_DIR, runs_dir, user_path
from vaeapp.store.history import History
from vaeapp.store.runs import CONFIG_FILE, METRICS_FILE, Run

EXPLORE, INTERPOLATE = "Explore", "Interpolate"
MAX_RUN_NAME = 100


@dataclass(frozen=True)
class Shipped:
    """A pretrained model inside the package, and the pages that open it by default."""

    name: str
    default_for: tuple[str, ...]

    @property
    def path(self) -> Path:
        return ASSETS_DIR / self.name

    @property
    def run(self) -> Run:
        return Run(self.path)


DEFAULT_MODEL = Shipped("default", (EXPLORE,))  # opened where no page names its own default
# The colour model opens where it is chosen (or named: ?run=shapes-colour); the digits stay the
# pages' defaults, the smaller first view.
SHIPPED = (DEFAULT_MODEL, Shipped("digits-16d", (INTERPOLATE,)), Shipped("shapes-colour", ()))
SHIPPED_RUNS = {model.run: model for model in SHIPPED}


@dataclass(frozen=True)
class TrainingRecord:
    """What a run's history says of it: its epochs done, the last epoch's test ELBO and terms,
    and its wall time over every session."""

    epochs_done: int | None  # None: not known (an exported model folder keeps no history)
    test_elbo: float | None
    trained_s: float
    test_recon: float | None = None
    test_kl: float | None = None


NO_RECORD = TrainingRecord(epochs_done=None, test_elbo=None, trained_s=0.0)


def read_record(run: Run) -> TrainingRecord:
    """A run's record from its history as the Train page reads it, less the steps between (a
    record needs their epochs and wall time, and a long run's metrics are 200 MB of steps);
    RunError if its metrics file is a link or a special file."""
    if run.is_model_folder():
        return NO_RECORD
    history = History()
    for event in run.iter_metrics_but_steps():
        history.add(event)
    done = max(history.epochs, default=0)
    last = history.epochs[done] if done else {}
    return TrainingRecord(
        epochs_done=done,
        test_elbo=last.get("test_elbo"),
        trained_s=history.trained_s,
        test_recon=last.get("test_recon"),
        test_kl=last.get("test_kl"),
    )


@dataclass(frozen=True)
class RunSummary:
    """A run as the model picker, the Compare page and `vaeapp models` show it: its config at
    once, its record when first asked for (a picker of 5,000 runs needs their configs, and a
    caption the chosen one's record)."""

    path: Path
    name: str
    config: RunConfig
    has_checkpoint: bool

    @cached_property
    def record(self) -> TrainingRecord:
        try:
            return read_record(Run(self.path))
        except RunError:  # its metrics became a link after the summary checked them
            return NO_RECORD

    @property
    def epochs_done(self) -> int | None:
        return self.record.epochs_done

    @property
    def test_elbo(self) -> float | None:
        return self.record.test_elbo

    @property
    def test_recon(self) -> float | None:
        return self.record.test_recon

    @property
    def test_kl(self) -> float | None:
        return self.record.test_kl

    @property
    def trained_s(self) -> float:
        return self.record.trained_s

    @property
    def epochs_planned(self) -> int:
        return self.config.train.epochs

    @property
    def epochs(self) -> str:
        """Epochs done of those planned, as the pages and `vaeapp models` show them."""
        done = "?" if self.epochs_done is None else self.epochs_done
        return f"{done}/{self.epochs_planned}"

    @property
    def normalised(self) -> bool:
        """Whether its test ELBO bounds a log-likelihood (see `normalised.is_normalised`)."""
        return run_is_normalised(self.config)


def summarise(run: Run) -> RunSummary:
    """What the pages and `vaeapp models` show of a run; RunError or ConfigError if its config
    cannot be read or its metrics file is a link or a special file (its record is read when
    first asked for)."""
    config = run.read_config()
    run.check_metrics()
    return RunSummary(path=run.path, name=run.name, config=config, has_checkpoint=run.has_weights())


@dataclass(frozen=True)
class Entry:
    """A model as listed: its name, whether it ships, the pages that open it by default."""

    name: str
    summary: RunSummary
    shipped: bool
    default_for: tuple[str, ...] = ()

    @property
    def run(self) -> Run:
        return Run(self.summary.path)


def default_for(page: str) -> Run:
    """The shipped model a page opens when none was chosen."""
    return next(model.run for model in SHIPPED if page in model.default_for)


def find(name_or_path: str | Path, root: Path | None = None) -> Run:
    """A model by shipped name, by the name of a saved run, or by its folder; RunError if none
    (PathError for what cannot name a folder at all)."""
    path = user_path(name_or_path, "run")
    text = str(name_or_path)  # as typed: "./default" is a folder, not the shipped model
    for model in SHIPPED:
        if text == model.name:
            return model.run
    if path.is_dir() or len(path.parts) != 1:
        return Run(path)
    saved = (root or runs_dir()) / text
    if Run(saved).exists():
        return Run(saved)
    names = ", ".join(model.name for model in SHIPPED)
    raise RunError(f"no model called {text!r}: give a run folder, a saved run's name or {names}")


def is_shipped(run: Run) -> bool:
    """Whether `run` is one of the models inside the package (which stay as they are)."""
    return any(run.path.resolve() == model.run.path.resolve() for model in SHIPPED)


def name_of(run: Run, root: Path | None = None) -> str:
    """What a model is called in links and lists: a shipped name, or the saved run's folder
    name (its path, for a run outside the runs folder)."""
    for model in SHIPPED:
        if run.path.resolve() == model.run.path.resolve():
            return model.name
    if run.path.parent.resolve() == (root or runs_dir()).resolve():
        return run.name
    return str(run.path)


def run_path(root: Path, name: str) -> Path:
    """The directory for a run called `name` inside `root`; refuses names that would escape it."""
    cleaned = name.strip()
    if not cleaned:
        raise ConfigError("run name must not be empty")
    if len(cleaned) > MAX_RUN_NAME or len(cleaned.encode()) > 255:
        raise ConfigError(
            f"run name is too long: at most {MAX_RUN_NAME} characters, "
            "and at most 255 bytes in UTF-8 (about 85 in Chinese or Japanese)"
        )
    forbidden = set("/\\:\0") | {chr(c) for c in range(32)}
    if cleaned in {".", ".."} or cleaned.startswith(".") or forbidden & set(cleaned):
        raise ConfigError("run name must be a plain name: no slashes, no leading dot, no '..'")
    path = (user_path(root / cleaned, "the run's folder")).resolve()  # with the runs folder
    if path.parent != root.resolve():
        raise ConfigError("run name must stay inside the runs folder")
    return root / cleaned


def saved_runs(root: Path | None = None) -> list[Run]:
    """Every run folder under the runs folder (`root`), trained or not: the real folders
    holding a config, most recently active first (by the time their metrics, else their
    config, last changed)."""
    root = root or runs_dir()
    try:
        with os.scandir(root) as listing:  # its entries know their type: no stat a child
            runs = [Run(Path(e.path)) for e in listing if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return sorted((run for run in runs if run.exists()), key=_last_active, reverse=True)


def _last_active(run: Run) -> float:
    return run.modified(METRICS_FILE) or run.modified(CONFIG_FILE)


def entries(
    root: Path | None = None, read_summary: Callable[[Run], RunSummary] = summarise
) -> tuple[list[Entry], dict[str, str]]:
    """The models one can open: every shipped model, then every saved run with a checkpoint
    and every model folder, most recently active first; and those that cannot be read, by
    name, each with why. `read_summary` reads a run's summary (the app passes a cached reader)."""
    listed: list[Entry] = []
    unreadable: dict[str, str] = {}
    runs = [*(m.run for m in SHIPPED), *(r for r in saved_runs(root) if r.has_weights())]
    for run in runs:
        try:
            listed.append(_entry(run, read_summary))
        except VaeappError as error:
            unreadable[_listed_name(run)] = str(error)
    return listed, unreadable


def entry_for(
    path: str, root: Path | None = None, read_summary: Callable[[Run], RunSummary] = summarise
) -> Entry | None:
    """The entry `entries` lists for the folder `path` (as it names it), or None where it lists
    none: one model's answer for a page that draws no picker, without 5,000 runs' summaries."""
    run = Run(path)
    if run not in SHIPPED_RUNS and not (
        run.path.parent == (root or runs_dir())
        and files.real_folder(run.path)
        and run.exists()
        and run.has_weights()
    ):
        return None
    try:
        return _entry(run, read_summary)
    except VaeappError:
        return None


def _entry(run: Run, read_summary: Callable[[Run], RunSummary]) -> Entry:
    shipped = SHIPPED_RUNS.get(run)
    pages = shipped.default_for if shipped else ()
    return Entry(_listed_name(run), read_summary(run), shipped is not None, pages)


def _listed_name(run: Run) -> str:
    """`name_of`'s answer for a listed model, without its resolving of paths (six a run, on
    every rerun of every page): a saved run is a folder right inside the runs folder."""
    shipped = SHIPPED_RUNS.get(run)
    return shipped.name if shipped else run.name
