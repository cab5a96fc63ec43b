"""vaeapp's command line as a user runs it, and what every failure of it must look like: one
`vaeapp: error: ...` line on stderr, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from vaeapp.cli import main

VAEAPP = [sys.executable, "-m", "vaeapp"]
ERROR_PREFIX = "vaeapp: error: "
EXIT_ERROR = 1  # a failure vaeapp explains
EXIT_USAGE = 2  # arguments argparse refuses


def run_vaeapp(
    *args: str, timeout: float = 300, **popen: object
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in its own process."""
    return subprocess.run(
        [*VAEAPP, *args], capture_output=True, text=True, timeout=timeout, check=False, **popen
    )


def one_line_error(stderr: str) -> str:
    """`stderr` must be a single `vaeapp: error: ...` line and no traceback; returns it."""
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith(ERROR_PREFIX) and stderr.count("\n") == 1, stderr
    return stderr


def failed(code: int | str | None, exit_code: int | None) -> bool:
    """Whether `code` is a failure's exit status: `exit_code` where given, else any but 0."""
    return code not in (0, None) if exit_code is None else code == exit_code


def process_error(result: subprocess.CompletedProcess[str], exit_code: int | None = None) -> str:
    """A CLI process that failed (with `exit_code`, where given) and said why in one line."""
    assert failed(result.returncode, exit_code), (result.returncode, result.stderr)
    return one_line_error(result.stderr)


def cli_error(
    argv: list[str], capsys: pytest.CaptureFixture[str], exit_code: int | None = None
) -> str:
    """Run the CLI in this process: it must fail (with `exit_code`, where given), print nothing
    on stdout and one line on stderr. Returns that line."""
    try:
        code = main(argv)
    except SystemExit as ended:  # argparse's own checks (a choice, a number)
        code = ended.code
    captured = capsys.readouterr()
    assert failed(code, exit_code), (code, captured)
    assert captured.out == "", captured.out
    return one_line_error(captured.err)


def encode_with_cli(
    run: str, images: Sequence[Path], capsys: pytest.CaptureFixture[str]
) -> list[dict]:
    """`vaeapp encode RUN IMAGE... --json` in this process: a row (image, mean, std) per image."""
    assert main(["encode", run, *map(str, images), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["run"] == run
    return result["images"]
