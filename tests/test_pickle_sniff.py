"""Pickles found by content (core/pickle_sniff.py): every protocol under any name, never a text file.

Every pickle here is built from bytes or with pickle.dumps, never loaded.
"""

from __future__ import annotations

import collections
import os
import pickle
from pathlib import Path

import pytest

from mllint_sec.core import pickle_sniff
from mllint_sec.core.file_kinds import FileKind
from mllint_sec.core.pickle_sniff import (
    HEAD_BYTES,
    NOT_PICKLE,
    PICKLE,
    UNDECIDED,
    WINDOW_BYTES,
    pickle_file,
    sniff_pickle,
)
from mllint_sec.engine.config import Config
from mllint_sec.engine.discovery import Discovery


class Evil:
    """Pickles as a call to os.system (dumped only: loading it would run the command)."""

    def __reduce__(self):
        return (os.system, ("true",))


def whole(data: bytes) -> str:
    """The verdict on a file that is exactly `data`."""
    return sniff_pickle(data, len(data))


# Hand-written protocol 0/1 payloads, one per way a pickle can begin.
GLOBAL_FIRST = b"cos\nsystem\n(S'true'\ntR."
MARK_THEN_INST = b"(S'true'\nios\nsystem\n."
MARK_THEN_OBJ = b"(cos\nsystem\nS'true'\no."
PROTO_1 = b"\x80\x01cos\nsystem\nq\x00(X\x04\x00\x00\x00trueq\x01tq\x02Rq\x03."
PROTO_0 = b"\x80\x00" + GLOBAL_FIRST
# pickle.dumps(Evil(), protocol=1) without its GLOBAL in front: EMPTY_DICT first, then the call.
DICT_FIRST = b"}q\x00(X\x01\x00\x00\x00kq\x01cos\nsystem\nq\x02X\x04\x00\x00\x00trueq\x03\x85q\x04Rq\x05u."


# --- the verdict on bytes -----------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(
    "value",
    [Evil(), {"w": [1.0, 2.0]}, collections.OrderedDict(w=1.5), [1, "two", (3,)], "text", 7, None],
    ids=["call", "dict", "ordered-dict", "list", "str", "int", "none"],
)
def test_every_protocol_is_a_pickle(protocol, value):
    assert whole(pickle.dumps(value, protocol=protocol)) == PICKLE


@pytest.mark.parametrize(
    "data",
    [GLOBAL_FIRST, MARK_THEN_INST, MARK_THEN_OBJ, PROTO_1, PROTO_0, DICT_FIRST],
    ids=["global", "mark-inst", "mark-obj", "proto-1", "proto-0", "empty-dict"],
)
def test_every_first_opcode_a_payload_can_start_with(data):
    assert whole(data) == PICKLE


@pytest.mark.parametrize("protocol_byte", [b"\x00", b"\x01", b"\x02", b"\x05"])
def test_proto_is_a_magic_number(protocol_byte):
    assert sniff_pickle(b"\x80" + protocol_byte) == PICKLE


def test_an_unknown_protocol_is_not_a_pickle():
    assert whole(b"\x80\x06" + GLOBAL_FIRST) == NOT_PICKLE  # the unpickler refuses protocol 6


def test_a_load_that_calls_before_it_breaks_is_a_pickle():
    # No STOP, garbage after the call: a load runs os.system before it fails.
    assert whole(b"cos\nsystem\n(S'true'\ntR") == PICKLE
    assert whole(b"cos\nsystem\n(S'true'\ntR\xff\xffgarbage") == PICKLE


def test_a_stream_that_breaks_before_any_call_is_not():
    assert whole(b"cos\nsystem\n(S'true'\nt") == NOT_PICKLE  # ends before REDUCE
    assert whole(b"cos\nsystem\n(S'true'\nt\xff") == NOT_PICKLE


