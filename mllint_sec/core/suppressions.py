"""`# mllint-sec: ignore[RULE, ...] -- reason` comments: parse, apply, report the unused ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mllint_sec.core.finding import Finding

_MARKER = re.compile(r"#\s*mllint-sec:\s*ignore")
# What follows the marker and its `[rules]`: a reason after `--`, then nothing but blanks or another comment.
_TAIL = re.compile(r"(?:\s*--\s*(?P<reason>[^#\s](?:[^#]*[^#\s])?))?\s*(?:#.*)?$")
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
    found = _syntax(text)
    end = column + len(text)
    if found is None:
        return Suppression(line, column, end, (), None, text=text.strip(), malformed=True)
    written, reason = found
    rules = tuple(r.strip().upper() for r in (written or "").split(",") if r.strip())
    if written is not None and (not rules or not all(_RULE_ID.match(r) for r in rules)):
        return Suppression(line, column, end, (), None, text=text.strip(), malformed=True)
    return Suppression(line, column, end, rules, reason, text=text.strip())


def _syntax(text: str) -> tuple[str | None, str | None] | None:
    """(the rules as written, None without brackets; the reason or None) at the first marker the
    syntax `# mllint-sec: ignore[RULES] -- reason` fits, or None.

    Linear in the comment, which the scanned file writes: one regex from `#` to the end tried each
    marker in turn and scanned the rest of the line from each unclosed `[` (a line of 16,000 markers
    took 35 s). Here the `]` closing a marker's rules is found once for all the markers before it,
    and the text after it is tried once, whichever markers share it.
    """
    close = -1  # the first `]` at or after the last marker looked at (len(text): none)
    failed = -1  # where the last tail that did not fit started
    for marker in _MARKER.finditer(text):
        at, written = marker.end(), None
        if text.startswith("[", at):
            if close < at:
                found = text.find("]", at)
                close = len(text) if found < 0 else found
            if close == len(text):
                continue  # an unclosed `[` fits nothing
            written, at = text[at + 1:close], close + 1
        if at != failed:
            tail = _TAIL.match(text, at)
            if tail is not None:
                return written, tail["reason"]
            failed = at
    return None


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
