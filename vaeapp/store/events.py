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
import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

Event = dict[str, Any]
MAX_LINE = 1 << 20  # bytes; the longest event vaeapp writes is a few kilobytes
MAX_COUNT = 10**12  # steps, epochs, images: far beyond any run, far below float precision
# How a training session ended: the `end` event's status, and what jobs and the CLI report.
FINISHED, STOPPED, DIVERGED, FAILED = "finished", "stopped", "diverged", "failed"
STATUSES = (FINISHED, STOPPED, DIVERGED, FAILED)
# The trainer's step lines, recognised without parsing them: a long run holds millions.
STEP_LINE = b'{"kind": "step"'
STEP_LOOKBACK = 64  # lines of a stretch of steps kept to find its last well-formed one
# A step's number in a step line (after STEP_LINE), read without parsing the line.
STEP_NUMBER = re.compile(rb'"step": (\d{1,13})[,}]')


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _positive_count(value: Any) -> bool:
    return _count(value) and value > 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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


def valid_event(event: Any) -> bool:
    """Whether `event` is an event of a known kind with every known field well formed."""
    if not isinstance(event, dict):
        return False
    schema = SCHEMA.get(event.get("kind"))  # type: ignore[arg-type]
    if schema is None:
        return False
    required, optional = schema
    if not required.keys() <= event.keys():
        return False
    checks = {**optional, **required}
    return all(check(event[key]) for key, check in checks.items() if key in event)


def parse_event(line: bytes) -> Event | None:
    """One `metrics.jsonl` line as an event; None for anything that is not a well-formed one."""
    if len(line) > MAX_LINE:
        return None
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):  # also: digits beyond int's conversion limit, not UTF-8
        return None
    return event if valid_event(event) else None


def encode_event(event: Event) -> bytes:
    """One event as a `metrics.jsonl` line."""
    return json.dumps(event).encode() + b"\n"


# --- reading many lines fast: a long run's steps, most of which a reader would drop ----------


def is_step_line(line: bytes) -> bool:
    return line.startswith(STEP_LINE) and line.count(b'"kind"') == 1 and b"\\" not in line


def step_number(line: bytes) -> int | None:
    """The number of a line that begins as the trainer's step lines do; None for any other line
    (and for one with a second "kind" or "step", or an escape that could spell one, which JSON
    would read apart). A line with a number here is a step of that number, or no event."""
    if b"\\" in line or line.count(b'"kind"') != 1 or line.count(b'"step"') != 2:
        return None
    match = STEP_NUMBER.search(line, len(STEP_LINE)) if line.startswith(STEP_LINE) else None
    return int(match[1]) if match else None


def parse_events(lines: list[bytes], fleeting: Callable[[int], bool] | None) -> list[Event]:
    """The well-formed events of `lines`, less the `fleeting` steps inside stretches of steps."""
    numbers = [step_number(line) if fleeting else None for line in lines]
    events: list[Event] = []
    start = 0
    while start < len(lines):
        end = start + 1  # the stretch: lines[start:end], step lines in rising order
        while end < len(lines) and _rises(numbers[end - 1], numbers[end]):
            end += 1
        parsed = _ends(lines, start, end)
        valid = sorted(i for i, event in parsed.items() if event is not None)
        for i in range(start, end):
            inside = bool(valid) and valid[0] < i < valid[-1]
            if i in parsed:
                event = parsed[i]
            elif inside and fleeting and fleeting(numbers[i]):  # type: ignore[arg-type]
                continue
            else:
                event = parse_event(lines[i])
            if event is not None:
                events.append(event)
        start = end
    return events


def _rises(before: int | None, after: int | None) -> bool:
    return before is not None and after is not None and after > before


def _ends(lines: list[bytes], start: int, end: int) -> dict[int, Event | None]:
    """The lines of a stretch parsed first, by index: from each end inwards up to a
    well-formed event."""
    parsed: dict[int, Event | None] = {}
    for indices in (range(start, end), range(end - 1, start - 1, -1)):
        for i in indices:
            parsed[i] = parsed[i] if i in parsed else parse_event(lines[i])
            if parsed[i] is not None:
                break
    return parsed


def last_event_of(lines: deque[bytes]) -> Iterator[Event]:
    """The newest well-formed event of `lines`, if any."""
    for line in reversed(lines):
        if (event := parse_event(line)) is not None:
            yield event
            return
