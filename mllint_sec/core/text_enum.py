"""Enumerations whose members are their text: they compare, hash, print and serialize as the value."""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    """A `str` enum that prints as its value, so TOML, JSON and messages see the same text as before.

    `enum.StrEnum` needs Python 3.11. A plain `(str, Enum)` member formats as `Severity.HIGH`
    in f-strings from Python 3.11 on; `format` uses `__str__` once it is overridden, on every
    supported version.
    """

    def __str__(self) -> str:
        return str(self.value)
