"""How well a request source bounds its data (flows/input_types.py decides; flow rules pick by it)."""

from __future__ import annotations

from mllint_sec.core.text_enum import TextEnum


class InputLevel(TextEnum):
    RAW = "raw"  # nothing checked: bytes, text, a dict, an upload
    TYPED = "typed"  # a checked type without a size or range bound
    VALIDATED = "validated"  # a bound is declared, or the type is a closed choice
