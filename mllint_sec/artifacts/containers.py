"""Recognise an artifact by its content and unpack its containers down to pickle streams.

Kinds: zip archives (PyTorch checkpoints, npz, any zip; every entry any reader could take,
`zip_reading`, nested containers too), tar archives (PyTorch's legacy tar checkpoint included,
`tar_reading`, `torch_legacy_tar`), numpy .npy (an object array is a pickle after the header),
pickles (joblib files are pickles with raw array bytes in between), gzip, zlib, bz2, xz and lzma
streams (compressed pickles and joblib files), Git LFS pointers. File names are never consulted:
a checkpoint named .png is still a checkpoint. Bytes that two formats can claim (a tar header over
a protocol-0 pickle, a zip appended to a pickle) are read as both: sniffing never downgrades.
Every limit reached becomes an "unscanned" entry, never an exception.
"""

from __future__ import annotations

import ast
import bz2
import lzma
import re
import struct
import zlib
from dataclasses import dataclass, field

from mllint_sec.artifacts.pickle_ops import Budget, Import, scan_pickle
from mllint_sec.artifacts.tar_reading import is_tar, list_tar
from mllint_sec.artifacts.torch_legacy_tar import LEGACY_MEMBERS, is_legacy_layout, read_records
from mllint_sec.artifacts.zip_reading import Entry, read_layout
from mllint_sec.core.lfs_pointer import lfs_pointer

_MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds on one artifact's scan; what lies beyond one is reported as unscanned."""

    max_file_bytes: int = 512 * _MIB  # larger artifacts are not scanned
    max_decompressed_bytes: int = 2048 * _MIB  # total bytes extracted or decompressed per artifact
    max_members: int = 10_000  # per archive, and members read in all of an artifact's archives together
    max_ratio: int = 200  # expansion of a zip member or a compressed stream ...
    min_bomb_bytes: int = _MIB  # ... that expands to more than this
    max_opcodes: int = 20_000_000  # per artifact
    max_depth: int = 3  # containers inside containers


@dataclass
class Contents:
    kind: str | None
    imports: list[tuple[str, Import]] = field(default_factory=list)  # (member, import)
    unscanned: list[tuple[str, str]] = field(default_factory=list)  # (reason, member)


_TORCH_PICKLE = re.compile(r"(^|/)data\.pkl$")  # torch.save writes <archive>/data.pkl
_PICKLE_NAME = re.compile(r"\.(pkl|pickle)$")  # such a member is held to be a pickle
_MAX_NPY_HEADER = _MIB
_NPY_PLAIN = re.compile(r"[<>|=][biufcmMSUV]\d+(\[\w+\])?\Z")  # dtype.str of dtypes without objects
_NPY_OBJECT = re.compile(r"[<>|=]?O\d*\Z")


def sniff(data: bytes) -> str | None:
    """What the first bytes say the data is; None for protocol 0-1 pickles and everything else."""
    if lfs_pointer(data) is not None:
        return "lfs-pointer"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if len(data) >= 2 and data[0] == 0x80 and data[1] <= 5:
        return "pickle"
    if data.startswith(b"ZF0x"):
        return "zfile"  # joblib < 0.10: 'ZF', the length in hex, zlib data
    if data.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if data[:1] == b"\x78" and data[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):  # no preset dictionary
        return "zlib"
    if re.match(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)", data):  # a block or the end of the stream follows
        return "bz2"
    if data.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if data.startswith(b"\x5d\x00\x00"):
        return "lzma"
    if data.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if is_tar(data):
        return "tar"
    return None


def unpack(data: bytes, limits: Limits) -> Contents:
    """Scan one artifact's bytes down to its pickles."""
    if len(data) > limits.max_file_bytes:
        contents = Contents(sniff(data))
        contents.unscanned.append((f"size limit: {len(data)} bytes, above {limits.max_file_bytes}", ""))
        return contents
    scan = _Scan(limits)
    kind = scan.blob(data, "", 0, strict=True)
    return Contents(kind, scan.imports, scan.unscanned)


