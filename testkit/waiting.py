"""Waiting for something another process does: one polling loop for every test and benchmark."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], what: str, timeout_s: float = 240, interval_s: float = 0.1
) -> T:
    """Poll `condition()` until it returns something true, and return that; fail with `what`
    after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting until {what}")
        time.sleep(interval_s)
    return result
