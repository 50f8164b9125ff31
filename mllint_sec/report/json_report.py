"""Machine-readable output; the schema is documented in docs/json-schema.json."""

from __future__ import annotations

import json
from collections import Counter

from mllint_sec import __version__
from mllint_sec.catalogue.model import SEVERITIES
from mllint_sec.engine.runner import RunResult

SCHEMA_VERSION = 1


LFS_REASON = "Git LFS pointer: the artifact's content is not checked out"


def render(result: RunResult) -> str:
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
                **({"cell": f.extra["cell"], "cell_line": f.extra["cell_line"]} if "cell" in f.extra else {}),
                **({"flow": f.extra["flow"]} if f.extra.get("flow") else {}),
            }
            for f in result.findings
        ],
        "summary": {
            "files_scanned": result.files_scanned,
            "findings": len(active),
            "suppressed": len(result.findings) - len(active),
            "by_severity": {s: counts[s] for s in SEVERITIES},
            "fail_on": result.fail_on,
            "failing": len(result.failing()),
        },
        "problems": list(result.problems),
        "not_scanned": [{"path": path, "reason": LFS_REASON} for path in result.not_scanned],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
