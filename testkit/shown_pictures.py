"""What a page should show for a code: torch's E[x|z] as the 0-255 levels the map draws, and
a wait until the page shows it (a decode finishes a moment after the click or move that asked
for it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from testkit.waiting import wait_for
from vaeapp.model.networks import VAE

GREY_LEVELS = 255


def torch_levels(model: VAE, code: Sequence[float] | np.ndarray) -> np.ndarray:
    """E[x|z] for one code, as levels 0-255 rounded, [C * H * W]."""
    with torch.no_grad():
        mean = model.decode_mean(torch.as_tensor(np.asarray(code), dtype=torch.float32)[None])
    return np.round(mean.numpy().ravel() * GREY_LEVELS)


def wait_until_shown(
    pixels: Callable[[], list[int]], expected: np.ndarray, what: str, timeout_s: float = 20
) -> None:
    """Until `pixels()` is `expected` to within one level (rounding on either side); a
    timeout says how far the last picture was off."""
    off = np.zeros(0)

    def shown() -> bool:
        nonlocal off
        off = np.abs(np.array(pixels()) - expected)
        return off.max() <= 1

    try:
        wait_for(shown, what, timeout_s)
    except AssertionError as timed_out:
        far, most = int((off > 1).sum()), off.max()
        detail = f"{far} of {off.size} levels off, up to {most:g}"
        raise AssertionError(f"{timed_out}: {detail}") from None
