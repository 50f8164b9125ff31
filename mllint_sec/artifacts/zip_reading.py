"""Read a zip's layout the strictest way: every entry some reader could take, and every disagreement.

Loaders read one zip differently. Python's `zipfile` takes the end record, reads the central
directory that ends where the end record begins (a gap between the recorded offset and that place
is "prepended data": every offset is shifted by it) and reads entries for as many bytes as the
record's size says; PyTorch's reader (miniz) reads as many entries as the record counts, at the
recorded offset; a streaming reader walks the local headers from byte 0. A zip on which they
disagree can show each of them a different `data.pkl`. So this module takes all the readings
(both central directories, the chain of local headers, any local header in bytes no structure
covers) and names every disagreement, which the scan reports as ART003 ("ambiguous zip").

Nothing is decompressed or extracted here: entries are offsets and sizes. Work is linear in the
file's size and bounded by `max_members`.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field

_LOCAL, _CENTRAL, _END = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
_END64, _LOCATOR64, _DESCRIPTOR = b"PK\x06\x06", b"PK\x06\x07", b"PK\x07\x08"
_SIGNATURES = (_LOCAL, _CENTRAL, _END, _END64, _LOCATOR64)
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # 30 bytes
_CENTRAL_HEADER = struct.Struct("<4s4B4HL2L5H2L")  # 46 bytes
_END_RECORD = struct.Struct("<4s4H2LH")  # 22 bytes
_END64_RECORD = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_LOCATOR64_RECORD = struct.Struct("<4sLQL")  # 20 bytes
_MAX_COMMENT = 0xFFFF
_MAX_LISTED_GAPS = 3  # gaps named one by one; more are counted


@dataclass(frozen=True)
class Entry:
    """One member as some reader takes it."""

    name: str
    offset: int  # of its local header
    flags: int
    method: int
    packed: int  # compressed size
    size: int  # uncompressed size
    start: int  # where its data begins, after the local header

    @property
    def end(self) -> int:
        return self.start + self.packed


@dataclass
class Layout:
    entries: list[Entry] = field(default_factory=list)  # each distinct reading of a member once, in reading order
    anomalies: list[str] = field(default_factory=list)  # where readers disagree or bytes belong to nothing
    corrupt: str | None = None  # why no central directory could be read at all
    members: int = 0  # central directory entries seen (for the member limit)


@dataclass(frozen=True)
class _Directory:
    """One reading of the central directory: where it starts, and the shift added to its offsets."""

    reader: str
    start: int
    size: int  # bytes the end record says it takes
    count: int  # entries the end record says it has
    shift: int


def read_layout(data: bytes, max_members: int) -> Layout:
    layout = Layout()
    covered: list[tuple[int, int]] = []  # byte ranges some structure accounts for
    directories = _directories(data, layout, covered)
    central: list[Entry] = []
    for directory in directories:
        central += _read_directory(data, directory, layout, covered, max_members)
        if layout.members > max_members:
            return layout
    if not directories and layout.corrupt is None:
        layout.corrupt = "no end of central directory record"
    descriptors = _Descriptors(data)
    chain = _local_chain(data, central, max_members, descriptors)
    listed = {entry.offset for entry in central}
    unlisted = [entry for entry in chain if entry.offset not in listed]
    if unlisted and directories:
        layout.anomalies.append(
            f"a local entry no central directory lists: {unlisted[0].name!r} at byte {unlisted[0].offset}"
            + (f" and {len(unlisted) - 1} more" if len(unlisted) > 1 else "")
        )
    found = _dedupe(central + chain)
    covered.extend((entry.offset, entry.end + _descriptor_length(data, entry)) for entry in found)
    strays = _gaps(data, covered, layout, max_members - len(found), descriptors)
    layout.entries = _dedupe(found + strays)
    _check_order(layout)
    return layout


# --- end records ------------------------------------------------------------------------------


def _end_records(data: bytes) -> list[int]:
    """Where Python's zipfile and miniz find the end record (the same place in any ordinary zip)."""
    size = len(data)
    window = max(0, size - _END_RECORD.size - _MAX_COMMENT)
    if size >= _END_RECORD.size and data[size - 22:size - 18] == _END:
        python = size - 22
    else:
        python = data.rfind(_END, window)
        python = python if python >= 0 and python + 22 <= size else -1
    miniz = data.rfind(_END, window, max(0, size - 18))  # the last signature with a whole record after it
    return sorted({at for at in (python, miniz) if at >= 0})


