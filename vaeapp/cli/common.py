"""What every command shares: one-line errors, argparse types that speak our errors' words,
loading a data source as the flags say, and writing an output file."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from vaeapp.data.datasets import Dataset
from vaeapp.data.sources import load_dataset
from vaeapp.errors import VaeappError, WriteError
from vaeapp.paths import user_path

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_USAGE = 2
RUN_HELP = "a run folder, a saved run's name or a shipped model's (see vaeapp models)"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is a single line instead of usage text plus the message."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"vaeapp: error: {message} (see {self.prog} --help)\n")


def one_line(message: str) -> str:
    """A message on one line: control characters a file name or a config key may carry (a
    newline, say) are shown escaped rather than breaking it."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)


def argument_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse `type` that reports our error's own words as the usage error."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except VaeappError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def path_type(what: str) -> Callable[[str], Path]:
    """An argparse `type` for a path argument: what no file system call can take is a one-line
    usage error, never an OSError or ValueError from deep inside."""
    return argument_type(lambda text: user_path(text, what))


def load_data(spec: str, args: argparse.Namespace, shape: tuple[int, int, int]) -> Dataset:
    """The data source `spec` as images of `shape` (the model's), where `--data-dir` says,
    downloading unless `--no-download`."""
    return load_dataset(spec, args.data_dir, download=not args.no_download, shape=shape)


def write_file(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
