"""A Python text's lines as the tokenizer, libcst and `ast` number them.

Python ends a physical line at `\\n`, `\\r\\n` or `\\r` only. `str.splitlines()` also
breaks at form feeds, vertical tabs, `\\x1c`-`\\x1e`, NEL and the Unicode line and
paragraph separators, which can stand inside a Python line (a form feed is even
customary between sections), so a snippet taken from it would be the wrong line.
"""

from __future__ import annotations

import re

# Also how reports (SARIF regions, GitHub annotations) and the manifest readers count lines.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def physical_lines(text: str) -> list[str]:
    """`text` split where Python ends a line; line N of a position is item N - 1."""
    return LINE_BREAK.split(text)
