"""Where each key, array element and table header of a TOML document is.

tomllib reports no positions; `TomlSpans` walks the same grammar over a text tomllib has
accepted, so a pyproject.toml requirement can be reported at its line and column.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

from mllint_sec.repo.manifests.manifest import NEWLINE, LineIndex, Problem, Where

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_TRIVIA = re.compile(r"(?:[ \t\r\n]|#[^\r\n]*)*")
_BLANK = re.compile(r"[ \t]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# A date-time may hold one space (`1979-05-27 07:32:00`); every other bare value ends at a separator.
_SCALAR = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:[^\s,\]}#]*|[^\s,\]}#]+")

TomlPath = tuple[Any, ...]


class TomlSpans:
    """Where each key, array element and table header of a TOML document is.

    tomllib reports no positions, so this walks the same grammar over a text tomllib has
    accepted. `spans` maps a path, the keys and array indices that reach a value in the
    parsed data, to the (start, end) offsets of its key/value pair, array element or table
    header; a string element's span is its content, without the quotes.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = LineIndex(text)
        self.i = 0
        self.spans: dict[TomlPath, tuple[int, int]] = {}
        self._array_tables: dict[TomlPath, int] = {}
        self._document()

    def locate(self, path: TomlPath) -> tuple[int, int]:
        """The span of `path`, or of its nearest recorded ancestor (tables created implicitly have none)."""
        while path not in self.spans and path:
            path = path[:-1]
        return self.spans.get(path, (0, 0))

    def where(self, path: TomlPath, text: str | None = None) -> Where:
        """The line and columns of `path` (see `locate`); `text` is what the span stands for, if not its own text."""
        return self.lines.where(*self.locate(path), text)

    def _skip(self, newlines: bool) -> None:
        skipped = (_TRIVIA if newlines else _BLANK).match(self.text, self.i)
        assert skipped is not None  # both patterns match the empty string
        self.i = skipped.end()

    def _at(self, *prefixes: str) -> bool:
        return self.text.startswith(prefixes, self.i)

    def _document(self) -> None:
        table: TomlPath = ()
        while True:
            self._skip(newlines=True)
            if self.i >= len(self.text):
                return
            if self._at("["):
                table = self._header()
            else:
                self._keyval(table)

    def _header(self) -> TomlPath:
        start = self.i
        brackets = 2 if self._at("[[") else 1
        self.i += brackets
        key = self._key()
        self._skip(newlines=False)
        self.i += brackets
        if brackets == 1:
            path = self._in_latest_elements(key)
        else:  # each [[x]] opens the next element of the array x
            path = self._in_latest_elements(key[:-1]) + key[-1:]
            index = self._array_tables.get(path, 0)
            self._array_tables[path] = index + 1
            path += (index,)
        self.spans[path] = (start, self.i)
        return path

    def _in_latest_elements(self, key: TomlPath) -> TomlPath:
        """`key` as a path: under `[[a]]`, `[a.b]` belongs to the latest element of a."""
        path: TomlPath = ()
        for part in key:
            path += (part,)
            if path in self._array_tables:
                path += (self._array_tables[path] - 1,)
        return path

    def _key(self) -> TomlPath:
        parts: list[str] = []
        while True:
            self._skip(newlines=False)
            if self._at('"', "'"):
                start = self.i
                self._string()
                parts.append(tomllib.loads(f"k = {self.text[start:self.i]}")["k"])  # undo escapes as tomllib does
            elif match := _BARE_KEY.match(self.text, self.i):
                parts.append(match.group())
                self.i = match.end()
            else:
                return tuple(parts)
            self._skip(newlines=False)
            if not self._at("."):
                return tuple(parts)
            self.i += 1

    def _keyval(self, table: TomlPath) -> None:
        start = self.i
        key = self._key()
        if not key:  # a guard: never loop on text this walker misreads
            self.i += 1
            return
        path = table + key
        self._skip(newlines=False)
        self.i += 1  # "="
        self._skip(newlines=False)
        self._value(path)
        # `torch.version = "^2"` is the first sight of `torch` too.
        for length in range(len(table) + 1, len(path)):
            self.spans.setdefault(path[:length], (start, self.i))
        self.spans[path] = (start, self.i)

    def _value(self, path: TomlPath) -> tuple[int, int]:
        start = self.i
        if self._at('"', "'"):
            return self._string()
        if self._at("["):
            for index in self._items("]"):
                item = (*path, index)
                self.spans[item] = self._value(item)
        elif self._at("{"):
            for _ in self._items("}"):
                self._keyval(path)
        elif match := _SCALAR.match(self.text, self.i):
            self.i = match.end()
        return start, self.i

    def _items(self, close: str) -> Iterator[int]:
        """Steps through an array or inline table; the caller reads one item for each index yielded."""
        self.i += 1
        index = 0
        while True:
            self._skip(newlines=True)
            if self.i >= len(self.text) or self._at(close):
                break
            before = self.i
            yield index
            index += 1
            self._skip(newlines=True)
            if self._at(","):
                self.i += 1
            elif self.i == before:  # a guard: never loop on text this walker misreads
                break
        self.i += 1

    def _string(self) -> tuple[int, int]:
        text = self.text
        quote = text[self.i]
        delimiter = quote * 3 if self._at(quote * 3) else quote
        start = end = self.i + len(delimiter)
        while end < len(text) and not text.startswith(delimiter, end):
            end += 2 if quote == '"' and text[end] == "\\" else 1
        # `"""a""""`: up to two quotes before the closing delimiter belong to the string.
        for _ in range(2 if len(delimiter) == 3 else 0):
            if text.startswith(delimiter, end + 1):
                end += 1
        self.i = min(end + len(delimiter), len(text))
        return start, min(end, len(text))


def toml_problem(error: tomllib.TOMLDecodeError, text: str) -> Problem:
    """tomllib's message and position; before Python 3.14 the position is only in the message."""
    message = getattr(error, "msg", str(error))
    line, column = getattr(error, "lineno", None), getattr(error, "colno", None)
    if line is None:
        at_line = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, re.DOTALL)
        if at_line:
            message, line, column = at_line.group(1), int(at_line.group(2)), int(at_line.group(3))
        elif message.endswith(" (at end of document)"):
            message = message.removesuffix(" (at end of document)")
            last = NEWLINE.split(text)
            line, column = len(last), len(last[-1]) + 1
    return Problem(line or 1, column or 1, f"invalid TOML: {message}")
