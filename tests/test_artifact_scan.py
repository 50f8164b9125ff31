"""scan_artifact on pickles, PyTorch-style zips, numpy files, zips and limits.

Every artifact is built here, in memory. Malicious objects are only ever dumped: the
scanner never loads them and neither do the tests.
"""

from __future__ import annotations

import collections
import importlib
import io
import os
import pickle
import struct
import sys
import types
import warnings
import zipfile

import numpy as np
import pytest

from mllint_sec.artifacts import Limits, scan_artifact
from mllint_sec.artifacts.pickle_ops import TORCH_LEGACY_MAGIC

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


class Evil:
    """Loading this runs `true` (harmless, but the scanner cannot know)."""

    def __reduce__(self):
        return (os.system, ("true",))


class ImportOs:
    def __reduce__(self):
        return (importlib.import_module, ("os",))


def dangerous(report) -> set[str]:
    return {c.qualname for c in report.callables if c.verdict == "dangerous"}


def verdicts(report) -> set[str]:
    return {c.verdict for c in report.callables}


def reasons(report) -> list[str]:
    return [u.reason for u in report.unscanned]


def assert_clean(report):
    assert verdicts(report) <= {"allowed"}, report
    assert report.unscanned == (), report


# --- raw pickles -----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_reduce_payload_is_dangerous_in_every_protocol(protocol):
    report = scan_artifact(pickle.dumps(Evil(), protocol=protocol))
    assert report.kind == "pickle"
    (found,) = report.callables
    assert (found.module, found.name, found.verdict, found.member) == ("posix", "system", "dangerous", "")
    assert found.opcode == ("STACK_GLOBAL" if protocol >= 4 else "GLOBAL")
    assert report.unscanned == ()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_payload_nested_deep_in_data(protocol):
    data = {"config": {"layers": [1, 2, {"hook": Evil()}]}, "weights": [0.5] * 10}
    report = scan_artifact(pickle.dumps(data, protocol=protocol))
    assert dangerous(report) == {"posix.system"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_benign_pickles_have_no_dangerous_callable(protocol):
    for value in (
        {"a": 1, "b": [1.5, 2.5], "c": ("x", None, True)},
        [1, 2, 3, "four", b"five", {6}],
        collections.OrderedDict((f"layer{i}.weight", float(i)) for i in range(20)),
        collections.OrderedDict,
    ):
        report = scan_artifact(pickle.dumps(value, protocol=protocol))
        assert report.kind == "pickle"
        assert_clean(report)


def test_protocol_2_ordered_dict_is_allowed():
    report = scan_artifact(pickle.dumps(collections.OrderedDict(a=1.0, b=2.0), protocol=2))
    assert [(c.qualname, c.verdict) for c in report.callables] == [("collections.OrderedDict", "allowed")]


def test_memo_indirected_stack_global_from_protocol_4():
    # The second STACK_GLOBAL fetches the memoized "importlib" string with BINGET.
    data = pickle.dumps([importlib.import_module, importlib.reload, ImportOs()], protocol=4)
    assert data.count(b"\x8c\x09importlib") == 1  # written once, then fetched from the memo
    report = scan_artifact(data)
    assert {"importlib.import_module", "importlib.reload", "os"} <= dangerous(report)
    assert {c.opcode for c in report.callables if c.module == "importlib"} == {"STACK_GLOBAL"}


def test_stack_global_strings_fetched_with_binget_after_other_work():
    data = (
        b"\x80\x04"
        b"\x8c\x09importlib\x94"  # memo 0
        b"\x8c\x0dimport_module\x94"  # memo 1
        b"N0K\x050"  # unrelated pushes and pops in between
        b"h\x00h\x01\x93"  # BINGET 0, BINGET 1, STACK_GLOBAL
        b"\x8c\x02os\x85R."
    )
    report = scan_artifact(data)
    assert {(c.qualname, c.opcode) for c in report.callables} == {
        ("importlib.import_module", "STACK_GLOBAL"),
        ("os", "REDUCE"),
    }
    assert verdicts(report) == {"dangerous"}


def test_stack_global_strings_fetched_with_get_and_long_binget():
    protocol0 = b"Vos\np0\n0Vsystem\np1\n0g0\ng1\n\x93(Vtrue\ntR."
    long_get = b"\x80\x04\x8c\x02osr\x00\x01\x00\x000\x8c\x06system\x940j\x00\x01\x00\x00h\x01\x93N\x85R."
    for data in (protocol0, long_get):
        assert dangerous(scan_artifact(data)) == {"os.system"}


def test_stack_global_with_computed_operands_is_unresolved():
    # The module name is the result of a call (str.lower("OS")): the scan cannot know it.
    data = b"\x80\x04cbuiltins\nstr.lower\n\x8c\x02OS\x85R\x8c\x06system\x93N\x85R."
    report = scan_artifact(data)
    assert any(r.startswith("unresolved global") for r in reasons(report))


def test_extension_codes_are_unresolved():
    report = scan_artifact(b"\x80\x02\x82\x05N\x85R.")
    assert any(r.startswith("unresolved global") for r in reasons(report))


def test_getattr_indirection_reports_the_reached_callable():
    data = b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(Vtrue\ntR."
    report = scan_artifact(data)
    found = {c.qualname: c for c in report.callables}
    assert set(found) == {"builtins.getattr", "builtins.__import__", "os", "os.system"}
    assert found["os.system"].opcode == "REDUCE"
    assert found["os.system"].verdict == "dangerous"


def test_getattr_called_with_obj_and_inst():
    obj = b"(cbuiltins\ngetattr\n(cbuiltins\n__import__\nVos\noVsystem\no(Vtrue\ntR."
    inst = b"((Vos\nibuiltins\n__import__\nVsystem\nibuiltins\ngetattr\n(Vtrue\ntR."
    for data in (obj, inst):
        assert {"os", "os.system"} <= dangerous(scan_artifact(data))


def test_getattr_chain_through_an_allowed_looking_module():
    # getattr(getattr(torch.Size, "os"), "system"): an attribute path from an allowed global into os.
    data = b"\x80\x02cbuiltins\ngetattr\nq\x00h\x00ctorch\nSize\nX\x02\x00\x00\x00os\x86RX\x06\x00\x00\x00system\x86R."
    report = scan_artifact(data)
    assert "torch.Size.os.system" in dangerous(report)


def test_python2_names_are_mapped_like_the_unpickler_does():
    # Protocols 0-2 map __builtin__ to builtins (fix_imports), and commands to subprocess.
    report = scan_artifact(b"\x80\x02c__builtin__\neval\nX\x04\x00\x00\x001+1q\x00\x85R.")
    assert dangerous(report) == {"builtins.eval"}
    report = scan_artifact(b"\x80\x02ccommands\ngetoutput\nX\x02\x00\x00\x00idq\x00\x85R.")
    assert dangerous(report) == {"subprocess.getoutput"}


def test_inst_and_obj_opcodes():
    inst = b"(Vtrue\nios\nsystem\n."
    obj = b"(cos\nsystem\nVtrue\no."
    for data in (inst, obj):
        assert dangerous(scan_artifact(data)) == {"os.system"}


def test_payload_in_a_second_concatenated_pickle():
    data = pickle.dumps({"benign": [1, 2, 3]}, protocol=4) + pickle.dumps(Evil(), protocol=2)
    report = scan_artifact(data)
    (found,) = report.callables
    assert found.qualname == "posix.system"
    assert found.offset > len(pickle.dumps({"benign": [1, 2, 3]}, protocol=4))
    assert report.unscanned == ()


def test_payload_in_a_third_pickle_after_benign_ones():
    data = b"".join(pickle.dumps(i, protocol=2) for i in range(3)) + pickle.dumps(Evil(), protocol=0)
    assert dangerous(scan_artifact(data)) == {"posix.system"}


def test_trailing_bytes_that_are_not_a_pickle_are_not_scanned():
    report = scan_artifact(pickle.dumps({"a": 1}, protocol=2) + b"\x00\x01garbage")
    assert report.kind == "pickle"
    assert reasons(report)[0].startswith("trailing data after pickle")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_truncated_pickle_keeps_what_was_read(protocol):
    full = pickle.dumps([Evil(), {"k": list(range(50))}], protocol=protocol)
    report = scan_artifact(full[:-5])
    assert report.kind == "pickle"
    assert dangerous(report) == {"posix.system"}
    assert any(r.startswith("truncated pickle") for r in reasons(report))


@pytest.mark.parametrize("cut", [3, 10, 20])
def test_pickle_cut_before_its_payload_is_truncated(cut):
    report = scan_artifact(pickle.dumps(Evil(), protocol=2)[:cut])
    assert report.kind == "pickle"
    assert any(r.startswith("truncated pickle") for r in reasons(report))


def test_invalid_opcode_after_proto_is_reported():
    report = scan_artifact(b"\x80\x02\xff\xff")
    assert report.kind == "pickle"
    assert reasons(report)[0].startswith("invalid pickle")


def test_protocol_0_pickle_with_garbage_after_a_call_is_still_dangerous():
    # A load runs os.system before it reaches the garbage.
    report = scan_artifact(b"cos\nsystem\n(Vtrue\ntR\x00\x00garbage")
    assert report.kind == "pickle"
    assert dangerous(report) == {"os.system"}
    assert reasons(report)[0].startswith("invalid pickle")


def test_legacy_torch_file_storages_are_not_pickle():
    storages = struct.pack("<q", 4) + np.array([1.0, 2.0, 3.0, 4.0], dtype="<f4").tobytes() + b"\x80\x02c."
    data = (
        pickle.dumps(TORCH_LEGACY_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)
        + pickle.dumps(collections.OrderedDict(w=1.0), protocol=2)
        + pickle.dumps(["0"], protocol=2)
        + storages
    )
    report = scan_artifact(data)
    assert report.kind == "pickle"
    assert_clean(report)
    evil = data.replace(pickle.dumps(collections.OrderedDict(w=1.0), protocol=2), pickle.dumps(Evil(), protocol=2))
    assert dangerous(scan_artifact(evil)) == {"posix.system"}


# --- identification by content ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["weights.png", "model.model", "README.txt", "noextension"])
def test_content_decides_not_the_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(Evil(), protocol=4))
    report = scan_artifact(path.read_bytes())
    assert report.kind == "pickle"
    assert dangerous(report) == {"posix.system"}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world\n",
        b"# Title\n\nSome text. N. Smith wrote it.\n",
        b"cat\ndog\nmore text that is not a pickle\n",
        b"N. Smith",
        b"import os\nos.system('true')\n",
        b"a,b,c\n1,2,3\n",
        b'{"json": [1, 2, 3]}',
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        bytes(1000),
    ],
)
def test_text_and_other_files_are_not_artifacts(data):
    report = scan_artifact(data)
    assert report.kind is None
    assert report.callables == () and report.unscanned == ()


