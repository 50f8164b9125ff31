"""Read a scanned file without trusting it: the one way mllint-sec reads what it scans.

A scanned tree decides what its files are. A 4 GiB sparse `train.py` read whole costs
4 GiB of memory before any size check can look at it; a FIFO named `model.pkl` blocks
the `open` itself until some writer appears; a device can be endless or have side effects
on open. So every read of a scanned file (source, notebook, manifest, record, artifact,
the first bytes discovery looks at, the lines a report quotes) goes through here:

- the path is `stat`ed first, and anything but a regular file is refused without being
  opened (`NotRegular`);
- it is opened non-blocking (were it swapped for a FIFO after the `stat`, the open still
  returns at once) and `fstat`ed again, so what is read is what was checked;
- a file whose size is over the caller's limit is refused without reading (`TooLarge`),
  and no more than limit + 1 bytes are ever read (a file that grows while it is read is
  refused too).

A refusal is a value, never an exception: each caller turns it into its own diagnostic.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

# Non-blocking: opening a FIFO for reading otherwise waits for a writer. No controlling
# terminal from a tty device; no descriptor leaked to the git subprocesses.
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
# Read requests are at least this large, so a file whose stat says 0 bytes (procfs) is not read byte by byte.
_MIN_REQUEST = 1 << 20

_SPECIAL_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


@dataclass(frozen=True)
class TooLarge:
    size: int  # bytes: the file's size, or what was read of a file that grew past the limit
    limit: int


@dataclass(frozen=True)
class NotRegular:
    kind: str  # "FIFO", "socket", "character device", ...


@dataclass(frozen=True)
class Unreadable:
    reason: str  # the system's words: "Permission denied"


Refusal = TooLarge | NotRegular | Unreadable


def special_kind(mode: int) -> str | None:
    """What a file of this `st_mode` is unless it is a regular file ("FIFO", "socket", ...); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _SPECIAL_KINDS if test(mode)), "special file")


def read_limited(path: str | Path, limit: int) -> bytes | Refusal:
    """The whole file when it is a regular file of at most `limit` bytes; otherwise why not."""
    opened = _open_regular(path)
    if not isinstance(opened, tuple):
        return opened
    descriptor, size = opened
    with open(descriptor, "rb", buffering=0) as raw:
        if size > limit:
            return TooLarge(size, limit)
        data = _read_at_most(raw, limit + 1, size)
    if len(data) > limit:
        return TooLarge(len(data), limit)
    return data


def read_head(path: str | Path, count: int) -> bytes | Refusal:
    """The first `count` bytes of a regular file (all of it when it is shorter)."""
    opened = _open_regular(path)
    if not isinstance(opened, tuple):
        return opened
    descriptor, size = opened
    with open(descriptor, "rb", buffering=0) as raw:
        return _read_at_most(raw, count, min(size, count))


def _open_regular(path: str | Path) -> tuple[int, int] | Refusal:
    """(an open descriptor, the file's size), or the refusal; nothing but a regular file is opened."""
    try:
        kind = special_kind(os.stat(path).st_mode)
        if kind is not None:
            return NotRegular(kind)
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        return Unreadable(exc.strerror or str(exc))
    try:
        status = os.fstat(descriptor)
    except OSError as exc:
        os.close(descriptor)
        return Unreadable(exc.strerror or str(exc))
    kind = special_kind(status.st_mode)
    if kind is not None:  # replaced between the stat and the open
        os.close(descriptor)
        return NotRegular(kind)
    return descriptor, status.st_size


def _read_at_most(raw: io.FileIO, count: int, expected: int) -> bytes:
    """Up to `count` bytes. The first request asks for `expected` + 1 bytes, so a file read in one
    system call (as regular files are) is returned without a copy, and a file that grew is noticed."""
    chunks: list[bytes] = []
    total = 0
    while total < count:
        chunk = raw.read(min(count - total, max(expected + 1 - total, _MIN_REQUEST)))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
