"""Where vaeapp keeps data and runs; environment variables override the defaults. Every path or
name a user types (an argument, an environment variable, a link, a form field) becomes a Path
through `user_path`, which refuses what no file system call can take."""

from __future__ import annotations

import os
from pathlib import Path

from vaeapp.errors import PathError

ASSETS_DIR = Path(__file__).parent / "assets"
# Linux's limits, in bytes of the file system encoding: past them every call fails with
# ENAMETOOLONG. Deeper than MAX_PARTS folders, pathlib's recursive mkdir overflows Python's stack.
NAME_MAX = 255
PATH_MAX = 4095  # PATH_MAX counts the terminating NUL
MAX_PARTS = 256
SHOWN_CHARS = 80


def user_path(text: str | os.PathLike[str], what: str) -> Path:
    """`text`, typed by a user as `what` ("--out", "VAEAPP_RUNS", ...), as a Path, `~` and
    `~user` expanded (a form field or a link has no shell to do it); PathError, with one line
    saying why, for what no file system call could take."""
    raw = os.fspath(text)
    shown = repr(raw)  # control characters and NUL escaped: the message stays one line
    shown = shown if len(shown) <= SHOWN_CHARS else shown[: SHOWN_CHARS - 1] + "…"
    if not raw.strip():
        raise PathError(f"{what} is empty; give a folder or a name")
    if "\0" in raw:
        raise PathError(f"{what} {shown} holds a NUL byte, which no file name can")
    if raw.startswith("~"):
        expanded = os.path.expanduser(raw)
        if expanded.startswith("~"):  # os.path leaves an unknown user's ~ as it is
            raise PathError(f"{what} {shown}: no user by that name has a home folder")
        raw = expanded
    try:
        encoded = os.fsencode(raw)
    except UnicodeEncodeError:
        raise PathError(f"{what} {shown} holds characters no file name can encode") from None
    parts = [part for part in encoded.split(b"/") if part]
    if len(encoded) > PATH_MAX or len(parts) > MAX_PARTS:
        raise PathError(
            f"{what} {shown} is too long: at most {PATH_MAX} bytes and {MAX_PARTS} folders deep"
        )
    if any(len(part) > NAME_MAX for part in parts):
        raise PathError(
            f"{what} {shown} has a name longer than {NAME_MAX} bytes (about 85 characters in "
            "Chinese or Japanese, or 63 emoji), which no file system allows"
        )
    return Path(raw)


def data_dir() -> Path:
    """Downloaded and cached data sets: $VAEAPP_DATA, else ./data (torchvision's usual root)."""
    return user_path(os.environ.get("VAEAPP_DATA", "data"), "VAEAPP_DATA")


def runs_dir() -> Path:
    """Run directories made by the app and listed by its model picker: $VAEAPP_RUNS, else ./runs."""
    return user_path(os.environ.get("VAEAPP_RUNS", "runs"), "VAEAPP_RUNS")


def cache_dir() -> Path:
    """Results worth keeping between sessions, such as UMAP embeddings: under the data folder."""
    return data_dir() / "cache"