def _directories(data: bytes, layout: Layout, covered: list[tuple[int, int]]) -> list[_Directory]:
    ends = _end_records(data)
    if len(ends) > 1:
        layout.anomalies.append(f"two end records, at bytes {ends[0]} and {ends[1]}: readers take different ones")
    found: list[_Directory] = []
    for end in ends:
        _, _, _, _, count, size, offset, comment = _END_RECORD.unpack_from(data, end)
        record_end = end + 22 + comment
        covered.append((end, min(record_end, len(data))))
        if record_end > len(data):
            layout.anomalies.append(f"the end record's comment runs {record_end - len(data)} bytes past the file")
        before = end  # where the central directory must end for Python's zipfile
        z64 = _zip64(data, end, layout, covered)
        if z64 is not None:
            before, count, size, offset, recorded = z64
            if recorded is not None:  # miniz reads the zip64 record at the locator's offset
                found.append(_Directory("PyTorch's reader (miniz)", recorded[2], recorded[1], recorded[0], 0))
        else:
            found.append(_Directory("PyTorch's reader (miniz)", offset, size, count, 0))
        python_start = before - size
        if python_start >= 0:
            found.append(_Directory("Python's zipfile", python_start, size, count, python_start - offset))
            if python_start != offset:
                layout.anomalies.append(
                    f"the central directory is not where the end record says: PyTorch reads it at byte {offset}, "
                    f"Python's zipfile at byte {python_start} (the {python_start - offset} bytes between taken "
                    "as data prepended to the archive)"
                )
    unique: dict[tuple[int, int, int], _Directory] = {}
    for directory in found:
        unique.setdefault((directory.start, directory.shift, directory.count), directory)
    return list(unique.values())


def _zip64(
    data: bytes, end: int, layout: Layout, covered: list[tuple[int, int]]
) -> tuple[int, int, int, int, tuple[int, int, int] | None] | None:
    """For a zip64 archive: where the zip64 record begins and its count, size and offset as Python's
    zipfile reads them (the record just before its locator), and (count, size, offset) as miniz reads
    them (at the locator's offset); None for an ordinary zip."""
    at = end - _LOCATOR64_RECORD.size
    if at < 0 or data[at:at + 4] != _LOCATOR64:
        return None
    covered.append((at, end))
    _, _, recorded_at, _ = _LOCATOR64_RECORD.unpack_from(data, at)
    adjacent = at - _END64_RECORD.size

    def record(position: int) -> tuple[int, int, int] | None:
        if position < 0 or position + _END64_RECORD.size > len(data) or data[position:position + 4] != _END64:
            return None
        fields = _END64_RECORD.unpack_from(data, position)
        covered.append((position, position + _END64_RECORD.size))
        return fields[6], fields[7], fields[8]  # entries in total, size, offset

    python, miniz = record(adjacent), record(recorded_at)
    if recorded_at != adjacent:
        layout.anomalies.append(
            f"the zip64 end record is not where its locator says (byte {recorded_at}, not {adjacent})"
        )
    if python is None:
        if miniz is None:
            return None
        count, size, offset = miniz
        return recorded_at, count, size, offset, miniz
    count, size, offset = python
    return adjacent, count, size, offset, miniz


# --- central directories ---------------------------------------------------------------------------


def _read_directory(
    data: bytes, directory: _Directory, layout: Layout, covered: list[tuple[int, int]], max_members: int
) -> list[Entry]:
    entries: list[Entry] = []
    pos, limit, read = directory.start, directory.start + directory.size, 0
    # zipfile reads entries for `size` bytes, miniz reads `count` entries: read while either would.
    while (pos < limit or read < directory.count) and data[pos:pos + 4] == _CENTRAL \
            and pos + _CENTRAL_HEADER.size <= len(data):
        layout.members += 1
        read += 1
        if layout.members > max_members:
            return entries
        fields = _CENTRAL_HEADER.unpack_from(data, pos)
        flags, method, packed, size = fields[5], fields[6], fields[10], fields[11]
        name_length, extra_length, comment_length, offset = fields[12], fields[13], fields[14], fields[18]
        name = data[pos + 46:pos + 46 + name_length]
        extra = data[pos + 46 + name_length:pos + 46 + name_length + extra_length]
        size, packed, offset = _zip64_extra(extra, [size, packed, offset])
        entry = _entry_at(data, name, flags, method, packed, size, offset + directory.shift, directory.reader, layout)
        if entry is not None:
            entries.append(entry)
        pos += 46 + name_length + extra_length + comment_length
    covered.append((directory.start, min(pos, len(data))))
    if directory.count and pos == directory.start:
        layout.anomalies.append(f"no central directory at byte {directory.start}, where {directory.reader} reads it")
    elif read != directory.count:
        layout.anomalies.append(
            f"the end record counts {directory.count} entries, the central directory {directory.reader} reads "
            f"holds {read}"
        )
    elif pos != limit:
        layout.anomalies.append(
            f"the central directory takes {pos - directory.start} bytes, the end record says {directory.size}"
        )
    offsets = [entry.offset for entry in entries]
    if offsets != sorted(offsets):
        layout.anomalies.append(f"the central directory {directory.reader} reads lists entries out of order")
    if len(set(offsets)) != len(offsets):
        layout.anomalies.append("two central directory entries point at one local entry")
    return entries


