"""Reading a piece of `metrics.jsonl` fast: a long run's file holds millions of step lines, most
of which a reader thinning its steps would drop, so they are recognised and numbered by array
operations over the whole piece (no Python per line) and only the lines a reader keeps are parsed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from vaeapp.store.events import Event, parse_event

# The trainer's step lines begin so; a line that does, with no other "kind" and no escape that
# could spell one, is a step or no event (JSON would read a second "kind" or "step" apart).
STEP_LINE = b'{"kind": "step"'
KIND_LINE = b'{"kind"'
STEP_KEY = b'"step": '
MAX_DIGITS = 13  # a step number has at most this many; `events.MAX_COUNT` is below 10**13
NEWLINE, BACKSLASH, COMMA, BRACE = (ord(c) for c in "\n\\,}")
# A smaller piece (some 200 of the trainer's lines) is parsed whole: cheaper than finding which
# lines to leave out, and what a reader keeps of it is the same (5,000 short runs are 5,000
# small pieces to summarise).
SMALL_PIECE = 1 << 15
PAD = bytes(len(STEP_KEY) + MAX_DIGITS + 1)  # past the end: no digit, no terminator


def _bytes(text: bytes) -> np.ndarray:
    return np.frombuffer(text, dtype=np.uint8)


class Piece:
    """Complete lines read at once, and where things are in them."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.data = _bytes(chunk + PAD)
        ends = np.flatnonzero(self.data[: len(chunk)] == NEWLINE)
        if chunk and chunk[-1] != NEWLINE:  # a last line longer than a whole look
            ends = np.append(ends, len(chunk))
        self.starts = np.concatenate(([0], ends[:-1] + 1))[: len(ends)].astype(ends.dtype)
        self.ends = ends

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> bytes:
        return self.chunk[self.starts[i] : self.ends[i]]

    def rows(self, at: np.ndarray, width: int) -> np.ndarray:
        """The `width` bytes from each offset of `at`, one row each."""
        return sliding_window_view(self.data, width)[at]

    def matching(self, at: np.ndarray, text: bytes) -> np.ndarray:
        """Which of the offsets `at` begin `text`."""
        return self.rows(at, len(text)).view(f"S{len(text)}")[:, 0] == text

    def beginning(self, text: bytes) -> np.ndarray:
        """The lines that begin with `text`."""
        lines = np.flatnonzero(self.ends - self.starts >= len(text))
        return lines[self.matching(self.starts[lines], text)]

    def occurrences(self, text: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Per line, how often `text` occurs in it; and where each occurrence begins, in order.
        Its first two bytes are looked for in the whole piece, the rest only where they are."""
        size = len(self.chunk)
        found = np.flatnonzero((self.data[: size - 1] == text[0]) & (self.data[1:size] == text[1]))
        found = found[self.matching(found, text)]
        return np.bincount(self._line_of(found), minlength=len(self)), found

    def escaped(self) -> np.ndarray:
        """Per line, whether it holds a backslash (with which JSON could spell any key)."""
        escaped = np.zeros(len(self), dtype=bool)
        if b"\\" in self.chunk:
            escaped[self._line_of(np.flatnonzero(self.data == BACKSLASH))] = True
        return escaped

    def _line_of(self, offsets: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, offsets, side="right") - 1


def _step_like(piece: Piece) -> np.ndarray:
    """The lines that begin as the trainer's step lines do, with no other "kind" and no escape
    that could spell one: each is a step or no event (JSON would read a second "kind" apart)."""
    lines = piece.beginning(STEP_LINE)
    if piece.chunk.count(b'"kind"') != len(piece.beginning(KIND_LINE)):  # some line has two
        kinds, _ = piece.occurrences(b'"kind"')
        lines = lines[kinds[lines] == 1]
    return lines[~piece.escaped()[lines]]


def step_numbers(piece: Piece) -> np.ndarray:
    """Per line, the number of a step-like line with one "step" key, its number of 1 to 13
    digits ended by `,` or `}`; -1 for any other line. A line with a number is a step of that
    number, or no event."""
    numbers = np.full(len(piece), -1, dtype=np.int64)
    lines = _step_like(piece)
    if not len(lines):
        return numbers
    steps, step_at = piece.occurrences(b'"step"')
    lines = lines[steps[lines] == 2]
    # The line's second "step" is its key: the first is the kind's value, in the prefix.
    key = step_at[np.cumsum(steps)[lines] - 1]
    keyed = piece.matching(key, STEP_KEY)
    lines, key = lines[keyed], key[keyed] + len(STEP_KEY)
    after = piece.rows(key, MAX_DIGITS + 1)
    digits = after - ord("0")
    is_digit = digits <= 9  # unsigned: a byte below "0" wraps round to above 9
    width = np.argmin(is_digit, axis=1)  # the first byte that is no digit (0 if all 14 are)
    end = after[np.arange(len(after)), width]
    fits = (width > 0) & ((end == COMMA) | (end == BRACE)) & (key + width < piece.ends[lines])
    value = np.zeros(len(after), dtype=np.int64)
    for place in range(MAX_DIGITS):
        value = np.where(place < width, value * 10 + digits[:, place], value)
    numbers[lines[fits]] = value[fits]
    return numbers


def parse_events(chunk: bytes, keep_every: int | None) -> list[Event]:
    """The well-formed events of `chunk`'s lines. With `keep_every`, a step inside a stretch of
    steps (step lines in rising order) between the stretch's first and last well-formed steps is
    left out unparsed unless its number is a multiple of `keep_every`: a reader that keeps only
    those loses nothing, and a long run's catch-up parses a fraction of its lines."""
    if keep_every is None or len(chunk) < SMALL_PIECE:
        return _every_event(chunk)
    piece = Piece(chunk)
    numbers = step_numbers(piece)
    rises = (numbers[:-1] >= 0) & (numbers[1:] > numbers[:-1])
    return _events(
        piece, np.flatnonzero(~rises) + 1, lambda lines: numbers[lines] % keep_every == 0
    )


def parse_events_but_steps(chunk: bytes) -> list[Event]:
    """The well-formed events of `chunk`'s lines less the steps inside each stretch of step-like
    lines: its first and last well-formed steps stand for it (the last ends a session's wall
    time). What a summary of a run needs, without finding the number of its million steps."""
    if len(chunk) < SMALL_PIECE:
        return _every_event(chunk)
    piece = Piece(chunk)
    like = np.zeros(len(piece), dtype=bool)
    like[_step_like(piece)] = True
    return _events(piece, np.flatnonzero(~(like[:-1] & like[1:])) + 1, lambda lines: lines < 0)


def _every_event(chunk: bytes) -> list[Event]:
    return [event for line in chunk.split(b"\n") if (event := parse_event(line)) is not None]


def _events(
    piece: Piece, breaks: np.ndarray, kept: Callable[[np.ndarray], np.ndarray] | None = None
) -> list[Event]:
    """The well-formed events of the stretches of lines that `breaks` begin (and the first):
    all, or, strictly between each stretch's first and last well-formed events, those `kept`."""
    events: list[Event] = []
    for start, end in zip(np.r_[0, breaks], np.r_[breaks, len(piece)], strict=True):
        lines = np.arange(start, end)
        parsed = _ends(piece, int(start), int(end)) if kept else {}
        valid = [i for i, event in parsed.items() if event is not None]
        if kept and valid:
            inside = (lines > min(valid)) & (lines < max(valid))
            lines = lines[~inside | kept(lines)]
        for i in lines.tolist():
            event = parsed[i] if i in parsed else parse_event(piece.line(i))
            if event is not None:
                events.append(event)
    return events


def _ends(piece: Piece, start: int, end: int) -> dict[int, Event | None]:
    """The lines of a stretch parsed first, by index: from each end inwards up to a
    well-formed event."""
    parsed: dict[int, Event | None] = {}
    for indices in (range(start, end), range(end - 1, start - 1, -1)):
        for i in indices:
            parsed[i] = parsed[i] if i in parsed else parse_event(piece.line(i))
            if parsed[i] is not None:
                break
    return parsed
