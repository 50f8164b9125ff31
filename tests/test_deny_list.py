"""The deny-list by capability (rules/pickle-callables.toml), private aliases, numpy 2 paths and
BUILD on a global: one hostile artifact per technique, built here from bytes and never loaded,
and the benign controls that must stay clean.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import sys
import types
import zipfile

import numpy as np
import pytest

from mllint_sec.artifacts import scan_artifact
from mllint_sec.artifacts.callables import ALLOWED, DANGEROUS, UNKNOWN, classify, default_lists, load_lists


def text(value: str) -> bytes:
    raw = value.encode()
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


def call(module: str, name: str, *args: str) -> bytes:
    """A protocol 4 pickle that calls module.name(*args): STACK_GLOBAL (dotted names allowed), REDUCE."""
    arguments = b"(" + b"".join(text(a) for a in args) + b"t"
    return b"\x80\x04" + text(module) + text(name) + b"\x93" + arguments + b"R."


def dangerous(data: bytes) -> set[str]:
    return {c.qualname for c in scan_artifact(data).callables if c.verdict == DANGEROUS}


# The gaps issue 19 names: each was ART002 (medium) only, each is ART001 now.
ISSUE_GAPS = [
    ("imaplib", "IMAP4_stream", ("sh -c id",)),
    ("_osx_support", "_read_output", ("id",)),
    ("_aix_support", "_read_cmd_output", ("id",)),
    ("_pyrepl.pager", "pipe_pager", ("text", "", "sh -c id")),
    ("_xxsubinterpreters", "run_string", ("0", "import os")),
    ("site", "addsitedir", ("/tmp/planted",)),
    ("numpy", "savetxt", ("/home/user/.bashrc", "x")),
    ("_pyio", "open", ("/home/user/.bashrc", "w")),
    ("http.server", "test", ()),
    ("numpy.lib._npyio_impl", "load", ("/tmp/second.npy",)),
    ("tempfile", "_os.system", ("id",)),
    ("builtins", "help", ("os",)),
]


@pytest.mark.parametrize("module, name, args", ISSUE_GAPS, ids=[f"{m}.{n}" for m, n, _ in ISSUE_GAPS])
def test_each_gap_the_issue_names_is_dangerous(module, name, args):
    assert f"{module}.{name}" in dangerous(call(module, name, *args))


# Their siblings: other callables that run a command, execute code, write files or serve.
SIBLINGS = [
    ("_osx_support", "_find_build_tool"),  # xcrun -find <name> through a shell
    ("_pyrepl.pager", "tempfile_pager"),
    ("_interpreters", "run_string"),  # Python 3.13's name of _xxsubinterpreters
    ("concurrent.interpreters", "create"),
    ("site", "addpackage"),
    ("numpy", "save"),
    ("numpy", "savez_compressed"),
    ("numpy", "memmap"),
    ("numpy.lib._npyio_impl", "savetxt"),
    ("numpy.lib.npyio", "DataSource"),
    ("numpy.lib._datasource", "DataSource"),
    ("numpy._core.memmap", "memmap"),
    ("numpy.lib._format_impl", "read_array"),
    ("numpy.lib._format_impl", "open_memmap"),
    ("numpy", "ndarray.tofile"),
    ("_pyio", "FileIO"),
    ("http.server", "CGIHTTPRequestHandler"),
    ("socketserver", "TCPServer"),
    ("wsgiref.simple_server", "make_server"),
    ("xmlrpc.server", "SimpleXMLRPCServer"),
    ("poplib", "POP3"),
    ("uuid", "_find_mac_near_keyword"),
    ("platform", "_syscmd_file"),
    ("tkinter", "Tcl"),
    ("_winapi", "CreateProcess"),
    ("pexpect", "spawn"),
    ("shutil", "rmtree"),
    ("tempfile", "mkstemp"),
    ("tarfile", "open"),
    ("zipfile", "ZipFile"),
    ("logging.handlers", "SocketHandler"),
    ("logging", "FileHandler"),
    ("py_compile", "compile"),
    ("sqlite3", "connect"),
    ("_imp", "create_dynamic"),
    ("_frozen_importlib", "_load"),
    ("atexit", "register"),
    ("threading", "Thread"),
    ("signal", "raise_signal"),
    ("builtins", "exit"),
    ("gc", "get_objects"),
    ("yaml", "unsafe_load"),
    ("torch.serialization", "_load"),
    ("torch", "ops.load_library"),
    ("pathlib._local", "Path.write_text"),  # Python 3.13's module of the path classes
]


@pytest.mark.parametrize("module, name", SIBLINGS, ids=[f"{m}.{n}" for m, n in SIBLINGS])
def test_siblings_are_dangerous(module, name):
    assert classify(module, name) == DANGEROUS


ALIASES = [
    ("tempfile", "_os.system"),
    ("random", "_os.system"),
    ("random", "_sys.modules"),
    ("argparse", "_sys.modules"),
    ("mypkg", "_subprocess.Popen"),
    ("subprocess", "_posixsubprocess.fork_exec"),
    ("mypkg", "_posixsubprocess.fork_exec"),
    ("mypkg.util", "_shutil.rmtree"),
    ("mypkg", "helpers._socket.socket"),
    ("mypkg", "_pickle.loads"),
]


@pytest.mark.parametrize("module, name", ALIASES, ids=[f"{m}.{n}" for m, n in ALIASES])
def test_private_aliases_resolve_to_the_module_they_alias(module, name):
    assert classify(module, name) == DANGEROUS
    assert f"{module}.{name}" in dangerous(call(module, name, "id"))


@pytest.mark.parametrize(
    "module, name, verdict",
    [
        ("numpy.random._pickle", "__randomstate_ctor", ALLOWED),  # numpy's own _pickle module, not pickle
        ("numpy._core.multiarray", "_reconstruct", ALLOWED),  # _core: no listed module is called `core`
        ("torch._utils", "_rebuild_tensor_v2", ALLOWED),
        ("_codecs", "encode", ALLOWED),  # codecs.open is listed, codecs.encode is not
        ("mypkg._os_helpers", "Model", UNKNOWN),  # not a segment `_os`
        ("mypkg", "_model.Net", UNKNOWN),
        ("mypkg", "_io_utils.Reader", UNKNOWN),
    ],
)
def test_an_underscore_alone_is_not_an_alias(module, name, verdict):
    assert classify(module, name) == verdict


@pytest.mark.parametrize(
    "module, name",
    [
        ("numpy", "load"),
        ("numpy.lib.npyio", "load"),  # numpy 1
        ("numpy.lib._npyio_impl", "load"),  # numpy 2, where numpy.load lives
        ("numpy.lib.format", "read_array"),
        ("numpy.lib._format_impl", "read_array"),
        ("numpy.ctypeslib._ctypeslib", "load_library"),
        ("numpy.testing._private.utils", "runstring"),
    ],
)
def test_numpy_functions_are_listed_under_numpy_1_and_numpy_2_paths(module, name):
    assert classify(module, name) == DANGEROUS


# --- BUILD on a global ----------------------------------------------------------------------


def test_build_on_a_dotted_global_is_a_setattr():
    # STACK_GLOBAL "mypkg.sub" "Helper.config" pushes the object itself; BUILD with (None, {slot: value})
    # setattr()s it: the pickle rewrites an attribute of a module-level object for every later load.
    state = b"N}" + text("verify") + text("off") + b"s\x86"
    data = b"\x80\x04" + text("mypkg.sub") + text("Helper.config") + b"\x93" + state + b"b."
    report = scan_artifact(data)
    by_name = {c.qualname: c for c in report.callables}
    assert by_name["mypkg.sub.Helper.config.__setattr__"].verdict == DANGEROUS
    assert by_name["mypkg.sub.Helper.config.__setattr__"].opcode == "BUILD"
    assert by_name["mypkg.sub.Helper.config"].verdict == UNKNOWN


def test_build_on_a_global_in_a_protocol_0_pickle():
    data = b"ctorch.serialization\nDEFAULT_PROTOCOL\n(dS'x'\nS'y'\nsb."
    assert dangerous(data) == {"torch.serialization.DEFAULT_PROTOCOL.__setattr__"}


def test_build_on_an_object_a_call_made_is_ordinary_state():
    # The usual instance pickle: the class is called (NEWOBJ), then BUILD sets the instance's state.
    data = b"\x80\x04" + text("mypkg.models") + text("Net") + b"\x93)\x81}" + text("w") + b"K\x01sb."
    report = scan_artifact(data)
    assert [(c.qualname, c.verdict) for c in report.callables] == [("mypkg.models.Net", UNKNOWN)]


# --- the list as data -----------------------------------------------------------------------

CAPABILITIES = {"command-execution", "code-execution", "file-write", "network", "import-machinery"}


def test_every_entry_is_listed_under_a_capability_with_its_reason():
    lists = default_lists()
    assert len(lists.reasons) == len(lists.deny) > 200
    listed = {r.capability for r in lists.reasons}
    assert listed >= CAPABILITIES
    for reason in lists.reasons:
        assert reason.why.strip() and reason.capability, reason
    entries = [r.entry for r in lists.reasons]
    assert len(entries) == len(set(entries)), "an entry is listed twice"


def test_the_issue_gaps_are_under_the_capability_they_give():
    capability = {r.entry: r.capability for r in default_lists().reasons}
    assert capability["imaplib.IMAP4_stream"] == "command-execution"
    assert capability["_xxsubinterpreters"] == "code-execution"
    assert capability["site"] == "import-machinery"
    assert capability["numpy.savetxt"] == "file-write"
    assert capability["http.server"] == "network"


@pytest.mark.parametrize(
    "toml, problem",
    [
        ('[deny.network]\n"socket" = ""\n', "does not say why"),
        ('[deny.network]\n"socket" = 1\n', "does not say why"),
        ('[deny]\nentries = ["socket"]\n', "must map entries"),
        ('[deny.network]\n"bad name" = "why"\n', "malformed"),
        ("[deny.network]\n", "must map entries"),
    ],
)
def test_a_malformed_list_is_refused(tmp_path, toml, problem):
    path = tmp_path / "lists.toml"
    path.write_text(toml)
    with pytest.raises(ValueError, match=problem):
        load_lists(path)


# --- benign controls ----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_plain_state_dicts_stay_clean(protocol):
    state = collections.OrderedDict(
        [("layer.weight", [0.1, 0.2]), ("layer.bias", 0.0), ("meta", {"epoch": 3, "name": "run"})]
    )
    for value in (state, dict(state), [state, (1, 2.0, None)]):
        report = scan_artifact(pickle.dumps(value, protocol=protocol))
        assert report.unscanned == ()
        assert {c.verdict for c in report.callables} <= {ALLOWED}


def test_numpy_arrays_and_python_3_13_paths_stay_clean():
    arrays = pickle.dumps({"w": np.arange(6.0).reshape(2, 3), "i": np.int64(3)}, protocol=4)
    posix_path_3_13 = b"cpathlib._local\nPosixPath\np0\n(Vruns\np1\nVbest\np2\ntp3\nRp4\n."  # 3.13's pickle.dumps
    for data in (arrays, posix_path_3_13):
        report = scan_artifact(data)
        assert report.unscanned == () and {c.verdict for c in report.callables} == {ALLOWED}


class NumpyArrayWrapper:
    """joblib's placeholder for an array whose bytes follow the pickle raw."""

    def __init__(self, array: np.ndarray):
        self.subclass, self.shape, self.order, self.dtype = np.ndarray, array.shape, "C", array.dtype
        self.allow_mmap, self.numpy_array_alignment_bytes = True, None