def test_git_lfs_pointer():
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"ab" * 32 + b"\nsize 123456789\n"
    report = scan_artifact(pointer)
    assert (report.kind, report.callables, report.unscanned) == ("lfs-pointer", (), ())


# --- numpy --------------------------------------------------------------------------------


def npy(array, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def test_npy_without_objects_is_clean():
    for array in (np.zeros((3, 4)), np.arange(10, dtype=np.int8), np.array(["a", "bc"]), np.array([True])):
        report = scan_artifact(npy(array))
        assert report.kind == "npy"
        assert_clean(report)


def test_npy_raw_bytes_that_look_like_a_pickle_are_not_scanned():
    raw = np.frombuffer(pickle.dumps(Evil(), protocol=2).ljust(40, b"."), dtype=np.uint8)
    report = scan_artifact(npy(raw))
    assert report.kind == "npy"
    assert_clean(report)


def test_npy_object_array_payload():
    report = scan_artifact(npy(np.array([Evil(), 1], dtype=object), allow_pickle=True))
    assert report.kind == "npy"
    assert dangerous(report) == {"posix.system"}
    assert {c.qualname for c in report.callables if c.verdict == "allowed"} >= {"numpy.ndarray", "numpy.dtype"}


def test_npy_structured_dtype_with_an_object_field():
    array = np.array([(1.0, Evil())], dtype=[("x", "<f8"), ("obj", "O")])
    assert dangerous(scan_artifact(npy(array, allow_pickle=True))) == {"posix.system"}


def test_npy_with_an_unparsable_header_is_not_scanned():
    data = npy(np.array([Evil()], dtype=object), allow_pickle=True)
    broken = data[:10] + b"{'descr': |O" + data[22:]
    report = scan_artifact(broken)
    assert report.kind == "npy"
    assert reasons(report)[0].startswith("corrupt npy")


def test_npz_members():
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.zeros(3), hooks=np.array([Evil()], dtype=object))
    report = scan_artifact(buffer.getvalue())
    assert report.kind == "npz"
    assert {c.member for c in report.callables if c.verdict == "dangerous"} == {"hooks.npy"}


