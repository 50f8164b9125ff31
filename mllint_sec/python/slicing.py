"""Parse less: blank the top-level functions and classes that cannot hold a finding.

libcst parses about 9,000 lines a second here, and in a large ML module only a
few functions mention a loader. A top-level `def`/`class` block whose code
names none of the words the enabled rules look for (nor an alias that could
stand for one) cannot produce a finding, so it is replaced, line for line, by a
one-line stub (`def name(): pass`) and blank lines: the name still binds, every
other line keeps its number and columns, and the parser sees far less code.
Everything else at module level (imports, assignments, `if`/`try` blocks) is
kept verbatim, because resolution needs it. If the reduced text does not
parse, the caller parses the full text instead.
"""

from __future__ import annotations

import re

from mllint_sec.python.prefilter import (
    DYNAMIC_MARKERS,
    SUPPRESSION_MARKER,
    code_only_keeping_lines,
)

_HEADER = re.compile(r"(?:async[ \t]+)?def[ \t]+(\w+)|class[ \t]+(\w+)")
_CONTINUATION = re.compile(r"(?:else|elif|except|finally)\b")
_BRACKETS = re.compile(r"[()\[\]{}]")
_IMPORT_ALIAS = re.compile(r"\b(\w+)[ \t]+as[ \t]+(\w+)")
_ASSIGNED_NAME = re.compile(r"(\w+)[ \t]*(?::[^=\n]*)?=(?!=)")
MIN_BLOCK_LINES = 8  # stubbing tiny blocks saves nothing


def _top_level_blocks(code_lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line indexes of top-level statements, read from a comment- and string-free view."""
    starts = []
    depth = 0
    continued = False
    for index, line in enumerate(code_lines):
        first = line[:1]
        if depth == 0 and not continued and first and first not in " \t)]}" and not _CONTINUATION.match(line):
            starts.append(index)
        for bracket in _BRACKETS.findall(line):
            depth = depth + 1 if bracket in "([{" else max(depth - 1, 0)
        continued = line.rstrip().endswith("\\")
    return [(start, starts[n + 1] if n + 1 < len(starts) else len(code_lines)) for n, start in enumerate(starts)]


def _words(words: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")


def reduce_source(
    text: str, words: frozenset[str], raw_words: frozenset[str] = frozenset(), code: str | None = None
) -> str | None:
    """The text with irrelevant top-level def/class blocks stubbed, or None when nothing would change.

    `words`: names a finding's code must mention (loader names); `raw_words`:
    strings that may sit inside literals (environment variable names); `code`:
    code_only_keeping_lines(text), when the caller already has it.
    """
    code = code if code is not None else code_only_keeping_lines(text)
    code_lines = code.split("\n")
    lines = text.split("\n")
    # Block boundaries come from a view with every literal blanked (f-string text at
    # column 0 is not a statement); relevance from one that keeps f-strings (they hold code).
    structure = code_only_keeping_lines(text, keep_fstrings=False).split("\n")
    if not (len(code_lines) == len(lines) == len(structure)) or not words:
        return None
    blocks = _top_level_blocks(structure)
    words_re = _words(words)
    # Names that may stand for a loader: `from torch import load as tl`, and module-level
    # statements such as `loader = pickle.loads` or `restore = partial(\n torch.load, ...)`.
    relevant = set(words) | {alias for name, alias in _IMPORT_ALIAS.findall(code) if name in words}
    for start, end in blocks:
        assigned = _ASSIGNED_NAME.match(structure[start])
        if assigned and words_re.search("\n".join(code_lines[start:end])):
            relevant.add(assigned.group(1))
    wanted = _words(frozenset(relevant))
    changed = False
    for start, end in blocks:
        first = start
        while first < end and structure[first].startswith("@"):
            first += 1  # decorators belong to the block
        if first >= end or end - start < MIN_BLOCK_LINES:
            continue
        header = _HEADER.match(structure[first])
        if header is None:
            continue
        block_code = "\n".join(code_lines[start:end])
        block_text = "\n".join(lines[start:end])
        if (
            wanted.search(block_code)
            or SUPPRESSION_MARKER in block_text
            or re.search(r"\bglobal\b", block_code)
            or any(marker in block_code for marker in DYNAMIC_MARKERS)
            or any(word in block_text for word in raw_words)
        ):
            continue
        name = header.group(1) or header.group(2)
        lines[start] = f"def {name}(): pass" if header.group(1) else f"class {name}: pass"
        for index in range(start + 1, end):
            lines[index] = ""
        changed = True
    return "\n".join(lines) if changed else None
