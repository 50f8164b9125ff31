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

With `record=True` (`check --show-files`) discovery also keeps, for every path it met and
did not scan, why (`Discovery.met`), and asks git for the ignored paths; a normal run pays
one `None` test per dropped path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mllint_sec.core.bounded_read import read_head, special_kind
from mllint_sec.core.file_kinds import (
    DATA_SUFFIXES,
    SOURCE_SUFFIXES,
    FileKind,
    Target,
    artifact_by_name,
    wrapping_is_disguise,
)
from mllint_sec.core.pickle_sniff import HEAD_BYTES, pickle_file
from mllint_sec.engine.config import Config, PathPatterns
from mllint_sec.engine.git import GitError, run_git

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "node_modules", "build", "dist",
    "__pycache__", "site-packages", ".tox", ".nox", ".eggs", "*.egg-info", ".mypy_cache",
    ".ruff_cache", ".pytest_cache", "__pypackages__", ".ipynb_checkpoints",
)

_RECORD_NAMES = ("dvc.lock", "dvc.yaml", "readme.md")
_MAGIC = (b"PK\x03\x04", b"\x93NUMPY")  # pickles, with or without PROTO, are core/pickle_sniff.py's
# Compressed streams a loader opens whatever the name: joblib.load detects zlib, gzip, bz2, xz, lzma, lz4
# and its own old 'ZF' file by magic; zstd for pandas and torch. The magics artifacts/containers.py
# unpacks (bz2's is checked further, in `_bz2`), so what discovery takes the scan can open.
_COMPRESSED_MAGIC = (
    b"\x1f\x8b\x08", b"\xfd7zXZ\x00", b"\x5d\x00\x00", b"\x04\x22\x4d\x18", b"\x28\xb5\x2f\xfd", b"ZF0x",
    b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda",
)
_BZ2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")  # after `BZh` and the level: a block, or the end of the stream
_TAR_BLOCK = 512  # a tar header is one block and its checksum covers all of it: the head discovery reads
# Bytes text never holds (C0 controls but tab, newlines, form feeds and escape): a compressed stream's or
# a tar header's first bytes do, or are not UTF-8.
_CONTROLS = bytes(set(range(32)) - set(b"\t\n\r\f\v\x1b"))
_HIGH_BYTES = bytes(range(0x80, 0x100))  # negative as signed chars, in a tar checksum
_SUBMODULE_MODE = b"160000"  # a gitlink: the index records a commit of another repository there


class TargetError(Exception):
    """A path named to scan does not exist or is neither a regular file nor a directory (a usage error)."""


@dataclass
class Discovered:
    targets: list[Target]  # sorted by display path
    notices: list[str] = field(default_factory=list)  # what was named or found but not read, and why
    submodules: list[str] = field(default_factory=list)  # display paths of git submodules, not scanned


@dataclass(frozen=True)
class Skipped:
    """A path discovery met and did not scan, and why (`check --show-files`)."""

    display: str  # as reports show paths; a directory left whole ends in "/"
    reason: str


@dataclass
class _Listing:
    files: list[Path]
    submodules: list[Path] = field(default_factory=list)
    pruned: list[Path] = field(default_factory=list)  # directories an exclude pattern kept the walk out of
    from_git: bool = False


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
                    [directory / os.fsdecode(name) for name in submodules], from_git=True)


