"""`--diff-base REF`: which lines changed since REF, so only findings on them are reported.

Uses git through gitpython: `git diff --unified=0 REF` compares REF with the
working tree (staged and unstaged changes alike); files added since REF
(binary ones included) and untracked files that git does not ignore count as
entirely new, so findings about a whole file (a committed artifact) are kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from mllint_sec.engine.config import ConfigError

_FILE = re.compile(r"^\+\+\+ (?:b/(?P<path>.*)|/dev/null)$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")
ALL_LINES = None  # marker: every line of the file is new


def changed_lines(scan_root: Path, base: str) -> dict[Path, set[int] | None]:
    """Absolute path -> changed line numbers (1-based), or ALL_LINES for untracked files."""
    try:
        import git
    except ImportError as exc:  # pragma: no cover
        raise ConfigError(f"--diff-base needs git: {exc}") from exc
    try:
        repo = git.Repo(scan_root, search_parent_directories=True)
        top = Path(repo.working_tree_dir)
        repo.git.rev_parse("--verify", f"{base}^{{commit}}")
    except git.GitCommandError as exc:
        raise ConfigError(f"--diff-base: '{base}' is not a commit in this repository") from exc
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise ConfigError(f"--diff-base: {scan_root} is not inside a git repository") from exc
    diff = repo.git.diff("--unified=0", "--no-color", "--no-ext-diff", "--no-renames", base, "--")
    changed: dict[Path, set[int] | None] = {}
    current: Path | None = None
    for line in diff.splitlines():
        header = _FILE.match(line)
        if header:
            current = top / header.group("path") if header.group("path") else None
            if current is not None:
                changed.setdefault(current, set())
            continue
        hunk = _HUNK.match(line)
        if hunk and current is not None:
            start, count = int(hunk.group("start")), int(hunk.group("count") or 1)
            changed[current].update(range(start, start + count))  # type: ignore[union-attr]
    # Files added since `base` are new in full, even when git shows no hunks (binary artifacts).
    for line in repo.git.diff("--name-only", "--diff-filter=A", "--no-renames", "-z", base, "--").split("\0"):
        if line:
            changed[top / line] = ALL_LINES
    for untracked in repo.untracked_files:
        changed[top / untracked] = ALL_LINES
    return changed