NumpyArrayWrapper.__module__ = "joblib.numpy_pickle"


class JoblibWriter(pickle._Pickler):  # joblib writes with the pure-Python pickler
    def __init__(self, file, protocol):
        super().__init__(file, protocol=protocol)
        self.file_handle = file

    def save(self, obj, save_persistent_id=True):
        if type(obj) is not np.ndarray:
            return super().save(obj, save_persistent_id)
        super().save(NumpyArrayWrapper(obj))
        self.framer.commit_frame(force=True)
        self.file_handle.write(obj.tobytes())  # the raw buffer, outside any frame; it may look like opcodes
        return None


def test_joblib_with_numpy_buffers_stays_clean(monkeypatch):
    module = types.ModuleType("joblib.numpy_pickle")
    module.NumpyArrayWrapper = NumpyArrayWrapper
    monkeypatch.setitem(sys.modules, "joblib", types.ModuleType("joblib"))
    monkeypatch.setitem(sys.modules, "joblib.numpy_pickle", module)
    buffer = io.BytesIO()
    lookalike = np.frombuffer(b"\x80\x02cos\nsystem\n(tR.".ljust(32, b"."), dtype=np.uint8)
    JoblibWriter(buffer, protocol=4).dump({"coef": np.arange(8.0), "raw": lookalike.copy()})
    report = scan_artifact(buffer.getvalue())
    assert report.kind == "joblib"
    assert report.unscanned == () and DANGEROUS not in {c.verdict for c in report.callables}


def test_a_benign_torch_zip_stays_clean():
    # What torch.save writes for a state dict: _rebuild_tensor_v2 over a persistent storage.
    pickled = (
        b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00wq\x02ctorch._utils\n_rebuild_tensor_v2\n"
        b"q\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpu"
        b"q\x07K\x04tq\x08QK\x00K\x04\x85q\tK\x01\x85q\n\x89h\x00)Rq\x0btq\x0cRq\rs."
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
        archive.writestr("archive/version", "3\n")
    report = scan_artifact(buffer.getvalue())
    assert report.kind == "torch-zip"
    assert report.unscanned == () and {c.verdict for c in report.callables} == {ALLOWED}
