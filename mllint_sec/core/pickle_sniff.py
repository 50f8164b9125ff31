"""Is a file a pickle? Decided from its first bytes by walking their opcodes, nothing unpickled.

Protocols 2-5 start with PROTO (`\\x80` and the protocol), a magic number. Protocols 0 and 1
have none: a pickle of them starts with whatever opcode its first object needs (MARK, GLOBAL,
INST, EMPTY_DICT, a string...), and `\\x80\\x00` / `\\x80\\x01` are legal too though pickle never
writes them. So the first bytes are walked as the unpickler would read them: each opcode must
be known, its argument well framed (a line argument ends in a newline, a length fits in the
file), its content what the unpickler accepts (a number where it parses one, a quoted STRING,
identifiers in a GLOBAL), the stack must hold what the opcode takes (items above the last MARK,
as both unpicklers count them) and a memo GET must name an index PUT stored.

A valid prefix is not enough: short text runs are valid too (`Vienna\\nParis\\n` is two UNICODE
pushes). The walk is taken for a pickle when it reaches one of:

- a call of an imported global (GLOBAL, INST, STACK_GLOBAL or EXT, then REDUCE, BUILD, INST,
  OBJ or NEWOBJ): a load runs that call even when the bytes after it are broken;
- a complete stream (STOP with a value on the stack) that ends the file or is followed by a
  valid walk to the end of what was read;
- the end of a 64 KiB window without a single invalid opcode (`UNDECIDED` after the window:
  the caller decides; discovery takes it for a pickle). Text is never that: a line that does
  not start with one of a few opcode letters, or whose rest is not that opcode's argument,
  ends it. A crafted file can pad its payload with long arguments, so a count of opcodes
  would be a bypass; a whole window of valid opcodes is not.

Anything else (an invalid opcode before any imported call, or a file that ends mid-stream
without one) is not a pickle: a load of it fails before it runs anything, and the artifact scan
would call it "not a pickle" too. The walk reads at most the window; its work is linear in it.
"""

from __future__ import annotations

import os
import pickletools
import struct
from pathlib import Path

from mllint_sec.core.bounded_read import read_head

PICKLE = "pickle"
NOT_PICKLE = "not a pickle"
UNDECIDED = "undecided"  # a valid walk to the end of the bytes given, which are not the whole file

HEAD_BYTES = 256  # discovery reads this much of every file it cannot classify by name
WINDOW_BYTES = 64 * 1024  # read further only when the head is a valid walk that decided nothing

_HIGHEST_PROTOCOL = 5
_IMPORTS = frozenset({"GLOBAL", "INST", "STACK_GLOBAL", "EXT1", "EXT2", "EXT4"})
_CALLS = frozenset({"REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX"})
_LENGTH_FORMATS = {  # how a counted argument's length is packed
    pickletools.TAKEN_FROM_ARGUMENT1: "<B",
    pickletools.TAKEN_FROM_ARGUMENT4: "<i",
    pickletools.TAKEN_FROM_ARGUMENT4U: "<I",
    pickletools.TAKEN_FROM_ARGUMENT8U: "<Q",
}
_NEEDS_TOP = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})  # pickletools lists no operand; the unpickler needs one


class _Invalid(Exception):
    """The unpickler would fail here."""


class _Short(Exception):
    """The bytes given end before the opcode does (the file goes on)."""


def _shape(op: pickletools.OpcodeInfo) -> tuple[int, int, int, bool]:
    """(items taken from below the last MARK, items required above it, items pushed, takes the MARK)."""
    before = [item.name for item in op.stack_before]
    pushed = len(op.stack_after)
    if "mark" in before:
        at = before.index("mark")
        above = sum(1 for item in before[at + 1:] if item != "stackslice")
        return at, above, pushed, True
    return len(before), 0, pushed, False


_OPCODES = {op.code.encode("latin-1")[0]: (op, _shape(op)) for op in pickletools.opcodes}


