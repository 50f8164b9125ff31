"""Turn a file's bytes into source text and a libcst module, or a clear reason why not.

Hostile input must never crash or hang the run: NUL bytes, undecodable bytes,
huge files and pathologically deep expressions all become a `ParseFailure`.
libcst recurses on the C stack (Rust) and the Python stack; deep trees can
overflow either (LibCST#619, #1178), so parsing runs in a worker thread with a
large stack and a raised recursion limit.
"""

from __future__ import annotations

import ast
import io
import queue
import re
import sys
import threading
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import libcst as cst

from mllint_sec.core import stage_times
from mllint_sec.core.file_kinds import MAX_SOURCE_BYTES

MAX_FILE_BYTES = MAX_SOURCE_BYTES  # the runner never reads a larger file; bytes given directly are checked here
_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 20_000
_T = TypeVar("_T")


@dataclass(frozen=True)
class ParseFailure:
    message: str
    line: int = 1
    column: int = 1


def decode(data: bytes) -> str | ParseFailure:
    """Decode source bytes honouring a PEP 263 coding cookie and a UTF-8 BOM."""
    if len(data) > MAX_FILE_BYTES:
        return ParseFailure(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; not analysed")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        return ParseFailure("file contains NUL bytes; not analysed as Python source", line)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        return ParseFailure(f"invalid encoding declaration: {exc.msg}", exc.lineno or 1)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = 1
        if isinstance(exc, UnicodeDecodeError):
            line = data.count(b"\n", 0, exc.start) + 1
        return ParseFailure(f"cannot decode file as {encoding}: {exc.reason if hasattr(exc, 'reason') else exc}", line)
    return text.removeprefix("\ufeff")


def parse(text: str) -> cst.Module | ParseFailure:
    """Parse with libcst; call inside `run_guarded` so deep trees cannot overflow the stack."""
    since = stage_times.cpu()
    try:
        module = cst.parse_module(text)
        stage_times.add_cpu("parse", since)
        return module
    except cst.ParserSyntaxError as exc:
        hint = " (Python 2 code?)" if _looks_like_python2(text) else ""
        # libcst's messages are terse ("Syntax Error @ 3:16."); CPython's compiler,
        # asked only on failure and only to build an AST, says what is wrong and where.
        try:
            compile(text, "<scanned>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except SyntaxError as better:
            if better.lineno:
                return ParseFailure(f"syntax error: {better.msg}{hint}", better.lineno, better.offset or 1)
        except (RecursionError, MemoryError, ValueError):
            pass
        else:
            return ParseFailure(
                "valid Python that libcst cannot parse (a parser limit, such as more than 3,000 implicitly "
                "concatenated strings); not analysed",
                exc.raw_line or 1,
            )
        message = str(exc).splitlines()[0] if str(exc) else "syntax error"
        return ParseFailure(f"syntax error: {message}{hint}", exc.raw_line or 1, (exc.raw_column or 0) + 1)
    except RecursionError:
        return ParseFailure("expression nesting too deep to analyse")
    except (MemoryError, ValueError, TypeError) as exc:  # libcst raises these on some malformed input
        return ParseFailure(f"cannot parse file: {type(exc).__name__}: {exc}")


def _looks_like_python2(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("print ") and not stripped.startswith("print ("):
            return True
        if stripped.startswith("exec ") or " ur\"" in stripped or ("except " in stripped and ", e:" in stripped):
            return True
    return False


class _BigStackWorker:
    """One long-lived thread with a large stack: starting such a thread costs ~50 ms."""

    def __init__(self) -> None:
        self.requests: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[tuple[Any, BaseException | None]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def _loop(self) -> None:
        while True:
            function, args = self.requests.get()
            old_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
            try:
                self.results.put((function(*args), None))
            except BaseException as exc:  # noqa: BLE001 - reported as a diagnostic by the caller
                self.results.put((None, exc))
            finally:
                sys.setrecursionlimit(old_limit)

    def run(self, function: Callable[..., _T], args: tuple[Any, ...]) -> tuple[_T | None, BaseException | None]:
        if threading.current_thread() is self.thread:  # already on the big stack: queueing would wait on itself
            try:
                return function(*args), None
            except BaseException as exc:  # noqa: BLE001 - reported as a diagnostic by the caller
                return None, exc
        if self.thread is None or not self.thread.is_alive():
            previous = threading.stack_size()
            threading.stack_size(_STACK_BYTES)
            try:
                self.thread = threading.Thread(target=self._loop, name="mllint-sec-analysis", daemon=True)
                self.thread.start()
            finally:
                threading.stack_size(previous)
        self.requests.put((function, args))
        return self.results.get()


_WORKER = _BigStackWorker()


def run_guarded(function: Callable[..., _T], *args: Any) -> tuple[_T | None, BaseException | None]:
    """Run `function(*args)` on a thread with a large stack and a raised recursion limit.

    Returns (result, None) or (None, exception); never raises. Files are analysed
    one at a time per process, so the process-wide recursion limit is safe to raise.
    """
    return _WORKER.run(function, args)


_STRUCTURE = re.compile(r"[()\[\]{}\n]")
_OPERATORS = re.compile(r"[-+*/%@&|^~.<>]|\b(?:and|or|not|if|lambda)\b")
_STATEMENT_START = ("def ", "class ", "@", "async def ")
# libcst's parse time grows much faster than linearly with expression depth
# (a 1,000-term `+` chain takes 0.4 s, 4,000 terms 18 s), so text beyond these
# bounds is analysed in a child process with a time limit.
DEPTH_BOUND = 100
CHAIN_BOUND = 800


def looks_pathological(text: str, code: str | None = None) -> bool:
    """Cheap upper bound on expression depth: bracket nesting, operators in one logical line.

    Measured on the text with comments and string literals blanked (`code`, the
    view prefilter.code_only_keeping_lines gives, when the caller has it; a "(" in a
    string must not open a bracket); a `def`, `class` or decorator line can never
    sit inside brackets, so it always starts a new logical line.
    """
    if code is None:
        from mllint_sec.python.prefilter import code_only_keeping_lines

        code = code_only_keeping_lines(text)
    text = code
    depth = 0
    start = 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()
        if char == "\n":
            end = match.start()
            if depth > 0 and not text[match.end():match.end() + 200].lstrip(" \t").startswith(_STATEMENT_START):
                continue
            depth = 0
            if end - start > CHAIN_BOUND and len(_OPERATORS.findall(text, start, end)) > CHAIN_BOUND:
                return True
            start = match.end()
        elif char in "([{":
            depth += 1
            if depth > DEPTH_BOUND:
                return True
        elif depth > 0:
            depth -= 1
    return len(text) - start > CHAIN_BOUND and len(_OPERATORS.findall(text, start)) > CHAIN_BOUND


def run_in_child(
    function: Callable[..., _T], args: tuple[Any, ...], timeout: float
) -> tuple[_T | None, BaseException | None]:
    """Run `function(*args)` in a forked child; (result, None), or (None, TimeoutError) after `timeout` s.

    Used only for files that look pathological: the native parser holds the GIL,
    so a slow parse can only be stopped by killing its process.
    """
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork (Windows): run in process
        return run_guarded(function, *args)
    receiver, sender = context.Pipe(duplex=False)

    def child() -> None:
        sender.send(run_guarded(function, *args))
        sender.close()

    process = context.Process(target=child, daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(timeout):
            received: tuple[_T | None, BaseException | None] = receiver.recv()
            return received
        return None, TimeoutError(f"analysis took longer than {timeout:g} s")
    except (EOFError, OSError) as exc:
        return None, RuntimeError(f"analysis process died: {exc}")
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
