"""Where a finding in a notebook is, as Jupyter shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NotebookCell:
    cell: int  # 1-based over all cells, as Jupyter and Ruff count them
    line: int  # 1-based line within the cell
    column: int  # 1-based column within that line
