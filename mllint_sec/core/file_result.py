"""What analysing one file gives the run: the unit the result cache stores."""

from __future__ import annotations

from dataclasses import dataclass, field

from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_summary import FlowSummary
from mllint_sec.core.loader_wrapper import LoaderWrapper


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    summary: FlowSummary | None = None  # for the cross-module pass (Python files only)
    # False when the result depends on this run rather than on the file's bytes alone
    # (an analysis stopped by a time limit): it is then not cached.
    cacheable: bool = True
    # Module-level functions that are loaders themselves, for calls from other modules (Python files only).
    wrappers: tuple[LoaderWrapper, ...] = ()
    # What its import statements name (python/imports.py), so cross-module passes can pick the files
    # that may call another module's function without reading every file (Python files only).
    imports: tuple[str, ...] = ()
