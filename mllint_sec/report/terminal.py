"""Colour on a terminal: whether to use it (`check --color`), and how text reports apply it.

The decision (https://no-color.org, and the `FORCE_COLOR` convention of Node, pytest and Ruff):
`--color always` and `--color never` decide alone; `auto` colours when stdout is a terminal, unless
`NO_COLOR` is set to anything non-empty; a non-empty `FORCE_COLOR` other than "0" colours even
through a pipe (CI logs render ANSI). With both set, `NO_COLOR` wins, as in CPython and pytest:
turning colour off is the safer reading of a conflict.
A report written to a file is never coloured: cli.py decides once per output.

Styling goes through `Painter`, which escapes its text with `visible` first and only then wraps it
in the report's own SGR sequences: scanned text (paths, messages, source lines) can never carry
escape sequences of its own, coloured or not. The palette is Ruff's modest one: severity in the
rule id and tag, paths bold, the rest plain.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from mllint_sec.core.severity import Severity
from mllint_sec.report.escape import visible

COLOR_MODES = ("auto", "always", "never")

BOLD, DIM, RED, YELLOW, BLUE, CYAN = "1", "2", "31", "33", "34", "36"

SEVERITY_STYLE: dict[Severity, tuple[str, ...]] = {
    Severity.CRITICAL: (BOLD, RED),
    Severity.HIGH: (RED,),
    Severity.MEDIUM: (YELLOW,),
    Severity.LOW: (CYAN,),
    Severity.NOTE: (DIM,),
}


def wants_colour(mode: str, *, to_terminal: bool, environ: Mapping[str, str]) -> bool:
    """The `--color` decision for one output; `to_terminal` is False for a file or a pipe."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    if environ.get("NO_COLOR", ""):  # no-color.org: present and not empty, whatever the value
        return False
    force = environ.get("FORCE_COLOR", "")
    return bool(force and force != "0") or to_terminal


def stdout_is_terminal() -> bool:
    stream = sys.stdout
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream is no terminal
        return False


def colour_for_stdout(mode: str) -> bool:
    """The decision for a report printed to stdout (a file output never gets colour: pass False)."""
    return wants_colour(mode, to_terminal=stdout_is_terminal(), environ=os.environ)


class Painter:
    """`paint(text, *styles)`: `text` escaped (always) and, when colour is on, wrapped in `styles`."""

    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, text: str, *styles: str) -> str:
        shown = visible(text)  # first: what follows may add escape sequences, the scanned text never does
        if not self.colour or not styles or not shown:
            return shown
        return f"\x1b[{';'.join(styles)}m{shown}\x1b[0m"

    def severity(self, text: str, severity: Severity) -> str:
        return self(text, *SEVERITY_STYLE[severity])
