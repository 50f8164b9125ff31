"""One located step of the path request data takes to a flow rule's sink."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowStep:
    line: int  # 1-based
    column: int  # 1-based, code points
    end_line: int
    end_column: int  # 1-based, one past the last character
    message: str  # what happens to the data here
    path: str | None = None  # another file's (relative to the scan root); None: the finding's own file

    @classmethod
    def at(cls, span: tuple[int, int, int, int], message: str, path: str | None = None) -> FlowStep:
        """A step at a span of python/positions.py (whose columns are 0-based)."""
        line, column, end_line, end_column = span
        return cls(line, column + 1, end_line, end_column + 1, message, path)