class _Scan:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.budget = Budget(limits.max_opcodes)
        self.bytes_left = limits.max_decompressed_bytes
        # Members read in all containers together: hostile entries that each hold a copy of the archive
        # would otherwise multiply at every level of nesting.
        self.members_left = limits.max_members
        self.imports: list[tuple[str, Import]] = []
        self.unscanned: list[tuple[str, str]] = []

    def skip(self, reason: str, member: str) -> None:
        self.unscanned.append((reason, member))

    def blob(self, data: bytes, member: str, depth: int, strict: bool) -> str | None:
        """Scan data found at member; strict: a pickle that fails to parse is reported."""
        try:
            return self._dispatch(data, member, depth, strict)
        except Exception as exc:  # noqa: BLE001 - a bug must not make a hostile file look clean
            self.skip(f"scanner error: {type(exc).__name__}: {exc}", member)
            return sniff(data)

    def _dispatch(self, data: bytes, member: str, depth: int, strict: bool) -> str | None:
        kind = sniff(data)
        if kind == "lfs-pointer":
            return kind
        found: str | None
        if kind == "tar":
            found = self._tar(data, member, depth)
            # The header's name field is free text: a protocol-0 pickle can start there, and
            # pickle.load (or torch.load, once tarfile refuses the file) reads it from byte 0.
            return self._pickle(data, member, strict=False) or found
        if kind == "zip":
            found = self._zip(data, member, depth)
        elif kind == "npy":
            found = self._npy(data, member)
        elif kind == "pickle":
            found = self._pickle(data, member, strict)
            self._also_zip(data, member, depth, quiet=True)
        elif kind is not None:
            found = self._compressed(data, member, depth, kind)
        else:
            found = self._pickle(data, member, strict=False)
            # not a pickle: a zip behind other bytes (which zipfile reads) is then the reading
            zipped = self._also_zip(data, member, depth, quiet=found is not None)
            found = found or zipped
        if kind is not None and is_tar(data):  # a tar header over other content (sniff checked the rest)
            self._tar(data, member, depth)
        return found

    def _pickle(self, data: bytes, member: str, strict: bool, start: int = 0) -> str | None:
        scan = scan_pickle(data, self.budget, strict, start)
        self.imports += [(member, found) for found in scan.imports]
        self.unscanned += [(problem, member) for problem in scan.problems]
        if not scan.is_pickle:
            return None
        return "joblib" if scan.joblib else "pickle"

    def _nested(self, member: str, depth: int) -> bool:
        if depth < self.limits.max_depth:
            return True
        self.skip(f"nesting too deep: more than {self.limits.max_depth} containers", member)
        return False

    def _take_member(self, member: str) -> bool:
        if self.members_left <= 0:
            self.skip(f"too many members: more than {self.limits.max_members} in all containers", member)
            return False
        self.members_left -= 1
        return True

    def _expansion_cap(self, packed: int) -> int:
        return max(self.limits.min_bomb_bytes, packed * self.limits.max_ratio)

    # second readings: bytes that a second format also claims are read as that format too

    def _also_zip(self, data: bytes, member: str, depth: int, quiet: bool) -> str | None:
        """A zip behind other data: Python's zipfile finds its end record at the end and reads it.

        quiet: the bytes are something else first (a pickle): the zip's callables count, its
        structural complaints do not (the bytes before it belong to the first reading, and a pickle
        whose last value is a stored zip is not an ambiguous archive)."""
        if not _has_end_record(data):
            return None
        problems = len(self.unscanned)
        kind = self._zip(data, member, depth)
        if quiet:
            del self.unscanned[problems:]
        return kind

    # zip

    def _zip(self, data: bytes, member: str, depth: int) -> str:
        if not self._nested(member, depth):
            return "zip"
        layout = read_layout(data, self.limits.max_members)
        if layout.members > self.limits.max_members:
            self.skip(f"too many members: more than {self.limits.max_members}", member)
            return "zip"
        if layout.corrupt is not None:
            self.skip(f"corrupt zip: {layout.corrupt}", member)
        for anomaly in layout.anomalies:
            self.skip(f"ambiguous zip: {anomaly}", member)
        kinds = []
        for entry in layout.entries:
            if not self._take_member(member):
                break
            path = f"{member}!{entry.name}" if member else entry.name
            content = self._member(data, entry, path)
            strict = bool(_PICKLE_NAME.search(entry.name))
            kinds.append(None if content is None else self.blob(content, path, depth + 1, strict))
        if any(_TORCH_PICKLE.search(entry.name) for entry in layout.entries):
            return "torch-zip"
        if kinds and all(kind == "npy" for kind in kinds):
            return "npz"
        return "zip"

    def _member(self, data: bytes, entry: Entry, path: str) -> bytes | None:
        """The entry's bytes, as a loader reads them (CRC not checked: torch does not check it); None if not read."""
        if entry.flags & 0x1:
            self.skip("encrypted zip member", path)
            return None
        if entry.size > self._expansion_cap(entry.packed):
            self.skip(f"zip bomb: ratio: {entry.packed} bytes expand to {entry.size}", path)
            return None
        if entry.size > self.bytes_left:
            self.skip(f"size limit: {entry.size} bytes, above the {self.bytes_left} left to extract", path)
            return None
        try:
            content = _extract(data, entry)
        except (ValueError, zlib.error) as exc:
            self.skip(f"unreadable zip member: {exc}", path)
            return None
        self.bytes_left -= len(content)
        return content

    # tar

    def _tar(self, data: bytes, member: str, depth: int) -> str:
        if not self._nested(member, depth):
            return "tar"
        listing = list_tar(data, self.limits.max_members)
        for problem in listing.problems:
            self.skip(problem, member)
        legacy = is_legacy_layout({entry.name for entry in listing.members})
        for entry in listing.members:
            if not self._take_member(member):
                break
            path = f"{member}!{entry.name}" if member else entry.name
            if entry.size > self.bytes_left:
                self.skip(f"size limit: {entry.size} bytes, above the {self.bytes_left} left to extract", path)
                continue
            content = data[entry.start:entry.start + entry.size]
            self.bytes_left -= len(content)
            if legacy and entry.name in ("storages", "tensors"):
                imports, problems = read_records(entry.name, content, self.budget)
                self.imports += [(path, found) for found in imports]
                self.unscanned += [(problem, path) for problem in problems]
            else:
                strict = (legacy and entry.name in LEGACY_MEMBERS) or bool(_PICKLE_NAME.search(entry.name))
                self.blob(content, path, depth + 1, strict)
        return "torch-tar" if legacy else "tar"

    # numpy

    def _npy(self, data: bytes, member: str) -> str:
        try:
            descr, payload = _npy_header(data)
        except ValueError as exc:
            self.skip(f"corrupt npy: {exc}", member)
            return "npy"
        has_object = _descr_has_object(descr)
        if has_object is not False:  # numpy pickles object arrays after the header
            self._pickle(data, member, strict=bool(has_object), start=payload)
        return "npy"

    # compressed streams (pandas infers them from the name, joblib from the magic)

    def _compressed(self, data: bytes, member: str, depth: int, fmt: str) -> str | None:
        kind = self._decompressed(data, member, depth, fmt)
        # 'BZh' also reads as a pickle opcode (BINBYTES): a (huge) crafted file can be both at once
        as_pickle = self._pickle(data, member, strict=False)
        return kind or as_pickle

    def _decompressed(self, data: bytes, member: str, depth: int, fmt: str) -> str | None:
        if not self._nested(member, depth):
            return _compressed_kind(fmt)
        if fmt == "lz4":
            self.skip("compressed joblib could not be decompressed: lz4 is not in the standard library", member)
            return "joblib-compressed"
        if fmt == "zstd" and not _has_zstd():
            self.skip("zstd content not scanned: this Python's standard library has no zstd decompressor "
                      "(Python 3.14 adds compression.zstd)", member)
            return "compressed"
        left, ratio_cap = self.bytes_left, self._expansion_cap(len(data))
        payload, problem = _decompress(data, fmt, min(ratio_cap, left))
        self.bytes_left -= len(payload)
        if problem == "limit":
            reason = "decompression bomb: ratio" if ratio_cap <= left else "size limit"
            self.skip(f"{reason}: {len(data)} bytes expand to more than {len(payload)}", member)
        elif problem:
            self.skip(f"compressed joblib could not be decompressed: {problem}", member)
        inner = self.blob(payload, member, depth + 1, strict=True) if payload else None
        if inner == "pickle":
            return "pickle-compressed"
        if inner == "joblib" or problem:
            return _compressed_kind(fmt)
        return inner


