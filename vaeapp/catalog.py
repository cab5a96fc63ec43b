"""The models a user can pick, by name: those shipped in the package and the runs saved under the
runs folder. The CLI's RUN arguments, the app's model picker and its `?run=NAME` links all find
a model here, so a name means the same model everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vaeapp.errors import RunError, VaeappError
from vaeapp.paths import ASSETS_DIR, runs_dir, user_path
from vaeapp.runs import Run, RunSummary, list_runs

EXPLORE, INTERPOLATE = "Explore", "Interpolate"


@dataclass(frozen=True)
class Shipped:
    """A pretrained model inside the package, and the pages that open it by default."""

    name: str
    default_for: tuple[str, ...]

    @property
    def run(self) -> Run:
        return Run(ASSETS_DIR / self.name)


SHIPPED = (Shipped("default", (EXPLORE,)), Shipped("digits-16d", (INTERPOLATE,)))


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


def name_of(run: Run, root: Path | None = None) -> str:
    """What a model is called in links and lists: a shipped name, or the saved run's folder
    name (its path, for a run outside the runs folder)."""
    for model in SHIPPED:
        if run.path.resolve() == model.run.path.resolve():
            return model.name
    if run.path.parent.resolve() == (root or runs_dir()).resolve():
        return run.name
    return str(run.path)


def entries(root: Path | None = None) -> tuple[list[Entry], dict[str, str]]:
    """Every shipped model, then every saved run with a checkpoint, most recent first; and the
    saved runs that cannot be read, by name, each with why."""
    listed = [Entry(m.name, m.run.summary(), True, m.default_for) for m in SHIPPED]
    unreadable: dict[str, str] = {}
    for run in list_runs(root or runs_dir()):
        if not run.has_checkpoint():
            continue
        try:
            listed.append(Entry(run.name, run.summary(), False))
        except VaeappError as error:
            unreadable[run.name] = str(error)
    return listed, unreadable
