"""Baselines: record today's findings by fingerprint, then report only new ones.

Fingerprints (findings.py) hash the rule, the path, the whitespace-free
statement and its occurrence, so a baseline survives lines moving above a
finding; editing the flagged statement itself makes it new again.
"""

from __future__ import annotations

import json
from pathlib import Path

from mllint_sec import __version__
from mllint_sec.core.finding import Finding
from mllint_sec.engine.config import ConfigError

FORMAT = 1


def write(path: Path, findings: list[Finding]) -> int:
    entries = sorted(
        {(f.fingerprint, f.rule_id, f.path) for f in findings if not f.suppressed},
    )
    document = {
        "format": FORMAT,
        "tool": {"name": "mllint-sec", "version": __version__},
        "findings": [{"fingerprint": fp, "rule_id": rule, "path": where} for fp, rule, where in entries],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return len(entries)


def read(path: Path) -> set[str]:
    """The fingerprints a baseline file records; a malformed file is a configuration error."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != FORMAT:
            raise ValueError(f"unsupported baseline format {document.get('format')!r}")
        return {str(entry["fingerprint"]) for entry in document["findings"]}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc.strerror or exc}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not an mllint-sec baseline: {exc}") from exc


def new_only(findings: list[Finding], known: set[str]) -> list[Finding]:
    return [f for f in findings if f.fingerprint not in known]
