"""A finding, its ordering and its fingerprint."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from mllint_sec.core.code_context import CodeContext
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.core.origin import Origin
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
    origin: Origin | None = None  # deserialization findings: where the loaded bytes come from (flows/origins.py)
    guard: str | None = None  # an opt-in gate that dominates the load ("guarded by ..."), when there is one
    related: tuple[FlowStep, ...] = ()  # other places the finding is about (SARIF relatedLocations)
    context: CodeContext | None = None  # where the file's code runs; set by the runner after the cache, never cached

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.rule_id, self.message)


def normalise(code: str) -> str:
    return _WHITESPACE.sub("", code)


def assign_fingerprints(findings: list[Finding]) -> None:
    """Stable ids: rule + path + normalised statement text + its occurrence among equals.

    Inserting or deleting unrelated lines above a finding does not change it; a
    second identical statement gets occurrence 2. The path counts as the file name's
    bytes (a name that is not UTF-8 holds lone surrogates, which no text encoding takes);
    for a UTF-8 name those are its UTF-8 bytes, as before. A notebook's JSON can put a lone
    surrogate in the statement itself; it is hashed as written.
    """
    seen: dict[tuple[str, str, str], int] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        key = (finding.rule_id, finding.path, finding.statement_text)
        seen[key] = seen.get(key, 0) + 1
        parts = (finding.rule_id.encode(), os.fsencode(finding.path),
                 finding.statement_text.encode("utf-8", "surrogatepass"), str(seen[key]).encode())
        finding.fingerprint = hashlib.sha256(b"\x1f".join(parts)).hexdigest()[:32]
