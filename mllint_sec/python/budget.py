"""The time a file's analysis may take: a deadline the analysis loops check as they go.

libcst's native parser holds the GIL, so another thread cannot stop an analysis; the loops
that can grow with a hostile file (the scope walk, matching, every resolution and taint
question) call `check()` instead, and the first one past the deadline raises `OverBudget`.
Files are analysed one at a time per process (on decode.py's worker thread, or in a forked
child for hostile nesting), so one deadline per process is enough.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_SECONDS = 20.0  # per file, unless `--file-timeout` or `file-timeout` says otherwise


class OverBudget(Exception):
    """The file's analysis ran past its deadline."""

    def __init__(self, seconds: float):
        super().__init__(seconds)  # the only argument, so the exception pickles (from a forked child)
        self.seconds = seconds

    def __str__(self) -> str:
        return f"over the time budget ({self.seconds:g} s)"


_deadline = math.inf
_seconds = math.inf


def check() -> None:
    if time.monotonic() > _deadline:
        raise OverBudget(_seconds)


def remaining() -> float:
    """Seconds left before the deadline (infinite when there is none)."""
    return _deadline - time.monotonic()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Analyse within `seconds` from now; None or 0: no limit."""
    global _deadline, _seconds
    previous = _deadline, _seconds
    if seconds:
        _deadline, _seconds = time.monotonic() + seconds, seconds
    else:
        _deadline, _seconds = math.inf, math.inf
    try:
        yield
    finally:
        _deadline, _seconds = previous