def _has_end_record(data: bytes) -> bool:
    """An end of central directory record in the last 64 KiB that zipfile could use: its directory lies
    before it and its comment inside the file (random bytes seldom pass both)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or end + 22 > len(data):
        return False
    size, offset, comment = struct.unpack_from("<LLH", data, end + 12)
    return bool(offset + size <= end and end + 22 + comment <= len(data))


def _compressed_kind(fmt: str) -> str:
    """What a compressed stream whose content is not known is called: joblib's formats, or any stream."""
    return "joblib-compressed" if fmt in ("zlib", "gzip", "bz2", "xz", "lzma", "zfile", "lz4") else "compressed"


def _has_zstd() -> bool:
    try:
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]  # noqa: F401 - Python 3.14+
    except ImportError:
        return False
    return True


def _extract(data: bytes, entry: Entry) -> bytes:
    packed = data[entry.start:entry.end]
    if len(packed) < entry.packed:
        raise ValueError("member data is truncated")
    if entry.method == 0:  # stored
        return packed[:entry.size]
    if entry.method == 8:  # deflated; bounded by the declared size, checked before
        return zlib.decompressobj(-15).decompress(packed, entry.size) if entry.size else b""
    raise ValueError(f"compression method {entry.method} is not supported")


# zlib._Decompress: typeshed's name for the type of zlib.decompressobj() (zlib exports none).
def _decompressor(fmt: str) -> zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor:
    if fmt in ("zlib", "gzip", "zfile"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip header
    if fmt == "bz2":
        return bz2.BZ2Decompressor()
    if fmt == "zstd":  # only reached when _has_zstd(); the same interface as bz2's and lzma's
        from compression import zstd  # type: ignore[import-not-found,unused-ignore]

        decompressor: bz2.BZ2Decompressor = zstd.ZstdDecompressor()
        return decompressor
    return lzma.LZMADecompressor()  # xz and lzma-alone


def _decompress(data: bytes, fmt: str, cap: int) -> tuple[bytes, str | None]:
    """At most cap bytes of the stream(s), and the problem: None, "limit", or what failed.

    Concatenated streams are all read, as bz2/lzma readers do; bytes after the last
    stream that do not start a new one are ignored, as those readers ignore them."""
    if fmt == "zfile":
        data = data[21:]  # 'ZF' and the length in hex, padded to 19 characters
        data = data[1:] if data[:1] == b" " else data
    out = bytearray()
    pending, first = data, True
    decompressor = _decompressor(fmt)
    while True:
        try:
            chunk = decompressor.decompress(pending, cap + 1 - len(out))
        except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            return bytes(out), (str(exc) if first else None)
        out += chunk
        if len(out) > cap:
            return bytes(out[:cap]), "limit"
        if decompressor.eof:
            pending, first = decompressor.unused_data, False
            if not pending:
                return bytes(out), None
            decompressor = _decompressor(fmt)
            continue
        if hasattr(decompressor, "unconsumed_tail"):  # zlib hands back the input it has not read
            progress = chunk or len(decompressor.unconsumed_tail) < len(pending)
            pending = decompressor.unconsumed_tail
        else:  # bz2 and lzma keep it, and say when they need more
            progress = chunk or not decompressor.needs_input
            pending = b""
        if not progress:
            return bytes(out), ("the compressed stream is truncated" if first else None)


def _npy_header(data: bytes) -> tuple[object, int]:
    """The header's descr and where the array data starts (numpy.lib.format, versions 1-3)."""
    major = data[6] if len(data) > 6 else None
    if major not in (1, 2, 3):
        raise ValueError(f"unsupported format version {major}")
    length_format = "<H" if major == 1 else "<I"
    at = 8 + struct.calcsize(length_format)
    if len(data) < at:
        raise ValueError("truncated header")
    (length,) = struct.unpack_from(length_format, data, 8)
    if length > _MAX_NPY_HEADER:
        raise ValueError(f"header of {length} bytes is too large")
    raw = data[at:at + length]
    if len(raw) < length:
        raise ValueError("truncated header")
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as exc:
        # Only the exception's type: literal_eval's messages can quote a node's repr, whose memory
        # address would make the report differ from one run to the next.
        raise ValueError(f"header is not a Python literal ({type(exc).__name__})") from None
    if not isinstance(header, dict) or "descr" not in header:
        raise ValueError("header has no descr")
    return header["descr"], at + length


def _descr_has_object(descr: object) -> bool | None:
    """Whether a .npy descr holds Python objects: True, False, or None when not understood."""
    if isinstance(descr, str):
        if _NPY_OBJECT.match(descr):
            return True
        return False if _NPY_PLAIN.match(descr) else None
    if isinstance(descr, tuple) and len(descr) == 2:  # subarray: (descr, shape)
        return _descr_has_object(descr[0])
    if isinstance(descr, list):  # structured: [(name, descr[, shape]), ...]
        answers = [_descr_has_object(f[1]) if isinstance(f, tuple) and len(f) in (2, 3) else None for f in descr]
        if True in answers:
            return True
        return None if None in answers else False
    return None