def test_complete_streams_alone_are_a_pickle_but_not_when_text_follows():
    assert whole(pickle.dumps([1, 2], protocol=0) + pickle.dumps("x", protocol=1)) == PICKLE
    assert whole(pickle.dumps([1, 2], protocol=0) + b"\nmore text\n") == NOT_PICKLE
    assert whole(b"N. Smith wrote this.") == NOT_PICKLE


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"# Title\n\nSome text that explains the project.\n",
        b"a,b,c\n1,2,3\n4,5,6\n",
        b"import os\nos.system('true')\n",
        b"#!/usr/bin/env python\nprint('hi')\n",
        b'{"json": [1, 2, 3]}\n',
        b"key: value\nother: 2\n",
        b"(see the notes below)\nand more text\n",
        b"(c) 2024 The Authors\n",
        b"(\n(\n",  # MARKs then a newline, which is no opcode
        b"cats\ndogs\nmore text\n",  # a valid GLOBAL, then text: imported, never called
        b"config\nvalue\n",  # a GLOBAL and the end of the file
        b"class Model:\n    pass\n",
        b"Vienna\nParis\nRome\n",  # UNICODE, PERSID, REDUCE: a call, but of nothing imported
    ],
    ids=lambda d: d[:12].decode("latin-1"),
)
def test_text_files_are_not_pickles(data):
    assert whole(data) == NOT_PICKLE


def test_a_pickle_of_none_is_a_pickle():
    assert whole(b"N.") == PICKLE  # complete: harmless, and what the scan reads as a clean pickle


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        b"BM" + (600).to_bytes(4, "little") + bytes(600),  # BINBYTES whose length runs past the end
        b"GIF89a" + bytes(300),
        b"\x1f\x8b\x08\x00" + bytes(40),
        bytes(1000),
        b"The quick brown fox.\n" * 40,  # BINSTRING of a length far past the end
    ],
    ids=["png", "bmp", "gif", "gzip", "zeros", "text-T"],
)
def test_binary_and_long_text_files_are_not_pickles(data):
    assert whole(data) == NOT_PICKLE


@pytest.mark.parametrize(
    "data",
    [
        b"g0\n.",  # GET of a memo entry never stored
        b"p0\nN.",  # PUT with nothing on the stack
        b"a",  # APPEND with nothing to append to
        b"t.",  # TUPLE without MARK
        b"S'unquoted\n.",
        b"Inot a number\n.",
        b"c os\nsystem\n)R.",  # a GLOBAL module name no import finds
        b"\x82\x00N.",  # extension code 0
    ],
)
def test_where_the_unpickler_fails_the_sniff_fails(data):
    assert whole(data) == NOT_PICKLE


def test_a_head_cut_inside_an_argument_is_undecided_until_the_rest_is_read():
    line = b"V" + b"x" * 300 + b"\n"  # one UNICODE line longer than the head
    assert sniff_pickle(line[:HEAD_BYTES]) == UNDECIDED
    assert whole(line + b"then some text\n") == NOT_PICKLE
    assert whole(line + b".") == PICKLE  # a pickle of that string


def test_a_cut_line_that_cannot_be_its_argument_decides_early():
    # INT, STRING and GLOBAL lines are checked as far as they were read.
    assert sniff_pickle(b"I" + b"t is a long first line" * 20) == NOT_PICKLE
    assert sniff_pickle(b"S" + b"ome text" * 40) == NOT_PICKLE
    assert sniff_pickle(b"c" + b"lass Model(nn.Module): " * 20) == NOT_PICKLE
    assert sniff_pickle(b"I" + b"1" * 300) == UNDECIDED


# --- reading a file: how much, and what discovery makes of it -------------------------------


@pytest.fixture
def reads(monkeypatch):
    """The byte counts pickle_file asks the bounded reader for."""
    asked: list[int] = []
    original = pickle_sniff.read_head

    def counting(path, count):
        asked.append(count)
        return original(path, count)

    monkeypatch.setattr(pickle_sniff, "read_head", counting)
    return asked