def test_compressed_npz_is_clean():
    buffer = io.BytesIO()
    np.savez_compressed(buffer, a=np.arange(1000.0), b=np.ones((10, 10)))
    report = scan_artifact(buffer.getvalue())
    assert report.kind == "npz"
    assert_clean(report)


# --- PyTorch-style zips ------------------------------------------------------------------------


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of `torch` in sys.modules for pickle to write references to it."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, torch._utils, utils._rebuild_tensor_v2 = FloatStorage, utils, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def torch_data_pkl(torch, extra=None) -> bytes:
    """A state dict as torch.save writes it: rebuild functions, storages by persistent id."""

    class Storage:
        pass

    class Tensor:
        def __reduce_ex__(self, protocol):
            return (torch._utils._rebuild_tensor_v2, (Storage(), 0, (2, 2), (2, 1), False, collections.OrderedDict()))

    class TorchPickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", 4) if isinstance(obj, Storage) else None

    state = collections.OrderedDict(weight=Tensor(), bias=Tensor())
    if extra is not None:
        state["extra"] = extra
    buffer = io.BytesIO()
    TorchPickler(buffer, protocol=2).dump(state)
    return buffer.getvalue()


def make_zip(members: dict[str, bytes] | list[tuple[str, bytes]], compression=zipfile.ZIP_STORED) -> bytes:
    items = members.items() if isinstance(members, dict) else members
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, content in items:
                archive.writestr(name, content)
    return buffer.getvalue()


