"""The names a file's import statements bring in, read from its text with one linear pattern.

The cross-module passes use them to pick the few files that may call another module's function
(a loader wrapper) without reading every file of the repository on each run: the analysis
records them with its cached result. A line-based reading: an import split over several lines
by parentheses gives the names on its first line only, so a file can be missed, never added.
"""

from __future__ import annotations

import re

# `from X import a, b` (the names on its first line) or `import X`; one alternation, no nesting.
IMPORTS = re.compile(
    r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]+\(?([\w, \t]*)|import[ \t]+([.\w]+))", re.MULTILINE
)
_SEPARATORS = re.compile(r"[,\s]+")
_COMBINED_PER_CHARACTER = 4  # characters of `module.name` per character of the text, at most
_COMBINED_MINIMUM = 1 << 16


def imported_names(text: str) -> tuple[str, ...]:
    """Each module an import names, and each `module.name` a `from` import binds, in first-seen order:
    `from .patches import torch_load` gives `.patches.torch_load` and `.patches`; `from . import patches`
    gives `.patches` and `.`."""
    found: dict[str, None] = {}
    # Each `module.name` repeats the module: `from a.a.(20,000 parts) import n0, ..., n19999` made 800 MB of
    # names. Past a budget linear in the text, only modules (substrings of the text) are added: a file
    # can then be missed, as with a name on a continuation line, never added.
    budget = _COMBINED_PER_CHARACTER * len(text) + _COMBINED_MINIMUM
    for match in IMPORTS.finditer(text):
        module = match.group(1) or match.group(3)
        if match.group(1):
            joint = "" if module.endswith(".") else "."
            for name in _SEPARATORS.split(match.group(2) or ""):
                if name and name != "as" and budget >= len(module) + len(name):
                    budget -= len(module) + len(name)
                    found[f"{module}{joint}{name}"] = None
        found[module] = None
    return tuple(found)
