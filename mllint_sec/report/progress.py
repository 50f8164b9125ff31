"""The `[123/2912 files]` line a long run shows on a terminal, rewritten in place.

It goes to stderr, and only where a person watches: stderr is a terminal, no `CI` variable says
this is a CI job (whose log would keep every rewrite), and neither `--quiet` nor `--no-progress`
was given. A run shorter than `DELAY` seconds shows nothing, and the line is rewritten at most
once per `INTERVAL`, so a fast run (pre-commit, a cache hit) never flickers. `finish` blanks the
line, so what follows (the report, on a terminal) starts at column 0 of a clean line.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Protocol

DELAY = 1.0  # seconds of running before the first line
INTERVAL = 0.1  # seconds between two rewrites: at most ten a second


class Stream(Protocol):
    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...

    def isatty(self) -> bool: ...


def wanted(stream: Stream, environment: Mapping[str, str] | None = None, quiet: bool = False) -> bool:
    """Whether a run should show progress on `stream`: a terminal outside CI, not silenced."""
    environment = os.environ if environment is None else environment
    if quiet or _in_ci(environment):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # a closed or exotic stream is no terminal
        return False


def _in_ci(environment: Mapping[str, str]) -> bool:
    # CI services set CI=true (GitHub, GitLab, Travis, CircleCI...); CI=false or 0 is a person opting back in.
    value = environment.get("CI")
    return value is not None and value.strip().lower() not in ("", "0", "false", "no")


class Progress:
    """A progress line on `stream`; `update` is the runner's `Options.progress` callback."""

    def __init__(self, stream: Stream, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.shown_at: float | None = None  # when the line was last written; None while nothing is shown
        self.width = 0  # of the text on the line now, to blank it

    def update(self, done: int, total: int) -> None:
        now = self.clock()
        if now - self.started < DELAY:
            return
        if self.shown_at is not None and now - self.shown_at < INTERVAL and done < total:
            return
        text = f"[{done}/{total} files]"
        # A shorter text (never, while counts only grow) would leave the old one's tail: pad to the width shown.
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = max(self.width, len(text))
        self.shown_at = now

    def finish(self) -> None:
        """Blank the line (when anything was shown) and put the cursor back at its start."""
        if self.shown_at is None:
            return
        self.stream.write("\r" + " " * self.width + "\r")
        self.stream.flush()
        self.shown_at = None
        self.width = 0