def sniff_pickle(data: bytes, size: int | None = None) -> str:
    """PICKLE, NOT_PICKLE or UNDECIDED for the first bytes of a file of `size` bytes.

    `size` None: unknown, at least `len(data)`; a length argument may then point past the end
    of the bytes given (UNDECIDED when nothing else decided)."""
    if len(data) >= 2 and data[0] == 0x80:  # PROTO: protocols 2-5 always begin with it, 0-1 may
        return PICKLE if data[1] <= _HIGHEST_PROTOCOL else NOT_PICKLE
    return _Walk(data, size).run()


class _Walk:
    def __init__(self, data: bytes, size: int | None):
        self.data, self.size = data, size
        self.whole = size is not None and size <= len(data)
        self.imported = self.called = False
        self.complete = False  # at least one stream reached STOP
        self.at_stop = False  # the last opcode read was a STOP
        self._new_stream()

    def _new_stream(self) -> None:
        self.depth = 0  # items above the last MARK
        self.marks: list[int] = []  # the depth below each open MARK
        self.memo: set[int] = set()

    def run(self) -> str:
        pos, data = 0, self.data
        try:
            while pos < len(data):
                pos = self._step(pos)
        except _Invalid:
            return PICKLE if self.called else NOT_PICKLE
        except _Short:
            return PICKLE if self.called or self.complete else UNDECIDED
        if self.called:
            return PICKLE  # a load runs an imported callable
        if self.whole:  # complete streams and nothing else, or a file that ends inside a stream
            return PICKLE if self.at_stop else NOT_PICKLE
        return PICKLE if self.complete else UNDECIDED

    def _step(self, pos: int) -> int:
        entry = _OPCODES.get(self.data[pos])
        if entry is None:
            raise _Invalid
        op, (below, above, pushed, takes_mark) = entry
        end = self._argument(op, pos + 1)
        name = op.name
        if name == "MARK":
            self.marks.append(self.depth)
            self.depth = 0
        elif name == "POP" and self.depth == 0:  # both unpicklers pop the MARK itself here
            self.depth = self._pop_mark()
        elif takes_mark:
            if self.depth < above:
                raise _Invalid
            self.depth = self._pop_mark()
            self._take(below, pushed)
        else:
            self._take(below, pushed)
        if name in _NEEDS_TOP and self.depth < 1:
            raise _Invalid
        if name == "MEMOIZE":
            self.memo.add(len(self.memo))
        if name in _IMPORTS:
            self.imported = True
        if name in _CALLS and self.imported:
            self.called = True
        self.at_stop = name == "STOP"
        if self.at_stop:  # a next load starts a fresh unpickler: empty stack and memo
            self.complete = True
            self._new_stream()
        return end

    def _take(self, count: int, pushed: int) -> None:
        if self.depth < count:
            raise _Invalid  # stack underflow
        self.depth += pushed - count

    def _pop_mark(self) -> int:
        if not self.marks:
            raise _Invalid
        return self.marks.pop()

    # arguments: framing as the unpickler reads it, then the checks it makes on the content

    def _line(self, pos: int, name: str) -> tuple[bytes, int]:
        end = self.data.find(b"\n", pos)
        if end < 0:
            if self.whole or not _possible_start(name, self.data[pos:]):
                raise _Invalid  # the file ends inside a line, or its start is already no such argument
            raise _Short
        return self.data[pos:end], end + 1

    def _bytes(self, pos: int, count: int) -> bytes:
        if self.size is not None and pos + count > self.size:
            raise _Invalid  # past the end of the file
        if pos + count > len(self.data):
            raise _Short
        return self.data[pos:pos + count]

    def _argument(self, op: pickletools.OpcodeInfo, pos: int) -> int:
        """Where the opcode's argument ends; _Invalid where the unpickler would refuse it."""
        arg, name = op.arg, op.name
        if arg is None:
            return pos
        if name in ("GLOBAL", "INST"):
            module, pos = self._line(pos, name)
            attribute, pos = self._line(pos, name)
            if not (_dotted_name(module) and _dotted_name(attribute)):
                raise _Invalid
            return pos
        if arg.n == pickletools.UP_TO_NEWLINE:
            line, end = self._line(pos, name)
            _check_line(name, line, self.memo)
            return end
        if arg.n >= 0:
            value = self._bytes(pos, arg.n)
            self._check_fixed(name, value)
            return pos + arg.n
        fmt = _LENGTH_FORMATS[arg.n]
        width = struct.calcsize(fmt)
        length: int = struct.unpack(fmt, self._bytes(pos, width))[0]
        if length < 0:
            raise _Invalid
        body = self._bytes(pos + width, length)
        if name in ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"):
            try:
                body.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                raise _Invalid from None
        return pos + width + length

    def _check_fixed(self, name: str, value: bytes) -> None:
        if name == "PROTO" and value[0] > _HIGHEST_PROTOCOL:
            raise _Invalid
        if name in ("BINGET", "LONG_BINGET"):
            index = value[0] if name == "BINGET" else struct.unpack("<I", value)[0]
            if index not in self.memo:
                raise _Invalid
        if name in ("BINPUT", "LONG_BINPUT"):
            self.memo.add(value[0] if name == "BINPUT" else struct.unpack("<I", value)[0])
        if name.startswith("EXT") and int.from_bytes(value, "little", signed=name == "EXT4") <= 0:
            raise _Invalid  # extension codes are positive


