"""scan_artifact on random and mutated input: never raises, never errs internally, and does bounded work.

Bounded work is checked by behaviour, not by a clock: every walk draws on the opcode budget,
so a scan given a tiny budget either finds exactly what the full scan finds or says that the
budget ran out. A scan that could go on without drawing on it would fail that, not time out.
"""

from __future__ import annotations

import collections
import gzip
import io
import os
import pickle
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mllint_sec.artifacts import Limits, scan_artifact


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


_VALUE = {"a": [1, 2.5, "x", b"y", None, True], "od": collections.OrderedDict(k=1.0), "e": Evil(), "s": {1, 2}}
CORPUS = [pickle.dumps(_VALUE, protocol=p) for p in range(pickle.HIGHEST_PROTOCOL + 1)] + [
    _zip({"archive/data.pkl": pickle.dumps(_VALUE, protocol=2), "archive/data/0": bytes(range(64))}),
    _zip({"x.npy": _npy(np.array([Evil(), 1], dtype=object))}, zipfile.ZIP_DEFLATED),
    _npy(np.array([Evil(), 1], dtype=object)),
    _npy(np.arange(10.0)),
    gzip.compress(pickle.dumps(_VALUE, protocol=4)),
]
LIMITS = Limits(max_opcodes=200_000, max_decompressed_bytes=8 << 20)
TINY_BUDGET = Limits(max_opcodes=64, max_decompressed_bytes=8 << 20)


def _check(data: bytes) -> None:
    report = scan_artifact(data, LIMITS)
    assert not any(u.reason.startswith("scanner error") for u in report.unscanned), report.unscanned
    assert {c.verdict for c in report.callables} <= {"dangerous", "unknown", "allowed"}
    bounded = scan_artifact(data, TINY_BUDGET)
    assert bounded == report or "opcode budget exhausted" in {u.reason for u in bounded.unscanned}, bounded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    _check(data)


# Bytes that are opcodes, lengths and line ends, so random programs get past the first opcode.
_OPCODE_SOUP = st.lists(
    st.sampled_from(list(b"()0129NIJKLMFGSTUVXabcdeghijlopqrstu}.]\x80\x81\x85\x86\x87\x88\x89\x8a\x8c\x8f\x90\x91\x92\x93\x94\x95\x97\x98")
    + [ord("\n"), 0, 1, 2, 4, 255]),
    max_size=300,
).map(bytes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPCODE_SOUP)
def test_random_opcode_programs(data):
    _check(b"\x80\x04" + data)
    _check(data)


@st.composite
def _mutated(draw):
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_artifacts(data):
    _check(data)


def test_a_corrupt_npy_header_is_reported_the_same_way_every_time():
    # literal_eval's error for a bare name quotes an AST node's repr with its memory address;
    # the reason must not carry it, or two scans of one file give two reports.
    header = b"{'descr': '|O', 'fortran_order': Galse, 'shape': (2,), }"
    data = b"\x93NUMPY\x01\x00v\x00" + header.ljust(0x76 - 1) + b"\n"  # 0x76: the length field
    reasons = [u.reason for u in scan_artifact(data, LIMITS).unscanned]
    assert reasons == ["corrupt npy: header is not a Python literal (ValueError)"]
    assert reasons == [u.reason for u in scan_artifact(data, LIMITS).unscanned]
