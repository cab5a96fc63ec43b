"""The training events of `metrics.jsonl`: what each kind carries, and the check every line read
back must pass.

The trainer writes `start`, `step`, `epoch` and `end` events; pages, the job manager and the CLI
read them back. A run folder can come from anyone, so a line is an event only if it is a JSON
object whose known fields have the types and ranges the trainer writes: anything else (a torn
line, a string where a number belongs, an epoch of -1, a line nested 100,000 deep) is skipped as a
torn line is, and no reader ever sees it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
MAX_LINE = 1 << 20  # bytes; the longest event vaeapp writes is a few kilobytes
MAX_COUNT = 10**12  # steps, epochs, images: far beyond any run, far below float precision
# How a training session ended: the `end` event's status, and what jobs and the CLI report.
FINISHED, STOPPED, DIVERGED, FAILED = "finished", "stopped", "diverged", "failed"
STATUSES = (FINISHED, STOPPED, DIVERGED, FAILED)


# `type(...) in`, not isinstance: a bool is an int to isinstance, and a long run's history
# checks these a million times.
def _count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT


def _positive_count(value: Any) -> bool:
    return _count(value) and value > 0


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 10_000


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= 4096 and all(_number(v) for v in value)


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


Check = Callable[[Any], bool]
TERMS = ("elbo", "recon", "kl")
SCHEMA: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    # kind: (required fields, optional fields)
    "start": (
        {
            "time": _number,
            "epoch": _count,
            "step": _count,
            "epochs": _positive_count,
            "steps_per_epoch": _positive_count,
            "n_train": _count,
        },
        {"device": _text, "resumed": _flag, "world_size": _positive_count, "precision": _text},
    ),
    "step": (
        {"time": _number, "epoch": _positive_count, "step": _positive_count}
        | dict.fromkeys(TERMS, _number),
        {"beta": _number, "img_per_s": _number},
    ),
    "epoch": (
        {"time": _number, "epoch": _positive_count},
        {
            **{f"{split}_{term}": _number for split in ("train", "test") for term in TERMS},
            "img_per_s": _number,
            "test_kl_per_dim": _numbers,
            "test_activity_per_dim": _numbers,
            "active_units": _count,
        },
    ),
    "end": (
        {"time": _number, "status": lambda v: v in STATUSES, "epoch": _count},
        {"message": _text},
    ),
}


CHECKS = {
    kind: (required.keys(), {**optional, **required})
    for kind, (required, optional) in SCHEMA.items()
}


def valid_event(event: Any) -> bool:
    """Whether `event` is an event of a known kind with every known field well formed."""
    if not isinstance(event, dict):
        return False
    kind = event.get("kind")
    if type(kind) is not str or kind not in CHECKS:
        return False
    required, checks = CHECKS[kind]
    if not required <= event.keys():
        return False
    return all(check(event[key]) for key, check in checks.items() if key in event)


def parse_event(line: bytes) -> Event | None:
    """One `metrics.jsonl` line as an event; None for anything that is not a well-formed one."""
    if not line.strip() or len(line) > MAX_LINE:  # a file's final newline leaves an empty line
        return None
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):  # also: digits beyond int's conversion limit, not UTF-8
        return None
    return event if valid_event(event) else None


def encode_event(event: Event) -> bytes:
    """One event as a `metrics.jsonl` line."""
    return json.dumps(event).encode() + b"\n"
