"""The `full` text style: each finding with a source frame, then its flow steps.

    src/demo/train.py:19:13: LOAD003 [high] `torch.load` without `weights_only=True` ...
        18 | def resume(checkpoint_path, model):
        19 |     state = torch.load(checkpoint_path, map_location="cpu")
           |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
        20 |     model.load_state_dict(state)

The frame is the line before, the finding's line and the line after, read from the scanned file
through report/source_lines.py (bounded, each file once per report); in a notebook, the lines of
the finding's cell, numbered as in the cell. The carets cover column..end_column on the finding's
line, or run to the end of the line when the finding goes on past it. A long line is cut as the
`text` style cuts it (report/text.py's `window`), each line around the finding's column, and the
carets stay under the finding. A finding the scan quoted no line for (an artifact, a whole file)
gets no frame; when the file no longer holds the quoted line (changed since the scan, or decoded
otherwise), the quoted line alone is shown, as `text` shows it.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from mllint_sec.core.finding import Finding
from mllint_sec.engine.runner import RunResult
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.source_lines import SourceFiles
from mllint_sec.report.terminal import BLUE, BOLD, SEVERITY_STYLE, Painter
from mllint_sec.report.text import excerpt, flow_lines, headline, render_style, window

CONTEXT_LINES = 1  # shown before and after the finding's line


@dataclass(frozen=True)
class _Place:
    lines: list[str]  # the file's lines, or in a notebook the cell's
    line: int  # 1-based, in `lines`
    column: int  # 1-based
    end_column: int | None  # one past the last character; None: the finding goes on past the line


def _line(lines: list[str], number: int) -> str:
    text = lines[number - 1]
    return text.removeprefix("\ufeff") if number == 1 else text  # the scan does not count a BOM as a column


def _last(lines: list[str]) -> int:
    """The last line number: the empty string after a final line break is not a line."""
    return len(lines) - 1 if len(lines) > 1 and lines[-1] == "" else len(lines)


def _cell_sources(text: str | None) -> list[list[str]] | None:
    """Each cell's lines, indexed as Jupyter numbers cells (all of them, not only code cells); None for a
    notebook that is not JSON (it was reported when scanned)."""
    if text is None:
        return None
    try:
        notebook = json.loads(text.removeprefix("\ufeff"))
    except (ValueError, RecursionError):
        return None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return None
    sources: list[list[str]] = []
    for cell in cells:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        if isinstance(source, list):  # nbformat's usual form: one string per line, each with its "\n"
            source = "".join(part for part in source if isinstance(part, str))
        sources.append(source.split("\n") if isinstance(source, str) and source else [])
    return sources


class _Sources:
    """Where each finding is in the lines a frame shows; every file and notebook read once per report."""

    def __init__(self, scan_root: Path):
        self.files = SourceFiles(scan_root, scan_root)
        # By the finding's path: SourceFiles resolves the path at every call, half the cost of a frame.
        self._lines: dict[str, list[str] | None] = {}
        self._notebooks: dict[str, list[list[str]] | None] = {}

    def place(self, finding: Finding) -> _Place | None:
        if finding.whole_file or not finding.snippet:  # nothing quoted: an artifact's bytes are never shown
            return None
        place = self._in_cell(finding) if finding.cell is not None else self._in_file(finding)
        if place is None or not 0 < place.line <= _last(place.lines):
            return None
        if _line(place.lines, place.line).strip() != finding.snippet.strip():
            return None  # the file changed since the scan, or the scan decoded it otherwise (PEP 263)
        return place

    def _in_file(self, finding: Finding) -> _Place | None:
        if finding.path not in self._lines:
            self._lines[finding.path] = self.files.lines(finding.path)
        lines = self._lines[finding.path]
        if lines is None:
            return None
        end = finding.end_column if finding.end_line == finding.line else None
        return _Place(lines, finding.line, finding.column, end)

    def _in_cell(self, finding: Finding) -> _Place | None:
        assert finding.cell is not None
        if finding.path not in self._notebooks:
            self._notebooks[finding.path] = _cell_sources(self.files.text(finding.path))
        cells = self._notebooks[finding.path]
        if cells is None or not 0 < finding.cell.cell <= len(cells):
            return None
        width = self._width_in_cell(finding)
        end = None if width is None else finding.cell.column + width
        return _Place(cells[finding.cell.cell - 1], finding.cell.line, finding.cell.column, end)

    def _width_in_cell(self, finding: Finding) -> int | None:
        """How many characters of the cell's line the finding covers (None: it goes on past the line).
        Its end column counts the .ipynb's JSON text, where `\\"` is two characters for one: decode them."""
        raw = self.files.lines(finding.path)
        if finding.end_line != finding.line or raw is None or not 0 < finding.line <= len(raw):
            return None
        segment = raw[finding.line - 1][finding.column - 1 : finding.end_column - 1]
        try:
            decoded = json.loads(f'"{segment}"')
        except ValueError:
            return len(segment)
        return None if not isinstance(decoded, str) or "\n" in decoded else len(decoded)


def _columns(char: str) -> int:
    """Terminal columns of a character: none for a combining mark, two for a wide (CJK) one."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _under(text: str, mark: str) -> str:
    """`mark` under every column of `text`; a tab stays a tab, so tab stops align the same way."""
    if text.isascii() and "\t" not in text:  # the usual case, one column a character
        return mark * len(text)
    return "".join("\t" if char == "\t" else mark * _columns(char) for char in text)


def _frame(place: _Place, finding: Finding, paint: Painter) -> list[str]:
    first = max(1, place.line - CONTEXT_LINES)
    last = min(_last(place.lines), place.line + CONTEXT_LINES)
    width = len(str(last))
    bar = paint("|", BOLD, BLUE)
    out: list[str] = []
    for number in range(first, last + 1):
        text = _line(place.lines, number).rstrip()
        cut = window(text, place.column)
        shown = f" {paint(cut.shown)}" if cut.shown else ""
        out.append(f"    {paint(str(number).rjust(width), BOLD, BLUE)} {bar}{shown}")
        if number != place.line:
            continue
        # Columns of the line, then of what is shown of it; widths measured on the escaped text, as printed.
        start = min(max(place.column - 1, cut.start), cut.end)
        stop = len(text) if place.end_column is None else place.end_column - 1
        stop = min(max(stop, start), cut.end)
        start, stop = start - cut.start + cut.lead, stop - cut.start + cut.lead
        carets = _under(visible(cut.shown[start:stop]), "^") or "^"
        padding = _under(visible(cut.shown[:start]), " ")
        out.append(f"    {' ' * width} {bar} {padding}{paint(carets, *SEVERITY_STYLE[finding.severity])}")
    return out


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    sources = _Sources(result.scan_root)

    def finding_lines(finding: Finding, paint: Painter) -> list[str]:
        lines = [headline(finding, paint)]
        place = sources.place(finding)
        if place is not None:
            lines += _frame(place, finding, paint)
        elif finding.snippet:
            lines.append(f"    {paint(excerpt(finding.snippet, finding.column))}")
        return [*lines, *flow_lines(finding, paint), ""]  # a blank line between findings

    return render_style(result, options, finding_lines)


FORMAT = Format("full", render)
