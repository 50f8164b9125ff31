"""`check --show-files`: the listing of every path discovery met, one line each, sorted by path.

`path  scanned as KIND` or `path  not scanned: REASON`, then a count. Paths (and the configuration's
patterns quoted in reasons) are the scanned repository's text, so each line goes through `visible()`.
"""

from __future__ import annotations

from mllint_sec.engine.file_listing import FileListing
from mllint_sec.report.escape import visible

_MAX_PATH_COLUMN = 60  # a longer path pushes its verdict right instead of widening every line


def render_files(listing: FileListing) -> str:
    paths = [visible(entry.display) for entry in listing.files]  # escaped first, so the column is what is printed
    width = min(max(map(len, paths), default=0), _MAX_PATH_COLUMN)
    lines = [
        f"{path.ljust(width)}  {'scanned as ' if entry.scanned else 'not scanned: '}{visible(entry.detail)}"
        for path, entry in zip(paths, listing.files, strict=True)
    ]
    scanned = sum(entry.scanned for entry in listing.files)
    lines.append(f"{_count(len(listing.files), 'path')}: {scanned} scanned, {len(listing.files) - scanned} not scanned")
    return "".join(line + "\n" for line in lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
