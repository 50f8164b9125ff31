"""Decide cheaply, from the text alone, whether a file can produce any finding.

Sound by construction: every call, base class or environment switch a rule can
match ends in a word the rule names (`load`, `read_pickle`, `Unpickler`,
`TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`), and aliases keep that word in the file
(`from torch import load as tl`). Doctest lines (`>>> ...` and their `...`
continuations) are never code, so they are blanked first: in ML libraries most
mentions of loaders live in docstring examples.
"""

from __future__ import annotations

import re

SUPPRESSION_MARKER = "mllint-sec:"
_DOCTEST = re.compile(r"^[ \t]*>>>.*(?:\n[ \t]*\.\.\.(?:[ \t].*)?$)*", re.MULTILINE)


class Prefilter:
    def __init__(self, words: frozenset[str]):
        self.pattern = (
            re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b") if words else None
        )

    def wants(self, text: str) -> bool:
        """True when the file may hold a finding or a suppression comment."""
        if SUPPRESSION_MARKER in text:
            return True
        if self.pattern is None:
            return False
        match = self.pattern.search(text)
        if match is None:
            return False
        if ">>>" not in text:
            return True
        return self.pattern.search(_DOCTEST.sub("", text)) is not None
