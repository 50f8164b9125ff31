"""Repository-level checks: findings about the repository as a whole, made once per run.

They run after the per-file stage (whose results are cached) and read the repository's
facts (repository.py's `Project`), the targets with the rules enabled for each, and the
files' flow summaries. Each registers by name in REPOSITORY_CHECKS, and they run in that
order; a check sees the findings made before it. Their findings depend on several files,
so they are not cached; each check imports what it runs on only when it has work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter

from mllint_sec.core import stage_times
from mllint_sec.core.file_kinds import FileKind, Target
from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_summary import FlowSummary
from mllint_sec.core.loader_wrapper import LoaderWrapper
from mllint_sec.engine.repository import Project


@dataclass(frozen=True)
class RepositoryScan:
    """What the per-file stage hands the repository checks."""

    project: Project
    targets: list[tuple[Target, frozenset[str]]]  # every discovered file, with the rules enabled for it
    summaries: dict[str, FlowSummary]  # flow summaries of the Python files, by display path
    provenance_min_bytes: int  # smaller data files need no provenance record (PROV001)
    # Module-level loader wrappers of the Python files, by display path (cross-module-wrappers).
    wrappers: dict[str, tuple[LoaderWrapper, ...]] = field(default_factory=dict)
    # What each Python file's imports name (python/imports.py), by display path: which files may call them.
    imports: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def of_kind(self, *kinds: FileKind) -> list[tuple[Target, frozenset[str]]]:
        return [(target, rules) for target, rules in self.targets if target.kind in kinds]


@dataclass
class CheckResult:
    findings: list[Finding]
    problems: list[str] = field(default_factory=list)  # warnings for the report (a file not followed)
    # Findings made before the check that it shows wrong (an "unused" suppression its finding uses).
    withdrawn: list[Finding] = field(default_factory=list)


# A check: the scan and the findings made so far in, its own findings out.
RepositoryCheck = Callable[[RepositoryScan, list[Finding]], CheckResult]


def dependencies(scan: RepositoryScan, known: list[Finding]) -> CheckResult:
    """Unpinned ML dependencies (SUP006) and malformed requirements (MLS001) in the manifests.

    A `setup.py` is a Python file (analysed as one) and a manifest too; a syntax error the
    per-file stage already reported there is not reported twice."""
    targets = scan.of_kind(FileKind.MANIFEST)
    targets += [(t, rules) for t, rules in scan.of_kind(FileKind.SOURCE) if t.display.rpartition("/")[2] == "setup.py"]
    if not targets:
        return CheckResult([])
    from mllint_sec.repo.dependencies import dependency_findings  # packaging

    declarations = scan.project.declarations
    chosen = {target.display: enabled for target, enabled in targets}
    for target, enabled in targets:  # files reached only through `-r` are read with their includer's rules
        for included in declarations.included_by(target.display):
            chosen.setdefault(included, enabled)

    catalogue = scan.project.catalogue
    found: list[Finding] = []
    for display, enabled in sorted(chosen.items()):
        found.extend(dependency_findings(display, declarations, catalogue, enabled))
    reported = {(f.rule_id, f.path, f.line) for f in known}
    return CheckResult([f for f in found if (f.rule_id, f.path, f.line) not in reported])


def provenance(scan: RepositoryScan, known: list[Finding]) -> CheckResult:
    """Data and model files without a provenance record, DVC records without hashes, model cards."""
    targets = scan.of_kind(FileKind.ARTIFACT, FileKind.DATA, FileKind.RECORD)
    if not targets:
        return CheckResult([])
    from mllint_sec.repo.provenance import ProvenanceView, provenance_findings  # PyYAML

    view = ProvenanceView(scan.project.files)
    return CheckResult(provenance_findings(targets, view, scan.project.catalogue, scan.provenance_min_bytes))


def cross_module_flows(scan: RepositoryScan, known: list[Finding]) -> CheckResult:
    """Request data passed to, or returned by, a function of another scanned module (INPUT rules),
    joined from the files' flow summaries; a finding already made is not made again."""
    if not scan.summaries:
        return CheckResult([])
    targets = [(t, rules) for t, rules in scan.of_kind(FileKind.SOURCE) if t.display.endswith(".py")]
    enabled = frozenset().union(*(rules for _, rules in targets)) if targets else frozenset()
    from mllint_sec.analysis.cross_module import CrossModule
    from mllint_sec.analysis.file_analyzer import Analyzer

    cross = CrossModule(targets, Analyzer(scan.project.catalogue, enabled))
    return CheckResult(cross.findings(known, scan.summaries), cross.problems)


def cross_module_wrappers(scan: RepositoryScan, known: list[Finding]) -> CheckResult:
    """Calls of another scanned module's loader wrapper (a function that passes its argument to a
    catalogued loader), judged as the loader call they amount to."""
    if not any(scan.wrappers.values()):
        return CheckResult([])
    targets = [(t, rules) for t, rules in scan.of_kind(FileKind.SOURCE) if t.display.endswith(".py")]
    if len(targets) < 2:  # a wrapper's own file is not its caller here; a one-file (pre-commit) run skips libcst
        return CheckResult([])
    enabled = frozenset().union(*(rules for _, rules in targets)) if targets else frozenset()
    from mllint_sec.analysis.cross_module import CrossModule
    from mllint_sec.analysis.cross_module_wrappers import CrossModuleWrappers
    from mllint_sec.analysis.file_analyzer import Analyzer

    wrappers = CrossModuleWrappers(CrossModule(targets, Analyzer(scan.project.catalogue, enabled)), scan.wrappers,
                                   scan.imports)
    found, withdrawn = wrappers.findings(known)
    return CheckResult(scan.project.settle(found), wrappers.problems, withdrawn)


def cross_module_origins(scan: RepositoryScan, known: list[Finding]) -> CheckResult:
    """Loads of what a function of another scanned module returns: that function's origin, one call
    deep (analysis/cross_module_origins.py). Settles the findings made before it in place; makes none."""
    waiting = [f for f in known if f.origin is not None and f.origin.callees]
    if not waiting:
        return CheckResult([])
    targets = [(t, rules) for t, rules in scan.of_kind(FileKind.SOURCE) if t.display.endswith(".py")]
    enabled = frozenset().union(*(rules for _, rules in targets)) if targets else frozenset()
    from mllint_sec.analysis.cross_module import CrossModule
    from mllint_sec.analysis.cross_module_origins import CrossModuleOrigins
    from mllint_sec.analysis.file_analyzer import Analyzer

    origins = CrossModuleOrigins(CrossModule(targets, Analyzer(scan.project.catalogue, enabled)))
    origins.settle(waiting, {rule.id: rule.severity for rule in scan.project.catalogue.rules.values()})
    return CheckResult([], origins.problems)


REPOSITORY_CHECKS: dict[str, RepositoryCheck] = {
    "dependencies": dependencies,
    "provenance": provenance,
    "cross-module-flows": cross_module_flows,
    "cross-module-wrappers": cross_module_wrappers,
    "cross-module-origins": cross_module_origins,
}


def run_repository_checks(scan: RepositoryScan, findings: list[Finding]) -> tuple[list[Finding], list[str]]:
    """`findings` with every check's findings added, and the problems the checks met."""
    problems: list[str] = []
    for name, check in REPOSITORY_CHECKS.items():
        since = perf_counter()
        result = check(scan, findings)
        stage_times.add("cross-module" if name.startswith("cross-module") else "project facts", since)
        withdrawn = {id(f) for f in result.withdrawn}
        findings = [f for f in findings if id(f) not in withdrawn] + result.findings
        problems += result.problems
    return findings, problems
