"""The files findings point at, as reports show them: paths relative to the repository root,
and each file's text and lines, read once per report."""

from __future__ import annotations

from pathlib import Path

from mllint_sec.core.bounded_read import read_limited
from mllint_sec.core.file_kinds import MAX_NOTEBOOK_BYTES, MAX_SOURCE_BYTES
from mllint_sec.python.lines import physical_lines


class SourceFiles:
    def __init__(self, scan_root: Path, repo_root: Path):
        self.scan_root = scan_root  # what finding paths are relative to
        self.repo_root = repo_root  # what report paths are relative to: the git top level, else the scan root
        self._text: dict[Path, str | None] = {}
        self._lines: dict[Path, list[str] | None] = {}

    def absolute(self, finding_path: str) -> Path:
        return (self.scan_root / finding_path).resolve()

    def repository_relative(self, finding_path: str) -> str | None:
        """The POSIX path under the repository root; None for a file outside the repository."""
        try:
            return self.absolute(finding_path).relative_to(self.repo_root).as_posix()
        except ValueError:
            return None

    def display(self, finding_path: str) -> str:
        """Repository-relative POSIX path, else the absolute one."""
        relative = self.repository_relative(finding_path)
        return relative if relative is not None else self.absolute(finding_path).as_posix()

    def text(self, finding_path: str) -> str | None:
        absolute = self.absolute(finding_path)
        if absolute not in self._text:
            # No larger than the scan reads as text: a larger file is an artifact or was reported too large to read.
            limit = MAX_NOTEBOOK_BYTES if absolute.suffix == ".ipynb" else MAX_SOURCE_BYTES
            data = read_limited(absolute, limit)
            # As Node's utf8 stream decoder in codeql-action: invalid bytes -> U+FFFD, BOM kept.
            self._text[absolute] = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else None
        return self._text[absolute]

    def lines(self, finding_path: str) -> list[str] | None:
        absolute = self.absolute(finding_path)
        if absolute not in self._lines:
            text = self.text(finding_path)
            self._lines[absolute] = None if text is None else physical_lines(text)
        return self._lines[absolute]