def _git_ignored(directory: Path) -> list[Path]:
    """What .gitignore (and the other exclude files) hide under `directory`: a wholly ignored directory is one
    entry (git does not descend into it), so a large ignored virtualenv costs one line. Only for --show-files."""
    try:
        listed = run_git(directory.resolve(), "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                         "--directory", "--no-empty-directory")
    except GitError:
        return []  # the listing itself came from git a moment ago; an error now only shortens the list
    return [directory.resolve() / os.fsdecode(name) for name in listed.split(b"\0") if name]


def _walk(directory: Path, excluded: Callable[[Path], bool]) -> _Listing:
    found: list[Path] = []
    pruned: list[Path] = []
    for current, dirnames, filenames in os.walk(directory, followlinks=False):
        base = Path(current)
        kept = [d for d in dirnames if not excluded(base / d)]
        if len(kept) != len(dirnames):
            pruned.extend(base / d for d in dirnames if d not in kept)
        dirnames[:] = kept
        found.extend(base / name for name in filenames)
    return _Listing(found, pruned=pruned)


class Discovery:
    def __init__(self, config: Config, scan_root: Path, suffixes: tuple[str, ...] = SOURCE_SUFFIXES,
                 record: bool = False):
        self.config = config
        self.scan_root = scan_root.resolve()
        self.suffixes = suffixes
        self.config_root = (config.root or self.scan_root).resolve()
        self.scan_roots = (str(self.scan_root), os.path.abspath(scan_root))
        self.config_roots = (str(self.config_root), os.path.abspath(config.root or scan_root))
        # As in Ruff: `exclude` replaces the defaults, `extend-exclude` adds to them.
        self.patterns = PathPatterns(list(config.exclude or DEFAULT_EXCLUDES) + list(config.extend_exclude))
        self._listed: dict[str, _Listing] = {}
        # Why each path met was not scanned, by display path; None (a normal run) records nothing.
        self.met: dict[str, Skipped] | None = {} if record else None

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
                self._skip(given, "symlink outside the scanned tree; not followed")
                continue
            mode = _mode(given)
            if stat.S_ISREG(mode):
                kind = self.kind_of(given) or (FileKind.SOURCE if _python_script(given) else None)
                if kind is not None and self.excluded(given):
                    found.notices.append(f"{given}: matches an exclude pattern; not scanned")
                    self._skip_excluded(given)
                elif kind is not None:
                    self._add(chosen, given, kind)
                else:
                    self._skip(given, _UNKNOWN_KIND)
                continue
            if not stat.S_ISDIR(mode):
                raise TargetError(f"{given}: not a regular file or directory ({special_kind(mode)})")
            listing = self._files_under(given)
            submodules.update(self.display(path) for path in listing.submodules if not self.excluded(path))
            if self.met is not None:
                self._skip_unlisted(given, listing)
            for path in listing.files:
                listed = _listed_mode(path)
                if listed is None or stat.S_ISLNK(listed) or stat.S_ISDIR(listed) or self.excluded(path):
                    if self.met is not None:
                        self._skip(path, self._why_dropped(path, listed), directory=listed is not None
                                   and stat.S_ISDIR(listed))
                    continue
                special = special_kind(listed)
                if special is not None:
                    found.notices.append(f"{self.display(path)}: {special}, not a regular file; not read")
                    self._skip(path, f"{special}, not a regular file; never opened")
                    continue
                kind = self.kind_of(path)
                if kind is not None:
                    self._add(chosen, path, kind)
                else:
                    self._skip(path, _UNKNOWN_KIND)
        found.targets = [chosen[key] for key in sorted(chosen)]
        found.submodules = sorted(submodules)
        return found

    def _skip(self, path: Path, reason: str, directory: bool = False) -> None:
        """Record why `path` is not scanned, when recording (the first reason met wins)."""
        if self.met is not None:
            display = self.display(path) + ("/" if directory else "")
            self.met.setdefault(display, Skipped(display, reason))

    def _skip_excluded(self, path: Path, directory: bool = False) -> None:
        if self.met is not None:  # which pattern excluded it is worked out only when asked
            self._skip(path, self._why_excluded(path), directory)

    def _skip_unlisted(self, directory: Path, listing: _Listing) -> None:
        """What the listing of `directory` itself left out: submodules, excluded or ignored directories."""
        for submodule in listing.submodules:
            if self.excluded(submodule):
                self._skip_excluded(submodule, directory=True)
            else:
                self._skip(submodule, "git submodule; not entered (scan its checkout on its own)", directory=True)
        for pruned in listing.pruned:
            self._skip_excluded(pruned, directory=True)
        if listing.from_git:
            for ignored in _git_ignored(directory):
                self._skip(ignored, "gitignored", directory=ignored.is_dir() and not ignored.is_symlink())

    def _why_dropped(self, path: Path, mode: int | None) -> str:
        if mode is None:
            return "listed by git but missing from the work tree"
        if stat.S_ISLNK(mode):
            if self._inside(path):
                return "symlink; not followed (its target inside the scanned tree is scanned where it lives)"
            return "symlink outside the scanned tree; not followed"
        if stat.S_ISDIR(mode):
            return "a directory git lists whole (a nested repository, not a submodule); not entered"
        return self._why_excluded(path)

    def _why_excluded(self, path: Path) -> str:
        """The pattern that excludes `path` and where it comes from: the last one that matches the path or a
        directory above it (the one that decides, unless a `!pattern` takes the path back in between)."""
        relative = self.config_relative(path) or path.name
        defaults = [(pattern, "default-excluded") for pattern in (() if self.config.exclude else DEFAULT_EXCLUDES)]
        labelled = (defaults + [(pattern, "excluded by configuration exclude") for pattern in self.config.exclude]
                    + [(pattern, "excluded by configuration extend-exclude") for pattern in self.config.extend_exclude])
        for pattern, source in reversed(labelled):
            if not pattern.strip().startswith("!") and PathPatterns([pattern]).match(relative):
                return f"{source} '{pattern}'"
        return "excluded"

    def kind_of(self, path: Path) -> FileKind | None:
        """What the file is analysed as, or None for a file no rule reads."""
        if path.suffix in self.suffixes:
            return FileKind.SOURCE
        if is_manifest(self, path):
            return FileKind.MANIFEST
        suffix = path.suffix.lower()
        if artifact_by_name(path.name) or _has_magic(path):  # `model.pkl.gz` too
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


_UNKNOWN_KIND = "no rule reads this kind of file"
_MANIFEST_SUFFIXES = (".txt", ".in", ".toml", ".cfg", ".yml", ".yaml")  # .yml: conda environment files



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
    """A pickle (any protocol), zip or numpy file behind another name (`weights.png`, `config.p`), or a
    compressed stream or tar archive behind a name that does not say so (`wrapping_is_disguise`)."""
    head = read_head(path, _TAR_BLOCK)  # one read whatever its length: 512 bytes cost what 256 do
    if not isinstance(head, bytes):
        return False
    if head.startswith(_MAGIC) or pickle_file(path, head[:HEAD_BYTES]):
        return True
    return wrapping_is_disguise(path.name) and _wrapped(head)


def _wrapped(head: bytes) -> bool:
    """Whether `head` starts a compressed stream or a tar archive, and is not text (a text file, whatever
    its first letters, `BZh...`, `x^2`, is never an artifact). Linear in the head, at most 512 bytes."""
    if head.startswith(_COMPRESSED_MAGIC) or _bz2(head):
        return not _text(head)
    if not _tar_checksum_field(head) or _text(head):
        return False  # no tar, and the artifacts package stays unloaded
    from mllint_sec.artifacts.tar_reading import is_tar  # imported here: the package is loaded only when needed

    return is_tar(head)


def _tar_checksum_field(head: bytes) -> bool:
    """Whether a tar header's checksum field could match its block, as tarfile reads it (tar_reading decides):
    octal text or base-256, of a value a byte sum of 512 bytes can reach, signed or not (|value| < 2**17)."""
    if len(head) < _TAR_BLOCK:
        return False
    field = head[148:156]
    if field[:5] in (b"\x80\0\0\0\0", b"\xff" * 5):
        return True
    digits = field.split(b"\0", 1)[0].strip()
    if digits:  # writers differ in padding (`%06o\0 `, `%07o\0`): the value decides
        try:
            return field.strip(b"01234567 \0") == b"" and int(digits, 8) < 1 << 17
        except ValueError:  # a space inside the digits
            return False
    # A value of 0 (a zero-padded JPEG has one there): only a signed byte sum of 0 is, with the field as spaces.
    rest = head[:148] + head[156:_TAR_BLOCK]
    return sum(rest) + 8 * 0x20 == 0x100 * (len(rest) - len(rest.translate(None, _HIGH_BYTES)))


def _bz2(head: bytes) -> bool:
    return head[:3] == b"BZh" and len(head) >= 10 and 0x31 <= head[3] <= 0x39 and head[4:10] in _BZ2_BLOCKS


def _text(head: bytes) -> bool:
    """UTF-8 without control characters: what a source, text or configuration file is, whatever its name."""
    if head.translate(None, _CONTROLS) != head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"  # the head cut a character in two
    return True


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
