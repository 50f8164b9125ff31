"""SARIF 2.1.0 output for GitHub code scanning (and any other SARIF consumer).

The log is built from sarif-om objects and written by ONE serializer,
`to_sarif_dict`, which owns every difference between sarif-om (generated from
the 2.1.0-rtm.4 draft) and the final OASIS schema:

* property names come from each attrs field's ``schema_property_name``
  metadata (``schema_uri`` -> ``$schema``, ``rule_id`` -> ``ruleId``);
* ``Suppression.state`` is written as ``status`` (its final name);
* ``None`` and empty values are dropped (the schema forbids ``null``), except
  ``run.results`` and ``driver.rules`` (GitHub wants them even when empty) and
  an explicit ``result.suppressions: []``;
* values equal to sarif-om's generated defaults (``ruleIndex: -1``,
  ``kind: "fail"``...) are dropped, but ``level`` is always written: a result
  whose level was dropped would inherit its rule's default level instead.

GitHub specifics (see the research notes): one run per file; rules[] lists every
enabled rule; ``security-severity`` is a string; locations are relative to the
repository root under ``%SRCROOT%``; ``primaryLocationLineHash`` is computed
exactly as github/codeql-action's ``src/fingerprints.ts`` does, so uploads
through the REST API de-duplicate alerts as upload-sarif uploads do.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from urllib.parse import quote

import sarif_om as om

from mllint_sec import __version__
from mllint_sec.catalogue.model import Catalogue, Rule
from mllint_sec.core.code_context import CodeContext
from mllint_sec.core.engine_rules import PARSE_ERROR
from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.engine.runner import RunResult
from mllint_sec.report import configuration
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.line_hashes import line_hashes
from mllint_sec.report.repository_facts import locate_repository
from mllint_sec.report.rule_docs import render_docs
from mllint_sec.report.sarif_serialization import SARIF_VERSION, SCHEMA_URI, dumps
from mllint_sec.report.source_lines import SourceFiles

TOOL_NAME = "mllint-sec"
INFORMATION_URI = "https://github.com/mllint-sec/mllint-sec"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mllint-sec/v1"
LINE_HASH_KEY = "primaryLocationLineHash"

# GitHub keeps the top 5,000 results of a run (by severity) and rejects runs
# above 25,000; we keep at most MAX_RESULTS and say how many were dropped.
MAX_RESULTS = 5000
MAX_GZIP_BYTES = 10 * 1024 * 1024  # GitHub rejects a gzip-compressed upload above 10 MB
MAX_NOTIFICATIONS = 1000
MAX_TAGS = 10  # GitHub displays 10 tags per rule (accepts 20)
MAX_DESCRIPTION = 1023  # shortDescription/fullDescription must stay under 1024 characters
MAX_SNIPPET = 4000

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "note": "note"}
# GitHub: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low; stay clear of the edges.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "note": "1.0"}
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}
# result.rank (0-100, higher comes first): the finding's own severity, which its context has already
# lowered (a test's critical finding is low), so consumers that sort by rank put library code first.
# GitHub takes security-severity and precision from the rule only; level, rank and tags are per result.
RANK = {severity: float(score) * 10 for severity, score in SECURITY_SEVERITY.items()}
CONTEXT_TAG = "context:"
NON_SECURITY_FAMILIES = frozenset({"engine"})


class _Sources(SourceFiles):
    """Besides the files' text: artifact locations relative to %SRCROOT%, and line hashes."""

    def __init__(self, scan_root: Path, repo_root: Path):
        super().__init__(scan_root, repo_root)
        self._hashes: dict[Path, list[str]] = {}

    def artifact(self, finding_path: str) -> om.ArtifactLocation:
        relative = self.repository_relative(finding_path)
        if relative is None:  # outside the repository: an absolute file URI is all we can say
            return om.ArtifactLocation(uri=self.absolute(finding_path).as_uri())
        # The name's bytes, percent-encoded: a name that is not UTF-8 keeps its exact bytes (RFC 3986).
        return om.ArtifactLocation(uri=quote(os.fsencode(relative), safe="/"), uri_base_id=SRCROOT)

    def line_hash(self, finding_path: str, line: int) -> str | None:
        text = self.text(finding_path)
        if text is None:
            return None
        absolute = self.absolute(finding_path)
        if absolute not in self._hashes:
            self._hashes[absolute] = line_hashes(text)
        hashes = self._hashes[absolute]
        return hashes[line - 1] if 0 < line <= len(hashes) else None