def _check_line(name: str, line: bytes, memo: set[int]) -> None:
    """The checks the unpickler makes on a line argument (and the memo bookkeeping of GET/PUT)."""
    try:
        if name in {"INT", "LONG"}:
            int(line[:-1] if name == "LONG" and line.endswith(b"L") else line)
        elif name == "FLOAT":
            float(line)
        elif name == "STRING":
            if len(line) < 2 or line[0] != line[-1] or line[:1] not in (b"'", b'"'):
                raise _Invalid
        elif name == "UNICODE":
            line.decode("raw-unicode-escape")
        elif name == "PERSID":
            line.decode("ascii")
        elif name == "GET":
            if int(line) not in memo:
                raise _Invalid
        elif name == "PUT":
            index = int(line)
            if index < 0:
                raise _Invalid
            memo.add(index)
    except (ValueError, UnicodeDecodeError):
        raise _Invalid from None


_NUMBER_BYTES = b"0123456789+-_.eE \t\r\x0b\x0cinfatyINFATYL"  # int() and float() text, LONG's L


def _possible_start(name: str, start: bytes) -> bool:
    """Whether a line argument cut off by the end of the bytes read could still be valid."""
    if name in ("INT", "LONG", "FLOAT", "GET", "PUT"):
        return not start.translate(None, _NUMBER_BYTES)
    if name == "STRING":
        return start[:1] in (b"'", b'"')
    if name == "PERSID":
        return start.isascii()
    if name in ("GLOBAL", "INST"):
        text = start.decode("utf-8", "ignore")  # the cut may split a character
        return all(part == "" or part.isidentifier() for part in text.split("."))
    return True


def _dotted_name(line: bytes) -> bool:
    """A GLOBAL's module or attribute: dotted identifiers, the only names an import or getattr finds."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(part.isidentifier() for part in text.split("."))


def pickle_file(path: str | Path, head: bytes) -> bool:
    """Whether the file whose first HEAD_BYTES (or fewer: the whole file) are `head` is a pickle.

    Reads at most WINDOW_BYTES more, only when the head is a valid walk that decided nothing."""
    verdict = sniff_pickle(head, len(head) if len(head) < HEAD_BYTES else None)
    if verdict == UNDECIDED:  # a length may point past the end of the file: ask its size first
        try:
            verdict = sniff_pickle(head, os.stat(path).st_size)
        except OSError:
            return False
    if verdict != UNDECIDED:
        return verdict == PICKLE
    window = read_head(path, WINDOW_BYTES)
    if not isinstance(window, bytes):
        return False
    try:
        size = len(window) if len(window) < WINDOW_BYTES else os.stat(path).st_size
    except OSError:
        return False
    # A window of valid opcodes (UNDECIDED again) is taken for a pickle: see the module docstring.
    return sniff_pickle(window, size) != NOT_PICKLE
