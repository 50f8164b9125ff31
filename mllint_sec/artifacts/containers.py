"""Recognise an artifact by its content and unpack its containers down to pickle streams.

Kinds: zip archives (PyTorch checkpoints, npz, any zip; every member is recognised in
turn, nested containers too), numpy .npy (an object array is a pickle after the header),
pickles (joblib files are pickles with raw array bytes in between), compressed joblib
files, Git LFS pointers. File names are never consulted: a checkpoint named .png is
still a checkpoint. Every limit reached becomes an "unscanned" entry, never an exception.
"""

from __future__ import annotations

import ast
import bz2
import lzma
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from io import BytesIO

from mllint_sec.artifacts.pickle_ops import Budget, Import, scan_pickle
from mllint_sec.core.lfs_pointer import lfs_pointer

_MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds on one artifact's scan; what lies beyond one is reported as unscanned."""

    max_file_bytes: int = 512 * _MIB  # larger artifacts are not scanned
    max_decompressed_bytes: int = 2048 * _MIB  # total bytes extracted or decompressed per artifact
    max_members: int = 10_000  # per zip archive
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
    if data[257:262] == b"ustar":
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
        if kind == "zip":
            return self._zip(data, member, depth)
        if kind == "npy":
            return self._npy(data, member)
        if kind == "pickle":
            return self._pickle(data, member, strict)
        if kind == "tar":
            self.skip("tar archive: members not scanned", member)
            return None
        if kind is not None:
            return self._compressed(data, member, depth, kind)
        return self._pickle(data, member, strict=False)

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

    def _expansion_cap(self, packed: int) -> int:
        return max(self.limits.min_bomb_bytes, packed * self.limits.max_ratio)

    # zip

    def _zip(self, data: bytes, member: str, depth: int) -> str:
        if not self._nested(member, depth):
            return "zip"
        entries = _central_directory_entries(data)
        if entries > self.limits.max_members:
            self.skip(f"too many members: {entries}, above {self.limits.max_members}", member)
            return "zip"
        try:
            infos = zipfile.ZipFile(BytesIO(data)).infolist()
        except Exception as exc:  # noqa: BLE001 - zipfile raises many exception types on hostile archives
            self.skip(f"corrupt zip: {exc}", member)
            return "zip"
        files = [info for info in infos if not info.is_dir()]
        kinds = []
        for info in files:
            path = f"{member}!{info.filename}" if member else info.filename
            content = self._member(data, info, path)
            strict = bool(_PICKLE_NAME.search(info.filename))
            kinds.append(None if content is None else self.blob(content, path, depth + 1, strict))
        if any(_TORCH_PICKLE.search(info.filename) for info in files):
            return "torch-zip"
        if files and all(kind == "npy" for kind in kinds):
            return "npz"
        return "zip"

    def _member(self, data: bytes, info: zipfile.ZipInfo, path: str) -> bytes | None:
        """The member's bytes, read as a loader would (from the local header, sizes from the
        central directory, CRC not checked: torch does not check it); None if not read."""
        if info.flag_bits & 0x1:
            self.skip("encrypted zip member", path)
            return None
        if info.file_size > self._expansion_cap(info.compress_size):
            self.skip(f"zip bomb: ratio: {info.compress_size} bytes expand to {info.file_size}", path)
            return None
        if info.file_size > self.bytes_left:
            self.skip(f"size limit: {info.file_size} bytes, above the {self.bytes_left} left to extract", path)
            return None
        try:
            content = _extract(data, info)
        except (ValueError, zlib.error) as exc:
            self.skip(f"unreadable zip member: {exc}", path)
            return None
        self.bytes_left -= len(content)
        return content

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

    # compressed joblib

    def _compressed(self, data: bytes, member: str, depth: int, fmt: str) -> str | None:
        kind = self._decompressed(data, member, depth, fmt)
        # 'BZh' also reads as a pickle opcode (BINBYTES): a (huge) crafted file can be both at once
        as_pickle = self._pickle(data, member, strict=False)
        return kind or as_pickle

    def _decompressed(self, data: bytes, member: str, depth: int, fmt: str) -> str | None:
        if not self._nested(member, depth):
            return "joblib-compressed"
        if fmt == "lz4":
            self.skip("compressed joblib could not be decompressed: lz4 is not in the standard library", member)
            return "joblib-compressed"
        left, ratio_cap = self.bytes_left, self._expansion_cap(len(data))
        payload, problem = _decompress(data, fmt, min(ratio_cap, left))
        self.bytes_left -= len(payload)
        if problem == "limit":
            reason = "decompression bomb: ratio" if ratio_cap <= left else "size limit"
            self.skip(f"{reason}: {len(data)} bytes expand to more than {len(payload)}", member)
        elif problem:
            self.skip(f"compressed joblib could not be decompressed: {problem}", member)
        inner = self.blob(payload, member, depth + 1, strict=True) if payload else None
        return "joblib-compressed" if inner in ("pickle", "joblib") or problem else inner


def _central_directory_entries(data: bytes) -> int:
    """An upper bound of the member count, before zipfile builds an object for each."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or end + 22 > len(data):
        return 0  # zipfile reports the problem
    (size,) = struct.unpack_from("<I", data, end + 12)
    start = max(0, end - size - 76) if size != 0xFFFFFFFF else 0  # 76: the zip64 records
    return data.count(b"PK\x01\x02", start, end)


def _extract(data: bytes, info: zipfile.ZipInfo) -> bytes:
    offset = info.header_offset
    if offset < 0 or data[offset:offset + 4] != b"PK\x03\x04" or offset + 30 > len(data):
        raise ValueError("no local file header where the central directory points")
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_length + extra_length
    packed = data[start:start + info.compress_size]
    if len(packed) < info.compress_size:
        raise ValueError("member data is truncated")
    if info.compress_type == zipfile.ZIP_STORED:
        return packed[:info.file_size]
    if info.compress_type == zipfile.ZIP_DEFLATED:  # bounded by the declared size, checked before
        return zlib.decompressobj(-15).decompress(packed, info.file_size) if info.file_size else b""
    raise ValueError(f"compression method {info.compress_type} is not supported")


# zlib._Decompress: typeshed's name for the type of zlib.decompressobj() (zlib exports none).
def _decompressor(fmt: str) -> zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor:
    if fmt in ("zlib", "gzip", "zfile"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip header
    if fmt == "bz2":
        return bz2.BZ2Decompressor()
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