def torch_zip(data_pkl: bytes, **extra: bytes) -> bytes:
    members = {
        "archive/data.pkl": data_pkl,
        "archive/byteorder": b"little",
        "archive/data/0": np.array([1.0, 2.0, 3.0, 4.0], dtype="<f4").tobytes(),
        "archive/data/1": bytes([0x80, 0x02, 0x5D, 0x71]) * 4,  # tensor bytes that start like a pickle
        "archive/version": b"3\n",
        "archive/.data/serialization_id": b"1234567890123456789012345678901234567890",
    }
    members.update({name.replace("__", "/"): content for name, content in extra.items()})
    return make_zip(members)


def test_benign_torch_checkpoint(fake_torch):
    report = scan_artifact(torch_zip(torch_data_pkl(fake_torch)))
    assert report.kind == "torch-zip"
    assert_clean(report)
    assert {c.qualname for c in report.callables} == {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch.FloatStorage",
    }
    assert {c.member for c in report.callables} == {"archive/data.pkl"}


def test_torch_checkpoint_payload_in_data_pkl(fake_torch):
    report = scan_artifact(torch_zip(torch_data_pkl(fake_torch, extra=Evil())))
    assert report.kind == "torch-zip"
    assert [(c.member, c.qualname) for c in report.callables if c.verdict == "dangerous"] == [
        ("archive/data.pkl", "posix.system")
    ]


