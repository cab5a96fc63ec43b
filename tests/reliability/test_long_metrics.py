"""A long run's metrics.jsonl (hundreds of MB: a step per line) is followed in bounded looks and
bounded memory: the steps kept thin out as they come, the newest always kept, so the Train
page's chart and progress cost the same at step 1.5 million as at step 100."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaeapp.store import event_scan, history
from vaeapp.store import runs as run_files
from vaeapp.store.catalog import summarise
from vaeapp.store.events import encode_event, parse_event
from vaeapp.store.history import MAX_STEPS, READ_LIMIT, History, MetricsFollower
from vaeapp.store.runs import Run

PER_EPOCH = 10
DEFAULT = Path(__file__).resolve().parents[2] / "vaeapp" / "assets" / "default"


def start(step: int) -> dict:
    return {"kind": "start", "epoch": step // PER_EPOCH, "step": step, "epochs": 10**6,
            "steps_per_epoch": PER_EPOCH, "n_train": 1000, "time": float(step)}  # fmt: skip


def step(n: int, value: float = -100.0) -> dict:
    return {"kind": "step", "step": n, "epoch": n // PER_EPOCH, "elbo": value, "recon": value,
            "kl": 1.0, "time": float(n)}  # fmt: skip


# A run's events: stretches of steps, each resumed from an earlier step (a crash, a resume).
runs = st.lists(
    st.tuples(st.integers(0, 300), st.integers(1, 400)),  # resume back by, steps until next
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(stretches=runs)
def test_kept_steps_are_bounded_and_agree_with_every_step_kept(
    stretches: list[tuple[int, int]],
) -> None:
    events, position = [], 0
    for back, length in stretches:
        position = max(0, position - back)
        events.append(start(position))
        for n in range(position + 1, position + length + 1):
            events.append(step(n, value=-float(n)))
        position += length
    everything = History()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "MAX_STEPS", 10**9)
        for event in events:
            everything.add(event)
    bounded = History()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "MAX_STEPS", 16)
        for event in events:
            bounded.add(event)
        assert len(bounded.steps) <= 16 + 1
    newest = max(everything.steps)
    assert max(bounded.steps) == newest  # progress and the curve's end are exact
    assert all(bounded.steps[n] == everything.steps[n] for n in bounded.steps)
    assert bounded.progress(1e9) == everything.progress(1e9)
    curve, full = bounded.frozen().step_curve("elbo"), everything.frozen().step_curve("elbo")
    assert curve.x[-1] == full.x[-1] and curve.raw[-1] == full.raw[-1]


@pytest.mark.slow
def test_a_metrics_file_of_millions_of_steps_is_followed_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "LOOK_S", float("inf"))  # looks bounded in bytes alone
    run = Run(tmp_path)
    path = run.metrics_path
    steps = 400_000  # about 60 MB
    with path.open("wb") as out:
        out.write(encode_event(start(0)))
        out.writelines(encode_event(step(n)) for n in range(1, steps + 1))
    follower = MetricsFollower(run)
    looks = 0
    while True:
        looks += 1
        seen = follower.read(now=float(steps))
        assert len(seen.steps) <= MAX_STEPS + 1
        if seen.progress is not None and seen.progress.steps_done == steps:
            break
        assert looks <= path.stat().st_size // READ_LIMIT + 1
    curve = seen.step_curve("elbo")
    assert len(curve.x) <= history.MAX_POINTS + 1 and curve.x[-1] == steps / PER_EPOCH


def epoch(n: int) -> dict:
    return {"kind": "epoch", "epoch": n, "test_elbo": -float(n), "time": n * PER_EPOCH + 0.5}


def write_lines(run: Run, stretches: list[tuple[int, int]], torn: set[int]) -> list[bytes]:
    """A run's metrics as the trainer writes them, resumed as `stretches` say, with the lines
    numbered in `torn` cut short (a killed writer); the lines."""
    lines, position = [], 0
    for back, length in stretches:
        position = max(0, position - back)
        lines.append(encode_event(start(position)))
        for n in range(position + 1, position + length + 1):
            lines.append(encode_event(step(n, value=-float(n))))
            if n % PER_EPOCH == 0:
                lines.append(encode_event(epoch(n // PER_EPOCH)))
        position += length
    lines = [line[: len(line) // 2] + b"\n" if i in torn else line for i, line in enumerate(lines)]
    run.metrics_path.write_bytes(b"".join(lines))
    return lines


def every_event(lines: list[bytes]) -> History:
    everything = History()
    for line in lines:
        if (event := parse_event(line.rstrip(b"\n"))) is not None:
            everything.add(event)
    return everything


@settings(max_examples=100, deadline=None)
@given(stretches=runs, torn=st.sets(st.integers(0, 2000), max_size=30))
def test_steps_left_unparsed_change_nothing_a_follower_or_a_summary_shows(
    tmp_path_factory: pytest.TempPathFactory, stretches: list[tuple[int, int]], torn: set[int]
) -> None:
    run = Run(tmp_path_factory.mktemp("run"))
    (run.path / "config.json").write_text(Run(DEFAULT).file("config.json").read_text())
    lines = write_lines(run, stretches, torn)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(history, "MAX_STEPS", 16)  # thinning from the first pieces on
        patch.setattr(history, "PIECE", 1 << 10)
        patch.setattr(event_scan, "SMALL_PIECE", 0)  # pieces of any length leave steps out
        everything, followed = every_event(lines), MetricsFollower(run).read(now=1e9)
        summary = summarise(run)
    assert followed == everything.frozen(now=1e9)
    assert summary.trained_s == everything.trained_s
    assert summary.epochs_done == max(everything.epochs, default=0)


def test_a_long_run_is_followed_and_summarised_parsing_a_fraction_of_its_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Run(tmp_path)
    (run.path / "config.json").write_text(Run(DEFAULT).file("config.json").read_text())
    steps = 20_000
    write_lines(run, [(0, steps)], torn=set())
    parsed = []
    monkeypatch.setattr(
        run_files, "parse_event", lambda line: parsed.append(line) or parse_event(line)
    )
    monkeypatch.setattr(history, "MAX_STEPS", 500)
    monkeypatch.setattr(history, "PIECE", 1 << 14)
    monkeypatch.setattr(event_scan, "SMALL_PIECE", 0)
    assert MetricsFollower(run).read().progress.steps_done == steps
    assert len(parsed) < steps / 2
    parsed.clear()
    assert summarise(run).epochs_done == steps // PER_EPOCH
    assert len(parsed) < steps / 2


# Pieces of lines that look like the trainer's step lines, and pieces that could make one lie.
fragments = st.sampled_from(
    [
        b'{"kind": "step"',
        b', "step": ',
        b'"step"',
        b'"kind"',
        b', "kind": "epoch"',
        b"12",
        b"0",
        b"9" * 13,
        b"9" * 14,
        b", ",
        b"}",
        b"\\",
        b'"',
        b"\r",
        b"x",
        b" ",
        b":",
        b"-3",
        b"1e3",
        b', "epoch": 1, "elbo": 1, "recon": 1, "kl": 0, "time": 0}',
    ]
)
lines_of = st.lists(st.lists(fragments, max_size=12).map(b"".join), max_size=8)


@settings(max_examples=500, deadline=None)
@given(lines=lines_of, trainer_steps=st.lists(st.integers(1, 10**12), max_size=4))
def test_a_numbered_line_is_that_step_or_no_event(
    lines: list[bytes], trainer_steps: list[int]
) -> None:
    written = [encode_event(step(n))[:-1] for n in trainer_steps]
    everything = lines + written
    piece = event_scan.Piece(b"".join(line + b"\n" for line in everything))
    numbers = event_scan.step_numbers(piece).tolist()
    assert len(numbers) == len(everything)
    for line, number in zip(everything, numbers, strict=True):
        event = parse_event(line)
        if number >= 0 and event is not None:
            assert event["kind"] == "step" and event["step"] == number
    assert numbers[len(lines) :] == trainer_steps  # the trainer's own lines are all recognised


def test_a_short_piece_is_parsed_whole_and_a_long_one_leaves_its_thinned_steps_out(
    tmp_path: Path,
) -> None:
    """Few lines cost less to parse than to sort out; a reader keeps the same of them."""
    lines = [encode_event(step(n)) for n in range(64, 64 * 1000 + 1)]
    short = lines[: event_scan.SMALL_PIECE // len(lines[-1])]
    assert len(event_scan.parse_events(b"".join(short), keep_every=64)) == len(short)
    kept = [e["step"] for e in event_scan.parse_events(b"".join(lines), keep_every=64)]
    assert kept == list(range(64, 64 * 1000 + 1, 64))


PIECE = 256  # bytes: a step line fits; the lines below that do not are longer than a piece


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.integers(PER_EPOCH, 10**6), max_size=30),
    overlong=st.lists(
        st.tuples(st.integers(0, 30), st.integers(PIECE + 1, 5 * PIECE), st.booleans()),
        max_size=4,
    ),
    first_look=st.integers(PIECE // 2, PIECE),
)
def test_a_line_longer_than_a_piece_is_no_event_for_any_reader(
    steps: list[int], overlong: list[tuple[int, int, bool]], first_look: int
) -> None:
    """Whatever a piece's bounds: a line of spaces before a well-formed event, longer than a
    piece, has a tail that parses alone, so a reader whose piece begins inside it must skip to
    its end. Every reader skips the whole line: the events are those of the file without it."""
    lines = [encode_event(step(n)) for n in steps]
    with_long = list(lines)
    for at, length, padded_event in sorted(overlong, reverse=True):
        tail = encode_event(step(70)) if padded_event else b"x\n"
        with_long.insert(min(at, len(with_long)), b" " * (length - len(tail)) + tail)
    with tempfile.TemporaryDirectory() as scratch:
        plain, hostile = Run(Path(scratch, "plain")), Run(Path(scratch, "hostile"))
        for run, content in ((plain, lines), (hostile, with_long)):
            run.path.mkdir()
            run.metrics_path.write_bytes(b"".join(content))
        expected = list(plain.iter_metrics())
        assert len(expected) == len(steps)
        with patch.object(run_files, "METRICS_PIECE", PIECE):
            assert list(hostile.iter_metrics()) == expected
            summary = list(plain.iter_metrics_but_steps())
            assert list(hostile.iter_metrics_but_steps()) == summary
        read, offset, look = [], 0, first_look
        while (new := hostile.new_metrics(offset, look))[1] > offset:  # a follower's looks
            read += new[0]
            offset, look = new[1], PIECE
        assert read == expected


@pytest.mark.parametrize("spaces", [2 * run_files.TAIL_BYTES, run_files.MAX_LINE])
def test_a_job_state_read_from_the_tail_sees_the_last_line_as_the_whole_file_does(
    tmp_path: Path, spaces: int
) -> None:
    """A job's state reads the file's last 16 KB, which may begin inside a long line of spaces
    before an event: that line is an event for every reader, or (longer than any event) for
    none; its end, which parses alone, must not count where the whole line does not."""
    run = Run(tmp_path / "run")
    run.path.mkdir()
    end = encode_event({"kind": "end", "status": "finished", "epoch": 1, "time": 1.0})
    run.metrics_path.write_bytes(encode_event(start(0)) + b" " * spaces + end)
    whole_file = [e["kind"] for e in run.iter_metrics()]
    newest_in_tail = run.last_event()
    if spaces < run_files.MAX_LINE:
        assert whole_file == ["start", "end"] and newest_in_tail == parse_event(end)
    else:  # the start, beyond the tail's 16 KB, is all there is
        assert whole_file == ["start"] and newest_in_tail is None
