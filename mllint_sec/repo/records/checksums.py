"""Checksum manifests: GNU coreutils (`<hex>  <path>`), BSD tags (`SHA256 (path) = <hex>`),
OpenSSL's `SHA2-256(path)= <hex>`, and single-file sidecars (`model.bin.sha256`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from mllint_sec.repo.records.record import Output, Problem, Records, repository_path

_HEX_DIGITS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
_BY_DIGITS = {digits: name for name, digits in _HEX_DIGITS.items()}
_ALGORITHM = "|".join(_HEX_DIGITS)
# SHA256SUMS, sha256sum.txt, MD5SUMS, checksums.txt, CHECKSUMS
_MANIFEST_NAME = re.compile(rf"(?:(?P<named>{_ALGORITHM})sums?|checksums?)(?:\.txt)?", re.IGNORECASE)
# model.bin.sha256, model.bin.sha256sum, data.tar.md5: about one file, unless its lines say otherwise
_SIDECAR_NAME = re.compile(rf"(?P<subject>.+)\.(?P<named>{_ALGORITHM})(?:sums?)?", re.IGNORECASE)
# BSD and `--tag` lines, and OpenSSL's `SHA2-256(path)= <hex>`: the tag and `(` that open
# the line, and the end read backwards, the digest, `=` and the `)` that closes the name.
_TAG_OPEN = re.compile(r"(?P<tag>[A-Za-z0-9-]+) ?\(")
_TAG_CLOSE_REVERSED = re.compile(r"(?P<digest>\S+?) ?= ?\)")
_TAGS = {**{name: name for name in _HEX_DIGITS}, **{f"sha2-{bits}": f"sha{bits}" for bits in (224, 256, 384, 512)}}
# `<hex>  path` (text mode), `<hex> *path` (binary mode), `<hex> path` (BSD `-r`), or a bare digest
_UNTAGGED = re.compile(r"(?P<digest>[0-9A-Fa-f]+)(?:[ \t][ *]?(?P<name>.*))?")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_ESCAPED_NAME = re.compile(r"(?:[^\\]|\\[\\nr])*")
_NAME_ESCAPE = re.compile(r"\\([\\nr])")


def is_checksum_manifest(name: str) -> bool:
    """Whether a file name (or path) is a checksum manifest `checksum_manifest` reads.

    `<alg>SUMS`, `<alg>SUM(S).txt`, `checksum(s)(.txt)` and `CHECKSUMS`, in any case, for
    md5 and sha1/224/256/384/512; and sidecars `<file>.<alg>` / `<file>.<alg>sum(s)`.
    """
    base = name.rpartition("/")[2]
    return bool(_MANIFEST_NAME.fullmatch(base) or _SIDECAR_NAME.fullmatch(base))


def _manifest_naming(name: str) -> tuple[str | None, str | None]:
    """(the algorithm a manifest's name gives, the file a sidecar is about)."""
    match = _MANIFEST_NAME.fullmatch(name) or _SIDECAR_NAME.fullmatch(name)
    if match is None:
        return None, None
    named = match["named"]
    return (named.lower() if named else None), match.groupdict().get("subject")


@dataclass(frozen=True)
class _ManifestLine:
    digest: str
    name: str | None  # None: a bare digest
    algorithm: str | None  # from a BSD tag


def _unescape_name(name: str) -> str | None:
    """A name from a line starting with `\\`: coreutils escapes `\\`, newline and CR."""
    if not _ESCAPED_NAME.fullmatch(name):
        return None
    return _NAME_ESCAPE.sub(lambda match: {"\\": "\\", "n": "\n", "r": "\r"}[match[1]], name)


def _named(name: str | None) -> str | None:
    """A line's file name; None for a bare digest (trailing blanks name nothing)."""
    return name if name and not name.isspace() else None


def _tagged(text: str) -> tuple[str, str, str] | None:
    """(tag, name, digest) of a tagged line; the name runs to the last `)` that leaves a digest after it.

    Found from both ends: one regex with the name's `(.*)` in the middle tries every `)` and the
    rest of the line after each, quadratic on a line of `)=`.
    """
    head = _TAG_OPEN.match(text)
    tail = _TAG_CLOSE_REVERSED.match(text[::-1])
    if head is None or tail is None or len(text) - tail.end() < head.end():
        return None
    return head["tag"], text[head.end():len(text) - tail.end()], tail["digest"][::-1]


def _manifest_line(text: str, source: str, number: int) -> _ManifestLine | Problem | None:
    text = text.lstrip(" \t\v\f\r")
    if not text or text.startswith("#"):
        return None
    escaped = text.startswith("\\")
    text = text[escaped:]
    tagged = _tagged(text)
    if tagged:
        tag, written_name, digest = tagged
        algorithm = _TAGS.get(tag.lower())
        if algorithm is None:
            return Problem(source, number, f"unsupported checksum algorithm `{tag}`")
        if not _HEX.fullmatch(digest):
            return Problem(source, number, f"`{digest}` is not a hex digest")
        entry = _ManifestLine(digest, _named(written_name), algorithm)
    else:
        untagged = _UNTAGGED.fullmatch(text)
        if untagged is None:
            return Problem(source, number, "not a checksum line")
        entry = _ManifestLine(untagged["digest"], _named(untagged["name"]), None)
    if escaped and entry.name is not None:
        name = _unescape_name(entry.name)
        if name is None:
            return Problem(source, number, "malformed escape in a file name")
        entry = _ManifestLine(entry.digest, name, entry.algorithm)
    return entry


def _manifest_output(entry: _ManifestLine, named: str | None, subject: str | None, source: str,
                     number: int) -> Output | Problem:
    algorithm = entry.algorithm or named or _BY_DIGITS.get(len(entry.digest))
    if algorithm is None:
        return Problem(source, number, f"a digest of {len(entry.digest)} hex digits fits no supported algorithm")
    if len(entry.digest) != _HEX_DIGITS[algorithm]:
        return Problem(source, number, f"a {algorithm} digest has {_HEX_DIGITS[algorithm]} hex digits, "
                                       f"not {len(entry.digest)}")
    name = entry.name
    if subject is not None and name in (None, "-"):  # `sha256sum < f > f.sha256` writes `-`
        name = subject
    if name is None:
        return Problem(source, number, "a digest without a file name")
    if name == "-":
        return Problem(source, number, "a digest of standard input (`-`), not of a file")
    path = repository_path(posixpath.dirname(source), name)
    if not path:
        return Problem(source, number, f"`{name}` is not a path inside the repository")
    return Output(path, entry.digest.lower(), algorithm, False, source, number)


def checksum_manifest(display: str, text: str) -> Records:
    """The digests a checksum manifest records, for paths relative to its directory.

    The algorithm is a line's BSD tag, else the file name's (`SHA256SUMS`), else the
    one the digest's length fits (`checksums.txt`). In a sidecar `<file>.<alg>`, a
    bare digest (or one for `-`) is `<file>`'s. Comment lines (`#`) and blank lines are skipped.
    """
    named, subject = _manifest_naming(posixpath.basename(display))
    outputs: list[Output] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        entry = _manifest_line(line.removesuffix("\r"), display, number)
        found = _manifest_output(entry, named, subject, display, number) if isinstance(entry, _ManifestLine) else entry
        if isinstance(found, Output):
            outputs.append(found)
        elif isinstance(found, Problem):
            problems.append(found)
    return Records(tuple(outputs), tuple(problems))
