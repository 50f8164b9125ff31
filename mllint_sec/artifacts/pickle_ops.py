"""Walk pickle opcode streams, without unpickling, to find what a load would import and call.

A pickle is a program for a small stack machine. Only a few instructions reach outside
it: GLOBAL, INST, STACK_GLOBAL and EXT* import a global; REDUCE, NEWOBJ(_EX), OBJ, INST
and BUILD call something. This module runs the stack machine abstractly: strings, ints,
tuples, dicts and global references are tracked, everything else is an opaque value.
That resolves a STACK_GLOBAL whose strings come from the memo, getattr(module, "name")
and joblib's array headers. Nothing from the data is imported or executed.

Framing (how many bytes each opcode takes) follows CPython's unpickler exactly, so the
walk reads the same instructions a load would. Where a load fails (unknown opcode, stack
underflow, missing memo entry) the walk stops too; values it does not model never stop it.
"""

from __future__ import annotations

import _compat_pickle  # noqa: PLC2701 - the unpickler's own Python 2 name tables, so names map as a load maps them
import codecs
import pickletools
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of a pre-1.6 torch.save file
_TORCH_LEGACY_PICKLES = 5  # magic, protocol, sys_info, the object, storage keys; raw storages follow
_MAX_STRING = 1 << 16  # longer strings are not decoded; no importable name is that long

_JOBLIB_WRAPPERS = {
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
}
_IMPORTERS = {"builtins.__import__", "importlib.import_module"}
_DTYPE_CODE = re.compile(r"([biufcmMOSUV])([0-9]+)")  # numpy.dtype's pickled argument: kind, size

# Reasons a walk could not read everything (see scan_pickle).
_REASONS = {
    "truncated": "truncated pickle",
    "invalid": "invalid pickle",
    "budget": "opcode budget exhausted",
    "unpassable": "raw buffer could not be passed",
    "trailing": "trailing data after pickle",
}


@dataclass
class Budget:
    """Opcodes left for the whole artifact; shared by every walk."""

    opcodes: int


@dataclass(frozen=True)
class Import:
    module: str
    name: str  # may be a dotted attribute path; "" when a module object itself is imported
    offset: int  # of the opcode that imports it
    opcode: str


@dataclass
class PickleScan:
    is_pickle: bool = False
    joblib: bool = False
    imports: list[Import] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # Unscanned reasons


# --- values the abstract machine tracks -------------------------------------------------


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


OPAQUE = _Opaque()


@dataclass(frozen=True)
class Ref:
    """A global: a module attribute (name may be dotted), or the module itself (name "")."""

    module: str
    name: str

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}" if self.name else self.module


_OBJECT = Ref("builtins", "object")


class Obj:
    """What a call returned. `how` says how it was made, which joblib's array reader cares about."""

    __slots__ = ("args", "cls", "how", "state")
    cls: object
    how: str
    args: object
    state: object  # BUILD's argument, once built

    def __init__(self, cls: object, how: str, args: object):
        self.cls, self.how, self.args, self.state = cls, how, args, None


# --- opcode framing -----------------------------------------------------------------------

_FIXED, _LINE, _TWO_LINES, _COUNTED = range(4)
# (kind, size, count format): _FIXED takes `size` bytes; _COUNTED a length of `size` bytes
# packed as `format`, then that many bytes; the line kinds use neither.
_Framing = tuple[int, int, str]
_COUNT_FORMATS = {
    pickletools.TAKEN_FROM_ARGUMENT1: "<B",
    pickletools.TAKEN_FROM_ARGUMENT4: "<i",
    pickletools.TAKEN_FROM_ARGUMENT4U: "<I",
    pickletools.TAKEN_FROM_ARGUMENT8U: "<Q",
}


