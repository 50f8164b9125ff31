"""Zips that different readers read differently: every reading is scanned, every disagreement is ART003.

Archives are assembled here from bytes (local headers, central directory entries, end records), so
each test says exactly which structure lies. Payloads are only ever dumped; `zipfile` is used to show
what Python's reader takes from the bytes, never to load a pickle.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import time
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mllint_sec.artifacts import Limits, scan_artifact
from mllint_sec.artifacts.zip_reading import read_layout


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


EVIL = pickle.dumps(Evil(), protocol=2)
BENIGN = pickle.dumps(collections.OrderedDict(weight=1.0), protocol=2)
NAME = b"archive/data.pkl"


def local(name: bytes, content: bytes, *, size: int | None = None, flags: int = 0) -> bytes:
    stated = len(content) if size is None else size
    crc = zlib.crc32(content)
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 0, 0, 0, crc, stated, stated, len(name), 0) + name + content


def central(name: bytes, content: bytes, offset: int, *, flags: int = 0) -> bytes:
    crc = zlib.crc32(content)
    return struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, flags, 0, 0, 0, crc, len(content), len(content),
        len(name), 0, 0, 0, 0, 0, offset,
    ) + name


def end(count: int, size: int, offset: int, comment: bytes = b"") -> bytes:
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, offset, len(comment)) + comment


def archive(members: list[tuple[bytes, bytes]]) -> bytes:
    """A well-formed stored zip, built by hand like the hostile ones below."""
    body, directory = b"", b""
    for name, content in members:
        directory += central(name, content, len(body))
        body += local(name, content)
    return body + directory + end(len(members), len(directory), len(body))


def dangerous(report) -> set[str]:
    return {c.qualname for c in report.callables if c.verdict == "dangerous"}


def reasons(report) -> list[str]:
    return [u.reason for u in report.unscanned]


def ambiguous(report) -> list[str]:
    return [r for r in reasons(report) if r.startswith("ambiguous zip")]


def zipfile_reads(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        return opened.read(NAME.decode())


# --- the hand-built archive agrees with zipfile ------------------------------------------------------


def test_a_hand_built_archive_is_clean_and_unambiguous():
    data = archive([(NAME, BENIGN), (b"archive/version", b"3\n")])
    assert zipfile_reads(data) == BENIGN
    report = scan_artifact(data)
    assert report.kind == "torch-zip"
    assert report.unscanned == () and dangerous(report) == set()


# --- two central directories ---------------------------------------------------------------------------


def test_two_central_directories_python_reads_the_benign_one_pytorch_the_other():
    # The end record gives the first directory's offset (miniz, PyTorch's reader, goes there: os.system)
    # and the second's size, so zipfile reads the directory just before the end record and takes the
    # gap as prepended data, shifting every offset by it (the benign copy).
    evil_local = local(NAME, EVIL)
    benign_at = len(evil_local)
    body = evil_local + local(NAME, BENIGN)
    first = central(NAME, EVIL, 0)
    second = central(NAME, BENIGN, benign_at - len(first))  # zipfile adds the gap back
    data = body + first + second + end(1, len(second), len(body))
    assert zipfile_reads(data) == BENIGN  # the differential is real: Python's zipfile sees only the benign copy
    report = scan_artifact(data)
    assert dangerous(report) == {"posix.system"}
    assert any("not where the end record says" in r for r in ambiguous(report))


def test_two_central_directories_benign_copy_first_payload_second():
    # The layout: the benign data.pkl first, the os.system one second; the end record counts one
    # entry (miniz reads one: the first directory's, the payload) and sizes both (zipfile reads both and
    # keeps the last for the name: the benign copy).
    body = local(NAME, BENIGN)
    payload_at = len(body)
    body += local(NAME, EVIL)
    directories = central(NAME, EVIL, payload_at) + central(NAME, BENIGN, 0)
    data = body + directories + end(1, len(directories), len(body))
    assert zipfile_reads(data) == BENIGN
    report = scan_artifact(data)
    assert report.kind == "torch-zip"
    assert dangerous(report) == {"posix.system"}
    assert any("end record counts 1 entries" in r for r in ambiguous(report))


def test_a_second_directory_nobody_is_pointed_to_is_named():
    good = archive([(NAME, BENIGN)])
    body_end = len(local(NAME, BENIGN))
    stray = central(NAME, EVIL, 0)
    data = good[:body_end] + stray + good[body_end:]
    # the real directory and end record moved by len(stray): rewrite the end record's offset
    data = data[:-22] + end(1, len(central(NAME, BENIGN, 0)), body_end + len(stray))
    report = scan_artifact(data)
    assert any("a second central directory" in r for r in ambiguous(report))


# --- local entries outside the directory ----------------------------------------------------------------


def test_a_local_entry_no_directory_lists_is_scanned():
    # A streaming reader (local header to local header) finds the payload; the directory hides it.
    first = local(NAME, BENIGN)
    hidden = local(b"archive/extra.pkl", EVIL)
    directory = central(NAME, BENIGN, 0)
    data = first + hidden + directory + end(1, len(directory), len(first) + len(hidden))
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == [NAME.decode()]
    report = scan_artifact(data)
    assert [(c.member, c.qualname) for c in report.callables if c.verdict == "dangerous"] == [
        ("archive/extra.pkl", "posix.system")
    ]
    assert any("a local entry no central directory lists: 'archive/extra.pkl'" in r for r in ambiguous(report))


def test_a_local_entry_hidden_after_unreadable_bytes_is_scanned():
    first = local(NAME, BENIGN)
    hidden = b"\x00" * 7 + local(b"x.pkl", EVIL)  # not on the local-header chain: found in the gap
    directory = central(NAME, BENIGN, 0)
    data = first + hidden + directory + end(1, len(directory), len(first) + len(hidden))
    report = scan_artifact(data)
    assert dangerous(report) == {"posix.system"}
    assert ambiguous(report)


def test_data_before_the_first_entry():
    body = archive([(NAME, BENIGN)])
    prefix = b"#!/bin/sh\nexit 0\n"
    directory = central(NAME, BENIGN, 0)
    data = prefix + body[:-22] + end(1, len(directory), len(local(NAME, BENIGN)))  # offsets as if unprefixed
    assert zipfile_reads(data) == BENIGN  # zipfile takes the prefix as prepended data
    report = scan_artifact(data)
    assert any("before the first entry" in r for r in ambiguous(report))


def test_data_after_the_end_record():
    report = scan_artifact(archive([(NAME, BENIGN)]) + b"tail")
    assert any("after the end record" in r for r in ambiguous(report))


# --- headers that disagree ------------------------------------------------------------------------------


def test_local_and_central_names_differ():
    body = local(b"archive/data.pkl", EVIL)
    directory = central(b"archive/notes.txt", EVIL, 0)
    report = scan_artifact(body + directory + end(1, len(directory), len(body)))
    assert dangerous(report) == {"posix.system"}
    assert any("names 'archive/data.pkl'" in r for r in ambiguous(report))


def test_local_size_smaller_than_the_central_one_is_read_both_ways():
    # The local header says the member is 3 bytes: a streaming reader reads a harmless prefix and
    # then the next header; the directory's size covers the payload.
    hidden = EVIL
    body = local(NAME, BENIGN + hidden, size=len(BENIGN))
    directory = central(NAME, BENIGN + hidden, 0)
    report = scan_artifact(body + directory + end(1, len(directory), len(body)))
    assert dangerous(report) == {"posix.system"}
    assert any("disagree on its compression or size" in r for r in ambiguous(report))


def test_overlapping_entries():
    # Two directory entries, the second pointing inside the first's data.
    inner = local(b"b.pkl", EVIL)
    outer_content = b"pad" + inner
    body = local(b"a.bin", outer_content)
    inner_at = len(body) - len(inner)
    directory = central(b"a.bin", outer_content, 0) + central(b"b.pkl", EVIL, inner_at)
    report = scan_artifact(body + directory + end(2, len(directory), len(body)))
    assert dangerous(report) == {"posix.system"}
    assert any("entries overlap" in r for r in ambiguous(report))


def test_out_of_order_directory():
    a, b = local(b"a.pkl", BENIGN), local(b"b.pkl", BENIGN)
    directory = central(b"b.pkl", BENIGN, len(a)) + central(b"a.pkl", BENIGN, 0)
    report = scan_artifact(a + b + directory + end(2, len(directory), len(a) + len(b)))
    assert any("out of order" in r for r in ambiguous(report))


def test_two_directory_entries_for_one_local_entry():
    a = local(b"a.pkl", BENIGN)
    directory = central(b"a.pkl", BENIGN, 0) + central(b"a.pkl", BENIGN, 0)
    report = scan_artifact(a + directory + end(2, len(directory), len(a)))
    assert any("point at one local entry" in r for r in ambiguous(report))


def test_directory_entry_pointing_at_no_local_header():
    a = local(b"a.pkl", BENIGN)
    directory = central(b"a.pkl", BENIGN, 0) + central(b"b.pkl", BENIGN, 3)
    report = scan_artifact(a + directory + end(2, len(directory), len(a)))
    assert any("no local header at byte 3" in r for r in ambiguous(report))


# --- a zip behind other bytes -----------------------------------------------------------------------------


def test_zip_appended_to_a_benign_pickle_is_read_too():
    data = BENIGN + archive([(b"hook.pkl", EVIL)])
    report = scan_artifact(data)
    assert dangerous(report) == {"posix.system"}


def test_a_pickle_holding_a_zip_as_its_last_value_is_not_ambiguous():
    # The zip's end record is inside the pickle, so no zip reader takes the file for a zip.
    data = pickle.dumps({"attachment": archive([(b"a.txt", b"text")])}, protocol=4)
    report = scan_artifact(data)
    assert report.kind == "pickle"
    assert report.unscanned == ()


# --- ordinary archives stay clean --------------------------------------------------------------------------


def _written(members, **kwargs) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", **kwargs) as opened:
        for name, content in members:
            opened.writestr(name, content)
    return buffer.getvalue()


class _Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it writes data descriptors after each member."""

    def __init__(self):
        self.chunks = []

    def writable(self):
        return True

    def write(self, chunk):
        self.chunks.append(bytes(chunk))
        return len(chunk)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_ordinary_zips_are_clean(compression):
    members = [(NAME.decode(), BENIGN), ("archive/data/0", bytes(range(256)) * 8), ("readme.md", b"# hi")]
    report = scan_artifact(_written(members, compression=compression))
    assert report.unscanned == () and dangerous(report) == set()


