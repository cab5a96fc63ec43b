"""`vaeapp app`: the Streamlit app inside the package, with its safe settings."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_app(p: argparse.ArgumentParser) -> None:
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