def _framing(op: pickletools.OpcodeInfo) -> _Framing | None:
    if op.arg is None:
        return None
    if op.name in ("GLOBAL", "INST"):
        return (_TWO_LINES, 0, "")
    if op.arg.n == pickletools.UP_TO_NEWLINE:
        return (_LINE, 0, "")
    if op.arg.n >= 0:
        return (_FIXED, op.arg.n, "")
    fmt = _COUNT_FORMATS[op.arg.n]
    return (_COUNTED, struct.calcsize(fmt), fmt)


_OPCODES = {ord(op.code): (op.name, _framing(op)) for op in pickletools.opcodes}


class _Stop(Exception):
    def __init__(self, status: str, detail: str = "", offset: int | None = None):
        super().__init__(detail)
        self.status, self.detail, self.offset = status, detail, offset


def _read_line(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.find(b"\n", pos)
    if end < 0:
        raise _Stop("truncated", "a line argument has no newline")
    return data[pos:end], end + 1


def _read_arg(data: bytes, pos: int, framing: _Framing) -> tuple[object, int]:
    """The raw argument at pos and the position after it. Counted arguments are (start, end)."""
    kind, size, fmt = framing
    if kind == _FIXED:
        end = pos + size
        if end > len(data):
            raise _Stop("truncated", "the data ends inside an argument")
        return data[pos:end], end
    if kind == _LINE:
        return _read_line(data, pos)
    if kind == _TWO_LINES:
        first, pos = _read_line(data, pos)
        second, pos = _read_line(data, pos)
        return (first, second), pos
    if pos + size > len(data):
        raise _Stop("truncated", "the data ends inside a length")
    (length,) = struct.unpack_from(fmt, data, pos)
    if length < 0:
        raise _Stop("invalid", "negative length")
    start = pos + size
    if start + length > len(data):
        raise _Stop("truncated", f"an argument of {length} bytes runs past the end")
    return (start, start + length), start + length


# --- the abstract machine -------------------------------------------------------------------


@dataclass
class _End:
    status: str  # "stop" or a key of _REASONS
    offset: int  # after STOP, or where the walk stopped
    value: object = None  # the unpickled object's abstract value (at STOP)
    detail: str = ""


class _Machine:
    """Runs one pickle stream (up to its STOP)."""

    def __init__(self, data: bytes, budget: Budget, joblib: bool):
        self.data, self.budget, self.joblib = data, budget, joblib
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.proto = 0
        self.imports: list[Import] = []
        self.unresolved: list[int] = []  # offsets of globals whose name is computed at load time
        self.called = False
        self.wrapper = False  # a joblib NumpyArrayWrapper was built
        self.frame_end = 0
        self.pos = self.op_pos = 0
        self.op_name = ""

    def run(self, pos: int) -> _End:
        data = self.data
        try:
            while True:
                if self.budget.opcodes <= 0:
                    return _End("budget", pos)
                self.budget.opcodes -= 1
                if pos >= len(data):
                    raise _Stop("truncated", "the data ends before STOP")
                opcode = _OPCODES.get(data[pos])
                if opcode is None:
                    raise _Stop("invalid", f"unknown opcode 0x{data[pos]:02x}")
                self.op_pos, (self.op_name, framing) = pos, opcode
                arg, self.pos = _read_arg(data, pos + 1, framing) if framing else (None, pos + 1)
                if self.op_name == "STOP":
                    return _End("stop", self.pos, self._pop())
                _HANDLERS[self.op_name](self, arg)
                pos = self.pos
        except _Stop as stop:
            offset = self.op_pos if stop.offset is None else stop.offset
            return _End(stop.status, offset, detail=f"{stop.detail} (opcode at offset {offset})")

    # stack primitives; failures are where a real load fails too

    def _push(self, value: object) -> None:
        self.stack.append(value)

    def _pop(self) -> object:
        if not self.stack:
            raise _Stop("invalid", f"stack underflow at {self.op_name}")
        return self.stack.pop()

    def _top(self) -> object:
        if not self.stack:
            raise _Stop("invalid", f"stack underflow at {self.op_name}")
        return self.stack[-1]

    def _pop_mark(self) -> list[object]:
        if not self.metastack:
            raise _Stop("invalid", f"{self.op_name} without MARK")
        items, self.stack = self.stack, self.metastack.pop()
        return items

    def _text(self, span: tuple[int, int], encoding: str, errors: str = "strict") -> object:
        start, end = span
        if end - start > _MAX_STRING:
            return OPAQUE
        try:
            return self.data[start:end].decode(encoding, errors)
        except UnicodeDecodeError:
            raise _Stop("invalid", "undecodable string") from None

    def _import(self, module: str, name: str) -> Ref:
        if self.proto < 3:  # the unpickler's fix_imports: Python 2 names of protocols 0-2
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        self.imports.append(Import(module, name, self.op_pos, self.op_name))
        return Ref(module, name)

    # structure

    def op_MARK(self, _: None) -> None:
        self.metastack.append(self.stack)
        self.stack = []

    def op_POP(self, _: None) -> None:
        if self.stack:
            self.stack.pop()
        else:
            self._pop_mark()

    def op_POP_MARK(self, _: None) -> None:
        self._pop_mark()

    def op_DUP(self, _: None) -> None:
        self._push(self._top())

    def op_PROTO(self, arg: bytes) -> None:
        if arg[0] > 5:
            raise _Stop("invalid", f"unsupported protocol {arg[0]}")
        self.proto = arg[0]

    def op_FRAME(self, arg: bytes) -> None:
        # A frame running past the end does not stop pickle's pure-Python unpickler (joblib's):
        # it runs the opcodes that are there.
        self.frame_end = self.pos + struct.unpack("<Q", arg)[0]

    # constants

    def op_NONE(self, _: None) -> None:
        self._push(None)

    def op_NEWTRUE(self, _: None) -> None:
        self._push(True)

    def op_NEWFALSE(self, _: None) -> None:
        self._push(False)

    def op_INT(self, arg: bytes) -> None:
        if arg in (b"00", b"01"):
            self._push(arg == b"01")
        else:
            self._push(_parse_int(arg))

    def op_LONG(self, arg: bytes) -> None:
        self._push(_parse_int(arg[:-1] if arg.endswith(b"L") else arg))

    def op_BININT(self, arg: bytes) -> None:
        self._push(struct.unpack("<i", arg)[0])

    def op_BININT1(self, arg: bytes) -> None:
        self._push(arg[0])

    def op_BININT2(self, arg: bytes) -> None:
        self._push(struct.unpack("<H", arg)[0])

    def op_LONG1(self, arg: tuple[int, int]) -> None:
        start, end = arg
        small = end - start <= 64  # enough for the torch magic number; nothing else needs big ints
        self._push(int.from_bytes(self.data[start:end], "little", signed=True) if small else OPAQUE)

    op_LONG4 = op_LONG1

    def _opaque(self, _: object) -> None:
        self._push(OPAQUE)

    op_FLOAT = op_BINFLOAT = op_BINBYTES = op_SHORT_BINBYTES = op_BINBYTES8 = op_BYTEARRAY8 = _opaque
    op_EMPTY_LIST = op_EMPTY_SET = op_NEXT_BUFFER = op_PERSID = _opaque

    def op_STRING(self, arg: bytes) -> None:
        if len(arg) < 2 or arg[0] != arg[-1] or arg[:1] not in (b"'", b'"'):
            raise _Stop("invalid", "STRING argument is not quoted")
        try:
            raw = codecs.escape_decode(arg[1:-1])[0]
        except ValueError:
            raise _Stop("invalid", "bad escape in STRING") from None
        # protocol 0-2 strings: str under the loaders' usual encodings (ASCII, latin-1, utf-8)
        self._push(raw.decode("latin-1") if len(raw) <= _MAX_STRING else OPAQUE)

    def op_BINSTRING(self, arg: tuple[int, int]) -> None:
        self._push(self._text(arg, "latin-1"))

    op_SHORT_BINSTRING = op_BINSTRING

    def op_UNICODE(self, arg: bytes) -> None:
        try:
            self._push(arg.decode("raw-unicode-escape") if len(arg) <= _MAX_STRING else OPAQUE)
        except UnicodeDecodeError:
            raise _Stop("invalid", "undecodable UNICODE") from None

    def op_BINUNICODE(self, arg: tuple[int, int]) -> None:
        self._push(self._text(arg, "utf-8", "surrogatepass"))

    op_SHORT_BINUNICODE = op_BINUNICODE8 = op_BINUNICODE

    # containers: tuples and str-keyed dicts are kept, the rest is opaque

    def op_EMPTY_TUPLE(self, _: None) -> None:
        self._push(())

    def op_TUPLE(self, _: None) -> None:
        self._push(tuple(self._pop_mark()))

    def op_TUPLE1(self, _: None) -> None:
        self._push((self._pop(),))

    def op_TUPLE2(self, _: None) -> None:
        second = self._pop()
        self._push((self._pop(), second))

    def op_TUPLE3(self, _: None) -> None:
        third, second = self._pop(), self._pop()
        self._push((self._pop(), second, third))

    def op_LIST(self, _: None) -> None:
        self._pop_mark()
        self._push(OPAQUE)

    op_FROZENSET = op_LIST

    def op_EMPTY_DICT(self, _: None) -> None:
        self._push({})

    def op_DICT(self, _: None) -> None:
        items = self._pop_mark()
        if len(items) % 2:
            raise _Stop("invalid", "odd number of items for DICT")
        self._push({k: v for k, v in zip(items[::2], items[1::2], strict=True) if isinstance(k, str)})

    def op_APPEND(self, _: None) -> None:
        self._pop()
        self._top()

    def op_APPENDS(self, _: None) -> None:
        self._pop_mark()
        self._top()

    op_ADDITEMS = op_APPENDS

    def op_SETITEM(self, _: None) -> None:
        value, key = self._pop(), self._pop()
        target = self._top()
        if isinstance(target, dict) and isinstance(key, str):
            target[key] = value

    def op_SETITEMS(self, _: None) -> None:
        items = self._pop_mark()
        target = self._top()
        if len(items) % 2:
            raise _Stop("invalid", "odd number of items for SETITEMS")
        if isinstance(target, dict):
            target.update((k, v) for k, v in zip(items[::2], items[1::2], strict=True) if isinstance(k, str))

    # memo

    def _get(self, index: int | _Opaque) -> None:
        if not isinstance(index, int) or index not in self.memo:
            raise _Stop("invalid", f"memo entry {index} was never stored")
        self._push(self.memo[index])

    def _put(self, index: int) -> None:
        if index < 0:
            raise _Stop("invalid", "negative memo index")
        self.memo[index] = self._top()

    def op_GET(self, arg: bytes) -> None:
        self._get(_parse_int(arg, 10))

    def op_BINGET(self, arg: bytes) -> None:
        self._get(arg[0])

    def op_LONG_BINGET(self, arg: bytes) -> None:
        self._get(struct.unpack("<I", arg)[0])

    def op_PUT(self, arg: bytes) -> None:
        index = _parse_int(arg, 10)
        if not isinstance(index, int):  # OPAQUE
            raise _Stop("invalid", "PUT index is not a number")
        self._put(index)

    def op_BINPUT(self, arg: bytes) -> None:
        self._put(arg[0])

    def op_LONG_BINPUT(self, arg: bytes) -> None:
        self._put(struct.unpack("<I", arg)[0])

    def op_MEMOIZE(self, _: None) -> None:
        self._put(len(self.memo))

    # imports

    def op_GLOBAL(self, arg: tuple[bytes, bytes]) -> None:
        try:
            module, name = (line.decode("utf-8") for line in arg)
        except UnicodeDecodeError:
            raise _Stop("invalid", "undecodable GLOBAL") from None
        if not module or not name:
            raise _Stop("invalid", "empty GLOBAL line")
        self._push(self._import(module, name))

    def op_STACK_GLOBAL(self, _: None) -> None:
        name, module = self._pop(), self._pop()
        if isinstance(module, str) and isinstance(name, str):
            self._push(self._import(module, name))
        else:  # built at load time by a call: it can name anything
            self.unresolved.append(self.op_pos)
            self._push(OPAQUE)

    def _ext(self, code: int) -> None:
        if code <= 0:
            raise _Stop("invalid", "extension code <= 0")
        self.unresolved.append(self.op_pos)  # the global comes from the loader's copyreg registry
        self._push(OPAQUE)

    def op_EXT1(self, arg: bytes) -> None:
        self._ext(arg[0])

    def op_EXT2(self, arg: bytes) -> None:
        self._ext(struct.unpack("<H", arg)[0])

    def op_EXT4(self, arg: bytes) -> None:
        self._ext(struct.unpack("<i", arg)[0])

    # calls

    def op_REDUCE(self, _: None) -> None:
        args = self._pop()
        func = self._top()
        self.stack[-1] = self._call(func, args)

    def op_NEWOBJ(self, _: None) -> None:
        args = self._pop()
        self.called = True
        self._push(Obj(self._pop(), "newobj", args))

    def op_NEWOBJ_EX(self, _: None) -> None:
        self._pop()  # kwargs
        args = self._pop()
        self.called = True
        self._push(Obj(self._pop(), "newobj_ex", args))

    def op_OBJ(self, _: None) -> None:
        items = self._pop_mark()
        if not items:
            raise _Stop("invalid", "OBJ without a class")
        self._push(self._call(items[0], tuple(items[1:])))

    def op_INST(self, arg: tuple[bytes, bytes]) -> None:
        self.op_GLOBAL(arg)
        func = self._pop()
        self._push(self._call(func, tuple(self._pop_mark())))

    def op_BUILD(self, _: None) -> None:
        state = self._pop()
        inst = self._top()
        if isinstance(inst, Ref):
            # BUILD on a global itself (a module, class or function the pickle imported, not an object a
            # call made): the load writes the state into its __dict__ and setattr()s the slot state, so a
            # pickle rewrites `a.b.c`'s attributes (patches a loader, a check) for everything loaded later.
            # No pickle a library writes does this; it is reported as the setattr it is.
            attribute = f"{inst.name}.__setattr__" if inst.name else "__setattr__"
            self.imports.append(Import(inst.module, attribute, self.op_pos, self.op_name))
            self.called = True
            return
        if not isinstance(inst, Obj):
            return
        inst.state = state
        if isinstance(inst.cls, Ref) and inst.cls.qualname in _JOBLIB_WRAPPERS:
            self.wrapper = True
            if self.joblib:  # joblib's unpickler replaces the wrapper with the array read after it
                self._pass_array(inst, state)
                self.stack[-1] = OPAQUE

    def op_BINPERSID(self, _: None) -> None:
        self._pop()
        self._push(OPAQUE)

    def op_READONLY_BUFFER(self, _: None) -> None:
        self._top()

    def _call(self, func: object, args: object) -> object:
        self.called = True
        if not isinstance(func, Ref):
            return Obj(OPAQUE, "call", args)
        qualname = func.qualname
        if qualname == "builtins.getattr" and _args(args, 2) and isinstance(args[0], Ref) and isinstance(args[1], str):
            target = args[0]
            attribute = f"{target.name}.{args[1]}" if target.name else args[1]
            self.imports.append(Import(target.module, attribute, self.op_pos, self.op_name))
            return Ref(target.module, attribute)
        if qualname in _IMPORTERS and _args(args, 1) and isinstance(args[0], str):
            self.imports.append(Import(args[0], "", self.op_pos, self.op_name))
            return Ref(args[0], "")
        if qualname == "copyreg._reconstructor" and _args(args, 1):
            return Obj(args[0], "reconstructor", args)
        if qualname in ("copyreg.__newobj__", "copyreg.__newobj_ex__") and _args(args, 1):
            return Obj(args[0], "newobj", args[1:])
        return Obj(func, "call", args)

    # joblib: the array's bytes follow the wrapper raw, outside the pickle

    def _pass_array(self, wrapper: Obj, state: object) -> None:
        plain = (wrapper.how == "newobj" and wrapper.args == ()) or (
            wrapper.how == "reconstructor" and _args(wrapper.args, 1) and wrapper.args[1:] == (_OBJECT, None)
        )
        if not plain:
            raise _Stop("unpassable", "the array wrapper is created in an unusual way")
        if self.pos < self.frame_end:  # joblib reads past the frame while the unpickler reads the frame
            raise _Stop("unpassable", "array data inside a pickle frame")
        if not isinstance(state, dict):
            raise _Stop("unpassable", "the array wrapper's state is not a dict")
        count = _element_count(state.get("shape"))
        dtype = _dtype(state.get("dtype"))
        alignment = state.get("numpy_array_alignment_bytes")
        if count is None or dtype is None or alignment is OPAQUE:
            raise _Stop("unpassable", "the array's shape or dtype is not understood")
        itemsize, has_object = dtype
        if has_object:  # joblib pickles object arrays with a separate pickle stream, read by plain pickle
            inner = _Machine(self.data, self.budget, joblib=False)
            end = inner.run(self.pos)
            self.imports += inner.imports
            self.unresolved += inner.unresolved
            if end.status != "stop":
                raise _Stop(end.status, end.detail, end.offset)
            self.pos = end.offset
            return
        pos = self.pos
        if alignment is not None:  # one byte holds the padding length, then the padding
            if pos >= len(self.data):
                raise _Stop("unpassable", "the array's padding runs past the end")
            pos += 1 + self.data[pos]
        pos += count * itemsize
        if pos > len(self.data):
            raise _Stop("unpassable", "the array's data runs past the end")
        self.pos = pos


_HANDLERS: dict[str, Callable[[_Machine, Any], None]] = {
    name: getattr(_Machine, "op_" + name) for name, _ in _OPCODES.values() if name != "STOP"
}


def _args(args: object, least: int) -> TypeGuard[tuple[object, ...]]:
    """Whether a call's arguments are a tuple of at least `least` values."""
    return isinstance(args, tuple) and len(args) >= least


def _parse_int(text: bytes, base: int = 0) -> int | _Opaque:
    try:
        return int(text, base)
    except ValueError:
        return OPAQUE


def _element_count(shape: object) -> int | None:
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        return None
    count = 1
    for n in shape:
        count *= n
    return count if count < 2**63 else None  # joblib multiplies as int64


def _dtype(value: object) -> tuple[int, bool] | None:
    """(itemsize, has objects) of numpy.dtype(code, align, copy) with its BUILD state, as numpy reads it."""
    if not (isinstance(value, Obj) and value.cls == Ref("numpy", "dtype") and _args(value.args, 1)):
        return None
    code = _DTYPE_CODE.fullmatch(value.args[0]) if isinstance(value.args[0], str) else None
    if code is None:
        return None
    kind, size = code[1], int(code[2])
    itemsize = 4 * size if kind == "U" else size
    state = value.state
    if state is None:
        return itemsize, kind == "O"
    if not (isinstance(state, tuple) and len(state) >= 8 and isinstance(state[7], int)):
        return None
    if state[2] is not None or state[3] is not None:  # subarray or fields: not modelled
        return None
    if kind in "SUV" and isinstance(state[5], int) and state[5] >= 0:  # flexible types take the state's size
        itemsize = state[5]
    return itemsize, bool(state[7] & 1)  # numpy takes hasobject from the state's flags


# --- streams ------------------------------------------------------------------------------


@dataclass
class _Walk:
    imports: list[Import] = field(default_factory=list)
    unresolved: list[int] = field(default_factory=list)
    called: bool = False
    wrapper: bool = False
    failure: _End | None = None  # None: every byte up to the end (or the torch storages) was read


def _walk(data: bytes, start: int, budget: Budget, joblib: bool) -> _Walk:
    """Every pickle stream from start on: a file may hold several, each loadable in turn."""
    walk, pos, count, legacy = _Walk(), start, 0, False
    while True:
        machine = _Machine(data, budget, joblib)
        end = machine.run(pos)
        did_something = machine.imports or machine.unresolved or machine.called
        if count and end.status not in ("stop", "budget") and not did_something:
            walk.failure = _End("trailing", pos, detail=f"{len(data) - pos} bytes at offset {pos} are not a pickle")
            return walk
        walk.imports += machine.imports
        walk.unresolved += machine.unresolved
        walk.called = walk.called or machine.called
        walk.wrapper = walk.wrapper or machine.wrapper
        if end.status != "stop":
            walk.failure = end
            return walk
        count += 1
        legacy = legacy or (count == 1 and type(end.value) is int and end.value == TORCH_LEGACY_MAGIC)
        pos = end.offset
        if pos >= len(data) or (legacy and count == _TORCH_LEGACY_PICKLES):
            return walk


def scan_pickle(data: bytes, budget: Budget, strict: bool, start: int = 0) -> PickleScan:
    """Scan the pickle stream(s) in data[start:].

    strict: the data claims to be a pickle (PROTO opcode, a .pkl name): every failure is
    reported. Otherwise it is a pickle only if the walk read it to the end or saw a call;
    a walk that fails before calling anything means a load fails before running anything.

    A file with joblib array wrappers is read twice: as joblib reads it (skipping each raw
    array) and as plain pickle reads it (through the array bytes, where a crafted file
    can hide opcodes that joblib skips). Both readings' imports are reported, but only
    the joblib reading's failures: a plain load of a real joblib file stops in its first
    array, and whatever it could import or call before that is already reported.
    """
    walk = _walk(data, start, budget, joblib=False)
    if walk.wrapper:
        as_joblib = _walk(data, start, budget, joblib=True)
        budget_out = walk.failure is not None and walk.failure.status == "budget"
        walk = _Walk(
            walk.imports + as_joblib.imports,
            walk.unresolved + as_joblib.unresolved,
            called=True,
            wrapper=True,
            failure=as_joblib.failure or (walk.failure if budget_out else None),
        )
    failed = walk.failure.status if walk.failure else None
    if not (strict or walk.called or failed in (None, "budget")):
        return PickleScan()
    problems = [
        f"unresolved global: the module or name of the global at offset {offset} is computed at load time"
        for offset in sorted(set(walk.unresolved))
    ]
    if failed == "budget":
        problems.append(_REASONS["budget"])
    elif failed and walk.failure is not None:
        problems.append(f"{_REASONS[failed]}: {walk.failure.detail}")
    return PickleScan(True, walk.wrapper, walk.imports, problems)


@dataclass
class OnePickle:
    """One pickle stream read to its STOP, for containers that put raw bytes between pickles."""

    imports: list[Import]
    problems: list[str]  # Unscanned reasons
    end: int | None  # the offset after its STOP; None when the walk stopped before it
    value: object  # what it unpickles to, as far as the walk models it (a Ref for a global, ints, tuples)


def walk_one(data: bytes, start: int, budget: Budget) -> OnePickle:
    """Walk the single pickle stream at data[start:] (PyTorch's legacy tar members interleave pickles and
    raw storage bytes, so the reader, not the walk, knows where the next pickle begins)."""
    machine = _Machine(data, budget, joblib=False)
    end = machine.run(start)
    problems = [
        f"unresolved global: the module or name of the global at offset {offset} is computed at load time"
        for offset in sorted(set(machine.unresolved))
    ]
    if end.status == "budget":
        problems.append(_REASONS["budget"])
    elif end.status != "stop":
        problems.append(f"{_REASONS[end.status]}: {end.detail}")
    return OnePickle(machine.imports, problems, end.offset if end.status == "stop" else None, end.value)
