"""Machine-readable output, described by the JSON schema shipped beside this module (`json-schema.json`;
docs/json-schema.json is a copy). Each finding carries its rule's taxonomy (CWE, ATLAS, OWASP ML, SDL) and
precision, so a responder needs no second lookup in `mllint-sec rules --format json`."""

from __future__ import annotations

import json
import re
from collections import Counter

from mllint_sec import __version__
from mllint_sec.catalogue.model import Catalogue, Rule
from mllint_sec.core.code_context import CodeContext
from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult, catalogue_digest
from mllint_sec.report import configuration
from mllint_sec.report.formats import Format, RenderOptions

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "json-schema.json"  # in this package: importlib.resources.files("mllint_sec.report")


LFS_REASON = "Git LFS pointer: the artifact's content is not checked out"
SUBMODULE_REASON = "git submodule: its files are not scanned; scan its checkout on its own"
# A file name that is not valid UTF-8 holds its undecodable bytes as lone surrogates
# (os.fsdecode), which no UTF-8 output can carry.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    rules = result.catalogue.rules
    active = result.active
    counts = Counter(f.severity for f in active)
    by_context = Counter(_context(f) for f in active)
    by_rule = Counter(f.rule_id for f in active)
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": tool(result.catalogue),
        "findings": [
            {
                "rule_id": f.rule_id,
                "rule_name": rules[f.rule_id].name,
                "severity": f.severity,
                **taxonomy(rules[f.rule_id]),
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "end_line": f.end_line,
                "end_column": f.end_column,
                "message": f.message,
                "snippet": f.snippet,
                "fingerprint": f.fingerprint,
                "suppressed": f.suppressed,
                "suppression_reason": f.suppression_reason,
                "context": _context(f),
                **({"cell": f.cell.cell, "cell_line": f.cell.line} if f.cell is not None else {}),
                **({"flow": [_step(step) for step in f.flow]} if f.flow else {}),
                **_about(f),
            }
            for f in result.findings
        ],
        "summary": {
            "files_scanned": result.files_scanned,
            "files_with_findings": len({f.path for f in active}),
            "findings": len(active),
            "suppressed": len(result.findings) - len(active),
            "by_severity": {s: counts[s] for s in Severity},
            "by_rule": {rule_id: by_rule[rule_id] for rule_id in sorted(by_rule)},
            "by_context": {c: by_context[c] for c in CodeContext},
            "ignored_by_context_policy": sum(not f.suppressed for f in result.ignored),
            "hidden_by_baseline": result.baseline_hidden,
            "context_policy": {c: result.context_policy[c] for c in CodeContext if c in result.context_policy},
            "fail_on": result.fail_on,
            "failing": len(result.failing()),
        },
        "problems": list(result.problems),
        "not_scanned": [{"path": path, "reason": LFS_REASON} for path in result.not_scanned]
        + [{"path": path, "reason": SUBMODULE_REASON} for path in result.submodules],
    }
    if result.configuration is not None:
        document["configuration"] = configuration.record(result.configuration, result.scan_root)
    return json_text(document)


def tool(catalogue: Catalogue) -> dict[str, object]:
    """Which tool and which rules made the report: the same version and digest mean the same verdicts."""
    return {"name": "mllint-sec", "version": __version__, "catalogue_digest": catalogue_digest(catalogue)}


def taxonomy(rule: Rule) -> dict[str, object]:
    """What a responder files a finding under; shared by findings and `mllint-sec rules --format json`."""
    return {"precision": rule.precision, "cwe": list(rule.cwe), "atlas": list(rule.atlas),
            "owasp_ml": list(rule.owasp_ml), "sdl": rule.sdl}


def rules_listing(catalogue: Catalogue) -> str:
    """`mllint-sec rules --format json`: every rule by id, what it cites and its documentation, and the names
    of the taxonomy ids; the same catalogue always gives the same text."""
    document = {
        "tool": tool(catalogue),
        "rules": [
            {
                "id": rule.id,
                "name": rule.name,
                "family": rule.family,
                "severity": rule.severity,
                "default_enabled": rule.default_enabled,
                "summary": rule.summary,
                **taxonomy(rule),
                "docs": {key: _doc(rule.docs[key]) for key in sorted(rule.docs)},
            }
            for rule in sorted(catalogue.rules.values(), key=lambda rule: rule.id)
        ],
        "taxonomy": {kind: dict(names) for kind, names in sorted(catalogue.taxonomy.items())},
    }
    return json_text(document)


def _doc(value: object) -> object:
    """A [docs] field as `explain` shows it: text without the blank lines a TOML multi-line string opens with."""
    return value.strip() if isinstance(value, str) else value


def json_text(document: object) -> str:
    """JSON text, non-ASCII kept readable; a lone surrogate is written as its `\\udcXX` escape, so a
    file name's undecodable byte survives: `os.fsencode(json.loads(text)["path"])` gives the name's bytes."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


def _context(finding: Finding) -> CodeContext:
    return finding.context or CodeContext.LIBRARY  # a finding made outside a run has no context yet


def _about(finding: Finding) -> dict[str, object]:
    """Where the loaded bytes come from, the gate around the load and the other places the finding is about;
    each only when there is one."""
    about: dict[str, object] = {}
    if finding.origin is not None:
        origin: dict[str, object] = {"kind": finding.origin.kind, "description": finding.origin.description}
        if finding.origin.step is not None:
            origin["location"] = _step(finding.origin.step)
        about["origin"] = origin
    if finding.guard is not None:
        about["guard"] = finding.guard
    if finding.related:
        about["related"] = [_step(step) for step in finding.related]
    return about


def _step(step: FlowStep) -> dict[str, object]:
    """A flow step; `path` only for a step in another file than the finding's."""
    located = {"line": step.line, "column": step.column, "end_line": step.end_line, "end_column": step.end_column,
               "message": step.message}
    return located if step.path is None else {**located, "path": step.path}


FORMAT = Format("json", render)
