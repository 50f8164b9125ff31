"""Which files a run scans, in a deterministic order.

Inside a git work tree the list comes from git itself (`ls-files --stage` and
`ls-files --others --exclude-standard`), so .gitignore, nested ignores and
core.excludesFile behave exactly as git does. Outside git, a directory walk.
Either way: default excludes, configured excludes, no symlinks (a symlink's
target is scanned where it lives when it is inside the scanned tree; one that
points outside is never followed). FIFOs, sockets and devices are never opened:
each is named in a notice. Git submodules are not entered; they are counted and
named as not scanned. A file named on the command line (as pre-commit names every
file of a commit) is scanned as what a directory scan would take it for, or as
Python when its `#!` line runs Python; any other file is ignored, and one an
exclude pattern drops gets a notice. A named path that does not exist, or is
neither a regular file nor a directory, is a usage error (`TargetError`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mllint_sec.core.bounded_read import read_head, special_kind
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
_SUBMODULE_MODE = b"160000"  # a gitlink: the index records a commit of another repository there


class TargetError(Exception):
    """A path named to scan does not exist or is neither a regular file nor a directory (a usage error)."""


@dataclass
class Discovered:
    targets: list[Target]  # sorted by display path
    notices: list[str] = field(default_factory=list)  # what was named or found but not read, and why
    submodules: list[str] = field(default_factory=list)  # display paths of git submodules, not scanned


@dataclass
class _Listing:
    files: list[Path]
    submodules: list[Path] = field(default_factory=list)


def _git_files(directory: Path) -> _Listing | None:
    """Files git would track under `directory` and its submodules, or None when it is not in a work tree."""
    directory = directory.resolve()
    try:
        # The index with each entry's mode, to tell submodules (gitlinks) from files; then the
        # untracked files. Two listings, because one mixing both could not be parsed unambiguously:
        # an untracked file may be named like a staged entry.
        staged = run_git(directory, "ls-files", "-z", "--stage")
        untracked = run_git(directory, "ls-files", "-z", "--others", "--exclude-standard")
    except GitError:  # not a work tree, or git unusable: fall back to walking
        return None
    files: dict[bytes, None] = {}
    submodules: dict[bytes, None] = {}
    for entry in staged.split(b"\0"):
        header, _, name = entry.partition(b"\t")  # `<mode> <object> <stage>\t<path>`; a conflict lists a path per stage
        if name:
            (submodules if header.split(b" ", 1)[0] == _SUBMODULE_MODE else files)[name] = None
    files.update(dict.fromkeys(item for item in untracked.split(b"\0") if item))
    # ls-files lists the files under its working directory, relative to it.
    return _Listing([directory / os.fsdecode(name) for name in files],
                    [directory / os.fsdecode(name) for name in submodules])


def _walk(directory: Path, excluded: Callable[[Path], bool]) -> _Listing:
    found: list[Path] = []
    for current, dirnames, filenames in os.walk(directory, followlinks=False):
        base = Path(current)
        dirnames[:] = [d for d in dirnames if not excluded(base / d)]
        found.extend(base / name for name in filenames)
    return _Listing(found)


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
        self._listed: dict[str, _Listing] = {}

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

    def targets(self, paths: list[Path]) -> Discovered:
        """The files to scan under `paths` and what was left unread; TargetError for a path that cannot be scanned."""
        chosen: dict[str, Target] = {}
        found = Discovered([])
        submodules: set[str] = set()
        for given in paths:
            if given.is_symlink() and not self._inside(given):
                found.notices.append(f"{given}: symlink outside the scanned tree; not followed")
                continue
            mode = _mode(given)
            if stat.S_ISREG(mode):
                kind = self.kind_of(given) or (FileKind.SOURCE if _python_script(given) else None)
                if kind is not None and self.excluded(given):
                    found.notices.append(f"{given}: matches an exclude pattern; not scanned")
                elif kind is not None:
                    self._add(chosen, given, kind)
                continue
            if not stat.S_ISDIR(mode):
                raise TargetError(f"{given}: not a regular file or directory ({special_kind(mode)})")
            listing = self._files_under(given)
            submodules.update(self.display(path) for path in listing.submodules if not self.excluded(path))
            for path in listing.files:
                listed = _listed_mode(path)
                if listed is None or stat.S_ISLNK(listed) or stat.S_ISDIR(listed) or self.excluded(path):
                    continue
                special = special_kind(listed)
                if special is not None:
                    found.notices.append(f"{self.display(path)}: {special}, not a regular file; not read")
                    continue
                kind = self.kind_of(path)
                if kind is not None:
                    self._add(chosen, path, kind)
        found.targets = [chosen[key] for key in sorted(chosen)]
        found.submodules = sorted(submodules)
        return found

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
            (Target(Path(os.path.abspath(p)), self.display(p)) for p in self._files_under(self.scan_root).files
             if self._wanted(p)),
            key=lambda t: t.display,
        )

    def _files_under(self, directory: Path) -> _Listing:
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

    def _add(self, chosen: dict[str, Target], path: Path, kind: FileKind) -> None:
        target = Target(Path(os.path.abspath(path)), self.display(path), kind)
        chosen.setdefault(target.display, target)


_MANIFEST_SUFFIXES = (".txt", ".in", ".toml", ".cfg", ".yml", ".yaml")  # .yml: conda environment files


# A protocol 0-1 pickle has no magic number; most start by importing a callable (GLOBAL).
_TEXT_PICKLE = re.compile(rb"c[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n")


def _mode(given: Path) -> int:
    """The `st_mode` of a path named to scan (its target, for a symlink); TargetError when there is none."""
    try:
        return os.stat(given).st_mode
    except FileNotFoundError:
        raise TargetError(f"{given}: no such file or directory") from None
    except OSError as exc:
        raise TargetError(f"{given}: {exc.strerror or exc}") from None


def _listed_mode(path: Path) -> int | None:
    """The `st_mode` of a listed path itself (a symlink is not followed); None when it is gone."""
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None  # listed by git, deleted from the work tree


def _python_script(path: Path) -> bool:
    """A script whose `#!` line runs Python (`bin/train`): what pre-commit's `python` type also passes."""
    head = read_head(path, 256)
    if not isinstance(head, bytes):
        return False
    first_line = head.split(b"\n", 1)[0]
    return first_line.startswith(b"#!") and b"python" in first_line


def _has_magic(path: Path) -> bool:
    """A pickle, zip or numpy file behind another name (`weights.png`, `config.p`)."""
    head = read_head(path, 256)
    return isinstance(head, bytes) and (head.startswith(_MAGIC) or bool(_TEXT_PICKLE.match(head)))


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
