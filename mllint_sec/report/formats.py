"""Output formats: one interface, registered by name; `check --format` offers every registered one.

A format is a module of this package that defines `FORMAT = Format(name, render)`, and a
line in FORMAT_MODULES. The modules are imported only when their format is chosen: the
SARIF one loads sarif-om, which would add ~60 ms to every run, pre-commit's included.
tests/test_formats.py checks that every module defining a format is registered under its name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from mllint_sec.engine.runner import RunResult


@dataclass(frozen=True)
class RenderOptions:
    """The command line's report options; each format reads those it has a use for."""

    show_suppressed: bool = False  # text: list suppressed findings as well
    include_suppressed: bool = False  # SARIF: emit suppressed results, marked with suppressions[]
    category: str | None = None  # SARIF: runAutomationDetails.id, the code scanning category
    sort: str = "severity"  # text and GitHub: "severity" (most severe first, then by place) or "path"
    statistics: bool = False  # text: a table of counts per rule and context after the findings
    color: bool = False  # text styles: ANSI colour (decided per output in cli.py; a file never gets it)
    quiet: bool = False  # text styles: the findings only (no statistics, warnings or summary)


@dataclass(frozen=True)
class Format:
    name: str  # what `--format` calls it
    render: Callable[[RunResult, RenderOptions], str]  # the whole report


FORMAT_MODULES = {
    "text": "mllint_sec.report.text",
    "concise": "mllint_sec.report.concise",
    "full": "mllint_sec.report.full",
    "json": "mllint_sec.report.json_report",
    "sarif": "mllint_sec.report.sarif",
    "github": "mllint_sec.report.github",
    "gitlab": "mllint_sec.report.gitlab",
    "junit": "mllint_sec.report.junit",
}


def format_named(name: str) -> Format:
    found: Format = importlib.import_module(FORMAT_MODULES[name]).FORMAT
    return found