def check(path: Path, data: bytes, reads: list[int]) -> bool:
    path.write_bytes(data)
    return pickle_file(path, data[:HEAD_BYTES])


def test_a_decided_head_reads_nothing_more(tmp_path, reads):
    assert check(tmp_path / "a", pickle.dumps(Evil(), protocol=1), reads)
    assert not check(tmp_path / "b", b"# README\n" * 100, reads)
    assert reads == []


def test_a_payload_padded_past_the_head_is_found_in_the_window(tmp_path, reads):
    padded = b"V" + b"p" * 1000 + b"\n0" + GLOBAL_FIRST  # a long string, POP, then the payload
    assert check(tmp_path / "weights.png", padded, reads)
    assert reads == [WINDOW_BYTES]


def test_a_window_of_valid_opcodes_is_a_pickle(tmp_path, reads):
    # Padding longer than the window: no count of opcodes can be required without a bypass.
    assert check(tmp_path / "weights.png", b"V" + b"p" * (WINDOW_BYTES + 10) + b"\n0" + GLOBAL_FIRST, reads)
    assert reads == [WINDOW_BYTES]


def test_a_long_first_line_of_text_is_read_at_most_a_window_and_rejected(tmp_path, reads):
    assert not check(tmp_path / "notes", b"V" + b"very long line " * 100 + b"\nthen text\n" * 10, reads)
    assert reads == [WINDOW_BYTES]


def test_a_large_protocol_0_pickle_without_a_call_in_its_head_is_a_pickle(tmp_path, reads):
    data = pickle.dumps(list(range(5000)) + [Evil()], protocol=0)
    assert check(tmp_path / "table.dat", data, reads)


def kind(tmp_path: Path, name: str, data: bytes) -> FileKind | None:
    path = tmp_path / name
    path.write_bytes(data)
    return Discovery(Config(), tmp_path).kind_of(path)


@pytest.mark.parametrize(
    "name, data",
    [
        ("weights.png", PROTO_1),
        ("weights.png", b"\x80\x01" + GLOBAL_FIRST),
        ("logo.png", MARK_THEN_INST),
        ("model.safetensors", pickle.dumps(Evil(), protocol=1)),
        ("model.safetensors", pickle.dumps(Evil(), protocol=0)),
        ("blob", MARK_THEN_OBJ),
        ("data.csv", DICT_FIRST),
    ],
)
def test_discovery_takes_any_protocol_under_any_name_for_an_artifact(tmp_path, name, data):
    assert kind(tmp_path, name, data) == FileKind.ARTIFACT


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("README.md", b"# Project\n\n(see below) cats\ndogs\n", FileKind.RECORD),
        ("data.csv", b"a,b,c\n1,2,3\n", FileKind.DATA),
        ("notes", b"(c) 2024 The Authors\nAll rights reserved.\n", None),
        ("names", b"config\nvalue\n", None),
        ("setup.sh", b"cd build\nmake\n", None),
        ("model.safetensors", b"\x40\x00\x00\x00\x00\x00\x00\x00" + b'{"w":{"dtype":"F32"}}' + bytes(40), FileKind.DATA),
    ],
)
def test_discovery_keeps_text_and_data_files_what_they_were(tmp_path, name, data, expected):
    assert kind(tmp_path, name, data) == expected


def test_every_protocol_payload_under_another_name_is_art001(scan, tmp_path):
    files = {
        "assets/weights.png": PROTO_1,
        "assets/logo.png": MARK_THEN_INST,
        "model.safetensors": pickle.dumps(Evil(), protocol=1),
        "blob": MARK_THEN_OBJ,
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "README.md").write_text("(c) notes\ncats\ndogs\n")
    report, code = scan(tmp_path, "--select", "ART")
    assert code == 1
    assert sorted(f["path"] for f in report["findings"] if f["rule_id"] == "ART001") == sorted(files)
    assert all(f["rule_id"] == "ART001" for f in report["findings"])
