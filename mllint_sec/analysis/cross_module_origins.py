"""Origins across modules, one call deep: a load of what a function of another scanned module returns.

Per-file analysis (flows/origins.py) cannot see another file, so a finding whose loaded value is
the return of an imported function (`path = download_weights(name)` from `.hub_utils`) carries
the function's qualified names in `Origin.callees`, with the origin unknown. Once per run, here,
each such name is looked up among the scanned modules (analysis/cross_module.py's index, relative
imports resolved), that module is parsed (once), and the function's returns are classified there,
its own parameters unknown and its own calls into further modules not followed (the depth bound).
A known answer becomes the finding's origin, severity and message clause, with a step in the
other file; an unknown one stays unknown.
"""

from __future__ import annotations

from dataclasses import replace

from mllint_sec.analysis.cross_module import CrossModule, Parsed
from mllint_sec.core.finding import Finding
from mllint_sec.core.origin import Origin, OriginKind, clause, severity_for
from mllint_sec.core.severity import Severity
from mllint_sec.flows.origins import Origins, located
from mllint_sec.python import positions


class CrossModuleOrigins:
    def __init__(self, cross: CrossModule):
        self.cross = cross
        self.origins: dict[str, Origins] = {}  # per parsed module, by display path
        self.answers: dict[tuple[str, str], Origin | None] = {}  # (importer, callee) -> the origin there
        self.problems: list[str] = []

    def settle(self, findings: list[Finding], severities: dict[str, Severity]) -> None:
        """Give each finding that waits on another module's function the origin found there (in place).
        `severities`: each rule's own; a finding whose severity is no longer its rule's (guarded, or
        relying on a default) keeps it."""
        for finding in findings:
            origin = finding.origin
            if origin is None or not origin.callees:
                continue
            found = None
            for callee in origin.callees:
                found = self._answer(finding.path, callee)
                if found is not None:
                    break
            if found is None or found.kind in (OriginKind.UNKNOWN, OriginKind.ROUND_TRIP):
                finding.origin = replace(origin, callees=())
                continue
            finding.origin = found
            finding.message += clause(found)
            severity = severity_for(finding.severity, found.kind)
            if severity is not None and finding.guard is None and severities.get(finding.rule_id) == finding.severity:
                finding.severity = severity  # (a guarded load, or one relying on a default, keeps its own)

    def _answer(self, importer: str, callee: str) -> Origin | None:
        key = (importer, callee)
        if key not in self.answers:
            self.answers[key] = None
            try:  # (the parse itself runs guarded, on the analysis thread: cross_module.py)
                self.answers[key] = self._classify(importer, callee)
            except (Exception, RecursionError) as error:  # noqa: BLE001 - one file never stops the run
                self.problems.append(f"{importer}: origin of `{callee}` not followed: {type(error).__name__}: {error}")
        return self.answers[key]

    def _classify(self, importer: str, callee: str) -> Origin | None:
        named = self.cross.function_named([callee], importer)
        if named is None:
            return None
        parsed, function = named
        traced = self._origins(parsed).returned_by(function)
        if traced.kind == OriginKind.UNKNOWN or traced.node is None:
            return None
        spans = positions.ranges(parsed.module, [traced.node])
        origin = located(traced, spans)
        where = parsed.target.display
        step = replace(origin.step, path=where) if origin.step is not None else None
        return Origin(origin.kind, f"{origin.description} of `{where}`" if " line " in origin.description
                      else origin.description, step)

    def _origins(self, parsed: Parsed) -> Origins:
        display = parsed.target.display
        if display not in self.origins:
            self.origins[display] = Origins(parsed.facts)
        return self.origins[display]
