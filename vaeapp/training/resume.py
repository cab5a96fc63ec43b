"""May this run be resumed, and how: the one plan that the CLI's `train --resume` and the app's
Resume button follow, with the same checks in the same order and the same words.

Every check comes before config.json is rewritten, so a refused resume changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vaeapp.config import RunConfig
from vaeapp.errors import ConfigError, RunError
from vaeapp.store.catalog import is_shipped, name_of, read_record
from vaeapp.store.runs import Run
from vaeapp.training.launch import check_world_size


@dataclass(frozen=True)
class ResumePlan:
    """A run that may continue, and the config it continues with."""

    run: Run
    config: RunConfig

    def write(self) -> None:
        """Record the plan (more epochs, another device or precision) in the run's config."""
        if self.config != self.run.read_config():
            self.run.write_config(self.config)


def busy(run: Run, status: str) -> RunError:
    """The refusal for a run whose job is starting or running."""
    return RunError(f"{name_of(run)} is {status} already; stop that job before resuming")


def plan_resume(
    run: Run,
    processes: int,
    processes_here: int | None = None,
    epochs: int | None = None,
    device: str | None = None,
    precision: str | None = None,
) -> ResumePlan:
    """The plan to continue `run` on `processes` processes (`processes_here` of them on this
    machine), up to `epochs` in all, on `device` in `precision` where given; the first reason
    it may not, as a VaeappError."""
    name = name_of(run)
    if is_shipped(run):
        raise RunError(f"{name} ships with vaeapp and stays as it is; train a new run")
    if run.is_imported():
        raise RunError(
            f"{name} is an imported model, trained outside vaeapp: vaeapp does not own its "
            "optimiser or training position, so it cannot train it further; train it where "
            "it was made and import it again"
        )
    if run.is_model_folder():
        raise RunError(
            f"{name} is an exported model folder: it has weights but no optimiser state or "
            "training position, so it cannot be trained further; train a new run"
        )
    if run.is_training():
        raise busy(run, "running")
    config = run.read_config()
    check_world_size(name, config.train.world_size, processes)
    changes = {"epochs": epochs, "device": device, "precision": precision}
    train = replace(config.train, **{k: v for k, v in changes.items() if v is not None})
    planned = replace(config, train=train).validated()
    done = read_record(run).epochs_done or 0  # a model folder (None) was refused above
    if planned.train.epochs <= done:
        raise ConfigError(
            f"{name} has trained {done} of {planned.train.epochs} epochs; "
            f"ask for more than {done} epochs to continue"
        )
    from vaeapp.training.machine import check_machine  # torch, once a resume is asked for

    check_machine(planned, processes_here=processes_here)
    return ResumePlan(run, planned)
