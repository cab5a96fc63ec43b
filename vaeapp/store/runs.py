"""A run directory, the one owner of its files: what each is called, how it is read and written.

    config.json         the settings (RunConfig), written before training starts
    metrics.jsonl       the training events, one JSON object a line (see `events`)
    checkpoint.pt       weights-only: model, optimizer and progress (and fp16's grad scaler)
    train.lock          flock held by the training process, with its pid           (`run_jobs`)
    job.lock, job.json  a job launched by the app: its lock, and when and how it was launched
    train.log           that job's output                                            (`run_jobs`)
    reconstructions.png, samples.png    the pictures of the last epoch   (`epoch_outputs`)
    replay/epoch-NNNN.npy   the test set's posterior means after each epoch (`epoch_outputs`)

An exported model folder (`vaeapp export`) is a run too: config.json and model.safetensors, the
weights alone (`weights`), with no checkpoint, no metrics and no optimiser state; it loads
wherever a run does, and is never trained. So is an imported model (`vaeapp import`), a VAE
trained elsewhere: config.json (`arch` "onnx") and its graphs, encoder.onnx and decoder.onnx,
read as untrusted (`onnx_graphs`) and run by ONNX Runtime (`onnx_networks`); no pickle, no code.

Every read and write goes through `vaeapp.files`: no link in a run is followed, no special file
is opened, no read is unbounded and every write is atomic. What is read is validated before use
(`RunConfig.from_json`, `events.parse_event`, `checkpoints.read_checkpoint`), so
a damaged or hostile run raises one `VaeappError` that says what is wrong, and nothing else.

Torch is imported by the methods that load or save a model, not with this module: the Train
page and the run listings read runs in a server that never imports it (half a gigabyte here).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from vaeapp import files
from vaeapp.config import IMPORTED_ARCH, RunConfig
from vaeapp.errors import (
    CheckpointError,
    ConfigError,
    GraphError,
    RunError,
    UnsafeFileError,
    WriteError,
)
from vaeapp.store.epoch_outputs import EpochOutputs
from vaeapp.store.event_scan import parse_events, parse_events_but_steps
from vaeapp.store.events import MAX_LINE, Event, encode_event, parse_event
from vaeapp.store.onnx_graphs import Signature, checked_pair, probe, read_graph, session
from vaeapp.store.run_jobs import LOG_FILE, SMALL_FILE, TAIL_BYTES, RunJobs

if TYPE_CHECKING:
    import torch

    from vaeapp.model.networks import VAE

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
METRICS_PIECE = 8 * MAX_LINE  # bytes of metrics read at once: a whole line always fits
CHECKPOINT_FILE = "checkpoint.pt"
WEIGHTS_FILE = "model.safetensors"  # an exported model folder's weights
ENCODER_FILE, DECODER_FILE = "encoder.onnx", "decoder.onnx"  # an imported model's graphs


class Run(EpochOutputs, RunJobs):
    """One training run on disk. Cheap to construct; files are read when asked for."""

    def __init__(self, path: Path | str) -> None:
        self.path = path if isinstance(path, Path) else Path(path)  # Path(a Path) parses again

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        """The path of one of the run's files (one of the *_FILE names above)."""
        return self.path / name

    @property
    def checkpoint_path(self) -> Path:
        return self.file(CHECKPOINT_FILE)

    @property
    def metrics_path(self) -> Path:
        return self.file(METRICS_FILE)

    @property
    def log_path(self) -> Path:
        return self.file(LOG_FILE)

    def _checked(self, name: str) -> str:
        """`file(name)` as a string, for the checks a picker makes on every run on every
        rerun: with 5,000 runs, making the Path objects took most of their time."""
        return os.path.join(self.path, name)

    def modified(self, name: str) -> float:
        """When one of the run's files last changed (0 if it is missing): a cache key."""
        try:
            return os.lstat(self._checked(name)).st_mtime
        except OSError:
            return 0.0

    def exists(self) -> bool:
        """Whether the directory holds a run (its config.json, a regular file)."""
        return files.regular_file(self._checked(CONFIG_FILE))

    def has_checkpoint(self) -> bool:
        return files.regular_file(self._checked(CHECKPOINT_FILE))

    def is_model_folder(self) -> bool:
        """Whether this is a model folder, exported or imported: a model.safetensors or a
        decoder.onnx (a link counts, to be refused when read), no checkpoint, no history."""
        return (
            os.path.lexists(self._checked(WEIGHTS_FILE)) or self.is_imported()
        ) and not self.has_checkpoint()

    def is_imported(self) -> bool:
        """Whether this is an imported model: a VAE trained elsewhere, as ONNX graphs."""
        return os.path.lexists(self.file(DECODER_FILE)) and not self.has_checkpoint()

    def has_weights(self) -> bool:
        """Whether a model can be loaded: a checkpoint's, or a model folder's."""
        return self.has_checkpoint() or self.is_model_folder()

    @property
    def weights_path(self) -> Path:
        """The file the model's weights are read from (an imported model's decoder graph)."""
        if self.is_imported():
            return self.file(DECODER_FILE)
        return self.file(WEIGHTS_FILE) if self.is_model_folder() else self.checkpoint_path

    # --- creating and configuring -------------------------------------------------------------

    @classmethod
    def create(
        cls, path: Path | str, config: RunConfig, contents: dict[str, bytes] | None = None
    ) -> Run:
        """A new run directory holding `config`, and `contents` by file name (an imported
        model's graphs), written first: a folder cut short holds no config, so is no run.
        Refuses a run that exists, and a folder with other files in it: a run never writes
        among a user's files."""
        run = cls(path)
        config.validated()
        if run.exists():
            raise RunError(f"{run.path} already holds a run; resume it or choose a new name")
        if run.path.is_symlink() or (run.path.exists() and not run.path.is_dir()):
            raise RunError(f"{run.path} exists and is not a folder; choose a new name")
        if run.path.is_dir() and any(run.path.iterdir()):
            raise RunError(
                f"{run.path} is a folder with other files in it, not a vaeapp run; "
                "choose a new or empty folder"
            )
        try:
            run.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create run directory {run.path}: {exc.strerror}") from None
        for name, data in (contents or {}).items():
            files.write_atomically(run.file(name), data)
        run.write_config(config)
        return run

    def read_config(self) -> RunConfig:
        if not self.path.is_dir():
            raise RunError(f"no run at {self.path}")
        missing = f"{self.path} is not a vaeapp run (it has no {CONFIG_FILE})"
        with files.problems_as(RunError, missing):
            text = files.read_text(self.file(CONFIG_FILE), SMALL_FILE)
        try:
            return RunConfig.from_json(text)
        except ConfigError as exc:
            raise RunError(f"{self.file(CONFIG_FILE)}: {exc}") from None

    def write_config(self, config: RunConfig) -> None:
        files.write_atomically(self.file(CONFIG_FILE), config.validated().to_json().encode())

    # --- metrics ------------------------------------------------------------------------------

    def folder_identity(self) -> tuple[int, int] | None:
        """The run folder's device and inode; None if nothing is at its path now."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_dev, info.st_ino

    @contextmanager
    def metrics_appender(self) -> Iterator[Callable[[Event], None]]:
        """Append events through one open file, flushed after each event.

        A trainer writes an event per step: one write call each, not an open and a close.
        A line torn by a killed writer is ended first, so the next event starts a line.
        """
        with files.open_to_write(self.metrics_path, "append") as out:

            def write(data: bytes) -> None:
                try:
                    files.append_fully(out, data)
                except OSError as exc:  # a full disk: training stops here, and can resume
                    raise WriteError(
                        f"could not add to {self.metrics_path} ({exc.strerror or exc}); the last "
                        "checkpoint is intact: free some space, then resume the run"
                    ) from None

            size = out.seek(0, os.SEEK_END)
            if size > 0 and files.read_tail(self.metrics_path, 1) != b"\n":
                write(b"\n")
            yield lambda event: write(encode_event(event))

    def append_metrics(self, event: Event) -> None:
        with self.metrics_appender() as append:
            append(event)

    def iter_metrics(self) -> Iterator[Event]:
        """Every well-formed event written so far, read in bounded pieces; the rest skipped."""
        return self._events_by_piece(partial(parse_events, keep_every=None))

    def iter_metrics_but_steps(self) -> Iterator[Event]:
        """The events of `iter_metrics` less the steps inside each stretch of steps
        (`event_scan.parse_events_but_steps`): what a summary needs of a run, without parsing
        the million steps of a long one."""
        return self._events_by_piece(parse_events_but_steps)

    def _events_by_piece(self, parse: Callable[[bytes], list[Event]]) -> Iterator[Event]:
        offset = 0
        while True:
            try:
                chunk, after, ended = self._metrics_piece(offset, METRICS_PIECE)
            except UnsafeFileError as exc:
                raise RunError(str(exc)) from None
            if after <= offset:  # nothing more, or the file replaced by a shorter one meanwhile
                return
            yield from parse(chunk)
            if ended:
                return
            offset = after

    def check_metrics(self) -> None:
        """RunError if the metrics file is a link or a special file (a missing one is none)."""
        try:
            files.check_regular(self._checked(METRICS_FILE))
        except FileNotFoundError:
            return
        except UnsafeFileError as exc:
            raise RunError(str(exc)) from None

    def new_metrics(
        self, offset: int, limit: int, keep_every: int | None = None
    ) -> tuple[list[Event], int]:
        """The events of the complete lines written from byte `offset` on (at most `limit`
        bytes, so a huge file is caught up with over several calls), and the offset after them.
        A file shorter than `offset` was replaced: its events are read from the start, and the
        offset returned is below the one given. A link or a special file reads as empty.

        `keep_every`: the reader keeps only the steps whose number is a multiple of it (a
        history thinning its steps); the others inside a stretch of the trainer's step lines
        are left out unparsed (`event_scan.parse_events`)."""
        try:
            chunk, after, _ = self._metrics_piece(offset, limit)
        except UnsafeFileError:
            return [], offset
        return parse_events(chunk, keep_every), after

    def _metrics_piece(self, offset: int, limit: int) -> tuple[bytes, int, bool]:
        """The complete lines from byte `offset` on, at most `limit` bytes, the offset after
        them (from the start if the file is now shorter), and whether the read reached the
        file's end. A line longer than `limit` is no event: a piece that holds no end of a line
        is passed over, and a piece that begins inside a line (its previous byte no newline)
        skips to that line's end, so every reader skips the same lines, whatever its offsets.
        UnsafeFileError for a link or a special file."""
        try:
            with files.open_for_reading(self.metrics_path) as source:
                size = source.seek(0, os.SEEK_END)
                offset = offset if offset <= size else 0
                before = min(offset, 1)  # the byte before the piece: does a line end there?
                source.seek(offset - before)
                read = source.read(before + min(limit, size - offset))
        except FileNotFoundError:
            read, before = b"", 0
        inside, chunk = read[:before] not in (b"", b"\n"), read[before:]
        skipped = (chunk.find(b"\n") + 1 or len(chunk)) if inside else 0
        complete = chunk[skipped : chunk.rfind(b"\n") + 1]
        if not (skipped or complete) and len(chunk) == limit:  # a line longer than a piece
            skipped = len(chunk)
        return complete, offset + skipped + len(complete), len(chunk) < limit

    def read_metrics(self) -> list[Event]:
        return list(self.iter_metrics())

    def _last_events(self) -> Iterator[Event]:
        """The well-formed events at the end of the file, newest first."""
        try:
            with files.open_for_reading(self.metrics_path) as source:
                size = source.seek(0, os.SEEK_END)
                begins = max(0, size - TAIL_BYTES)
                source.seek(begins)
                lines = source.read(TAIL_BYTES).split(b"\n")
                if begins and parse_event(lines[0]) is not None:
                    lines[0] = _whole_line(source, begins, lines[0])
        except (FileNotFoundError, UnsafeFileError):
            return
        for line in reversed(lines):
            if (event := parse_event(line)) is not None:
                yield event

    def last_event(self) -> Event | None:
        """The newest well-formed event, reading only the end of the file."""
        return next(self._last_events(), None)

    def newest_step(self) -> int:
        """The highest step number at the end of the file (0 if none there): a step the run
        has reached, read without reading the rest."""
        return max((e["step"] for e in self._last_events() if e["kind"] == "step"), default=0)

    # --- checkpoint ---------------------------------------------------------------------------

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write the checkpoint atomically; on failure the previous one stays as it was."""
        import torch

        with tempfile.SpooledTemporaryFile(max_size=1 << 30) as buffer:
            torch.save(state, buffer)
            buffer.seek(0)
            files.write_atomically(self.checkpoint_path, buffer.read())

    def load_checkpoint(self, config: RunConfig | None = None) -> dict[str, Any]:
        """The checkpoint's tensors and numbers; never runs code stored in the file.

        Its size and each entry's declared size are checked against what the config implies
        before anything is decompressed or unpickled, so a small file cannot inflate in memory.
        """
        from vaeapp.store.checkpoints import read_checkpoint

        config = config or self.read_config()
        return read_checkpoint(self.checkpoint_path, config.model)

    def load_model(self, device: str | torch.device = "cpu") -> tuple[VAE, RunConfig]:
        """The trained model in eval mode, and the config it was built from."""
        import torch

        from vaeapp.model.networks import build_model
        from vaeapp.store.weights import read_weights

        config = self.read_config()
        if config.model.arch == IMPORTED_ARCH:
            return self._imported_model(config).to(device).eval(), config
        model = build_model(config.model)
        if self.is_model_folder():
            weights = read_weights(self.file(WEIGHTS_FILE), config.model)
        else:
            weights = self.load_checkpoint(config)["model"]
        try:
            model.load_state_dict(weights)
        except (RuntimeError, TypeError, ValueError) as exc:
            detail = str(exc).splitlines()[-1].strip() if str(exc) else ""
            raise CheckpointError(
                f"{self.weights_path} does not match its config.json ({detail})"
            ) from None
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise CheckpointError(f"{self.weights_path} holds non-finite weights")
        return model.to(device).eval(), config

    def _imported_model(self, config: RunConfig) -> VAE:
        """The VAE of an imported model's graphs, each checked, and both probed as at import
        (once a process), before a session is made."""
        from vaeapp.model.likelihoods import make_likelihood
        from vaeapp.model.onnx_networks import imported_vae

        encoder, decoder = (
            read_graph(self.file(name), what)
            for name, what in ((ENCODER_FILE, "encoder"), (DECODER_FILE, "decoder"))
        )
        model = config.model
        params = make_likelihood(model.likelihood).params_per_value
        try:
            checked_pair(encoder, decoder, model, params)
            found = Signature(model.image_shape, model.latent_dim)
            outputs = params * model.image_shape[0]
            probe(encoder, decoder, found, outputs, model.posterior, once=True)
        except GraphError as exc:
            raise GraphError(f"{self.path}: {exc}") from None
        return imported_vae(session(encoder), session(decoder), decoder, config.model)


def _whole_line(source: BinaryIO, begins: int, end: bytes) -> bytes:
    """The line whose `end` a tail read from byte `begins` holds first, as the readers of the
    whole file see it (b"" if longer than any event): the end of a long line of spaces before
    an event parses, and must count for the tail as it does for them."""
    source.seek(max(0, begins - MAX_LINE))
    before = source.read(begins - source.tell())
    if (newline := before.rfind(b"\n")) < 0 and len(before) < begins:
        return b""
    return before[newline + 1 :] + end
