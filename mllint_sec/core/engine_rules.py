"""The ids of the engine's own rules (family `engine`), which the code produces directly."""

from __future__ import annotations

PARSE_ERROR = "MLS001"  # a file that could hold findings but could not be analysed
UNUSED_SUPPRESSION = "MLS002"  # a suppression comment that suppresses nothing, or is malformed
