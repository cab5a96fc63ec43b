"""`vaeapp train`: a new run from flags, or a run continued as `resume.plan_resume` allows, in
this process or as one of torchrun's; Ctrl-C or SIGTERM stops after the current step, saved."""

from __future__ import annotations

import argparse
import platform
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from vaeapp import __version__
from vaeapp.cli.common import (
    EXIT_ERROR,
    argument_type,
    load_data,
    one_line,
    path_type,
)
from vaeapp.config import (
    ARCHITECTURES,
    CHANNELS,
    DEVICES,
    LIKELIHOODS,
    PRECISIONS,
    ModelConfig,
    RunConfig,
    TrainConfig,
    parse_sizes,
)
from vaeapp.data.datasets import Dataset
from vaeapp.data.specs import image_shape_for
from vaeapp.errors import ConfigError, TrainingDiverged
from vaeapp.export import tensorboard
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import find
from vaeapp.store.events import Event
from vaeapp.store.runs import Run
from vaeapp.training.distributed import World, joined, torchrun_flags

EventListener = Callable[[Event], None]


def add_train(p: argparse.ArgumentParser) -> None:
    defaults = RunConfig()
    p.add_argument(
        "--resume",
        metavar="RUN",
        type=argument_type(find),
        help="train the run directory RUN: continue from its checkpoint (or begin, if it has "
        "none yet)",
    )
    p.add_argument(
        "--out", metavar="RUN", type=path_type("--out"), help="new run directory (default: runs/…)"
    )
    _add_model_options(p.add_argument_group("model"), defaults.model)
    _add_training_options(p.add_argument_group("training"), defaults.train)
    p.add_argument(
        "--tensorboard",
        metavar="DIR",
        type=path_type("--tensorboard"),
        help="also write TensorBoard event files into DIR (a resumed run appends); needs "
        "pip install 'vaeapp[tensorboard]'",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_train)


def _add_model_options(p: argparse._ArgumentGroup, model: ModelConfig) -> None:
    p.add_argument("--arch", choices=ARCHITECTURES, help=f"(default {model.arch})")
    p.add_argument("--latent-dim", type=int, help=f"(default {model.latent_dim})")
    p.add_argument(
        "--hidden", type=argument_type(parse_sizes), help="mlp hidden sizes, e.g. 512,256"
    )
    p.add_argument(
        "--channels",
        type=int,
        choices=CHANNELS,
        help="1 (grey) or 3 (colour) (default: as the data source gives)",
    )
    p.add_argument(
        "--image-size",
        type=int,
        metavar="N",
        help="images resized and centre-cropped to N x N (default: as the data source gives)",
    )
    p.add_argument(
        "--likelihood",
        choices=LIKELIHOODS,
        help="(default bernoulli for grey images, dlogistic for colour)",
    )
    p.add_argument("--gaussian-std", type=float, help=f"(default {model.gaussian_std})")


def _add_training_options(p: argparse._ArgumentGroup, train: TrainConfig) -> None:
    p.add_argument("--epochs", type=int, help=f"(default {train.epochs}); with --resume: extend")
    p.add_argument("--batch-size", type=int, help=f"(default {train.batch_size})")
    p.add_argument("--lr", type=float, help=f"Adam learning rate (default {train.lr})")
    p.add_argument("--beta", type=float, help=f"KL weight (default {train.beta})")
    p.add_argument("--warmup-epochs", type=float, help="linear KL warm-up length (default 0)")
    p.add_argument("--mc-samples", type=int, help="reparameterised samples per image (default 1)")
    p.add_argument(
        "--binarize",
        action=argparse.BooleanOptionalAction,
        help="dynamic binarisation: on by default for the Bernoulli, whose bound is then a "
        "log-likelihood bound (--no-binarize: grey levels, no normalised likelihood)",
    )
    p.add_argument("--seed", type=int, help=f"(default {train.seed})")
    p.add_argument("--device", choices=DEVICES, help="(default auto)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="fp32 (default), or bf16 / fp16 mixed precision: bf16 on CUDA and on CPUs with "
        "native bf16, fp16 on CUDA; with --resume: change it",
    )


