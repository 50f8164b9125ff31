"""Git LFS pointer files: the small text file git holds in place of a large file's content.

The one recogniser of pointers, read as git-lfs reads them
(https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md). Artifact scanning, the run's
list of files not scanned and the provenance checks all ask it, so a file is a pointer
to all of them or to none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mllint_sec.core.bounded_read import read_limited

# git-lfs reads at most this many bytes of a file as a pointer; anything longer is content.
MAX_POINTER_BYTES = 1024
# The released spec, then the pre-release ones git-lfs still accepts.
_VERSIONS = (
    b"https://git-lfs.github.com/spec/v1", b"https://hawser.github.com/spec/v1", b"http://git-media.io/v/2",
)
_EXTENSION = re.compile(rb"ext-[0-9]-\w+")
_OID = re.compile(rb"sha256:([0-9a-f]{64})")
_SIZE = re.compile(rb"[0-9]+")


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # the object's SHA-256: 64 lowercase hex digits
    size: int


def lfs_pointer(data: bytes) -> LfsPointer | None:
    """The pointer `data` is, read as git-lfs reads one; None when it is not a pointer.

    `version` comes first, then any `ext-<n>-<name>` lines in order, then `oid` and `size`;
    like git-lfs, surrounding whitespace, CRLF line ends and blank lines are tolerated.
    An empty file (which git-lfs takes for an empty object) records nothing and is None.
    """
    if not data or len(data) >= MAX_POINTER_BYTES:
        return None
    lines = [line.removesuffix(b"\r") for line in data.strip().split(b"\n")]
    pairs = [line.split(b" ", 1) for line in lines if line]
    if any(len(pair) != 2 for pair in pairs):
        return None
    keys = [key for key, _ in pairs]
    extensions = keys[1:-2]
    if keys[:1] != [b"version"] or keys[-2:] != [b"oid", b"size"] or extensions != sorted(set(extensions)):
        return None
    if not all(_EXTENSION.fullmatch(key) for key in extensions):
        return None
    values = dict(pairs)
    oid, size = _OID.fullmatch(values[b"oid"]), _SIZE.fullmatch(values[b"size"])
    if values[b"version"] not in _VERSIONS or oid is None or size is None or int(size[0]) >= 1 << 63:
        return None
    return LfsPointer(oid[1].decode("ascii"), int(size[0]))


def is_lfs_pointer_file(path: Path) -> bool:
    """Whether the file at `path` is a pointer. Only a regular file small enough to be one is
    opened (never a FIFO or a device), and no more than a pointer's bytes are read."""
    data = read_limited(path, MAX_POINTER_BYTES - 1)
    return isinstance(data, bytes) and lfs_pointer(data) is not None
