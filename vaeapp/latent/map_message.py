"""The map's one binary message, framed: "VMAP", the JSON header's length (uint32, little
endian), the JSON header, then the body, which starts at a multiple of 8 bytes so that the
browser views its arrays as typed arrays. Light to import (no torch, no numpy): a fresh
server's first view reads a kept message before it imports either (`first_map`)."""

from __future__ import annotations

import json
from typing import Any

MAGIC = b"VMAP"
ALIGN = 8
MAX_HEADER_BYTES = 64 * 2**20  # an embedding's inverse travels in the body, not the header


def frame(header: dict[str, Any], body: bytes) -> bytes:
    """The message of this JSON header and this body."""
    encoded = json.dumps(header, separators=(",", ":")).encode()
    start = len(MAGIC) + 4 + len(encoded)
    padding = bytes(padded(start) - start)
    return MAGIC + len(encoded).to_bytes(4, "little") + encoded + padding + body


def header(message: bytes) -> dict[str, Any]:
    """The JSON header of a message; ValueError where it is no map message."""
    if message[: len(MAGIC)] != MAGIC or len(message) < len(MAGIC) + 4:
        raise ValueError("not a map message")
    length = int.from_bytes(message[len(MAGIC) : len(MAGIC) + 4], "little")
    start = len(MAGIC) + 4
    if length > MAX_HEADER_BYTES or start + length > len(message):
        raise ValueError("a map message's header runs past its end")
    parsed = json.loads(message[start : start + length])
    if not isinstance(parsed, dict):
        raise ValueError("a map message's header is no object")
    return parsed


def with_light(message: bytes, **changes: Any) -> bytes:
    """The message with these per-run values changed, its content as it was."""
    parsed = header(message)
    length = int.from_bytes(message[len(MAGIC) : len(MAGIC) + 4], "little")
    body = message[padded(len(MAGIC) + 4 + length) :]
    return frame({**parsed, "light": {**parsed["light"], **changes}}, body)


def padded(length: int) -> int:
    return -(-length // ALIGN) * ALIGN
