"""`--diff-base REF`: which lines changed since REF, so only findings on them are reported.

`git diff REF` compares REF with the working tree (staged and unstaged changes alike). A modified
file keeps the lines its hunks add; files added since REF (binary ones included), modified binary
files and untracked files that git does not ignore count as entirely new, so findings about a
whole file (a committed artifact) are kept. Renames are not followed: a moved file is new in full
at its new path, and a deleted file has nothing left to report.

File names come from git's NUL-separated listings, never from patch headers, whose form the
repository's configuration changes (`diff.noprefix`, `diff.mnemonicPrefix`) and which quote
non-ASCII names and end names holding a space with a tab.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mllint_sec.engine.config import ConfigError
from mllint_sec.engine.git import GitError, run_git, top_level

ALL_LINES = None  # marker: every line of the file is new

# Patch lines of a file's content all start with " ", "+", "-" or "\", so a line starting with
# "@@" is a hunk header and one starting with "diff --git " or "Binary files " a file's header.
_HUNK = re.compile(rb"@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")
# The same choice of files for every listing; submodules are not scanned, so git stays out of them.
_COMPARISON = ("--no-renames", "--ignore-submodules=all")


def changed_lines(scan_root: Path, base: str) -> dict[Path, set[int] | None]:
    """Absolute path -> changed line numbers (1-based), or ALL_LINES for files new in full."""
    try:
        top = top_level(scan_root)
    except GitError as exc:
        raise ConfigError(f"--diff-base: {scan_root} is not inside a git repository ({exc})") from exc
    try:
        commit = run_git(top, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}").decode().strip()
    except GitError as exc:
        raise ConfigError(f"--diff-base: '{base}' is not a commit in this repository") from exc
    try:
        changed = {top / path: lines for path, lines in _modified(top, commit)}
        # Everything else but deleted files: added, type-changed, unmerged.
        added = run_git(top, "diff", "--name-only", "-z", "--diff-filter=dm", *_COMPARISON, commit, "--")
        untracked = run_git(top, "ls-files", "-z", "--others", "--exclude-standard")
    except GitError as exc:
        raise ConfigError(f"--diff-base: {exc}") from exc
    for path in _names(added) + _names(untracked):
        changed[top / path] = ALL_LINES
    return changed


def _modified(top: Path, commit: str) -> list[tuple[str, set[int] | None]]:
    """Each modified file with the lines its hunks add (ALL_LINES for a binary file).

    One git call prints the NUL-separated list of the files (`--raw -z`) and then their patches
    in the same order, so the n-th patch belongs to the n-th name.
    """
    output = run_git(
        top, "diff", "--raw", "-z", "--patch", "--unified=0", "--inter-hunk-context=0", "--diff-filter=M",
        *_COMPARISON, commit, "--",
    )
    names = []
    position = 0
    while output.startswith(b":", position):  # ":<mode> <mode> <object> <object> M\0<path>\0"
        name_start = output.index(b"\0", position) + 1
        name_end = output.index(b"\0", name_start)
        names.append(os.fsdecode(output[name_start:name_end]))
        position = name_end + 1
    patches: list[set[int] | None] = []
    for line in output[position + 1:].split(b"\n"):  # one NUL separates the list from the patches
        if line.startswith(b"diff --git "):
            patches.append(set())
        elif line.startswith(b"Binary files "):
            patches[-1] = ALL_LINES
        elif hunk := _HUNK.match(line):
            start, count = int(hunk["start"]), int(hunk["count"] or 1)
            # Only a binary file's patch is ALL_LINES (None), and it has no hunks.
            patches[-1].update(range(start, start + count))  # type: ignore[union-attr]
    return list(zip(names, patches, strict=True))


def _names(listing: bytes) -> list[str]:
    return [os.fsdecode(name) for name in listing.split(b"\0") if name]
