"""`check --show-files`: every path discovery met under the scanned paths, whether it is scanned and as what,
or why not.

Nothing is analysed. The verdicts are those of a real run: discovery records why it drops each path
(`Discovery(record=True)`), and the two things the runner decides later about a kept file are asked the
same way the runner asks them: a Git LFS pointer where an artifact should be is not read
(`core/lfs_pointer.py`), and a file over its kind's size limit is reported (MLS001, ART003), not analysed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.file_kinds import FileKind, Target
from mllint_sec.core.lfs_pointer import is_lfs_pointer_file
from mllint_sec.engine.discovery import Discovery
from mllint_sec.engine.runner import Options, resolve_config, scan_root_of, size_limit

# What a kept file is scanned as, in the listing's words.
_SCANNED_AS = {
    FileKind.SOURCE: "source",
    FileKind.MANIFEST: "manifest",
    FileKind.ARTIFACT: "artifact",
    FileKind.DATA: "data (its provenance is checked)",
    FileKind.RECORD: "provenance record",
}


@dataclass(frozen=True)
class ListedFile:
    display: str  # as reports show paths; a directory left whole ends in "/"
    scanned: bool
    detail: str  # what it is scanned as, or why it is not


@dataclass(frozen=True)
class FileListing:
    scan_root: Path
    files: list[ListedFile]  # sorted by display path


def list_files(options: Options) -> FileListing:
    """What a `check` run with these options would scan, and what it would leave, without analysing anything.
    Raises what `run` raises for a bad configuration or path (ConfigError, TargetError)."""
    config = resolve_config(options, load_catalogue())
    scan_root = scan_root_of(options.paths)
    discovery = Discovery(config, scan_root, record=True)
    discovered = discovery.targets(options.paths)
    listed = {target.display: _verdict(target) for target in discovered.targets}
    for skipped in (discovery.met or {}).values():
        listed.setdefault(skipped.display, ListedFile(skipped.display, False, skipped.reason))
    return FileListing(scan_root, [listed[display] for display in sorted(listed)])


def _verdict(target: Target) -> ListedFile:
    size = _size(target.path)
    limit = _size_limit(target)
    if limit is not None and size is not None and size > limit:
        reported = "ART003" if target.kind == FileKind.ARTIFACT else "MLS001"
        return ListedFile(target.display, False,
                          f"larger than {limit // (1024 * 1024)} MiB ({size} bytes); reported as {reported}, not read")
    if target.kind == FileKind.ARTIFACT and is_lfs_pointer_file(target.path):
        return ListedFile(target.display, False, "Git LFS pointer: the artifact itself is not in the work tree")
    if target.kind == FileKind.SOURCE and target.path.suffix == ".ipynb":
        return ListedFile(target.display, True, "notebook")
    return ListedFile(target.display, True, _SCANNED_AS[target.kind])


def _size_limit(target: Target) -> int | None:
    """The runner's limit for the kinds it reads itself (manifests and records have their own readers' limits)."""
    if target.kind in (FileKind.SOURCE, FileKind.ARTIFACT):
        return size_limit(str(target.path), target.kind)
    return None


def _size(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None  # gone since discovery listed it; the run would say so when it reads it
