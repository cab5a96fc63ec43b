"""The headless command line: `vaeapp train | evaluate | sample | encode | interpolate`.

User mistakes end with a one-line `vaeapp: error: ...` and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import torch

from vaeapp import __version__
from vaeapp.catalog import SHIPPED, entries, find
from vaeapp.config import ARCHITECTURES, DEVICES, LIKELIHOODS, PRECISIONS, RunConfig, parse_sizes
from vaeapp.data import Dataset, load_dataset
from vaeapp.distributed import World, check_world_size, joined, torchrun_flags
from vaeapp.errors import ConfigError, RunError, TrainingDiverged, VaeappError, WriteError
from vaeapp.evaluate import evaluate, evaluation_images
from vaeapp.interpolation import METHODS
from vaeapp.likelihoods import NOT_NORMALISED
from vaeapp.paths import runs_dir, user_path
from vaeapp.runs import Run

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a single line instead of usage text plus the message."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"vaeapp: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except VaeappError as exc:
        print(f"vaeapp: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("vaeapp: interrupted", file=sys.stderr)
        return 130


def one_line(message: str) -> str:
    """A message on one line: control characters a file name or a config key may carry (a
    newline, say) are shown escaped rather than breaking it."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="vaeapp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"vaeapp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = _shared(
        (("--data",), {"help": f"data source (default {RunConfig().train.data}, or the run's)"}),
        (
            ("--data-dir",),
            {"type": _path_type("--data-dir"), "help": "where data sets live (default ./data)"},
        ),
        (("--no-download",), {"action": "store_true", "help": "never try the network"}),
    )
    run = _shared((("run",), {"type": _argument_type(find), "metavar": "RUN", "help": RUN_HELP}))
    as_json = _shared((("--json",), {"action": "store_true", "help": "print one JSON object"}))
    for name, add, summary, shared in (
        ("train", _add_train, "train a VAE into a run directory", [data]),
        (
            "evaluate",
            _add_evaluate,
            "ELBO and log p(x) of a run on test data",
            [run, data, as_json],
        ),
        (
            "inspect",
            _add_inspect,
            "KL per latent dimension, active units, replay",
            [run, data, as_json],
        ),
        ("sample", _add_sample, "a grid of decoded samples from the prior", [run]),
        ("encode", _add_encode, "posterior mean and std of image files", [run, as_json]),
        ("interpolate", _add_interpolate, "a strip of decoded images from image A to B", [run]),
        ("models", _add_models, "the shipped and saved models, by name", [as_json]),
        ("app", _add_app, "start the app (on this machine only)", []),
    ):
        add(commands.add_parser(name, parents=shared, help=summary))
    return parser


def _shared(*arguments: tuple[tuple[str, ...], dict[str, Any]]) -> argparse.ArgumentParser:
    """Arguments several commands take, declared once (argparse's parent parsers)."""
    parser = OneLineParser(add_help=False)
    for flags, options in arguments:
        parser.add_argument(*flags, **options)
    return parser


def _add_train(p: argparse.ArgumentParser) -> None:
    defaults = RunConfig()
    model, train = defaults.model, defaults.train
    p.add_argument(
        "--resume",
        metavar="RUN",
        type=_argument_type(find),
        help="train the run directory RUN: continue from its checkpoint (or begin, if it has "
        "none yet)",
    )
    p.add_argument(
        "--out", metavar="RUN", type=_path_type("--out"), help="new run directory (default: runs/…)"
    )
    p.add_argument("--arch", choices=ARCHITECTURES, help=f"(default {model.arch})")
    p.add_argument("--latent-dim", type=int, help=f"(default {model.latent_dim})")
    p.add_argument(
        "--hidden", type=_argument_type(parse_sizes), help="mlp hidden sizes, e.g. 512,256"
    )
    p.add_argument("--likelihood", choices=LIKELIHOODS, help=f"(default {model.likelihood})")
    p.add_argument("--gaussian-std", type=float, help=f"(default {model.gaussian_std})")
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
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_train)


RUN_HELP = "a run folder, a saved run's name or a shipped model's (see vaeapp models)"


def _add_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--importance-samples", "-k", type=int, default=100, metavar="K")
    p.add_argument("--limit", type=int, help="only the first N test images")
    p.add_argument("--seed", type=int, help="binarisation and sampling seed (default: the run's)")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.set_defaults(handler=cmd_evaluate)


