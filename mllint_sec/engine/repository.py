"""Facts about the scanned repository, read once per run, and the file-level findings they settle.

Per-file analysis is a pure function of the file's bytes (so it can be cached and
run in parallel); whatever depends on the rest of the repository is recorded in a
finding's `unsettled` (core/unsettled.py) and decided here, once per run:

- a hub id such as "models/bert" is a local directory when the repository has one;
- a call that relies on a loader's safe form is a finding only when the project's
  declared dependencies allow a version with a published bypass (dependencies.py).

The repository-level checks (repository_checks.py) read the same facts.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core.file_kinds import Target
from mllint_sec.core.finding import Finding
from mllint_sec.core.unsettled import Unsettled
from mllint_sec.engine.discovery import Discovery

if TYPE_CHECKING:
    from mllint_sec.repo.dependencies import Declarations

# dependencies.py (packaging) is imported when a run needs it: a pre-commit run on one Python
# file usually does not.


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

    def settle(self, findings: list[Finding]) -> list[Finding]:
        """Drop the findings that repository facts clear; the rest are settled."""
        kept = []
        for finding in findings:
            unsettled, finding.unsettled = finding.unsettled, None
            if unsettled is not None and not self._stands(finding, unsettled):
                continue
            kept.append(finding)
        return kept

    def _stands(self, finding: Finding, unsettled: Unsettled) -> bool:
        if unsettled.hub_ids and all(self._is_local(finding, name) for name in unsettled.hub_ids):
            return False
        if unsettled.advisory_package is not None:
            from mllint_sec.repo.dependencies import settle_advisory

            rule = self.catalogue.rules[finding.rule_id]
            return settle_advisory(finding, unsettled.advisory_package, rule, self.declarations) is not None
        return True

    def _is_local(self, finding: Finding, name: str) -> bool:
        """Whether `name` is a directory or file beside the finding's file or under a root."""
        beside = (self.scan_root / finding.path).parent
        return any(os.path.exists(base / name) for base in (beside, *self.roots))
