"""`# mllint-sec: ignore[RULE, ...] -- reason` comments: parse, apply, report the unused ones.

A RULE is an id (`LOAD003`) or a kebab-case name (`torch-load-unsafe`), either in any case. This layer
has no catalogue: it parses names as written (lower case) and callers that know the catalogue pass
`ids_by_name` to turn them into ids; a name no rule has stays as written, so it covers nothing and
MLS002 reports it as an unknown rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mllint_sec.core.finding import Finding

_MARKER = re.compile(r"#\s*mllint-sec:\s*ignore")
# What follows the marker and its `[rules]`: a reason after `--`, then nothing but blanks or another comment.
_TAIL = re.compile(r"(?:\s*--\s*(?P<reason>[^#\s](?:[^#]*[^#\s])?))?\s*(?:#.*)?$")
# Tried on one stripped token with fullmatch; each is deterministic (a `-` always starts the next part), so linear.
_RULE_ID = re.compile(r"[A-Z]+[0-9]{3}", re.IGNORECASE)
_RULE_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*", re.IGNORECASE)


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


@dataclass(frozen=True)
class SuppressionPolicy:
    """What a project asks of its suppression comments (`require-suppression-reason`,
    `forbid-blanket-suppression`). A comment against it still suppresses: its MLS002 finding fails the
    run instead, so turning the policy on adds findings and never brings back ones already accepted."""

    require_reason: bool = False
    forbid_blanket: bool = False

    def violations(self, suppression: Suppression) -> list[str]:
        """One message per requirement `suppression` breaks (a malformed comment is reported as such)."""
        if suppression.malformed:
            return []
        found = []
        if self.forbid_blanket and not suppression.rules:
            found.append("blanket suppression: name the rules, `ignore[RULE, ...]` (forbid-blanket-suppression)")
        if self.require_reason and suppression.reason is None:
            found.append("suppression without a reason: add `-- reason` (require-suppression-reason)")
        return found

    def cache_tokens(self) -> frozenset[str]:
        """What the policy adds to a result-cache key: the MLS002 findings of a file depend on it."""
        return frozenset(token for on, token in ((self.require_reason, "@suppression:require-reason"),
                                                 (self.forbid_blanket, "@suppression:forbid-blanket")) if on)


NO_POLICY = SuppressionPolicy()  # both switches off, the default


def parse_comment(text: str, line: int, column: int, ids_by_name: Mapping[str, str] | None = None) -> Suppression:
    """A comment holding the marker; `malformed` when it does not follow the syntax (never silently dropped).

    `ids_by_name` (a rule's kebab-case name -> its id) turns the names written in it into ids.
    """
    found = _syntax(text)
    end = column + len(text)
    if found is None:
        return Suppression(line, column, end, (), None, text=text.strip(), malformed=True)
    written, reason = found
    tokens = [_token(r) for r in (written or "").split(",") if r.strip()]
    if written is not None and (not tokens or None in tokens):
        return Suppression(line, column, end, (), None, text=text.strip(), malformed=True)
    names = ids_by_name or {}
    rules = tuple(dict.fromkeys(names.get(t, t) for t in tokens if t is not None))  # a rule named twice: once
    return Suppression(line, column, end, rules, reason, text=text.strip())


def _token(written: str) -> str | None:
    """A rule as written in a comment: an id in upper case, a name in lower case; None for anything else."""
    token = written.strip()
    if _RULE_ID.fullmatch(token):
        return token.upper()
    if _RULE_NAME.fullmatch(token):
        return token.lower()
    return None


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


def apply_line_comments(
    findings: list[Finding], lines: list[str], ids_by_name: Mapping[str, str] | None = None
) -> list[Finding]:
    """Suppress findings in non-Python files (requirements, DVC files) by a comment on their line.

    The comment starts at `# mllint-sec:`; a malformed one suppresses nothing. `ids_by_name`: as for
    `parse_comment` (without it, a comment that names a rule by its name suppresses nothing).
    """
    for finding in findings:
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        marker = text.find("# mllint-sec:")
        if marker < 0:
            continue
        suppression = parse_comment(text[marker:], finding.line, marker + 1, ids_by_name)
        if covers(suppression, finding.rule_id):
            finding.suppressed = True
            finding.suppression_reason = suppression.reason
    return findings
