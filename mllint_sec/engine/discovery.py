"""Which files a run scans, in a deterministic order.

Inside a git work tree the list comes from git itself (`ls-files --cached
--others --exclude-standard`), so .gitignore, nested ignores and
core.excludesFile behave exactly as git does. Outside git, a directory walk.
Either way: default excludes, configured excludes, no symlinks (a symlink's
target is scanned where it lives when it is inside the scanned tree; one that
points outside is never followed). A file named on the command line (as
pre-commit names every file of a commit) is scanned as what a directory scan
would take it for, or as Python when its `#!` line runs Python; any other file
is ignored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mllint_sec.core.file_kinds import (
    ARTIFACT_SUFFIXES,
    DATA_SUFFIXES,
    SOURCE_SUFFIXES,
    FileKind,
    Target,
)
from mllint_sec.engine.config import Config, PathPatterns
from mllint_sec.engine.git import GitError, run_git

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "node_modules", "build", "dist",
    "__pycache__", "site-packages", ".tox", ".nox", ".eggs", "*.egg-info", ".mypy_cache",
    ".ruff_cache", ".pytest_cache", "__pypackages__", ".ipynb_checkpoints",
)

_RECORD_NAMES = ("dvc.lock", "dvc.yaml", "readme.md")
_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"PK\x03\x04", b"\x93NUMPY")


def _git_files(directory: Path) -> list[Path] | None:
    """Files git would track under `directory`, or None when it is not in a work tree."""
    directory = directory.resolve()
    try:
        output = run_git(directory, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except GitError:  # not a work tree, or git unusable: fall back to walking
        return None
    # ls-files lists the files under its working directory, relative to it.
    return [directory / os.fsdecode(item) for item in output.split(b"\0") if item]


def _walk(directory: Path, excluded) -> list[Path]:
    found = []
    for current, dirnames, filenames in os.walk(directory, followlinks=False):
        base = Path(current)
        dirnames[:] = [d for d in dirnames if not excluded(base / d)]
        found.extend(base / name for name in filenames)
    return found


class Discovery:
    def __init__(self, config: Config, scan_root: Path, suffixes: tuple[str, ...] = SOURCE_SUFFIXES):
        self.config = config
        self.scan_root = scan_root.resolve()
        self.suffixes = suffixes
        self.config_root = (config.root or self.scan_root).resolve()
        self.scan_roots = (str(self.scan_root), os.path.abspath(scan_root))
        self.config_roots = (str(self.config_root), os.path.abspath(config.root or scan_root))
        # As in Ruff: `exclude` replaces the defaults, `extend-exclude` adds to them.
        self.patterns = PathPatterns(list(config.exclude or DEFAULT_EXCLUDES) + list(config.extend_exclude))
        self._listed: dict[str, list[Path]] = {}

    def excluded(self, path: Path) -> bool:
        return self.patterns.match(self.config_relative(path) or path.name)

    def config_relative(self, path: Path) -> str | None:
        """`path` relative to the configuration's directory (POSIX), or None outside it."""
        return self._relative(path, self.config_roots)

    def display(self, path: Path) -> str:
        return self._relative(path, self.scan_roots) or path.as_posix()

    @staticmethod
    def _relative(path: Path, roots: tuple[str, ...]) -> str | None:
        # abspath first (cheap); realpath only when the path is spelled through a symlink.
        absolute = os.path.abspath(path)
        for root in roots:
            found = _relative(absolute, root)
            if found is not None:
                return found
        return _relative(os.path.realpath(path), roots[0])

    def targets(self, paths: list[Path]) -> tuple[list[Target], list[str]]:
        """(files to scan, problems such as missing paths)."""
        chosen: dict[str, Target] = {}
        problems = []
        for given in paths:
            if given.is_symlink() and not self._inside(given):
                problems.append(f"{given}: symlink outside the scanned tree; not followed")
                continue
            if given.is_file():
                kind = self.kind_of(given) or (FileKind.SOURCE if _python_script(given) else None)
                if kind is not None and not self.excluded(given):
                    self._add(chosen, given, kind)
                continue
            if not given.is_dir():
                problems.append(f"{given}: no such file or directory")
                continue
            for path in self._files_under(given):
                if self._wanted(path):
                    kind = self.kind_of(path)
                    if kind is not None:
                        self._add(chosen, path, kind)
        return [chosen[key] for key in sorted(chosen)], problems

    def kind_of(self, path: Path) -> FileKind | None:
        """What the file is analysed as, or None for a file no rule reads."""
        if path.suffix in self.suffixes:
            return FileKind.SOURCE
        if is_manifest(self, path):
            return FileKind.MANIFEST
        suffix = path.suffix.lower()
        if suffix in ARTIFACT_SUFFIXES or _has_magic(path):
            return FileKind.ARTIFACT
        if suffix in DATA_SUFFIXES:
            return FileKind.DATA
        if suffix == ".dvc" or path.name.lower() in _RECORD_NAMES:
            return FileKind.RECORD
        return None

    def repository_files(self) -> list[Target]:
        """Every file under the scan root (git-aware, excludes applied), for repository-wide facts."""
        return sorted(
            (Target(Path(os.path.abspath(p)), self.display(p)) for p in self._files_under(self.scan_root) if self._wanted(p)),
            key=lambda t: t.display,
        )

    def _files_under(self, directory: Path) -> list[Path]:
        """Listed once per directory: the targets and the repository-wide facts share the listing."""
        key = os.path.abspath(directory)
        if key not in self._listed:
            files = _git_files(directory)
            self._listed[key] = files if files is not None else _walk(directory, self.excluded)
        return self._listed[key]

    def _wanted(self, path: Path) -> bool:
        return not path.is_symlink() and path.is_file() and not self.excluded(path)

    def _inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.scan_root)
            return True
        except ValueError:
            return False

    def _add(self, chosen: dict[str, Target], path: Path, kind: str) -> None:
        target = Target(Path(os.path.abspath(path)), self.display(path), kind)
        chosen.setdefault(target.display, target)


_MANIFEST_SUFFIXES = (".txt", ".in", ".toml", ".cfg")


# A protocol 0-1 pickle has no magic number; most start by importing a callable (GLOBAL).
_TEXT_PICKLE = re.compile(rb"c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n")


def _python_script(path: Path) -> bool:
    """A script whose `#!` line runs Python (`bin/train`): what pre-commit's `python` type also passes."""
    try:
        with path.open("rb") as handle:
            first_line = handle.readline(256)
    except OSError:
        return False
    return first_line.startswith(b"#!") and b"python" in first_line


def _has_magic(path: Path) -> bool:
    """A pickle, zip or numpy file behind another name (`weights.png`, `config.p`)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(256)
    except OSError:
        return False
    return head.startswith(_MAGIC) or bool(_TEXT_PICKLE.match(head))


def is_manifest(discovery: Discovery, path: Path) -> bool:
    if path.suffix not in _MANIFEST_SUFFIXES:
        return False
    # Imported here: packaging is loaded only when a run meets such a file.
    from mllint_sec.repo.manifests import manifest_kind

    return manifest_kind(discovery.display(path)) is not None


def _relative(absolute: str, root: str) -> str | None:
    """`absolute` relative to `root` with POSIX separators, or None when it lies outside."""
    if absolute == root:
        return "."
    if not absolute.startswith(root.rstrip(os.sep) + os.sep):
        return None
    return absolute[len(root.rstrip(os.sep)) + 1:].replace(os.sep, "/")