def _add_sample(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--temperature", type=float, default=1.0, help="prior standard deviation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", type=_path_type("--output"), default=Path("samples.png"))
    p.set_defaults(handler=cmd_sample)


def _add_encode(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "images", type=_path_type("IMAGE"), nargs="+", metavar="IMAGE", help="PNG, JPEG, BMP, …"
    )
    p.set_defaults(handler=cmd_encode)


def _add_interpolate(p: argparse.ArgumentParser) -> None:
    p.add_argument("first", type=_path_type("A"), metavar="A", help="the image to start from")
    p.add_argument("second", type=_path_type("B"), metavar="B", help="the image to end on")
    p.add_argument("--steps", type=int, default=10, help="images in the strip, 2-50 (default 10)")
    p.add_argument("--method", choices=METHODS, default="linear", help="(default linear)")
    p.add_argument(
        "-o",
        "--output",
        type=_path_type("--output"),
        default=Path("strip.png"),
        help="the strip PNG",
    )
    p.add_argument(
        "--gif", type=_path_type("--gif"), help="also write a there-and-back animation here"
    )
    p.add_argument(
        "--frames",
        type=_path_type("--frames"),
        metavar="DIR",
        help="also write each image as a PNG",
    )
    p.set_defaults(handler=cmd_interpolate)


def _add_inspect(p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=cmd_inspect)


def _add_models(p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=cmd_models)


def _add_app(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=_port, default=8501, help="1-65535 (default 8501)")
    p.set_defaults(handler=cmd_app)


def _port(text: str) -> int:
    """A TCP port, checked here: past 65535, Streamlit's server fails with a traceback."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 1 to 65535, not {text!r}")
    return port


def _argument_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse `type` that reports our error's own words as the usage error."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except VaeappError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _path_type(what: str) -> Callable[[str], Path]:
    """An argparse `type` for a path argument: what no file system call can take is a one-line
    usage error, never an OSError or ValueError from deep inside."""
    return _argument_type(lambda text: user_path(text, what))


def cmd_train(args: argparse.Namespace) -> int:
    """Train in this process, or as one of torchrun's processes (see `distributed`): every
    process runs this; process 0 writes the run directory and reports."""
    from vaeapp.progress import ProgressBar
    from vaeapp.train import Trainer

    world = World.from_env()
    with joined(world):
        if args.resume is not None:
            run = _resumed_run(args, world)
            config = run.read_config()
            dataset = world.main_first(lambda: _load(config.train.data, args))
            if not config.data_source:  # prepared by the app: record what this first start used
                world.on_main(
                    lambda: run.write_config(_with_provenance(config, dataset, config.command))
                )
        else:
            run, dataset = _new_run(args, world)
        stop = threading.Event()
        callback: Callable | None = None if args.quiet or not world.is_main else ProgressBar()
        with _stop_on_signals(stop):
            try:
                status = Trainer(run, dataset, on_event=callback, stop=stop, world=world).fit()
            except TrainingDiverged as exc:
                print(f"vaeapp: error: {one_line(str(exc))}", file=sys.stderr)
                return EXIT_ERROR
    if world.is_main:
        print(one_line(f"{status}: {run.path} (resume with: {_resume_command(run, world)})"))
    return 0


def _load(spec: str, args: argparse.Namespace) -> Dataset:
    return load_dataset(spec, args.data_dir, download=not args.no_download)


def _resume_command(run: Run, world: World) -> str:
    path = shlex.quote(str(run.path))
    if world.size == 1:
        return f"vaeapp train --resume {path}"
    return f"torchrun {torchrun_flags(world)} -m vaeapp train --resume {path}"


def _new_run(args: argparse.Namespace, world: World) -> tuple[Run, Dataset]:
    """A new run from the flags; every process checks them, process 0 makes the directory."""
    from vaeapp.precision import check_precision
    from vaeapp.train import check_memory, resolve_device

    given = {k: v for k, v in vars(args).items() if v is not None}
    config = RunConfig.from_settings({**given, "world_size": world.size}).validated()
    device = world.device(resolve_device(config.train.device))
    check_memory(config, device, world.local_size)
    check_precision(config.train.precision, device)
    dataset = world.main_first(lambda: _load(config.train.data, args))
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
    """The run to continue, its plan extended to `--epochs` if given; every check comes before
    config.json is rewritten, so a refused resume changes nothing. Every process checks;
    process 0 looks for a job on the run and rewrites the config."""
    resumable = {"epochs", "device", "precision"}
    settings = {*RunConfig.SETTINGS, "out"}
    changed = [k for k in sorted(settings - resumable) if getattr(args, k, None) is not None]
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise ConfigError(
            f"a resumed run keeps its settings; drop {flags} (only --epochs may grow)"
        )
    run: Run = args.resume
    if any(run == model.run for model in SHIPPED):
        raise RunError(f"{run.path} ships with vaeapp and stays as it is; train a new run")
    config = run.read_config()
    check_world_size(run.path, config.train.world_size, world)
    updates = {k: getattr(args, k) for k in resumable if getattr(args, k) is not None}
    planned = replace(config, train=replace(config.train, **updates)).validated()
    done = run.epochs_done()
    if planned.train.epochs <= done:
        raise ConfigError(
            f"{run.path} has trained {done} of {planned.train.epochs} epochs; "
            f"pass --epochs with more than {done} to continue"
        )

    def claim() -> None:
        if run.is_training():
            raise RunError(f"{run.path} is training right now; stop that job before resuming")
        if planned != config:
            run.write_config(planned)

    world.on_main(claim)
    return run


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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vaeapp.train import resolve_device

    if args.importance_samples < 1:
        raise ConfigError("--importance-samples must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    run = args.run
    model, config = run.load_model(resolve_device(args.device))
    seed = config.train.seed if args.seed is None else args.seed
    spec = args.data or config.train.data
    dataset = load_dataset(spec, args.data_dir, download=not args.no_download)
    images = evaluation_images(dataset.test.images, config.train.binarize, seed)
    images = images[: args.limit] if args.limit else images
    result = evaluate(model, config, images, k=args.importance_samples, seed=seed)
    if args.json:
        print(json.dumps({**result.as_dict(), "data_source": dataset.source, "run": str(run.path)}))
        return 0
    k = f"K={args.importance_samples}"
    print(one_line(f"{run.path} on {dataset.source}"))
    print(f"  test images            {result.n}")
    print(f"  ELBO                   {result.elbo:.3f} nats/image")
    print(f"    reconstruction       {result.recon:.3f}")
    print(f"    KL(q(z|x) || p(z))   {result.kl:.3f}")
    if not result.normalised:
        print(f"  IWAE bound, {k:<10} {result.log_likelihood:.3f} nats/image")
        print(f"  ({NOT_NORMALISED})")
        return 0
    if result.discrete_log_likelihood is None:
        print(f"  log p(x), {k:<12} {result.log_likelihood:.3f} nats/image")
    else:
        print(f"  log density, {k:<9} {result.log_likelihood:.3f} nats/image (on [0, 1]^D)")
        print(f"  log P(8-bit x) >=      {result.discrete_log_likelihood:.3f} nats/image")
    print(f"  bits per dimension     {result.bits_per_dim:.4f}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from vaeapp.images import grid, png_bytes
    from vaeapp.latent import decode, prior_codes

    if not 1 <= args.n <= 10_000:
        raise ConfigError("--n must be from 1 to 10000")
    if not args.temperature > 0:
        raise ConfigError("--temperature must be > 0")
    model, config = args.run.load_model()
    z = prior_codes(args.n, config.model.latent_dim, args.seed, args.temperature)
    picture = grid(decode(model, z), per_row=max(1, round(args.n**0.5)))
    _write_file(args.output, png_bytes(picture))
    print(f"wrote {args.n} prior samples to {args.output}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from vaeapp.images import load_digit
    from vaeapp.latent import encode_dataset

    run = args.run
    model, _ = run.load_model()
    images = torch.stack([load_digit(path) for path in args.images])
    means, logvars = encode_dataset(model, images)
    stds = torch.exp(0.5 * logvars)
    rows = [
        {"image": str(path), "mean": mean.tolist(), "std": std.tolist()}
        for path, mean, std in zip(args.images, means, stds, strict=True)
    ]
    if args.json:
        print(json.dumps({"run": str(run.path), "images": rows}))
        return 0
    for row in rows:
        print(f"{row['image']}: mean {_numbers(row['mean'])}  std {_numbers(row['std'])}")
    return 0


def _numbers(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


def cmd_interpolate(args: argparse.Namespace) -> int:
    from vaeapp.images import load_digit, png_bytes, strip, there_and_back_gif
    from vaeapp.interpolation import interpolate_images

    model, _ = args.run.load_model()
    first, second = (load_digit(path) for path in (args.first, args.second))
    result = interpolate_images(model, first, second, args.steps, args.method)
    _write_file(args.output, png_bytes(strip(result.images)))
    wrote = f"wrote {args.steps} images from {args.first} to {args.second} to {args.output}"
    if args.gif:
        _write_file(args.gif, there_and_back_gif(result.images))
        wrote += f" and an animation to {args.gif}"
    if args.frames:
        _write_frames(args.frames, result.images)
        wrote += f"; each frame as a 28x28 PNG in {args.frames}"
    print(wrote)
    return 0


def _write_frames(folder: Path, images: torch.Tensor) -> None:
    """Each image as `frame-NN.png`, 28x28, for slides and papers."""
    from vaeapp.images import enlarged, png_bytes

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot make {folder}: {exc.strerror or exc}") from None
    for i, image in enumerate(images):
        _write_file(folder / f"frame-{i:02d}.png", png_bytes(enlarged(image, 1)))


def cmd_inspect(args: argparse.Namespace) -> int:
    """Where the model spends its KL: per latent dimension over the run's own test set (the
    parts sum to `evaluate`'s KL), and which dimensions are active (Burda et al., 2015)."""
    from vaeapp.latent import encode_dataset
    from vaeapp.posterior import active_units, kl_per_dim, unit_activity

    run: Run = args.run
    model, config = run.load_model()
    dataset = load_dataset(args.data or config.train.data, args.data_dir, not args.no_download)
    images = evaluation_images(dataset.test.images, config.train.binarize, config.train.seed)
    mu, logvar = encode_dataset(model, images)
    per_dim = kl_per_dim(mu, logvar).tolist()
    result = {
        "run": str(run.path),
        "kl": sum(per_dim),
        "kl_per_dim": per_dim,
        "activity_per_dim": unit_activity(mu).tolist(),
        "active_units": active_units(mu),
        "latent_dim": config.model.latent_dim,
        "replay_epochs": run.replay_epochs(),
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        one_line(f"{run.path}: {result['active_units']} of {config.model.latent_dim} units active")
    )
    print(f"  KL(q(z|x) || p(z)) {result['kl']:.3f} nats/image, by dimension:")
    ranked = sorted(enumerate(per_dim), key=lambda item: -item[1])
    activity = result["activity_per_dim"]
    for dim, kl in ranked:
        state = "active" if activity[dim] > 0.01 else "inactive"
        print(f"    z{dim + 1:<4} {kl:8.3f}  Var(E[z]) {activity[dim]:.3f}  {state}")
    epochs = result["replay_epochs"]
    print(f"  replay: {len(epochs)} epochs kept" if epochs else "  replay: none kept")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """The models a RUN argument can name: shipped ones by name, saved runs by folder name."""
    listed, unreadable = entries()
    rows = [
        {
            "name": entry.name,
            "path": str(entry.summary.path),
            "data": entry.summary.config.train.data,
            "latent_dim": entry.summary.config.model.latent_dim,
            "epochs": entry.summary.epochs_done,
            "test_elbo": entry.summary.test_elbo,
            "normalised": entry.summary.normalised,
            "shipped": entry.shipped,
            "default_for": list(entry.default_for),
        }
        for entry in listed
    ]
    if args.json:
        print(json.dumps({"models": rows, "unreadable": unreadable}))
        return 0
    print(f"{'name':<24} {'data':<10} {'dim':>4} {'epochs':>6} {'test ELBO':>10}  default for")
    for row in rows:
        elbo = "-" if row["test_elbo"] is None else f"{row['test_elbo']:.1f}"
        elbo += "" if row["normalised"] else "*"
        pages = ", ".join(row["default_for"])
        name, data = one_line(row["name"]), one_line(row["data"])  # a folder may hold an escape
        print(
            f"{name:<24} {data:<10} {row['latent_dim']:>4} {row['epochs']:>6} {elbo:>10}  {pages}"
        )
    if any(not row["normalised"] for row in rows):
        print(f"* {NOT_NORMALISED}")
    for name, reason in unreadable.items():
        print(one_line(f"not listed: {name}: {reason}"))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """`streamlit run` on the app inside the package, with the project's safe settings (this
    machine only, XSRF protection, small uploads) given as flags, so they hold whatever the
    current folder: Streamlit's own defaults would listen on every interface."""
    import tomllib

    from vaeapp.ui import app

    ui = Path(app.__file__).parent
    settings = tomllib.loads((ui / "streamlit_config.toml").read_text(encoding="utf-8"))
    flags = [
        f"--{section}.{key}={str(value).lower() if isinstance(value, bool) else value}"
        for section, values in settings.items()
        for key, value in values.items()
    ]
    command = [sys.executable, "-m", "streamlit", "run", str(ui / "app.py"), *flags]
    os.execv(sys.executable, [*command, f"--server.port={args.port}"])


def _write_file(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
