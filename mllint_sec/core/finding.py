"""A finding, its ordering and its fingerprint."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.core.severity import Severity
from mllint_sec.core.unsettled import Unsettled

_WHITESPACE = re.compile(r"\s+")


@dataclass
class Finding:
    rule_id: str
    path: str  # relative to the scan root, POSIX separators
    line: int  # 1-based
    column: int  # 1-based, code points
    end_line: int
    end_column: int  # 1-based, one past the last character
    message: str
    snippet: str
    severity: Severity
    statement_text: str = ""  # normalised statement, the stable part of the fingerprint
    fingerprint: str = ""
    suppressed: bool = False
    suppression_reason: str | None = None
    whole_file: bool = False  # about a file as a whole (an artifact): reported at 1:1, its bytes never quoted
    cell: NotebookCell | None = None  # in a notebook: the cell and its line, as Jupyter shows them
    flow: tuple[FlowStep, ...] = ()  # flow rules: the path request data takes to the reported call, source first
    unsettled: Unsettled | None = None  # for the repository stage to decide; None once it has

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.rule_id, self.message)


def normalise(code: str) -> str:
    return _WHITESPACE.sub("", code)


def assign_fingerprints(findings: list[Finding]) -> None:
    """Stable ids: rule + path + normalised statement text + its occurrence among equals.

    Inserting or deleting unrelated lines above a finding does not change it; a
    second identical statement gets occurrence 2.
    """
    seen: dict[tuple[str, str, str], int] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        key = (finding.rule_id, finding.path, finding.statement_text)
        seen[key] = seen.get(key, 0) + 1
        digest = hashlib.sha256("\x1f".join((*key, str(seen[key]))).encode("utf-8")).hexdigest()
        finding.fingerprint = digest[:32]
