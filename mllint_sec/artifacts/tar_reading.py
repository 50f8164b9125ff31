"""List a tar archive's members (name, where the data is, how long) as Python's tarfile would read them.

Parsed here rather than with `tarfile`: its pax header parser is quadratic on crafted headers in the
Python versions this project supports (CVE-2024-6232, fixed in 3.11.10 and 3.12.6), and scanned files
are hostile. What tarfile honours and a scan must too is read: ustar name prefixes, GNU long names
(`L`), pax `path` and `size` records (a pax size overrides the header's: a reader that ignored it would
lose its place in the archive), base-256 sizes. A member whose content tarfile would assemble from
pieces (GNU sparse files) is reported, not scanned. Work is linear in the archive's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_BLOCK = 512
_REGULAR = (b"0", b"\0", b"7")  # file, old-style file, contiguous file
_SPARSE = b"S"
_LONG_NAME, _PAX, _GLOBAL_PAX = b"L", b"x", b"g"
_MAX_META = 1 << 20  # longer long names and pax headers are refused (tarfile reads them whole)
_MAX_PAX_RECORDS = 1000  # per pax header; real ones hold a handful
_HIGH_BYTES = bytes(range(128, 256))  # negative as signed chars
_OCTAL_FIELD = b"01234567 \0"  # what an octal numeric field may hold


@dataclass(frozen=True)
class TarMember:
    name: str
    start: int  # of its data
    size: int


@dataclass
class TarListing:
    members: list[TarMember] = field(default_factory=list)  # regular files, in archive order
    problems: list[str] = field(default_factory=list)  # Unscanned reasons
    entries: int = 0  # headers read, for the member limit


def is_tar(data: bytes) -> bool:
    """Whether the first block is a tar header that tarfile accepts (its checksum is right), whatever its magic."""
    header = data[:_BLOCK]
    if len(header) != _BLOCK or not (header[148] & 0x80 or not header[148:156].translate(None, _OCTAL_FIELD)):
        return False  # the checksum field is not a number: cheap, since every artifact is sniffed
    return header.count(0) != _BLOCK and _checksum_ok(header)


def list_tar(data: bytes, max_members: int) -> TarListing:
    listing = TarListing()
    pos, name, size = 0, None, None  # name and size: what a GNU long name or pax header set for the next member
    while pos + _BLOCK <= len(data):
        header = data[pos:pos + _BLOCK]
        if header.count(0) == _BLOCK:
            break  # the end of the archive, for tarfile (which does not read past it by default)
        if not _checksum_ok(header):
            if pos == 0:
                listing.problems.append("corrupt tar: the first header's checksum is wrong")
            else:  # tarfile stops here too, silently: what follows is read by no one
                listing.problems.append(f"corrupt tar: invalid header at byte {pos}; the rest is not read")
            break
        listing.entries += 1
        if listing.entries > max_members:
            listing.problems.append(f"too many members: more than {max_members}")
            break
        kind = header[156:157]
        length = size if size is not None and kind not in (_LONG_NAME, _PAX, _GLOBAL_PAX) else _number(header[124:136])
        start = pos + _BLOCK
        if length is None or length < 0:
            listing.problems.append(f"corrupt tar: unreadable size in the header at byte {pos}")
            break
        if start + length > len(data):
            listing.problems.append(f"truncated tar: the member at byte {pos} runs past the end")
        body = data[start:start + length]
        if kind in (_LONG_NAME, _PAX) and length > _MAX_META:
            listing.problems.append(f"corrupt tar: a {length}-byte extended header at byte {pos}")
            break
        if kind == _LONG_NAME:
            name = _text(body.split(b"\0", 1)[0])
        elif kind == _PAX:
            records = _pax(body)
            if records is None:
                listing.problems.append(f"corrupt tar: more than {_MAX_PAX_RECORDS} records in the pax header at "
                                        f"byte {pos}")
                break
            name = records.get("path", name)
            size = _int(records.get("size"), size)
            if "GNU.sparse.major" in records or "GNU.sparse.map" in records:
                listing.problems.append(f"sparse tar member not scanned (pax header at byte {pos})")
        elif kind == _GLOBAL_PAX:
            pass  # global defaults: tarfile keeps them but uses only names and times, which the scan does not need
        else:
            member = name if name is not None else _header_name(header)
            if kind in _REGULAR:
                listing.members.append(TarMember(member, start, min(length, max(0, len(data) - start))))
            elif kind == _SPARSE:
                listing.problems.append(f"sparse tar member not scanned: {member}")
            name, size = None, None
        pos = start + -(-length // _BLOCK) * _BLOCK
    return listing


def _checksum_ok(header: bytes) -> bool:
    stored = _number(header[148:156])
    if stored is None:
        return False  # most non-tar bytes stop here, before any sum (every artifact is sniffed)
    rest = header[:148] + header[156:]
    unsigned = sum(rest) + 8 * 0x20
    high = len(rest) - len(rest.translate(None, _HIGH_BYTES))
    return stored in (unsigned, unsigned - 256 * high)  # tarfile accepts unsigned or signed byte sums


def _number(field_bytes: bytes) -> int | None:
    """A numeric header field: octal text, or base-256 when the first byte's top bit is set (as tarfile reads it)."""
    if field_bytes[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field_bytes[1:], "big")
        return value - (1 << (8 * (len(field_bytes) - 1))) if field_bytes[:1] == b"\xff" else value
    text = field_bytes.split(b"\0", 1)[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError:
        return None


def _header_name(header: bytes) -> str:
    name = _text(header[0:100].split(b"\0", 1)[0])
    if header[257:262] == b"ustar":
        prefix = _text(header[345:500].split(b"\0", 1)[0])
        if prefix:
            return f"{prefix}/{name}"
    return name


def _pax(body: bytes) -> dict[str, str] | None:
    """The records of a pax header ("<length> <key>=<value>\\n"), each read in one step; None: too many."""
    records: dict[str, str] = {}
    pos = 0
    for _ in range(_MAX_PAX_RECORDS + 1):
        if pos >= len(body):
            return records
        space = body.find(b" ", pos, pos + 20)
        if space < 0 or not body[pos:space].isdigit():
            return records  # tarfile stops at the first malformed record too (the padding, in real headers)
        length = int(body[pos:space])
        if length <= space - pos or pos + length > len(body):
            return records
        key, equals, value = body[space + 1:pos + length].partition(b"=")
        if equals:
            records[_text(key)] = _text(value.rstrip(b"\n"))
        pos += length
    return None


def _int(text: str | None, default: int | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else default


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
