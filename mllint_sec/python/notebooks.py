"""Jupyter notebooks: code cells as one Python text, and the way back to the file on disk.

Code cells are concatenated, one line of Python per line of cell source, so
line numbers map back exactly. IPython syntax that is not Python (`%magic`,
`%%cell magic`, `!shell`, `obj?`) is replaced by `pass` at the same indentation,
so the line count and the surrounding block structure stay intact. Each Python
line records its cell (1-based over all cells, as Jupyter and Ruff count them),
its line in the cell, and its line in the .ipynb JSON, so JSON and SARIF
locations land on the real line of the file GitHub shows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mllint_sec.python.decode import ParseFailure

_SOURCE_KEY = re.compile(r'"source"\s*:\s*')
_MAGIC = re.compile(r"^\s*(?:[%!]|\?|[\w.]+\?{1,2}\s*$)")
# JSON can escape half a surrogate pair (`"\ud800"`), which no UTF-8 text (nor the parser) can
# hold; json.loads joins every whole pair, so a surrogate left in a string stands alone.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class LinePlace:
    cell: int  # 1-based index over all cells
    cell_line: int  # 1-based line within the cell
    file_line: int  # 1-based line of the .ipynb file
    file_column: int  # 0-based column where the line's text starts in the .ipynb file


@dataclass
class NotebookSource:
    text: str
    places: list[LinePlace]  # one per line of `text`

    def place(self, line: int) -> LinePlace | None:
        return self.places[line - 1] if 0 < line <= len(self.places) else None


def _cell_lines(cell: dict[str, object]) -> list[str]:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    if not isinstance(source, str):
        return []
    return source.split("\n") if source else []


def _python_line(line: str, in_cell_magic: bool) -> str:
    if in_cell_magic or _MAGIC.match(line):
        indent = line[: len(line) - len(line.lstrip())]
        return f"{indent}pass"
    # U+FFFD for a lone surrogate, one code point for one, so columns stay and the cell still parses.
    return _LONE_SURROGATE.sub("\ufffd", line)


def to_python(data: bytes) -> NotebookSource | ParseFailure:
    """The notebook's code cells as Python, or a ParseFailure for a malformed notebook."""
    try:
        raw = data.decode("utf-8-sig")
        notebook = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return ParseFailure(f"not a valid notebook: {type(exc).__name__}: {str(exc)[:200]}")
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        return ParseFailure("not a valid notebook: no 'cells' list (nbformat 4 is supported)")
    raw_lines = raw.split("\n")
    keys = _source_keys(raw)
    with_source = [n for n, c in enumerate(cells) if "source" in c]
    key_at = dict(zip(with_source, keys, strict=True)) if len(keys) == len(with_source) else {}
    text_lines: list[str] = []
    places: list[LinePlace] = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        lines = _cell_lines(cell)
        cell_magic = bool(lines) and lines[0].lstrip().startswith("%%")
        key = key_at.get(index)
        cursor = key[1] if key else 0
        for number, line in enumerate(lines, 1):
            file_line, file_column, cursor = _locate(raw_lines, key, number, line, cursor)
            text_lines.append(_python_line(line, cell_magic))
            places.append(LinePlace(index + 1, number, file_line, file_column))
    return NotebookSource("\n".join(text_lines) + "\n", places)


def _source_keys(raw: str) -> list[tuple[int, int]]:
    """(0-based line, column) just after each "source" key, in file order.

    Lines are counted from the previous key on, not from the start of the file each time:
    a notebook of 10,000 cells on one line would otherwise be read 10,000 times over.
    """
    keys = []
    line = line_start = counted = 0
    for match in _SOURCE_KEY.finditer(raw):
        end = match.end()
        newlines = raw.count("\n", counted, end)
        if newlines:
            line += newlines
            line_start = raw.rfind("\n", counted, end) + 1
        counted = end
        keys.append((line, end - line_start))
    return keys


def _locate(
    raw_lines: list[str], key: tuple[int, int] | None, number: int, line: str, cursor: int
) -> tuple[int, int, int]:
    """(1-based file line, 0-based column of the text, new cursor) of a cell line in the .ipynb JSON.

    Jupyter writes `"source": [` and then one JSON string per line. Compact files
    and one-string sources keep several cell lines on the key's line: there the
    encoded text is searched for after the previous line's. Unusual layouts fall
    back to the `"source"` key's line.
    """
    if key is None:
        return 1, 0, 0
    key_line = key[0] + 1
    encoded = json.dumps(line)[1:-1]
    candidate = key_line + number
    if candidate <= len(raw_lines):
        text = raw_lines[candidate - 1]
        start = text.find('"')
        if start >= 0 and text[start + 1:].startswith(encoded) and text.strip() not in ("[", "]"):
            return candidate, start + 1, cursor
    text = raw_lines[key_line - 1] if key_line <= len(raw_lines) else ""
    found = text.find(encoded, cursor)
    if found >= 0:
        return key_line, found, found + len(encoded)
    return key_line, 0, cursor


def file_column(place: LinePlace, line: str, column: int) -> int:
    """The 1-based column in the .ipynb file of a 1-based column in the cell line (JSON escapes counted)."""
    return place.file_column + len(json.dumps(line[: column - 1])[1:-1]) + 1
