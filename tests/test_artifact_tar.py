"""Tar archives, PyTorch's legacy tar checkpoint, and bytes that are a tar and a pickle at once.

Archives are written with `tarfile` (writing only) or assembled from header blocks here; pickles
with payloads are only dumped, never loaded.
"""

from __future__ import annotations

import collections
import gzip
import io
import os
import pickle
import struct
import sys
import tarfile
import time
import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mllint_sec.artifacts import Limits, scan_artifact
from mllint_sec.artifacts.tar_reading import is_tar, list_tar


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def dangerous(report) -> set[str]:
    return {c.qualname for c in report.callables if c.verdict == "dangerous"}


def reasons(report) -> list[str]:
    return [u.reason for u in report.unscanned]


def tar(members: list[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# --- PyTorch's legacy tar checkpoint ----------------------------------------------------------------------


@pytest.fixture
def torch_names(monkeypatch):
    """`torch.FloatStorage` and `torch.FloatTensor` where pickle looks for them, so records can name them."""
    torch = types.ModuleType("torch")
    for name in ("FloatStorage", "FloatTensor", "WeirdStorage"):
        cls = type(name, (), {})
        cls.__module__ = "torch"
        setattr(torch, name, cls)
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


class _PersistentPickler(pickle.Pickler):
    """The `pickle` member names storages by persistent id, as torch's legacy writer did."""

    def persistent_id(self, obj):
        return ("storage", obj.__class__, "0", "cpu", 4) if obj.__class__.__name__ == "FloatStorage" else None


def legacy_checkpoint(torch, *, payload_in: str | None = None, storage_type=None, tail: bytes = b"") -> bytes:
    evil = pickle.dumps(Evil(), protocol=2)
    sys_info = pickle.dumps({"protocol_version": 1000, "little_endian": True, "type_sizes": {"int": 4}}, protocol=2)
    storage_record = ("0", "cpu", storage_type or torch.FloatStorage)
    storages = (
        pickle.dumps(1, protocol=2)
        + pickle.dumps(storage_record, protocol=2)
        + struct.pack("<q", 4) + struct.pack("<4f", 1, 2, 3, 4)
        + pickle.dumps([], protocol=2)
    )
    tensors = (
        pickle.dumps(1, protocol=2)
        + pickle.dumps(("1", "0", torch.FloatTensor), protocol=2)
        + struct.pack("<i", 2) + bytes(4) + struct.pack("<2q", 2, 2) + struct.pack("<2q", 2, 1) + struct.pack("<q", 0)
    )
    buffer = io.BytesIO()
    _PersistentPickler(buffer, protocol=2).dump(collections.OrderedDict(weight=torch.FloatStorage()))
    main = buffer.getvalue()
    members = {"sys_info": sys_info, "pickle": main, "storages": storages + tail, "tensors": tensors}
    if payload_in == "storages-record":
        members["storages"] = storages.replace(pickle.dumps(storage_record, protocol=2), evil)
    elif payload_in == "after-raw-storage":
        # a second storage record hides the payload behind the first one's raw bytes
        second = pickle.dumps(("9", "cpu", Evil()), protocol=2) + struct.pack("<q", 0)
        members["storages"] = (
            pickle.dumps(2, protocol=2) + pickle.dumps(storage_record, protocol=2)
            + struct.pack("<q", 4) + struct.pack("<4f", 1, 2, 3, 4) + second + pickle.dumps([], protocol=2)
        )
    elif payload_in is not None:
        members[payload_in] = evil
    return tar(list(members.items()))


def test_benign_legacy_tar_checkpoint_is_clean(torch_names):
    report = scan_artifact(legacy_checkpoint(torch_names))
    assert report.kind == "torch-tar"
    assert report.unscanned == ()
    assert {c.verdict for c in report.callables} == {"allowed"}
    assert {c.qualname for c in report.callables} == {"collections.OrderedDict", "torch.FloatStorage",
                                                       "torch.FloatTensor"}


@pytest.mark.parametrize("member", ["pickle", "sys_info", "tensors", "storages"])
def test_payload_in_each_legacy_member(torch_names, member):
    report = scan_artifact(legacy_checkpoint(torch_names, payload_in=member))
    assert report.kind == "torch-tar"
    assert {c.member for c in report.callables if c.verdict == "dangerous"} == {member}


@pytest.mark.parametrize("where", ["storages-record", "after-raw-storage"])
def test_payload_in_a_storage_record(torch_names, where):
    report = scan_artifact(legacy_checkpoint(torch_names, payload_in=where))
    assert dangerous(report) == {"posix.system"}


def test_legacy_storage_of_an_unknown_type_is_not_passed(torch_names):
    report = scan_artifact(legacy_checkpoint(torch_names, storage_type=torch_names.WeirdStorage))
    assert any(r.startswith("raw buffer could not be passed: legacy checkpoint: unknown storage type")
               for r in reasons(report))


def test_legacy_storages_with_trailing_bytes(torch_names):
    report = scan_artifact(legacy_checkpoint(torch_names, tail=b"\x00garbage"))
    assert any(r.startswith("trailing data after pickle") for r in reasons(report))


def test_legacy_checkpoint_under_gzip(torch_names):
    report = scan_artifact(gzip.compress(legacy_checkpoint(torch_names, payload_in="pickle")))
    assert report.kind == "torch-tar"
    assert dangerous(report) == {"posix.system"}


# --- ordinary tar archives ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_pickle_member_of_a_tar(fmt):
    report = scan_artifact(tar([("README", b"text"), ("model/model.pkl", pickle.dumps(Evil(), protocol=4))], fmt))
    assert report.kind == "tar"
    assert [(c.member, c.qualname) for c in report.callables] == [("model/model.pkl", "posix.system")]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_member_names(fmt):
    name = "deep/" * 40 + "model.pkl"
    report = scan_artifact(tar([(name, pickle.dumps(Evil(), protocol=2))], fmt))
    assert [c.member for c in report.callables] == [name]


def test_pax_size_overrides_the_header_size():
    # The header says 0 bytes, the pax record the true size: tarfile follows the record, so must the scan.
    content = pickle.dumps(Evil(), protocol=2)
    header = tarfile.TarInfo("model.pkl")
    header.size = 0
    pax = tarfile.TarInfo("././@PaxHeader")
    record = f"size={len(content)}\n"
    record = f"{len(record) + 3} {record}"  # the length counts itself: two digits and a space
    pax.type, pax.size = tarfile.XHDTYPE, len(record)
    blocks = pax.tobuf(tarfile.USTAR_FORMAT) + record.encode().ljust(512, b"\0")
    blocks += header.tobuf(tarfile.USTAR_FORMAT) + content.ljust(512, b"\0") + bytes(1024)
    with tarfile.open(fileobj=io.BytesIO(blocks)) as archive:
        assert archive.getmember("model.pkl").size == len(content)
    report = scan_artifact(blocks)
    assert dangerous(report) == {"posix.system"}


def test_text_only_tar_has_no_finding():
    report = scan_artifact(tar([("a.txt", b"hello"), ("b.csv", b"a,b\n1,2\n")]))
    assert report.kind == "tar"
    assert report.callables == () and report.unscanned == ()


def test_truncated_tar():
    data = tar([("model.pkl", pickle.dumps(Evil(), protocol=2) * 30)])
    report = scan_artifact(data[:700])
    assert any(r.startswith("truncated tar") for r in reasons(report))


def test_sparse_member_is_not_scanned():
    info = tarfile.TarInfo("sparse.pkl")
    info.type, info.size = tarfile.GNUTYPE_SPARSE, 0
    data = info.tobuf(tarfile.GNU_FORMAT) + bytes(1024)
    report = scan_artifact(data)
    assert any(r.startswith("sparse tar member not scanned") for r in reasons(report))


def test_member_limit():
    report = scan_artifact(tar([(f"f{i}", b"x") for i in range(20)]), Limits(max_members=10))
    assert any(r.startswith("too many members") for r in reasons(report))


def test_hostile_pax_header_is_refused_quickly():
    # A pax header of 400,000 two-byte records (tarfile's own parser of such headers was quadratic before
    # CVE-2024-6232's fix): the scan reads a bounded number of records and reports the rest unread.
    body = b"2 " * 400_000 + b"="
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, len(body)
    data = pax.tobuf(tarfile.USTAR_FORMAT) + body.ljust(-(-len(body) // 512) * 512, b"\0") + bytes(1024)
    started = time.perf_counter()
    listing = list_tar(data, 100)
    assert time.perf_counter() - started < 0.5
    assert [p.split(":")[0] for p in listing.problems] == ["corrupt tar"]
    assert "records in the pax header" in listing.problems[0]


# --- tar or pickle: sniffing never downgrades ------------------------------------------------------------------


def test_protocol_0_pickle_with_ustar_at_257_is_read_as_a_pickle():
    payload = b"cos\nsystem\n(S'true'\ntR"
    data = payload + b"S'" + b"x" * (257 - len(payload) - 2) + b"ustar" + b"'\np0\n0."
    assert data[257:262] == b"ustar"
    report = scan_artifact(data)
    assert dangerous(report) == {"os.system"}


def test_valid_tar_header_that_is_also_a_pickle_is_read_both_ways():
    # The member name is a protocol-0 program: tarfile takes the block for a header, pickle.load runs it.
    name = "cos\nsystem\n(S'true'\ntR."
    data = tar([(name, b"plain"), ("inner.pkl", pickle.dumps({"benign": 1}, protocol=2))], tarfile.USTAR_FORMAT)
    assert is_tar(data) and data.startswith(b"cos\nsystem\n")
    report = scan_artifact(data)
    assert dangerous(report) == {"os.system"}
    assert {c.member for c in report.callables} == {""}  # found by the pickle reading of the whole file


def test_ustar_magic_with_a_wrong_checksum_is_not_a_tar():
    block = bytearray(tar([("a.txt", b"x")])[:512])
    block[148:156] = b"0000000\0"
    assert not is_tar(bytes(block))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_legacy_checkpoints_never_break_the_scan(torch_names, draw):
    data = bytearray(legacy_checkpoint(torch_names))
    for _ in range(draw.draw(st.integers(1, 6))):
        at = draw.draw(st.integers(0, len(data) - 1))
        data[at] = draw.draw(st.integers(0, 255))
    report = scan_artifact(bytes(data), Limits(max_opcodes=100_000))
    assert not any(r.startswith("scanner error") for r in reasons(report)), report.unscanned
    assert report == scan_artifact(bytes(data), Limits(max_opcodes=100_000))


def test_pickle_that_is_also_a_tar_has_its_members_scanned():
    # The first member's name is a protocol-2 pickle (PROTO, then a benign program): it sniffs as a pickle,
    # and tarfile-based loaders (pandas' .tar, torch's legacy reader) read the members.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT, encoding="latin-1") as archive:
        for name, content in (("\x80\x02N.", b""), ("inner.pkl", pickle.dumps(Evil(), protocol=2))):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    assert data.startswith(b"\x80\x02N.") and is_tar(data)
    report = scan_artifact(data)
    assert report.kind == "pickle"
    assert [(c.member, c.qualname) for c in report.callables] == [("inner.pkl", "posix.system")]