def _zip64_extra(extra: bytes, values: list[int]) -> tuple[int, int, int]:
    """Sizes and offset, with each field stored as 0xFFFFFFFF taken from the zip64 extra field in turn."""
    pos = 0
    while pos + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, pos)
        if kind == 1:
            body, at = extra[pos + 4:pos + 4 + length], 0
            for index, value in enumerate(values):
                if value == 0xFFFFFFFF and at + 8 <= len(body):
                    (values[index],) = struct.unpack_from("<Q", body, at)
                    at += 8
            break
        pos += 4 + length
    return values[0], values[1], values[2]


def _entry_at(
    data: bytes, name: bytes, flags: int, method: int, packed: int, size: int, offset: int, reader: str,
    layout: Layout,
) -> Entry | None:
    """The central entry, its data found through its local header; disagreements with that header named."""
    shown = _decode(name, flags)
    local = _local(data, offset)
    if local is None:
        layout.anomalies.append(f"no local header at byte {offset}, where {reader} looks for {shown!r}")
        return None
    local_name, local_flags, local_method, local_packed, local_size, start = local
    if local_name != name:
        layout.anomalies.append(
            f"the local header at byte {offset} names {_decode(local_name, local_flags)!r}, "
            f"the central directory {shown!r}"
        )
    sized = not flags & 0x8 and not local_flags & 0x8  # with a data descriptor the local sizes may be zero
    if local_method != method or (sized and (local_packed, local_size) != (packed, size)):
        layout.anomalies.append(
            f"the local and central headers of {shown!r} disagree on its compression or size "
            f"(local: method {local_method}, {local_packed} -> {local_size} bytes; "
            f"central: method {method}, {packed} -> {size} bytes)"
        )
    return Entry(shown, offset, flags, method, packed, size, start)


def _local(data: bytes, offset: int) -> tuple[bytes, int, int, int, int, int] | None:
    """(name, flags, method, packed, size, data start) of the local header at offset, or None."""
    if offset < 0 or offset + _LOCAL_HEADER.size > len(data) or data[offset:offset + 4] != _LOCAL:
        return None
    fields = _LOCAL_HEADER.unpack_from(data, offset)
    flags, method, packed, size = fields[2], fields[3], fields[7], fields[8]
    name_length, extra_length = fields[9], fields[10]
    name = data[offset + 30:offset + 30 + name_length]
    extra = data[offset + 30 + name_length:offset + 30 + name_length + extra_length]
    size, packed, _ = _zip64_extra(extra, [size, packed, 0])
    return name, flags, method, packed, size, offset + 30 + name_length + extra_length


# --- local headers -----------------------------------------------------------------------------------


def _local_chain(data: bytes, central: list[Entry], max_members: int, descriptors: _Descriptors) -> list[Entry]:
    """The entries a streaming reader finds: local headers one after another from byte 0."""
    by_offset = {entry.offset: entry for entry in central}
    entries: list[Entry] = []
    pos = 0
    while len(entries) < max_members:
        entry = _local_entry(data, pos, by_offset.get(pos), descriptors)
        if entry is None:
            break
        entries.append(entry)
        pos = entry.end + _descriptor_length(data, entry)
    return entries


def _local_entry(data: bytes, pos: int, central: Entry | None, descriptors: _Descriptors) -> Entry | None:
    local = _local(data, pos)
    if local is None:
        return None
    name, flags, method, packed, size, start = local
    if flags & 0x8 and packed == 0:  # sizes follow the data: take the central directory's, or find the descriptor
        if central is not None:
            packed, size = central.packed, central.size
        else:
            at = descriptors.closing(start)
            if at is None:
                return None
            packed, size = struct.unpack_from("<LL", data, at + 8)
    if start + packed > len(data):
        packed = max(0, len(data) - start)  # truncated: extraction reports it
    return Entry(_decode(name, flags), pos, flags, method, packed, size, start)


