"""A data set as every source gives it: train and test splits of images, labels and, for a made
set, the factors of each image; the fixed split of a set that comes as one pile."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """Images, their labels and, for a made data set, the factors that generated each image
    (int64 [N, F], indices into `Dataset.factor_values`)."""

    images: torch.Tensor
    labels: torch.Tensor
    factors: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    """Train and test splits, the class names, and a description of the source actually used."""

    spec: str
    source: str
    classes: tuple[str, ...]
    train: Split
    test: Split
    factor_names: tuple[str, ...] = ()  # the generating factors, for a made data set
    factor_values: tuple[tuple[str, ...], ...] = ()  # each factor's values, as shown

    def first(self, count: int) -> Split:
        """The test images, then the training images when `count` goes past them: the order of
        the codes on the latent map."""
        if count <= len(self.test):
            return self.test
        test, train = self.test, self.train
        return Split(
            torch.cat([test.images, train.images]),
            torch.cat([test.labels, train.labels]),
            None if test.factors is None else torch.cat([test.factors, train.factors]),
        )


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W] (grey) or [N, C, H, W] -> float32 [N, C, H, W] in [0, 1]."""
    images = torch.from_numpy(np.array(array, dtype=np.uint8)).to(torch.float32).div_(255)
    return images.unsqueeze(1) if images.ndim == 3 else images


def split_deterministically(
    images: torch.Tensor, labels: torch.Tensor, n_test: int
) -> tuple[Split, Split]:
    """A fixed shuffle (seed 0), then the last `n_test` images are the test split."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    train, test = order[:-n_test], order[-n_test:]
    return Split(images[train], labels[train]), Split(images[test], labels[test])