# --- building the log -----------------------------------------------------------------


def level(severity: str) -> str:
    return LEVELS[severity]


def is_security_rule(rule: Rule) -> bool:
    return rule.family not in NON_SECURITY_FAMILIES


def rule_tags(rule: Rule) -> list[str]:
    """`security`, CWE tags in GitHub's `external/cwe/cwe-N` form, OWASP ML ids, ATLAS ids; at most 10."""
    tags = ["security"] if is_security_rule(rule) else []
    tags += [f"external/cwe/{cwe.lower()}" for cwe in rule.cwe]
    tags += list(rule.owasp_ml)
    tags += [a for a in rule.atlas if a.startswith("AML.T")] + [a for a in rule.atlas if not a.startswith("AML.T")]
    return list(dict.fromkeys(tags))[:MAX_TAGS]


def unwrap(text: str) -> str:
    """Hard-wrapped TOML prose -> paragraphs on one line each."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def trim(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """At most `limit` characters, cut at a sentence or word boundary with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    sentence = max(cut.rfind(". "), cut.rfind(".\n"))
    if sentence > limit // 2:
        return cut[: sentence + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def help_uri(rule: Rule) -> str:
    return f"{INFORMATION_URI}/blob/main/rules/{rule.family}/{rule.name}.toml"


def reporting_descriptor(rule: Rule, catalogue: Catalogue) -> om.ReportingDescriptor:
    docs = render_docs(rule, catalogue)
    rule_level = level(rule.severity)
    properties: dict[str, object] = {"tags": rule_tags(rule), "precision": rule.precision}
    if is_security_rule(rule):
        properties["security-severity"] = SECURITY_SEVERITY[rule.severity]
    else:
        properties["problem.severity"] = PROBLEM_SEVERITY[rule_level]
    return om.ReportingDescriptor(
        id=rule.id,
        name=rule.name,
        short_description=om.MultiformatMessageString(text=trim(rule.summary)),
        full_description=om.MultiformatMessageString(text=trim(unwrap(rule.docs.get("what") or rule.summary))),
        help=om.MultiformatMessageString(text=docs, markdown=docs),
        help_uri=help_uri(rule),
        default_configuration=om.ReportingConfiguration(level=rule_level),
        properties=properties,
    )


def _region(finding: Finding, sources: _Sources) -> tuple[om.Region, om.Region | None]:
    if finding.whole_file:
        return om.Region(start_line=1), None  # a binary artifact: its bytes are no snippet
    region = om.Region(
        start_line=finding.line,
        start_column=finding.column,
        end_line=max(finding.end_line, finding.line),
        end_column=finding.end_column,
    )
    lines = sources.lines(finding.path)
    if region.end_line == finding.line and finding.end_column <= finding.column:
        # An empty span (a parse error's point, an unreadable file): mark the rest of the line instead.
        line_text = lines[finding.line - 1] if lines is not None and 0 < finding.line <= len(lines) else ""
        region.end_column = max(len(line_text.rstrip()) + 1, finding.column + 1)
    if lines is None or not 0 < finding.line <= region.end_line <= len(lines):
        if finding.snippet and region.end_line == finding.line:
            return region, om.Region(start_line=finding.line, snippet=om.ArtifactContent(text=finding.snippet))
        return region, None
    covered = lines[finding.line - 1 : region.end_line]
    # region.snippet is exactly the region's text; contextRegion holds the whole lines.
    if len(covered) == 1:
        exact = covered[0][finding.column - 1 : region.end_column - 1]
    else:
        exact = "\n".join([covered[0][finding.column - 1 :], *covered[1:-1], covered[-1][: region.end_column - 1]])
    if exact and len(exact) <= MAX_SNIPPET:
        region.snippet = om.ArtifactContent(text=exact)
    context_text = "\n".join(line.rstrip() for line in covered)
    context = None
    if context_text.strip() and len(context_text) <= MAX_SNIPPET:
        context = om.Region(
            start_line=finding.line, end_line=region.end_line, snippet=om.ArtifactContent(text=context_text)
        )
    return region, context


def _location(finding: Finding, sources: _Sources) -> om.Location:
    region, context = _region(finding, sources)
    return om.Location(
        physical_location=om.PhysicalLocation(
            artifact_location=sources.artifact(finding.path), region=region, context_region=context
        )
    )


def _result(finding: Finding, rule_index: int, sources: _Sources, include_suppressed: bool) -> om.Result:
    fingerprints = {
        FINGERPRINT_KEY: finding.fingerprint or None,
        LINE_HASH_KEY: sources.line_hash(finding.path, finding.line),
    }
    suppressions = None
    if include_suppressed:
        suppressions = []
        if finding.suppressed:
            suppressions.append(
                om.Suppression(kind="inSource", state="accepted", justification=finding.suppression_reason or None)
            )
    return om.Result(
        rule_id=finding.rule_id,
        rule_index=rule_index,
        level=level(finding.severity),
        rank=RANK[finding.severity],
        message=om.Message(text=finding.message),
        locations=[_location(finding, sources)],
        related_locations=_related_locations(finding, sources),
        partial_fingerprints=fingerprints,
        suppressions=suppressions,
        code_flows=_code_flows(finding, sources),
        properties=_result_properties(finding),
    )


def _result_properties(finding: Finding) -> dict[str, object]:
    """`context:<name>` as a tag (a filter in any SARIF viewer); where the loaded bytes come from; the guard."""
    properties: dict[str, object] = {"tags": [CONTEXT_TAG + (finding.context or CodeContext.LIBRARY)]}
    if finding.origin is not None:
        properties["origin"] = {"kind": finding.origin.kind, "description": finding.origin.description}
    if finding.guard is not None:
        properties["guard"] = finding.guard
    return properties


def _related_locations(finding: Finding, sources: _Sources) -> list[om.Location] | None:
    """The origin's place (where the loaded bytes come from), then the other places the finding is about."""
    steps: list[FlowStep] = []
    if finding.origin is not None and finding.origin.step is not None:
        step = finding.origin.step
        steps.append(step if step.message else FlowStep(step.line, step.column, step.end_line, step.end_column,
                                                        finding.origin.description, step.path))
    steps.extend(finding.related)
    if not steps:
        return None
    return [
        om.Location(
            id=number,  # unique within the result, as the schema asks of related locations
            physical_location=om.PhysicalLocation(
                artifact_location=sources.artifact(step.path or finding.path), region=_step_region(step)
            ),
            message=om.Message(text=step.message),
        )
        for number, step in enumerate(steps)
    ]


def _step_region(step: FlowStep) -> om.Region:
    return om.Region(start_line=step.line, start_column=step.column, end_line=step.end_line,
                     end_column=step.end_column)


def _code_flows(finding: Finding, sources: _Sources) -> list[om.CodeFlow] | None:
    """The path request data takes to the reported call (flow rules), one thread flow, source first."""
    steps = finding.flow
    if not steps:
        return None
    locations = [
        om.ThreadFlowLocation(
            location=om.Location(
                physical_location=om.PhysicalLocation(
                    artifact_location=sources.artifact(step.path or finding.path), region=_step_region(step)
                ),
                message=om.Message(text=step.message),
            ),
            execution_order=order,
        )
        for order, step in enumerate(steps, 1)
    ]
    return [om.CodeFlow(thread_flows=[om.ThreadFlow(locations=locations)], message=om.Message(text=steps[0].message))]


def _keep_most_severe(findings: list[Finding], limit: int) -> tuple[list[Finding], int]:
    if len(findings) <= limit:
        return findings, 0
    ranked = sorted(range(len(findings)), key=lambda i: (-findings[i].severity.rank, i))
    kept = sorted(ranked[:limit])
    return [findings[i] for i in kept], len(findings) - limit


def _notification(
    text: str, level_: str, location: om.Location | None = None, rule: om.ReportingDescriptorReference | None = None
) -> om.Notification:
    return om.Notification(
        message=om.Message(text=text),
        level=level_,
        locations=[location] if location is not None else None,
        associated_rule=rule,
    )


def build_log(
    result: RunResult,
    *,
    category: str | None = None,
    include_suppressed: bool = False,
    max_results: int = MAX_RESULTS,
    size_limited: bool = False,
) -> om.SarifLog:
    """The sarif-om log of one `check` run."""
    scan_root = result.scan_root
    repository = locate_repository(scan_root)
    sources = _Sources(scan_root, repository.root)
    catalogue = result.catalogue

    rule_ids = sorted(set(result.enabled) | {f.rule_id for f in result.findings})
    rule_ids = [rid for rid in rule_ids if rid in catalogue.rules]
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = [reporting_descriptor(catalogue.rules[rid], catalogue) for rid in rule_ids]

    reported = [f for f in result.findings if f.rule_id in index and (include_suppressed or not f.suppressed)]
    kept, dropped = _keep_most_severe(reported, max_results)
    results = [_result(f, index[f.rule_id], sources, include_suppressed) for f in kept]

    notifications = [
        _notification(
            f"{sources.display(finding.path)}: not analysed: {finding.message}",
            "warning",
            _location(finding, sources),
            om.ReportingDescriptorReference(id=PARSE_ERROR, index=index.get(PARSE_ERROR)),
        )
        for finding in result.findings
        if finding.rule_id == PARSE_ERROR and not finding.suppressed
    ]
    notifications += [_notification(problem, "warning") for problem in result.problems]
    notifications += [
        _notification(
            f"{sources.display(path)}: not scanned: Git LFS pointer, the artifact's content is not checked out", "note"
        )
        for path in result.not_scanned
    ]
    notifications += [
        _notification(f"{sources.display(path)}: not scanned: git submodule, scan its checkout on its own", "note")
        for path in result.submodules
    ]
    if len(notifications) > MAX_NOTIFICATIONS:
        extra = len(notifications) - MAX_NOTIFICATIONS
        notifications = notifications[:MAX_NOTIFICATIONS]
        notifications.append(_notification(f"{extra} more notifications were omitted.", "warning"))
    if dropped:
        notifications.append(
            _notification(
                f"{dropped} of {len(reported)} results were dropped to stay within GitHub code scanning's limit of "
                + ("10 MB per compressed upload" if size_limited else f"{max_results} results per run")
                + f"; the {len(kept)} most severe were kept. "
                "Run `mllint-sec check` with text or JSON output to see them all.",
                "warning",
            )
        )

    driver = om.ToolComponent(
        name=TOOL_NAME,
        version=__version__,
        semantic_version=__version__,
        information_uri=INFORMATION_URI,
        rules=rules,
    )
    run = om.Run(
        tool=om.Tool(driver=driver),
        results=results,
        column_kind="unicodeCodePoints",
        original_uri_base_ids={SRCROOT: om.ArtifactLocation(uri=repository.root.as_uri() + "/")},
        invocations=[om.Invocation(
            execution_successful=True,
            tool_execution_notifications=notifications,
            tool_configuration_notifications=[
                _notification(text, "note") for text in configuration.notifications(result.configuration, scan_root)
            ],
        )],
    )
    if result.configuration is not None:
        run.properties = {"configuration": configuration.record(result.configuration, scan_root)}
    if category is not None and category.strip("/ "):
        run.automation_details = om.RunAutomationDetails(id=category.strip().rstrip("/") + "/")
    if repository.in_git and repository.repository_uri:  # repositoryUri is required by the schema
        run.version_control_provenance = [
            om.VersionControlDetails(
                repository_uri=repository.repository_uri,
                revision_id=repository.revision_id,
                branch=repository.branch,
                mapped_to=om.ArtifactLocation(uri_base_id=SRCROOT),
            )
        ]
    return om.SarifLog(version=SARIF_VERSION, schema_uri=SCHEMA_URI, runs=[run])


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    """The SARIF text; when its gzip exceeds GitHub's upload limit, fewer (the most severe) results are kept."""
    limit, size_limited = MAX_RESULTS, False
    while True:
        log = build_log(result, category=options.category, include_suppressed=options.include_suppressed,
                        max_results=limit, size_limited=size_limited)
        text = dumps(log)
        if limit == 0 or len(gzip.compress(text.encode("utf-8"), compresslevel=6)) <= MAX_GZIP_BYTES:
            return text
        kept = len(log.runs[0].results)
        limit, size_limited = kept // 2, True


FORMAT = Format("sarif", render)
