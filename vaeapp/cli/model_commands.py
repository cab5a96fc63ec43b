"""`vaeapp evaluate | inspect | export | import | models`: the bounds of a run on test data,
where it spends its KL, a model folder others can load, a VAE trained elsewhere made a run, and
the models a RUN argument can name."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from vaeapp import files
from vaeapp.cli.common import argument_type, load_data, one_line, path_type
from vaeapp.config import DEVICES, LIKELIHOODS, POSTERIORS, RunConfig
from vaeapp.data.datasets import Dataset
from vaeapp.errors import ConfigError
from vaeapp.model.evaluate import Evaluation, evaluate_test_set, evaluation_images
from vaeapp.model.networks import VAE
from vaeapp.model.normalised import NOT_NORMALISED
from vaeapp.paths import runs_dir
from vaeapp.store.catalog import entries, run_path, summarise
from vaeapp.store.runs import Run


def add_evaluate(p: argparse.ArgumentParser) -> None:
    _add_scoring(p)
    p.add_argument("--limit", type=int, help="only the first N test images")
    p.set_defaults(handler=cmd_evaluate)


def add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        metavar="DIR",
        type=path_type("--model"),
        help="the model folder to write: config.json, model.safetensors, README.md (the model "
        "card, with the figures `vaeapp evaluate` prints) and its pictures",
    )
    p.add_argument(
        "--html",
        metavar="FILE",
        type=path_type("--html"),
        help="a standalone page to write: the latent map of the test images, decoding under "
        "the pointer, and the model's card, in one HTML file that opens offline from disk",
    )
    _add_scoring(p)
    p.set_defaults(handler=cmd_export)


def add_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the new run's name (in the runs folder)")
    _add_model_files(p.add_argument_group("the model: two ONNX graphs, or a PyTorch module"))
    p.add_argument(
        "--likelihood", choices=LIKELIHOODS, required=True, help="what the decoder parameterises"
    )
    p.add_argument("--data", required=True, help="the data source it was trained on")
    p.add_argument(
        "--posterior",
        choices=POSTERIORS,
        default="logvar",
        help="the encoder's second half: log-variance (default) or standard deviation",
    )
    p.add_argument(
        "--binarize",
        action=argparse.BooleanOptionalAction,
        help="score on binarised images (default: with the Bernoulli only)",
    )
    p.add_argument(
        "--out", metavar="DIR", type=path_type("--out"), help="the run folder (default: runs/NAME)"
    )
    p.set_defaults(handler=cmd_import)


def _add_model_files(p: argparse._ArgumentGroup) -> None:
    for graph, gives in (
        ("encoder", "x [B, C, H, W] in [0, 1] -> mean, log-variance [B, D] each, or one [B, 2D]"),
        ("decoder", "z [B, D] -> the likelihood's parameters [B, P*C, H, W] (Bernoulli: logits)"),
    ):
        p.add_argument(
            f"--{graph}",
            metavar="FILE",
            type=path_type(f"--{graph}"),
            help=f"the {graph} as ONNX, batch axis free: {gives}",
        )
    p.add_argument(
        "--module",
        metavar="PACKAGE.MODULE:FACTORY",
        help="instead of ONNX graphs: a function (imported from PYTHONPATH) that returns your "
        "torch nn.Module with encode(x) -> (mean, log-variance) and decode(z) -> the "
        "likelihood's parameters; vaeapp exports both to ONNX",
    )
    p.add_argument(
        "--weights",
        metavar="FILE",
        type=path_type("--weights"),
        help="the module's state dict: safetensors, or torch.save(model.state_dict()) (read "
        "with weights_only=True)",
    )
    p.add_argument(
        "--image-shape",
        metavar="C,H,W",
        type=argument_type(_image_shape),
        help="the images the module takes (default: the data source's own)",
    )


def cmd_import(args: argparse.Namespace) -> int:
    """The graphs (given, or exported from the module) checked, run once and copied into a new
    run folder that loads as a run."""
    from vaeapp.export.module_import import import_module
    from vaeapp.export.onnx_import import import_onnx

    graphs, module = [args.encoder, args.decoder], [args.module, args.weights]
    if any(graphs) == any(module) or not all(graphs if any(graphs) else module):
        raise ConfigError(
            "give --encoder and --decoder (ONNX graphs), or --module and --weights (a PyTorch "
            "module), not both"
        )
    if any(graphs) and args.image_shape:
        raise ConfigError("--image-shape goes with --module; ONNX graphs declare their shape")
    out = args.out or run_path(runs_dir(), args.name)
    settings = (args.likelihood, args.data, args.posterior, args.binarize)
    command = shlex.join(["vaeapp", *sys.argv[1:]])
    if args.module:
        run = import_module(out, args.module, args.weights, args.image_shape, *settings, command)
    else:
        run = import_onnx(out, args.encoder, args.decoder, *settings, command)
    model = run.read_config().model
    shape = "x".join(map(str, model.image_shape))
    print(
        one_line(
            f"imported {args.name} into {run.path}: {model.latent_dim}-D codes, {shape} images, "
            f"{model.likelihood} likelihood (open it with: vaeapp evaluate "
            f"{shlex.quote(str(out if args.out else args.name))})"
        )
    )
    return 0


def _image_shape(text: str) -> tuple[int, int, int]:
    """C,H,W as three whole numbers; ConfigError otherwise (the model's own rule is checked
    where it is used)."""
    parts = text.split(",")
    if len(parts) != 3 or not all(part.strip().isdecimal() for part in parts):
        raise ConfigError(
            f"--image-shape {text!r} must be C,H,W: three whole numbers, e.g. 1,28,28"
        )
    channels, height, width = (int(part) for part in parts)
    return channels, height, width


def _add_scoring(p: argparse.ArgumentParser) -> None:
    """The flags of a score on the test set: `evaluate`'s and `export`'s, so the same flags
    give the same figures."""
    p.add_argument("--importance-samples", "-k", type=int, default=100, metavar="K")
    p.add_argument("--seed", type=int, help="binarisation and sampling seed (default: the run's)")
    p.add_argument("--device", choices=DEVICES, default="auto")


def add_inspect(p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=cmd_inspect)


def add_models(p: argparse.ArgumentParser) -> None:
    p.set_defaults(handler=cmd_models)


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    run = args.run
    _, _, dataset, result = _scored(args, args.limit or 0)
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


def cmd_export(args: argparse.Namespace) -> int:
    """The run as a model folder, its card holding what `evaluate` prints for the same flags,
    and/or as a standalone page, its card holding what the run's history recorded (no scoring:
    it is quick)."""
    if args.model is None and args.html is None:
        raise ConfigError("say what to export: --model DIR, --html FILE, or both")
    if args.model is not None:
        from vaeapp.export.model_folder import export_model

        model, config, dataset, result = _scored(args)
        folder = export_model(model.cpu(), config, dataset.test.images, result, args.model)
        print(one_line(f"exported {args.run.path} to {folder.path} (its model card: README.md)"))
    if args.html is not None:
        from vaeapp.export.html_page import run_content, standalone_page

        model, config = args.run.load_model()
        dataset = load_data(args.data or config.train.data, args, config.model.image_shape)
        page = standalone_page(run_content(model, dataset), summarise(args.run), dataset)
        files.write_atomically(args.html, page)
        size = f"{len(page) / 2**20:.1f} MiB"
        print(one_line(f"wrote the standalone page of {args.run.path} to {args.html} ({size})"))
    return 0


def _scored(args: argparse.Namespace, limit: int = 0) -> tuple[VAE, RunConfig, Dataset, Evaluation]:
    """The run's model, config, data, and its score on the first `limit` test images (all for
    0) with the flags of `_add_scoring`."""
    from vaeapp.training.machine import resolve_device

    if args.importance_samples < 1:
        raise ConfigError("--importance-samples must be at least 1")
    model, config = args.run.load_model(resolve_device(args.device))
    seed = config.train.seed if args.seed is None else args.seed
    dataset = load_data(args.data or config.train.data, args, config.model.image_shape)
    k, test = args.importance_samples, dataset.test.images
    return model, config, dataset, evaluate_test_set(model, config, test, k, seed, limit)


def cmd_inspect(args: argparse.Namespace) -> int:
    """Where the model spends its KL: per latent dimension over the run's own test set (the
    parts sum to `evaluate`'s KL), and which dimensions are active (Burda et al., 2015)."""
    from vaeapp.latent.codes import encode_dataset
    from vaeapp.model.activity import is_active
    from vaeapp.model.posterior import active_units, kl_per_dim, unit_activity

    run: Run = args.run
    model, config = run.load_model()
    dataset = load_data(args.data or config.train.data, args, config.model.image_shape)
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
        state = "active" if is_active(activity[dim]) else "inactive"
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
            "epochs": entry.summary.epochs_done,  # None: unknown (a model folder)
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
        epochs = "?" if row["epochs"] is None else row["epochs"]
        name, data = one_line(row["name"]), one_line(row["data"])  # a folder may hold an escape
        print(f"{name:<24} {data:<10} {row['latent_dim']:>4} {epochs:>6} {elbo:>10}  {pages}")
    if any(not row["normalised"] for row in rows):
        print(f"* {NOT_NORMALISED}")
    for name, reason in unreadable.items():
        print(one_line(f"not listed: {name}: {reason}"))
    return 0
