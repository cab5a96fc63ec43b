"""What a run keeps of each epoch for the pages: the last epoch's pictures (reconstructions,
prior samples) and the test set's codes after every epoch (the replay), with the class of each
code and the classes' names, so that a page colours them without loading the data set. Part of
`runs.Run`, the one owner of a run's files, kept here to keep each module short."""

from __future__ import annotations

import io
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vaeapp import files
from vaeapp.errors import ImageError, UnsafeFileError

RECONSTRUCTIONS_FILE = "reconstructions.png"
SAMPLES_FILE = "samples.png"
REPLAY_DIR = "replay"  # the test set's posterior means after each epoch: epoch-0001.npy, ...
PICTURE_LIMIT = 1 << 22
PICTURE_PIXELS = 1 << 22  # the trainer's grids are under a megapixel
REPLAY_LIMIT = 1 << 26  # a million test images at 32 dimensions
REPLAY_LABELS = "labels.json"  # in REPLAY_DIR: {"labels": [class of each code], "classes": [names]}
LABELS_LIMIT = 1 << 24  # a million labels
MAX_CLASS_NAME = 200


class EpochOutputs(ABC):
    """`Run`'s pictures and replay, written and read as its files."""

    @abstractmethod
    def file(self, name: str) -> Path:
        """The path of one of the run's files."""

    # --- pictures -----------------------------------------------------------------------------

    def write_pictures(self, reconstructions_png: bytes, samples_png: bytes) -> None:
        files.write_atomically(self.file(RECONSTRUCTIONS_FILE), reconstructions_png)
        files.write_atomically(self.file(SAMPLES_FILE), samples_png)

    def pictures(self) -> tuple[bytes, bytes] | None:
        """The last epoch's reconstructions and samples as PNG bytes, if both are there and
        decode, with an upload's guards, as PNGs of a grid's size: a run from anywhere may hold
        a decompression bomb or an SVG under these names, which a page must not decode."""
        from vaeapp.data.picture_files import read_image  # PIL: only where pictures are shown

        try:
            pictures = tuple(
                files.read_bytes(self.file(name), PICTURE_LIMIT)
                for name in (RECONSTRUCTIONS_FILE, SAMPLES_FILE)
            )
            for name, picture in zip((RECONSTRUCTIONS_FILE, SAMPLES_FILE), pictures, strict=True):
                read_image(picture, name, formats=("PNG",), max_pixels=PICTURE_PIXELS)
        except (FileNotFoundError, UnsafeFileError, ImageError):
            return None
        return pictures  # type: ignore[return-value]

    # --- replay -------------------------------------------------------------------------------

    def save_replay(self, epoch: int, codes: np.ndarray) -> None:
        """Keep the test set's posterior means after `epoch`, as float16, atomically."""
        folder = self._replay_folder()
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(codes, dtype=np.float16))
        files.write_atomically(folder / _replay_name(epoch), buffer.getvalue())

    def save_replay_labels(self, labels: Sequence[int], classes: Sequence[str]) -> None:
        """Keep the class of each replayed code and the classes' names, atomically."""
        folder = self._replay_folder()
        text = json.dumps({"labels": [int(v) for v in labels], "classes": list(classes)})
        files.write_atomically(folder / REPLAY_LABELS, text.encode())

    def load_replay_labels(self) -> tuple[np.ndarray, tuple[str, ...]] | None:
        """The replayed codes' classes [N] and the classes' names, or None if missing or damaged
        (a run trained before they were kept has none)."""
        folder = self.file(REPLAY_DIR)
        if folder.is_symlink():
            return None
        try:
            kept = json.loads(files.read_bytes(folder / REPLAY_LABELS, LABELS_LIMIT))
        except (OSError, ValueError, RecursionError, UnsafeFileError):
            return None
        if not isinstance(kept, dict):
            return None
        labels, classes = kept.get("labels"), kept.get("classes")
        if not isinstance(labels, list) or not isinstance(classes, list) or not classes:
            return None
        good_names = all(isinstance(c, str) and len(c) <= MAX_CLASS_NAME for c in classes)
        good_labels = all(type(v) is int and 0 <= v < len(classes) for v in labels)
        if not (good_names and good_labels):
            return None
        return np.asarray(labels, dtype=np.int64), tuple(classes)

    def replay_epochs(self) -> list[int]:
        """The epochs whose codes are kept, in order."""
        folder = self.file(REPLAY_DIR)
        if folder.is_symlink() or not folder.is_dir():
            return []
        try:
            names = [entry.name for entry in os.scandir(folder)]
        except OSError:
            return []
        stems = (n.removeprefix("epoch-").removesuffix(".npy") for n in names if n.endswith(".npy"))
        return sorted(int(stem) for stem in stems if stem.isdigit() and len(stem) <= 6)

    def load_replay(self, epoch: int) -> np.ndarray | None:
        """The codes kept after `epoch` as float32 [N, D], or None if missing or damaged."""
        folder = self.file(REPLAY_DIR)
        if folder.is_symlink():
            return None
        try:
            data = files.read_bytes(folder / _replay_name(epoch), REPLAY_LIMIT)
            codes = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)  # .npy only
        except (OSError, ValueError, EOFError, UnsafeFileError):
            return None
        good = codes.ndim == 2 and codes.dtype == np.float16 and np.isfinite(codes).all()
        return codes.astype(np.float32) if good else None

    def _replay_folder(self) -> Path:
        """The replay folder, made if missing; UnsafeFileError where it is no plain folder."""
        folder = self.file(REPLAY_DIR)
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise UnsafeFileError(f"{folder} is not a plain folder; vaeapp does not write there")
        folder.mkdir(exist_ok=True)
        return folder


def _replay_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}.npy"
