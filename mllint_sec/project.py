"""Facts about the scanned repository that settle file-level findings.

Per-file analysis is a pure function of the file's bytes (so it can be cached and
run in parallel); whatever depends on the rest of the repository is recorded in a
finding's `extra` and decided here, once per run: a hub id such as "models/bert"
is a local directory when the repository has one of that name.
"""

from __future__ import annotations

import os
from pathlib import Path

from .findings import Finding


class Project:
    def __init__(self, scan_root: Path, roots: tuple[Path, ...] = ()):
        self.scan_root = scan_root
        self.roots = tuple(dict.fromkeys((scan_root, *roots)))

    def settle(self, findings: list[Finding]) -> list[Finding]:
        """Drop the findings that repository facts clear; strip the facts from the rest."""
        kept = []
        for finding in findings:
            candidates = finding.extra.pop("unless_exists", None)
            if candidates and all(self._is_local(finding, c) for c in candidates):
                continue
            kept.append(finding)
        return kept

    def _is_local(self, finding: Finding, name: str) -> bool:
        """Whether `name` is a directory or file beside the finding's file or under a root."""
        beside = (self.scan_root / finding.path).parent
        return any(os.path.exists(base / name) for base in (beside, *self.roots))
