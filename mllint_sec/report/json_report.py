"""Machine-readable output; the schema is documented in docs/json-schema.json."""

from __future__ import annotations

import json
import re
from collections import Counter

from mllint_sec import __version__
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult
from mllint_sec.report import configuration
from mllint_sec.report.formats import Format, RenderOptions

SCHEMA_VERSION = 1


LFS_REASON = "Git LFS pointer: the artifact's content is not checked out"
SUBMODULE_REASON = "git submodule: its files are not scanned; scan its checkout on its own"
# A file name that is not valid UTF-8 holds its undecodable bytes as lone surrogates
# (os.fsdecode), which no UTF-8 output can carry.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    rules = result.catalogue.rules
    active = result.active
    counts = Counter(f.severity for f in active)
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mllint-sec", "version": __version__},
        "findings": [
            {
                "rule_id": f.rule_id,
                "rule_name": rules[f.rule_id].name,
                "severity": f.severity,
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
                **({"cell": f.cell.cell, "cell_line": f.cell.line} if f.cell is not None else {}),
                **({"flow": [_step(step) for step in f.flow]} if f.flow else {}),
            }
            for f in result.findings
        ],
        "summary": {
            "files_scanned": result.files_scanned,
            "findings": len(active),
            "suppressed": len(result.findings) - len(active),
            "by_severity": {s: counts[s] for s in Severity},
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


def json_text(document: object) -> str:
    """JSON text, non-ASCII kept readable; a lone surrogate is written as its `\\udcXX` escape, so a
    file name's undecodable byte survives: `os.fsencode(json.loads(text)["path"])` gives the name's bytes."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


def _step(step: FlowStep) -> dict[str, object]:
    """A flow step; `path` only for a step in another file than the finding's."""
    located = {"line": step.line, "column": step.column, "end_line": step.end_line, "end_column": step.end_column,
               "message": step.message}
    return located if step.path is None else {**located, "path": step.path}


FORMAT = Format("json", render)