def test_torch_checkpoint_payload_in_another_member(fake_torch):
    data = torch_zip(torch_data_pkl(fake_torch), archive__extra__hook_bin=pickle.dumps(Evil(), protocol=2))
    report = scan_artifact(data)
    assert [(c.member, c.qualname) for c in report.callables if c.verdict == "dangerous"] == [
        ("archive/extra/hook_bin", "posix.system")
    ]


def test_zip_member_with_a_protocol_0_payload():
    report = scan_artifact(make_zip({"notes.txt": b"text", "sub/config": pickle.dumps(Evil(), protocol=0)}))
    assert report.kind == "zip"
    assert [(c.member, c.qualname) for c in report.callables] == [("sub/config", "posix.system")]


def test_nested_zip_members_are_scanned():
    inner = make_zip({"model/data.pkl": pickle.dumps(Evil(), protocol=2)})
    outer = make_zip({"bundle/inner.zip": inner, "readme.md": b"# readme"}, compression=zipfile.ZIP_DEFLATED)
    report = scan_artifact(outer)
    assert [(c.member, c.qualname) for c in report.callables] == [("bundle/inner.zip!model/data.pkl", "posix.system")]


def test_nesting_deeper_than_the_limit_is_not_scanned():
    data = pickle.dumps(Evil(), protocol=2)
    for level in range(5):
        data = make_zip({f"level{level}.zip": data})
    report = scan_artifact(data, Limits(max_depth=3))
    assert any(r.startswith("nesting too deep") for r in reasons(report))
    assert report.kind == "zip"


def set_zip_flag(data: bytes, bit: int) -> bytes:
    """Set a general-purpose flag bit in every local and central header."""
    out = bytearray(data)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = out.find(signature)
        while at >= 0:
            (flags,) = struct.unpack_from("<H", out, at + flag_at)
            struct.pack_into("<H", out, at + flag_at, flags | bit)
            at = out.find(signature, at + 4)
    return bytes(out)


def test_encrypted_zip_member_is_not_scanned():
    data = set_zip_flag(make_zip({"archive/data.pkl": pickle.dumps(Evil(), protocol=2)}), 0x1)
    report = scan_artifact(data)
    assert report.kind == "torch-zip"
    assert [(u.reason, u.member) for u in report.unscanned] == [("encrypted zip member", "archive/data.pkl")]


def test_data_descriptor_flag_and_bad_crc_do_not_hide_the_payload():
    data = bytearray(set_zip_flag(make_zip({"archive/data.pkl": pickle.dumps(Evil(), protocol=2)}), 0x8))
    for signature, crc_at in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        at = data.find(signature)
        struct.pack_into("<I", data, at + crc_at, 0xDEADBEEF)
    report = scan_artifact(bytes(data))
    assert dangerous(report) == {"posix.system"}


