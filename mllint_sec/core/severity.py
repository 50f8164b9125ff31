"""How severe a finding is, from a rule's `severity`."""

from __future__ import annotations

from mllint_sec.core.text_enum import TextEnum


class Severity(TextEnum):
    """Most severe first: reports count findings in this order."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NOTE = "note"

    @property
    def rank(self) -> int:
        """Higher is more severe (`--fail-on` fails on this rank and above)."""
        return _RANK[self]


_RANK = {severity: rank for rank, severity in enumerate(reversed(Severity))}
