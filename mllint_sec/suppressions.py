"""`# mllint-sec: ignore[RULE, ...] -- reason` comments: parse, apply, report the unused ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(
    r"#\s*mllint-sec:\s*ignore(?:\[(?P<rules>[^\]]*)\])?(?:\s*--\s*(?P<reason>.*\S))?\s*$"
)


@dataclass
class Suppression:
    line: int
    column: int
    end_column: int
    rules: tuple[str, ...]  # empty: every rule
    reason: str | None
    used: set[str] = field(default_factory=set)
    text: str = ""


def parse_comment(text: str, line: int, column: int) -> Suppression | None:
    match = _COMMENT.search(text)
    if match is None:
        return None
    rules = tuple(r.strip().upper() for r in (match.group("rules") or "").split(",") if r.strip())
    return Suppression(line, column, column + len(text), rules, match.group("reason"), text=text.strip())


def covers(suppression: Suppression, rule_id: str) -> bool:
    return not suppression.rules or rule_id in suppression.rules
