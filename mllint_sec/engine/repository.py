"""Facts about the scanned repository that settle file-level findings.

Per-file analysis is a pure function of the file's bytes (so it can be cached and
run in parallel); whatever depends on the rest of the repository is recorded in a
finding's `extra` and decided here, once per run:

- a hub id such as "models/bert" is a local directory when the repository has one;
- a call that relies on a loader's safe form is a finding only when the project's
  declared dependencies allow a version with a published bypass (dependencies.py).

Manifest findings (SUP006, malformed requirements) and provenance findings (PROV001,
PROV002, PROV004) are produced here too: they are about the repository's declarations
and records, which are read once.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core.file_kinds import Target
from mllint_sec.core.finding import Finding
from mllint_sec.engine.discovery import Discovery

if TYPE_CHECKING:
    from mllint_sec.repo.dependencies import Declarations

# dependencies.py (packaging) and provenance.py (PyYAML) are imported when a run needs them:
# a pre-commit run on one Python file usually does not.


class Project:
    def __init__(self, discovery: Discovery, catalogue: Catalogue):
        self.discovery = discovery
        self.catalogue = catalogue
        self.scan_root = discovery.scan_root
        self.roots = tuple(dict.fromkeys((discovery.scan_root, discovery.config_root)))
        self._declarations: Declarations | None = None
        self._files: list[Target] | None = None

    @property
    def files(self) -> list[Target]:
        if self._files is None:
            self._files = self.discovery.repository_files()
        return self._files

    @property
    def declarations(self) -> Declarations:
        if self._declarations is None:
            from mllint_sec.repo.dependencies import Declarations

            self._declarations = Declarations.read([(t.display, t.path) for t in self.files])
        return self._declarations

    def provenance_findings(self, targets: list[tuple[Target, frozenset[str]]], min_bytes: int) -> list[Finding]:
        """Data and model files without a provenance record, DVC records without hashes, model cards."""
        if not targets:
            return []
        from mllint_sec.repo.provenance import ProvenanceView, provenance_findings

        return provenance_findings(targets, ProvenanceView(self.files), self.catalogue, min_bytes)

    def settle(self, findings: list[Finding]) -> list[Finding]:
        """Drop the findings that repository facts clear; strip the facts from the rest."""
        kept = []
        for finding in findings:
            candidates = finding.extra.pop("unless_exists", None)
            if candidates and all(self._is_local(finding, c) for c in candidates):
                continue
            if "advisory_package" in finding.extra:
                from mllint_sec.repo.dependencies import settle_advisory

                rule = self.catalogue.rules[finding.rule_id]
                if settle_advisory(finding, rule, self.declarations) is None:
                    continue
            kept.append(finding)
        return kept

    def manifest_findings(self, targets: list[tuple[Target, frozenset[str]]]) -> list[Finding]:
        """Findings on the manifests among the targets, each with the rules enabled for it."""
        chosen = {target.display: enabled for target, enabled in targets}
        for target, enabled in targets:  # files reached only through `-r` are read with their includer's rules
            for included in self.declarations.included_by(target.display):
                chosen.setdefault(included, enabled)
        if not chosen:
            return []
        from mllint_sec.repo.dependencies import dependency_findings

        found: list[Finding] = []
        for display, enabled in sorted(chosen.items()):
            found.extend(dependency_findings(display, self.declarations, self.catalogue, enabled))
        return found

    def cross_module_findings(self, targets: list[tuple[Target, frozenset[str]]], known: list[Finding],
                              summaries: dict[str, dict]) -> tuple[list[Finding], list[str]]:
        """Request data passed to, or returned by, a function of another scanned module (INPUT rules),
        from the files' flow summaries (flow_summary.py); and the problems met."""
        if not summaries:
            return [], []
        enabled = frozenset().union(*(rules for _, rules in targets)) if targets else frozenset()
        from mllint_sec.analysis.cross_module import CrossModule
        from mllint_sec.analysis.file_analyzer import Analyzer

        cross = CrossModule(targets, Analyzer(self.catalogue, enabled))
        return cross.findings(known, summaries), cross.problems

    def _is_local(self, finding: Finding, name: str) -> bool:
        """Whether `name` is a directory or file beside the finding's file or under a root."""
        beside = (self.scan_root / finding.path).parent
        return any(os.path.exists(base / name) for base in (beside, *self.roots))