class _Descriptors:
    """Signed data descriptors by the data start each closes, indexed on first use.

    A descriptor at d whose compressed size is n closes the data that starts at d - n; one pass over
    the file keeps finding the ends of many entries of unknown size linear, not quadratic. Only
    entries with neither sizes nor a directory entry need it, so an ordinary zip never pays the pass."""

    def __init__(self, data: bytes):
        self.data = data
        self.index: dict[int, int] | None = None

    def closing(self, start: int) -> int | None:
        if self.index is None:
            self.index = {}
            at = self.data.find(_DESCRIPTOR)
            while at >= 0 and at + 16 <= len(self.data):
                (packed,) = struct.unpack_from("<L", self.data, at + 8)
                self.index.setdefault(at - packed, at)
                at = self.data.find(_DESCRIPTOR, at + 4)
        return self.index.get(start)


def _descriptor_length(data: bytes, entry: Entry) -> int:
    """Bytes of the data descriptor after an entry's data: signed or not, 32 or 64-bit sizes, or none."""
    if not entry.flags & 0x8:
        return 0
    end = entry.end
    if data[end:end + 4] == _DESCRIPTOR:
        return 24 if data[end + 24:end + 28] in _SIGNATURES and data[end + 16:end + 20] not in _SIGNATURES else 16
    for length in (12, 20):
        if data[end + length:end + length + 4] in _SIGNATURES:
            return length
    return 0


# --- what no structure accounts for --------------------------------------------------------------------


def _gaps(
    data: bytes, covered: list[tuple[int, int]], layout: Layout, room: int, descriptors: _Descriptors
) -> list[Entry]:
    """Name the bytes no entry or directory covers, and read the local headers found in them."""
    strays: list[Entry] = []
    gaps, pos = [], 0
    for start, end in sorted(covered):
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, end)
    if pos < len(data):
        gaps.append((pos, len(data)))
    described = []
    for start, end in gaps:
        piece = data[start:end]
        if _CENTRAL in piece or _END in piece:
            what = "a second central directory"
        elif _LOCAL in piece:
            what = "a local entry outside every directory"
        else:
            what = "data that belongs to no entry"
        where = "before the first entry" if start == 0 else (
            "after the end record" if end == len(data) and start > 0 else f"at byte {start}")
        described.append(f"{end - start} bytes {where}: {what}")
        # Resynchronise like a forgiving streaming reader: the next header is looked for after each entry's
        # data, so strays never overlap and their bytes add up to the gap's at most.
        at = piece.find(_LOCAL)
        while at >= 0 and len(strays) < room:
            entry = _local_entry(data, start + at, None, descriptors)
            after = at + 4
            if entry is not None:
                strays.append(entry)
                after = max(after, entry.end + _descriptor_length(data, entry) - start)
            at = piece.find(_LOCAL, after)
    if described:
        more = f"; and {len(described) - _MAX_LISTED_GAPS} more" if len(described) > _MAX_LISTED_GAPS else ""
        layout.anomalies.append("; ".join(described[:_MAX_LISTED_GAPS]) + more)
    return strays


def _check_order(layout: Layout) -> None:
    """Entries that share bytes: two readers may take the same bytes as different members."""
    ordered = sorted({(entry.offset, entry.end) for entry in layout.entries})
    for (first_start, first_end), (second_start, _) in itertools.pairwise(ordered):
        if second_start < first_end and second_start != first_start:
            layout.anomalies.append(f"entries overlap: the entry at byte {second_start} begins inside the one at "
                                    f"byte {first_start}")
            return


def _dedupe(entries: list[Entry]) -> list[Entry]:
    """One entry per distinct reading of bytes (where, how packed, how large); the first name met is kept."""
    unique: dict[tuple[int, int, int, int, int], Entry] = {}
    for entry in entries:
        unique.setdefault((entry.offset, entry.start, entry.packed, entry.method, entry.size), entry)
    return list(unique.values())


def _decode(name: bytes, flags: int) -> str:
    """The name as zipfile shows it: UTF-8 when flagged, else code page 437 (which decodes any byte)."""
    return name.decode("utf-8", "replace") if flags & 0x800 else name.decode("cp437")
