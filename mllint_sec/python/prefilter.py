"""Decide cheaply, from the text alone, whether a file can produce any finding.

Sound by construction: a call can only resolve to the qualified name
`torch.serialization.load` if the file names every segment of it somewhere
(`torch` in an import, `serialization` in an import or an attribute, `load`);
aliases keep the words in the file (`from torch import load as tl`). So each
rule contributes word tuples, and a file is parsed only when some tuple is
present in full in its code: comments and plain string literals (docstrings included, where most
mentions of loaders in ML libraries live) are blanked first, since they never
hold code. f-strings and t-strings can, so they are kept.
"""

from __future__ import annotations

import re

SUPPRESSION_MARKER = "mllint-sec:"
DYNAMIC_MARKERS = ("__import__", "import_module", "getattr")  # ways to name a loader in a string
# A string that is never closed ends at its line's end (or the text's): had the closing quote been
# required, every quote of a line full of unclosed strings would rescan the rest of the line, which
# is quadratic. Such a file does not parse, so what the blanking then hides cannot be a finding.
_COMMENTS_AND_STRINGS = re.compile(
    r"#[^\n]*"
    r"|(?P<prefix>[A-Za-z]{0,3})"
    r"(?:\"\"\"(?:\\[\s\S]|[^\\])*?(?:\"\"\"|\Z)"
    r"|'''(?:\\[\s\S]|[^\\])*?(?:'''|\Z)"
    r"|\"(?:\\[\s\S]|[^\"\\\n])*\"?|'(?:\\[\s\S]|[^'\\\n])*'?)"
)


def _blank(match: re.Match[str]) -> str:
    prefix = match.group("prefix")
    if prefix and ("f" in prefix.lower() or "t" in prefix.lower()):
        return match.group()  # f-strings and t-strings hold code
    return " "


def code_only_keeping_lines(text: str, keep_fstrings: bool = True) -> str:
    """Like code_only, but blanked literals keep their line breaks; optionally blank f-strings too."""

    def blank(match: re.Match[str]) -> str:
        kept = _blank(match) if keep_fstrings else " "
        return kept if kept != " " else " " + "\n" * match.group().count("\n")

    return _COMMENTS_AND_STRINGS.sub(blank, text)


def code_only(text: str) -> str:
    """The text with comments and plain string literals blanked."""
    return _COMMENTS_AND_STRINGS.sub(_blank, text)


class Prefilter:
    """`pairs`: word tuples (the segments of a qualified name) that must all appear in code;
    `raw_words`: words that may sit inside string literals (environment variable names) and
    are looked for as is."""

    def __init__(self, pairs: frozenset[tuple[str, ...]], raw_words: frozenset[str] = frozenset(),
                 groups: tuple[frozenset[str], ...] = ()):
        self.pairs = pairs
        self.raw_words = raw_words
        # `groups`: word sets each of which must have a word in code (request sources and model
        # sinks, for the flow rules): too many combinations to list as pairs.
        self.groups = tuple(g for g in groups if g)
        words = {word for pair in pairs for word in pair}
        self.pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b") if words else None
        self._last_groups: tuple[str | None, bool] = (None, False)
        self.group_patterns = tuple(
            re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, group))) + r")\b") for group in self.groups
        )

    def wants_groups(self, text: str) -> bool:
        """True when the code names a word of every group (a file the flow rules must parse in full)."""
        if self._last_groups[0] is text:
            return self._last_groups[1]
        # A whole word of each group in the raw text (a superset; `search` stops at the first),
        # then in the code alone.
        answer = bool(self.group_patterns) and all(
            any(word in text for word in group) and pattern.search(text)  # substrings first: C speed
            for group, pattern in zip(self.groups, self.group_patterns, strict=True)
        )
        if answer:
            code = code_only(text)
            answer = all(p.search(code) for p in self.group_patterns)
        self._last_groups = (text, answer)  # asked again for the same text by the analyzer
        return answer

    def _has_pair(self, pattern: re.Pattern[str], text: str) -> bool:
        present = set(pattern.findall(text))
        return any(all(word in present for word in words) for words in self.pairs)

    def wants(self, text: str) -> bool:
        """True when the file may hold a finding or a suppression comment."""
        if SUPPRESSION_MARKER in text or any(word in text for word in self.raw_words):
            return True
        if self.groups and self.wants_groups(text):
            return True
        # Substring tests first (C speed, a superset of whole-word matches), then words in code only.
        if self.pattern is None or not any(all(word in text for word in words) for words in self.pairs):
            return False
        if any(marker in text for marker in DYNAMIC_MARKERS):
            # `getattr(pickle, "loads")`, `__import__("pickle")`: the names sit in string literals.
            return self._has_pair(self.pattern, text)
        return self._has_pair(self.pattern, code_only(text))
