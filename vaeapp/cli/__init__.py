"""The headless command line: `vaeapp train | evaluate | inspect | export | import | sample |
encode | interpolate | models | app`, one module per group of commands.

User mistakes end with a one-line `vaeapp: error: ...` and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from vaeapp import __version__
from vaeapp.cli.app_command import add_app
from vaeapp.cli.common import (
    EXIT_ERROR,
    RUN_HELP,
    OneLineParser,
    argument_type,
    one_line,
    path_type,
)
from vaeapp.cli.image_commands import add_encode, add_interpolate, add_sample
from vaeapp.cli.model_commands import (
    add_evaluate,
    add_export,
    add_import,
    add_inspect,
    add_models,
)
from vaeapp.cli.train_command import add_train
from vaeapp.config import RunConfig
from vaeapp.errors import VaeappError
from vaeapp.store.catalog import find


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


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="vaeapp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"vaeapp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = _shared(
        (("--data",), {"help": f"data source (default {RunConfig().train.data}, or the run's)"}),
        (
            ("--data-dir",),
            {"type": path_type("--data-dir"), "help": "where data sets live (default ./data)"},
        ),
        (("--no-download",), {"action": "store_true", "help": "never try the network"}),
    )
    run = _shared((("run",), {"type": argument_type(find), "metavar": "RUN", "help": RUN_HELP}))
    as_json = _shared((("--json",), {"action": "store_true", "help": "print one JSON object"}))
    for name, add, summary, shared in (
        ("train", add_train, "train a VAE into a run directory", [data]),
        (
            "evaluate",
            add_evaluate,
            "ELBO and log p(x) of a run on test data",
            [run, data, as_json],
        ),
        (
            "inspect",
            add_inspect,
            "KL per latent dimension, active units, replay",
            [run, data, as_json],
        ),
        (
            "export",
            add_export,
            "a model folder others can load (safetensors, a model card), a standalone page",
            [run, data],
        ),
        (
            "import",
            add_import,
            "a VAE trained anywhere (ONNX graphs or a torch module), made a run",
            [],
        ),
        ("sample", add_sample, "a grid of decoded samples from the prior", [run]),
        ("encode", add_encode, "posterior mean and std of image files", [run, as_json]),
        ("interpolate", add_interpolate, "a strip of decoded images from image A to B", [run]),
        ("models", add_models, "the shipped and saved models, by name", [as_json]),
        ("app", add_app, "start the app (on this machine only)", []),
    ):
        add(commands.add_parser(name, parents=shared, help=summary))
    return parser


def _shared(*arguments: tuple[tuple[str, ...], dict[str, Any]]) -> argparse.ArgumentParser:
    """Arguments several commands take, declared once (argparse's parent parsers)."""
    parser = OneLineParser(add_help=False)
    for flags, options in arguments:
        parser.add_argument(*flags, **options)
    return parser
