"""`# mllint-sec: ignore[RULE, ...] -- reason` comments: parse, apply, report the unused ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mllint_sec.core.finding import Finding

_COMMENT = re.compile(
    r"#\s*mllint-sec:\s*ignore(?:\[(?P<rules>[^\]]*)\])?"
    r"(?:\s*--\s*(?P<reason>[^#]*[^#\s]))?\s*(?:#.*)?$"
)
_RULE_ID = re.compile(r"^[A-Z]+[0-9]{3}$")


@dataclass
class Suppression:
    line: int
    column: int
    end_column: int
    rules: tuple[str, ...]  # empty: every rule
    reason: str | None
    used: set[str] = field(default_factory=set)
    text: str = ""
    malformed: bool = False


def parse_comment(text: str, line: int, column: int) -> Suppression:
    """A comment holding the marker; `malformed` when it does not follow the syntax (never silently dropped)."""
    match = _COMMENT.search(text)
    end = column + len(text)
    if match is None:
        return Suppression(line, column, end, (), None, text=text.strip(), malformed=True)
    rules = tuple(r.strip().upper() for r in (match.group("rules") or "").split(",") if r.strip())
    if match.group("rules") is not None and (not rules or not all(_RULE_ID.match(r) for r in rules)):
        return Suppression(line, column, end, (), None, text=text.strip(), malformed=True)
    return Suppression(line, column, end, rules, match.group("reason"), text=text.strip())


def covers(suppression: Suppression, rule_id: str) -> bool:
    return not suppression.malformed and (not suppression.rules or rule_id in suppression.rules)


def apply_line_comments(findings: list[Finding], lines: list[str]) -> list[Finding]:
    """Suppress findings in non-Python files (requirements, DVC files) by a comment on their line.

    The comment starts at `# mllint-sec:`; a malformed one suppresses nothing.
    """
    for finding in findings:
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        marker = text.find("# mllint-sec:")
        if marker < 0:
            continue
        suppression = parse_comment(text[marker:], finding.line, marker + 1)
        if covers(suppression, finding.rule_id):
            finding.suppressed = True
            finding.suppression_reason = suppression.reason
    return findings
