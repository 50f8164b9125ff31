"""joblib files: pickles with raw array bytes between the opcodes, plain or compressed.

joblib is not a dependency, so `JoblibWriter` reproduces joblib.numpy_pickle.NumpyPickler's
format (joblib 1.x: the NumpyArrayWrapper object is pickled, the frame committed, then
a padding-length byte, padding, and the array's bytes; object arrays as a nested pickle).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import sys
import types
import zlib

import numpy as np
import pytest

from mllint_sec.artifacts import Limits, scan_artifact

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
# Bytes that a walker reading the array as opcodes would misread: PROTO, STOP, GLOBAL,
# and BINUNICODE with a length that swallows everything after it.
OPCODE_LOOKALIKE = b"\x80\x02.cR\x93X\xff\xff\xff\x7fB\xff\xff\x00\x00(t"


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


class NumpyArrayWrapper:
    def __init__(self, subclass, shape, order, dtype, allow_mmap=False, numpy_array_alignment_bytes=16):
        self.subclass, self.shape, self.order, self.dtype = subclass, shape, order, dtype
        self.allow_mmap = allow_mmap
        self.numpy_array_alignment_bytes = numpy_array_alignment_bytes


NumpyArrayWrapper.__module__ = "joblib.numpy_pickle"


@pytest.fixture(autouse=True)
def fake_joblib(monkeypatch):
    """pickle must find the wrapper class where joblib defines it."""
    package, module = types.ModuleType("joblib"), types.ModuleType("joblib.numpy_pickle")
    module.NumpyArrayWrapper, package.numpy_pickle = NumpyArrayWrapper, module
    monkeypatch.setitem(sys.modules, "joblib", package)
    monkeypatch.setitem(sys.modules, "joblib.numpy_pickle", module)


class JoblibWriter(pickle._Pickler):  # joblib subclasses the pure-Python pickler too
    def __init__(self, file, protocol, alignment="aligned"):
        super().__init__(file, protocol=protocol)
        self.file_handle, self.alignment = file, alignment

    def save(self, obj, save_persistent_id=True):
        if type(obj) is not np.ndarray:
            return super().save(obj, save_persistent_id)
        order = "F" if obj.flags.f_contiguous and not obj.flags.c_contiguous else "C"
        wrapper = NumpyArrayWrapper(type(obj), obj.shape, order, obj.dtype, allow_mmap=not obj.dtype.hasobject)
        if self.alignment == "none":  # joblib on a non-seekable file
            wrapper.numpy_array_alignment_bytes = None
        elif self.alignment == "absent":  # joblib <= 1.1
            del wrapper.numpy_array_alignment_bytes
        super().save(wrapper)
        if self.proto >= 4:
            self.framer.commit_frame(force=True)
        if obj.dtype.hasobject:
            pickle.dump(obj, self.file_handle, protocol=2)
            return None
        if self.alignment == "aligned":
            padding = 16 - (self.file_handle.tell() + 1) % 16
            self.file_handle.write(bytes([padding]) + b"\xff" * padding)
        self.file_handle.write(obj.tobytes(order))
        return None


def joblib_dump(value, protocol=4, alignment="aligned") -> bytes:
    buffer = io.BytesIO()
    JoblibWriter(buffer, protocol, alignment).dump(value)
    return buffer.getvalue()


def lookalike_array(dtype=np.float64) -> np.ndarray:
    raw = (OPCODE_LOOKALIKE * 4)[: 8 * 8]
    return np.frombuffer(raw, dtype=dtype).copy()


def dangerous(report) -> set[str]:
    return {c.qualname for c in report.callables if c.verdict == "dangerous"}


@pytest.mark.parametrize("alignment", ["aligned", "none", "absent"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_payload_after_a_raw_array_is_found(protocol, alignment):
    data = joblib_dump({"weights": lookalike_array(), "hook": Evil()}, protocol, alignment)
    assert OPCODE_LOOKALIKE in data
    report = scan_artifact(data)
    assert report.kind == "joblib"
    assert dangerous(report) == {"posix.system"}
    assert report.unscanned == ()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_benign_joblib_file_is_clean(protocol):
    arrays = {
        "coef": lookalike_array(),
        "int8": np.arange(-50, 50, dtype=np.int8),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 4)),
        "text": np.array(["ab", "cde"]),
        "bytes": np.array([b"x\x80.", b"c"]),
        "when": np.array(["2024-01-01"], dtype="datetime64[ns]"),
        "flags": np.array([True, False]),
        "complex": np.array([1 + 2j], dtype=np.complex64),
        "big_endian": np.arange(3, dtype=">i4"),
    }
    report = scan_artifact(joblib_dump([arrays, lookalike_array(np.uint8)], protocol))
    assert report.kind == "joblib"
    assert report.unscanned == ()
    assert {c.verdict for c in report.callables} == {"allowed"}


def test_object_array_is_a_nested_pickle():
    array = np.array([1, Evil(), "x"], dtype=object)
    report = scan_artifact(joblib_dump({"objects": array, "after": lookalike_array()}))
    assert report.kind == "joblib"
    assert dangerous(report) == {"posix.system"}
    assert report.unscanned == ()


def test_structured_array_cannot_be_passed():
    array = np.zeros(3, dtype=[("a", "<f4"), ("b", "<i8")])
    report = scan_artifact(joblib_dump({"table": array, "hook": Evil()}))
    assert [u.reason.split(":")[0] for u in report.unscanned] == ["raw buffer could not be passed"]


def test_truncated_array_data_cannot_be_passed():
    data = joblib_dump({"hook": Evil(), "weights": np.arange(1000.0)})
    report = scan_artifact(data[:-2000])
    assert dangerous(report) == {"posix.system"}
    assert [u.reason.split(":")[0] for u in report.unscanned] == ["raw buffer could not be passed"]


def test_opcodes_hidden_in_array_bytes_are_found():
    # joblib skips the array; plain pickle reads it as opcodes and runs this payload.
    hidden = np.frombuffer(pickle.dumps(Evil(), protocol=2)[2:-1] + b"0", dtype=np.uint8).copy()
    data = joblib_dump({"weights": hidden}, protocol=2, alignment="none")
    report = scan_artifact(data)
    assert report.kind == "joblib"
    assert dangerous(report) == {"posix.system"}


def test_array_inside_a_pickle_frame_cannot_be_passed():
    data = joblib_dump({"weights": np.arange(4.0), "hook": Evil()}, protocol=4)
    # Make the first frame claim the whole file: the unpickler reads opcodes from the frame
    # while joblib reads array bytes after it, so the two readings no longer agree.
    framed = data[:3] + (len(data) - 11).to_bytes(8, "little") + data[11:]
    report = scan_artifact(framed)
    assert any(u.reason.startswith("raw buffer could not be passed") for u in report.unscanned)


def test_unusual_wrapper_creation_cannot_be_passed():
    # NumpyArrayWrapper(...) called with arguments: its attributes come from __init__, not BUILD.
    data = (
        b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n"
        b"(cnumpy\nndarray\nK\x02\x85X\x01\x00\x00\x00Ccnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87Rt"
        b"R}b" + bytes(16) + b"."
    )
    report = scan_artifact(data)
    assert report.kind == "joblib"
    assert [u.reason.split(":")[0] for u in report.unscanned] == ["raw buffer could not be passed"]


def test_dtype_flags_decide_object_arrays_as_numpy_does():
    # A float dtype whose pickled state sets the has-object flag: numpy (and joblib) then
    # read a nested pickle where raw floats would be.
    header = (
        b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}("
        b"X\x05\x00\x00\x00shapeK\x01\x85"
        b"X\x05\x00\x00\x00dtypecnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R"
        b"(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"
        b"ub"
    )
    report = scan_artifact(header + pickle.dumps(Evil(), protocol=2) + b".")
    assert dangerous(report) == {"posix.system"}
    assert report.unscanned == ()


# --- compressed joblib files ----------------------------------------------------------------


def zfile(data: bytes) -> bytes:
    """joblib < 0.10: 'ZF', the length in hex padded to 19 characters, zlib data."""
    return b"ZF" + hex(len(data)).ljust(19).encode() + zlib.compress(data)


COMPRESSORS = {
    "zlib": zlib.compress,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lambda data: lzma.compress(data, check=lzma.CHECK_NONE),
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
    "zfile": zfile,
}


@pytest.mark.parametrize("name", COMPRESSORS)
def test_compressed_joblib(name):
    data = joblib_dump({"weights": lookalike_array(), "hook": Evil()})
    report = scan_artifact(COMPRESSORS[name](data))
    assert report.kind == "joblib-compressed"
    assert dangerous(report) == {"posix.system"}
    assert report.unscanned == ()


@pytest.mark.parametrize("name", COMPRESSORS)
def test_compressed_benign_joblib_is_clean(name):
    report = scan_artifact(COMPRESSORS[name](joblib_dump({"weights": lookalike_array()})))
    assert report.kind == "joblib-compressed"
    assert {c.verdict for c in report.callables} == {"allowed"}
    assert report.unscanned == ()


def test_compressed_text_is_not_an_artifact():
    report = scan_artifact(gzip.compress(b"a,b,c\n1,2,3\n" * 100))
    assert (report.kind, report.callables, report.unscanned) == (None, (), ())


def test_lz4_cannot_be_decompressed():
    report = scan_artifact(b"\x04\x22\x4d\x18" + bytes(40))
    assert report.kind == "joblib-compressed"
    assert [u.reason.split(":")[0] for u in report.unscanned] == ["compressed joblib could not be decompressed"]


def test_corrupt_compressed_stream():
    report = scan_artifact(b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    assert report.kind == "joblib-compressed"
    assert report.unscanned[0].reason.startswith("compressed joblib could not be decompressed")


def test_truncated_compressed_stream_keeps_what_was_read():
    data = zlib.compress(joblib_dump({"hook": Evil(), "weights": np.random.default_rng(0).random(5000)}))
    report = scan_artifact(data[: len(data) // 2])
    assert dangerous(report) == {"posix.system"}
    assert any(u.reason.startswith("compressed joblib could not be decompressed") for u in report.unscanned)


def test_decompression_bomb():
    report = scan_artifact(zlib.compress(bytes(8 << 20)))
    assert report.unscanned[0].reason.startswith("decompression bomb: ratio")


def test_decompressed_size_limit():
    data = zlib.compress(pickle.dumps(list(range(1000)), protocol=2))
    report = scan_artifact(data, Limits(max_decompressed_bytes=100))
    assert report.unscanned[0].reason.startswith("size limit")
