"""What a provenance record says: the files it vouches for, where they came from, and what
could not be read; and the two conventions every record reader shares.

Paths in a record are resolved against the record file's directory into
repository-relative POSIX paths (`repository_path`); byte limits count UTF-8 bytes
(`utf8_length`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    source: str  # display path of the file
    line: int  # 1-based
    message: str
    # The reader declined the text at one of its limits (size, nesting, alias expansion), so
    # nothing is known of it; otherwise the text was read and found wanting.
    refused: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Span:
    """Where a record writes something: 1-based lines and columns (code points), the end one past it."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Output:
    """A file or directory a record vouches for."""

    path: str  # repository-relative POSIX path
    digest: str | None  # lowercase hex (a DVC directory's without `.dir`); etag / checksum as recorded
    algorithm: str | None  # md5, md5-dos2unix, sha1, sha224, sha256, sha384, sha512, etag, checksum
    is_dir: bool  # a DVC directory: the digest is that of its file listing
    source: str  # display path of the record file
    line: int  # of the record's `path:` key (DVC) or line (manifests)
    span: Span | None = None  # DVC: the `path: ...` entry, which findings about the output point at


@dataclass(frozen=True)
class Import:
    """Where the outputs of a `dvc import` or `dvc import-url` came from."""

    url: str  # the repository (`dvc import`), or the file's URL or path (`dvc import-url`)
    path: str | None  # the path inside that repository (`dvc import`)
    rev: str | None  # `rev_lock`: the commit a `dvc import` is pinned to
    digest: str | None
    algorithm: str | None
    source: str
    line: int


@dataclass(frozen=True)
class Records:
    outputs: tuple[Output, ...]
    problems: tuple[Problem, ...]
    imports: tuple[Import, ...] = ()


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_ABSOLUTE = re.compile(r"[/\\]|[A-Za-z]:[/\\]")


def repository_path(directory: str, written: str) -> str | None:
    """`written`, relative to `directory`, as a normalised repository path ("" for the root).

    None when it leaves the repository: `..` too far, an absolute path, or a URL.
    """
    if _URL.match(written) or _ABSOLUTE.match(written):
        return None
    path = posixpath.normpath(posixpath.join(directory, written))
    if path == ".." or path.startswith("../"):
        return None
    return "" if path == "." else path


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))