def test_duplicate_member_names_are_all_scanned():
    members = [("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2)), ("archive/data.pkl", pickle.dumps(Evil(), protocol=2))]
    assert dangerous(scan_artifact(make_zip(members))) == {"posix.system"}


def test_truncated_zip_is_corrupt():
    data = make_zip({"archive/data.pkl": pickle.dumps(Evil(), protocol=2)})
    report = scan_artifact(data[: len(data) - 30])
    assert reasons(report)[0].startswith("corrupt zip")
    # A streaming reader still finds the local entry before the cut: it is scanned (zip_reading).
    assert dangerous(report) == {"posix.system"}


def test_zip_bomb_by_ratio_is_not_extracted():
    data = make_zip({"bomb.bin": bytes(8 << 20)}, compression=zipfile.ZIP_DEFLATED)
    report = scan_artifact(data)
    assert [(u.reason.startswith("zip bomb: ratio"), u.member) for u in report.unscanned] == [(True, "bomb.bin")]


def test_zip_member_with_a_lying_size_is_not_extracted():
    data = bytearray(make_zip({"archive/data.pkl": pickle.dumps(Evil(), protocol=2)}))
    at = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, at + 24, 0x7FFFFFFF)  # uncompressed size in the central directory
    report = scan_artifact(bytes(data))
    assert any(r.startswith("zip bomb: ratio") for r in reasons(report))
    # The local header's true size disagrees (ART003), and a streaming reader's reading is scanned.
    assert reasons(report)[0].startswith("ambiguous zip")
    assert dangerous(report) == {"posix.system"}


def test_too_many_members():
    data = make_zip({f"f{i}": b"x" for i in range(20)})
    report = scan_artifact(data, Limits(max_members=10))
    assert reasons(report)[0].startswith("too many members")


def test_total_extracted_bytes_are_limited():
    data = make_zip({f"f{i}": bytes(600) for i in range(5)})
    report = scan_artifact(data, Limits(max_decompressed_bytes=2000))
    assert sum(r.startswith("size limit") for r in reasons(report)) == 2


def test_unsupported_compression_method_is_not_scanned():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(Evil(), protocol=2))
    report = scan_artifact(buffer.getvalue())
    assert reasons(report)[0].startswith("unreadable zip member")


# --- limits ----------------------------------------------------------------------------------


def test_file_above_the_size_limit_is_not_scanned():
    report = scan_artifact(pickle.dumps(Evil(), protocol=2), Limits(max_file_bytes=10))
    assert report.kind == "pickle"
    assert report.callables == ()
    assert reasons(report)[0].startswith("size limit")


def test_opcode_budget():
    report = scan_artifact(pickle.dumps(list(range(1000)), protocol=2), Limits(max_opcodes=100))
    assert reasons(report) == ["opcode budget exhausted"]


def test_report_is_deterministic_and_deduplicated():
    data = pickle.dumps([Evil(), Evil(), importlib.import_module], protocol=0)
    first, second = scan_artifact(data), scan_artifact(data)
    assert first == second
    assert [c.qualname for c in first.callables] == ["posix.system", "importlib.import_module"]
    assert first.callables[0].offset < first.callables[1].offset


def test_extra_allow_list():
    data = b"\x80\x02csklearn.linear_model\nLogisticRegression\n)\x81."
    assert verdicts(scan_artifact(data)) == {"unknown"}
    assert verdicts(scan_artifact(data, extra_allow=("sklearn.*",))) == {"allowed"}
    with pytest.raises(ValueError):
        scan_artifact(data, extra_allow=("not a name",))


# --- the scanner itself ------------------------------------------------------------------------

FORBIDDEN_NAMES = {"load", "loads", "Unpickler", "_Unpickler", "eval", "exec", "__import__", "import_module"}
FORBIDDEN_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "torch", "importlib", "numpy"}


def test_the_scanner_never_unpickles_or_imports_from_data():
    import ast
    from pathlib import Path

    import mllint_sec.artifacts

    sources = sorted(Path(mllint_sec.artifacts.__file__).parent.glob("*.py"))
    assert len(sources) >= 5
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            used = (
                node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            )
            reads_toml = isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "tomllib"
            assert used not in FORBIDDEN_NAMES or reads_toml, f"{path.name}:{node.lineno} uses {used}"
            if isinstance(node, ast.Import):
                modules = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                modules = {(node.module or "").split(".")[0]}
            else:
                continue
            assert not modules & FORBIDDEN_MODULES, f"{path.name}:{node.lineno} imports {modules}"
