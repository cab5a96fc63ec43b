"""`vaeapp train --tensorboard DIR`: the trainer's events as TensorBoard event files, written by
a listener (as the progress bar is one), so the loop knows nothing of TensorBoard.

Scalars `train/elbo`, `train/recon`, `train/kl` at every global step; `test/elbo`, `test/recon`,
`test/kl` and `train/epoch_elbo` at every epoch (the epoch number as their step), with the
epoch's pictures (the run's reconstructions and samples); at the end, the test set's codes as an
embedding for the projector, with their labels and a sprite of their images. A resumed run
appends to the same folder, from the step it resumes at. TensorBoard is optional: `require`
says how to install it. Torch is imported when a log is written, not with this module: the
Train page quotes INSTALL in a server without it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from vaeapp.errors import NotInstalled
from vaeapp.store.events import Event
from vaeapp.store.runs import Run

if TYPE_CHECKING:
    from vaeapp.data.datasets import Dataset

INSTALL = "pip install 'vaeapp[tensorboard]'"
TERMS = ("elbo", "recon", "kl")
SPRITE_SIDE = 8192  # the projector's largest sprite, in pixels


def require() -> None:
    """Refuse at once, in one line, where TensorBoard's writer cannot be imported."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        raise NotInstalled(
            f"--tensorboard needs TensorBoard, which is not installed: {INSTALL}"
        ) from None


class TensorBoardLog:
    """Writes one run's training events into `folder` (process 0's events only: the trainer
    emits on process 0 alone)."""

    def __init__(self, folder: Path, run: Run, dataset: Dataset) -> None:
        self.folder, self.run, self.dataset = folder, run, dataset
        self.writer: Any = None

    def __call__(self, event: Event) -> None:
        kind = event["kind"]
        if kind == "start":
            from torch.utils.tensorboard import SummaryWriter

            # a resumed run drops what a killed session logged after its last checkpoint: the
            # steps after the one it resumes at (TensorBoard drops every step from purge_step)
            purge = event["step"] + 1 if event["resumed"] else None
            self.writer = SummaryWriter(str(self.folder), purge_step=purge)
        elif self.writer is None:
            return
        elif kind == "step":
            for term in TERMS:
                self.writer.add_scalar(f"train/{term}", event[term], event["step"])
        elif kind == "epoch":
            self._epoch(event)
        elif kind == "end":
            self._embedding(event["epoch"])
            self.writer.close()

    def _epoch(self, event: Event) -> None:
        epoch = event["epoch"]
        for term in TERMS:
            self.writer.add_scalar(f"test/{term}", event[f"test_{term}"], epoch)
        self.writer.add_scalar("train/epoch_elbo", event["train_elbo"], epoch)
        pictures = self.run.pictures()
        if pictures is not None:
            for tag, png in zip(("reconstructions", "samples"), pictures, strict=True):
                picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
                self.writer.add_image(tag, picture, epoch, dataformats="HWC")
        self.writer.flush()

    def _embedding(self, epoch: int) -> None:
        """The last kept codes of the test set, as many as a sprite of their images can show."""
        import torch

        epochs = self.run.replay_epochs()
        codes = self.run.load_replay(epochs[-1]) if epochs else None
        if codes is None:
            return
        test = self.dataset.test
        side = SPRITE_SIDE // max(test.images.shape[-2:])
        n = min(len(codes), len(test), side * side)
        classes = self.dataset.classes
        labels = [classes[i] if i < len(classes) else str(i) for i in test.labels[:n].tolist()]
        self.writer.add_embedding(
            torch.from_numpy(codes[:n]),
            metadata=labels,
            label_img=test.images[:n],
            global_step=epoch,
            tag="test_codes",
        )
