"""Findings and run results built by hand, for the tests of report formats that need no scan."""

from __future__ import annotations

from pathlib import Path

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.finding import Finding
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult

CATALOGUE = load_catalogue()


def finding(rule_id: str = "LOAD001", path: str = "m.py", line: int = 2, severity: str = "critical",
            message: str = "pickle.load runs code", fingerprint: str = "f" * 32, **extra) -> Finding:
    return Finding(rule_id, path, line, 1, line, 9, message, "pickle.load(fh)", Severity(severity),
                   fingerprint=fingerprint, **extra)


def result_of(findings: list[Finding], scan_root: Path, problems: list[str] | None = None,
              files_scanned: int = 1) -> RunResult:
    return RunResult(CATALOGUE, findings, files_scanned, problems or [], Severity.LOW, frozenset(CATALOGUE.rules),
                     scan_root)
