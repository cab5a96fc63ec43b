"""A session's first Explore map, kept on disk for the next fresh server to draw before torch.

A fresh server's first page spends most of its time importing torch (about 3 s of 7 on a small
machine) before it can compute anything of a model. What a new session first sees of a model is
the same each time, while its files stay the same: so the map's message with its content
(`map_content.pack`), its caption and the run's file times are kept under the cache folder,
named by the link's `?run=` (and the runs folder it names a run of). The next fresh server draws
them at once, then imports torch while the browser shows the map and loads its decoder.

A kept map is a hint, as a UMAP cache is: it is drawn only if its digest holds, its run's
config and weights have the times and sizes it was made from, and its message is a map message
with the content it names; anything else reads as none. The page then computes the map anyway,
and sends the content again wherever it differs from what the kept one held. Light to import
(no torch, no numpy).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vaeapp import files
from vaeapp.errors import UnsafeFileError, WriteError
from vaeapp.latent.map_message import header

FORMAT = 1  # a new one when what is kept changes
DIGEST_BYTES = 16
MAX_RECORD_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 128 * 2**20  # a map's content is at most a few tens of MB
MAX_TEXT = 2000  # characters of a caption or its help


@dataclass(frozen=True)
class FirstMap:
    """What a session first saw of a model on Explore: the run's folder, the times and sizes
    (ns, bytes) of the run's files the map was made from, the map's caption and its help, and
    the map's message with its content (whose id it holds)."""

    run_path: str
    stamps: dict[str, tuple[int, int]]
    caption: str
    help: str
    content_id: str
    message: bytes


def key_for(run_named: str, runs: Path) -> str:
    """The name a kept map goes by: the link's `?run=` ("" for none, the default model, which
    no runs folder changes) and, for a name, the runs folder it is looked up in."""
    place = str(runs) if run_named else ""
    named = f"{place}\0{run_named}".encode("utf-8", "surrogatepass")  # a link may hold anything
    return hashlib.blake2b(named, digest_size=16).hexdigest()


def stamps_of(run_path: Path, names: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """The modification times and sizes of a run's files, by name; OSError where one is gone."""
    stamps = {}
    for name in names:
        info = os.lstat(run_path / name)
        stamps[name] = (info.st_mtime_ns, info.st_size)
    return stamps


def keep(cache: Path, key: str, first: FirstMap) -> None:
    """Keep `first` under `key`, unless the same is kept already; an unwritable cache only
    costs the next fresh server its head start."""
    path = _path(cache, key)
    if read(cache, key) == first:
        return
    record = json.dumps({**asdict(first), "message": None, "format": FORMAT}).encode()
    body = len(record).to_bytes(4, "little") + record + first.message
    with contextlib.suppress(OSError, WriteError):
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomically(path, _digest(body) + body)


def read(cache: Path, key: str) -> FirstMap | None:
    """The map kept under `key`, if it is whole and its run's files are as it was made from."""
    try:
        kept = files.read_bytes(
            _path(cache, key), DIGEST_BYTES + 4 + MAX_RECORD_BYTES + MAX_MESSAGE_BYTES
        )
        body = kept[DIGEST_BYTES:]
        if kept[:DIGEST_BYTES] != _digest(body):
            return None
        length = int.from_bytes(body[:4], "little")
        if length > MAX_RECORD_BYTES:
            return None
        first = _first_map(json.loads(body[4 : 4 + length]), body[4 + length :])
    except (OSError, UnsafeFileError, ValueError, TypeError, KeyError, AttributeError):
        return None  # whatever a damaged or foreign file holds: no kept map
    except RecursionError:  # JSON nested deeper than the parser goes
        return None
    return first if first is not None and _unchanged(first) else None


def _first_map(record: Any, message: bytes) -> FirstMap | None:
    """The record's FirstMap, where every field is what it should be."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return None
    texts = [record["run_path"], record["caption"], record["help"], record["content_id"]]
    if not all(isinstance(text, str) and len(text) <= MAX_TEXT for text in texts):
        return None
    stamps = record["stamps"]
    if not isinstance(stamps, dict) or not stamps:
        return None
    for name, stamp in stamps.items():
        plain_name = name and "/" not in name and name not in (".", "..") and "\0" not in name
        numbers = isinstance(stamp, list) and len(stamp) == 2
        if not plain_name or not numbers or not all(type(v) is int and v >= 0 for v in stamp):
            return None
    sent = header(message)
    if sent.get("content", {}).get("id") != record["content_id"]:
        return None
    if sent.get("light", {}).get("content_id") != record["content_id"]:
        return None
    return FirstMap(
        run_path=record["run_path"],
        stamps={name: (stamp[0], stamp[1]) for name, stamp in stamps.items()},
        caption=record["caption"],
        help=record["help"],
        content_id=record["content_id"],
        message=message,
    )


def _unchanged(first: FirstMap) -> bool:
    """Whether the run's files are still those the map was made from (regular files, not
    links, of the same times and sizes)."""
    run_path = Path(first.run_path)
    if not run_path.is_absolute():
        return False
    try:
        for name, stamp in first.stamps.items():
            info = os.lstat(run_path / name)
            if not stat.S_ISREG(info.st_mode) or (info.st_mtime_ns, info.st_size) != stamp:
                return False
    except OSError:
        return False
    return True


def _path(cache: Path, key: str) -> Path:
    return cache / "first-maps" / f"{key}.vmap"


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=DIGEST_BYTES).digest()