def test_zip_with_data_descriptors_is_clean():
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as opened:
        opened.writestr("a.pkl", BENIGN)
        opened.writestr("b.bin", bytes(1000))
    data = b"".join(stream.chunks)
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x8
    report = scan_artifact(data)
    assert report.unscanned == ()


def test_zip_with_a_comment_and_a_stored_nested_zip_is_clean():
    inner = _written([("inner/data.pkl", BENIGN)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as opened:
        opened.writestr("bundle/inner.zip", inner)
        opened.comment = b"built by a test"
    report = scan_artifact(buffer.getvalue())
    assert report.unscanned == ()


def test_zip64_npz_is_clean():
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.zeros(10), bias=np.ones(3))  # numpy forces zip64 local headers
    report = scan_artifact(buffer.getvalue())
    assert report.kind == "npz" and report.unscanned == ()


def test_forced_zip64_archive_is_clean():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as opened:
        for index in range(3):
            with opened.open(f"m{index}.pkl", "w", force_zip64=True) as member:
                member.write(BENIGN)
    layout = read_layout(buffer.getvalue(), 100)
    assert layout.anomalies == [] and len(layout.entries) == 3


def test_layout_reads_each_member_once():
    layout = read_layout(archive([(b"a", b"1"), (b"b", b"22")]), 100)
    assert [(e.name, e.packed) for e in layout.entries] == [("a", 1), ("b", 2)]
    assert layout.anomalies == [] and layout.corrupt is None


def test_member_limit_counts_directory_entries():
    data = archive([(f"f{i}".encode(), b"x") for i in range(20)])
    report = scan_artifact(data, Limits(max_members=10))
    assert reasons(report)[0].startswith("too many members")


def test_miniz_style_archive_with_64_bit_data_descriptors_is_clean():
    # PyTorch's writer (miniz, writing forward only) puts zero sizes in each local header and the real
    # ones in a data descriptor after the data, with 64-bit sizes in a zip64 archive.
    body, directory = b"", b""
    for name, content in [(NAME, BENIGN), (b"archive/data/0", bytes(64)), (b"archive/version", b"3\n")]:
        directory += central(name, content, len(body), flags=0x8)
        crc = zlib.crc32(content)
        body += local(name, content, size=0, flags=0x8)
        body += struct.pack("<4sLQQ", b"PK\x07\x08", crc, len(content), len(content))
    data = body + directory + end(3, len(directory), len(body))
    assert zipfile_reads(data) == BENIGN
    report = scan_artifact(data)
    assert report.kind == "torch-zip"
    assert report.unscanned == () and dangerous(report) == set()


# --- hostile layouts: bounded work, no crash ----------------------------------------------------------------


def test_many_local_headers_of_unknown_size_cost_linear_time():
    # Thousands of local headers with the data-descriptor flag, no sizes and no descriptor, in a gap:
    # finding each one's end must not rescan the file.
    header = local(b"x.pkl", b"", size=0, flags=0x8)
    body = local(NAME, BENIGN)
    directory = central(NAME, BENIGN, 0)
    filler = header * 40_000
    data = body + filler + directory + end(1, len(directory), len(body) + len(filler))
    started = time.perf_counter()
    report = scan_artifact(data)
    assert time.perf_counter() - started < 2
    assert ambiguous(report)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_hand_built_zips_never_break_the_scan(draw):
    data = bytearray(archive([(NAME, BENIGN), (b"b.pkl", EVIL), (b"c", b"text")]))
    for _ in range(draw.draw(st.integers(1, 6))):
        at = draw.draw(st.integers(0, len(data) - 1))
        data[at] = draw.draw(st.integers(0, 255))
    report = scan_artifact(bytes(data), Limits(max_opcodes=100_000))
    assert not any(r.startswith("scanner error") for r in reasons(report)), report.unscanned
    assert report == scan_artifact(bytes(data), Limits(max_opcodes=100_000))  # deterministic


def test_two_directory_model_pt_fails_the_run_end_to_end(scan, tmp_path):
    body = local(NAME, BENIGN)
    payload_at = len(body)
    body += local(NAME, EVIL)
    directories = central(NAME, EVIL, payload_at) + central(NAME, BENIGN, 0)
    (tmp_path / "model.pt").write_bytes(body + directories + end(1, len(directories), len(body)))
    report, code = scan(tmp_path, "--select", "ART", "--fail-on", "high")
    assert code == 1
    assert sorted(f["rule_id"] for f in report["findings"]) == ["ART001", "ART003"]
