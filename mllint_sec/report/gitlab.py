"""GitLab Code Quality report: a JSON array of issues, the Code Climate subset GitLab reads.

Use it with `artifacts:reports:codequality`; the merge request widget then lists the issues a branch
adds and the ones it fixes, by comparing the fingerprints of the two pipelines' reports.

What GitLab does with the file (lib/gitlab/ci/parsers/codequality/code_climate.rb and
reports/codequality_reports.rb in gitlab-org/gitlab) decides the shape:

- each issue is checked against `app/validators/json_schemas/codeclimate.json` (`description`,
  `fingerprint`, `severity` and `location` required, `location.lines.begin` an integer) and the parser
  *stops at the first invalid one*, dropping it and every issue after it; tests/data/gitlab-codequality.json
  holds those rules and the documented ones, and every report in the tests is validated against it;
- issues are kept in a map keyed by fingerprint: an issue whose fingerprint another issue has is lost.
  `Finding.fingerprint` (rule, path, normalised statement, occurrence among equal statements) is unique in
  a run by construction; `unique_fingerprints` checks it anyway and gives a finding without one, or with
  a repeated one (only a result built by hand can have either), a fingerprint derived from its place;
- the summary counts issues per severity with a fixed set of keys, so a severity outside
  info|minor|major|critical|blocker breaks it.

Severities map one to one, in order: critical -> blocker, high -> critical, medium -> major,
low -> minor, note -> info. Every distinction our scale makes survives, GitLab sorts the widget by it,
and a finding a context downgraded (test code) sinks with it. Suppressed findings are not emitted
(GitLab has no notion of them); run-level problems are not issues and stay in the other reports.

Paths are relative to the repository root, as in SARIF and the GitHub annotations, since GitLab links
`location.path` into the repository. When the scan root is below it, the fingerprint is re-keyed with
that path: GitLab merges the reports of all a pipeline's jobs, and two jobs that scan two
subdirectories would otherwise give `train.py` in each the same fingerprint. Scanned text (the
message, the path) goes through `visible`: GitLab shows the description as one line, and a lone
surrogate (an undecodable byte of a file name) would make the JSON invalid UTF-8 once parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable

from mllint_sec.core.finding import Finding
from mllint_sec.engine.runner import RunResult
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.repository_facts import locate_repository
from mllint_sec.report.source_lines import SourceFiles

SEVERITIES = {"critical": "blocker", "high": "critical", "medium": "major", "low": "minor", "note": "info"}
# Code Climate's categories; GitLab ignores them, other Code Climate consumers require them.
SECURITY_CATEGORY = "Security"
ENGINE_CATEGORY = "Bug Risk"  # the engine family: files that could not be analysed, broken suppressions
ENGINE_FAMILY = "engine"


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    sources = SourceFiles(result.scan_root, locate_repository(result.scan_root).root)
    rules = result.catalogue.rules
    placed = sorted(((sources.display(f.path), f) for f in result.active), key=_place_key)
    fingerprints = unique_fingerprints((path, finding) for path, finding in placed)
    issues = []
    for (path, finding), fingerprint in zip(placed, fingerprints, strict=True):
        rule = rules.get(finding.rule_id)
        name = f" {rule.name}" if rule else ""
        where = f" (cell {finding.cell.cell}, line {finding.cell.line})" if finding.cell is not None else ""
        begin = 1 if finding.whole_file else max(finding.line, 1)
        issues.append({
            "type": "issue",
            "check_name": finding.rule_id,
            "description": visible(f"{finding.rule_id}{name}: {finding.message}{where}"),
            "categories": [ENGINE_CATEGORY if rule is not None and rule.family == ENGINE_FAMILY else SECURITY_CATEGORY],
            "fingerprint": fingerprint,
            "severity": SEVERITIES[finding.severity],
            "location": {"path": visible(path), "lines": {"begin": begin, "end": max(finding.end_line, begin)}},
        })
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _place_key(placed: tuple[str, Finding]) -> tuple[str, int, int, str, str, str]:
    """A total order on what is emitted, so the same findings in any order give the same bytes."""
    path, finding = placed
    return (path, finding.line, finding.column, finding.rule_id, finding.message, finding.fingerprint)


def unique_fingerprints(placed: Iterable[tuple[str, Finding]]) -> list[str]:
    """One fingerprint per finding (given with its repository-relative path), none repeated.

    Normally the finding's own; re-keyed with the path when that differs from the scan-relative path
    the fingerprint was made from (see the module's docstring). A missing or repeated one is derived
    from the finding's place, then from the number of times it was already seen.
    """
    result: list[str] = []
    seen: set[str] = set()
    for path, finding in placed:
        fingerprint = finding.fingerprint
        if fingerprint and path != finding.path:
            fingerprint = _digest(fingerprint.encode(), os.fsencode(path))
        if not fingerprint or fingerprint in seen:
            place = (finding.rule_id, path, str(finding.line), str(finding.column), finding.message)
            fingerprint = _digest(*(part.encode("utf-8", "surrogatepass") for part in place))
        occurrence = 1
        base = fingerprint
        while fingerprint in seen:
            occurrence += 1
            fingerprint = _digest(base.encode(), str(occurrence).encode())
        seen.add(fingerprint)
        result.append(fingerprint)
    return result


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\x1f".join(parts)).hexdigest()[:32]  # as long as Finding.fingerprint


FORMAT = Format("gitlab", render)