def cmd_train(args: argparse.Namespace) -> int:
    """Train in this process, or as one of torchrun's processes (see `distributed`): every
    process runs this; process 0 writes the run directory and reports."""
    from vaeapp.training.trainer import Trainer

    if args.tensorboard is not None:
        tensorboard.require()
    world = World.from_env()
    with joined(world):
        if args.resume is not None:
            run = _resumed_run(args, world)
            config = run.read_config()
            dataset = world.main_first(
                lambda: load_data(config.train.data, args, config.model.image_shape)
            )
            if not config.data_source:  # prepared by the app: record what this first start used
                world.on_main(
                    lambda: run.write_config(_with_provenance(config, dataset, config.command))
                )
        else:
            run, dataset = _new_run(args, world)
        stop = threading.Event()
        callback = _on_event(args, run, dataset) if world.is_main else None
        with _stop_on_signals(stop):
            try:
                status = Trainer(run, dataset, on_event=callback, stop=stop, world=world).fit()
            except TrainingDiverged as exc:
                print(f"vaeapp: error: {one_line(str(exc))}", file=sys.stderr)
                return EXIT_ERROR
    if world.is_main:
        print(one_line(f"{status}: {run.path} (resume with: {_resume_command(run, world)})"))
    return 0


def _on_event(args: argparse.Namespace, run: Run, dataset: Dataset) -> EventListener | None:
    """Process 0's listener to the training events: the progress bar and TensorBoard's files,
    as the flags ask; None for neither."""
    from vaeapp.training.progress_bar import ProgressBar

    listeners: list[EventListener] = [] if args.quiet else [ProgressBar()]
    if args.tensorboard is not None:
        listeners.append(tensorboard.TensorBoardLog(args.tensorboard, run, dataset))

    def tell_all(event: Event) -> None:
        for listen in listeners:
            listen(event)

    return tell_all if listeners else None


def _resume_command(run: Run, world: World) -> str:
    path = shlex.quote(str(run.path))
    if world.size == 1:
        return f"vaeapp train --resume {path}"
    return f"torchrun {torchrun_flags(world)} -m vaeapp train --resume {path}"


def _new_run(args: argparse.Namespace, world: World) -> tuple[Run, Dataset]:
    """A new run from the flags; every process checks them, process 0 makes the directory."""
    from vaeapp.training.machine import check_machine, resolve_device

    given = {k: v for k, v in vars(args).items() if v is not None}
    given["image_shape"] = image_shape_for(
        given.get("data", TrainConfig.data), args.channels, args.image_size
    )
    config = RunConfig.from_settings({**given, "world_size": world.size}).validated()
    check_machine(config, world.device(resolve_device(config.train.device)), world.local_size)
    dataset = world.main_first(lambda: load_data(config.train.data, args, config.model.image_shape))
    out = args.out or runs_dir() / time.strftime("run-%Y%m%d-%H%M%S")
    command = shlex.join(["vaeapp", *sys.argv[1:]])
    run = world.on_main(lambda: Run.create(out, _with_provenance(config, dataset, command)))
    return run, dataset


def _with_provenance(config: RunConfig, dataset: Dataset, command: str) -> RunConfig:
    """The config with what made the run: the data actually used, the command, the versions."""
    versions = {
        "vaeapp": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    return replace(config, data_source=dataset.source, command=command, versions=versions)


def _resumed_run(args: argparse.Namespace, world: World) -> Run:
    """The run to continue, as `resume.plan_resume` allows (the Train page's Resume asks the
    same); every process checks, process 0 records the plan."""
    from vaeapp.training.resume import plan_resume

    resumable = {"epochs", "device", "precision"}
    settings = {*RunConfig.SETTINGS, "out"}
    changed = [k for k in sorted(settings - resumable) if getattr(args, k, None) is not None]
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise ConfigError(
            f"a resumed run keeps its settings; drop {flags} (only --epochs may grow)"
        )
    changes = {k: getattr(args, k) for k in resumable}
    plan = plan_resume(args.resume, world.size, world.local_size, **changes)
    world.on_main(plan.write)
    return plan.run


class _stop_on_signals:
    """SIGINT and SIGTERM set the stop flag: the trainer finishes its step, saves and exits."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        print("\nstopping after the current step…", file=sys.stderr)
        self.stop.set()

    def __enter__(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
