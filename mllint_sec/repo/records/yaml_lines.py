"""YAML read safely, as plain values that know the line of every key and item.

PyYAML's safe loader (libyaml's when available) composes nodes and builds no objects;
scalars are then constructed by the same safe loader. Working from nodes keeps the line
of every key and item, and lets aliases be expanded under a budget. Texts over 1 MiB,
nesting deeper than 64 levels and aliases that stand for more than 100,000 nodes are
refused with a Problem; nothing raises on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import yaml

from mllint_sec.repo.records.record import Problem, Span, utf8_length

# Both are PyYAML's safe loader; the C one is libyaml's, present when PyYAML was built with it.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MAX_YAML_BYTES = 1 << 20
_MAX_DEPTH = 64
_MAX_REVISITS = 100_000
_MERGE = "tag:yaml.org,2002:merge"
_YAML_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")  # what YAML counts as a line break
_TOO_DEEP = "YAML nested too deeply to read"
_LIBYAML_TOO_DEEP = "exceeded maximum nesting depth"  # libyaml's own limit, at 1000 levels


class YamlMap(dict[Any, Any]):
    """A YAML mapping that also knows the line of each key, and the span of each `key: value`."""

    __slots__ = ("key_lines", "key_spans")

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}
        self.key_spans: dict[Any, Span] = {}


class _Seq(list[Any]):
    """A YAML sequence that also knows the span of each item."""

    __slots__ = ("item_spans",)

    def __init__(self, items: list[Any], item_spans: list[Span]) -> None:
        super().__init__(items)
        self.item_spans = item_spans


class _Stop(Exception):
    """Reading ends at `line`: at a limit (`refused`), or at YAML the reader cannot use."""

    def __init__(self, line: int, message: str, refused: bool) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.refused = refused


class _Reader:
    """Plain values from composed YAML nodes, with lines; aliases are expanded under a budget."""

    def __init__(self, loader: Any, first_line: int) -> None:
        self.loader = loader
        self.first_line = first_line
        self.seen: set[int] = set()
        self.revisits = 0

    def line(self, node: yaml.Node) -> int:
        return node.start_mark.line + self.first_line

    def span(self, node: yaml.Node, through: yaml.Node | None = None) -> Span:
        """From the start of `node` to the end of the scalar `through` (default: `node`).

        A collection ends where the next token starts, often lines later, and an empty value
        (`path:`) where the next token is found; so without a written scalar to end at, the
        span ends at `node`'s end when it is one, else at its start.
        """
        written = [n for n in (through, node)
                   if isinstance(n, yaml.ScalarNode) and n.end_mark.index > n.start_mark.index]
        start, end = node.start_mark, written[0].end_mark if written else node.start_mark
        return Span(start.line + self.first_line, start.column + 1, end.line + self.first_line, end.column + 1)

    def value(self, node: yaml.Node, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _Stop(self.line(node), f"YAML nested deeper than {_MAX_DEPTH} levels is not read", refused=True)
        self._count(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            return _Seq([self.value(item, depth + 1) for item in node.value], [self.span(item) for item in node.value])
        return self._scalar(node)

    def _count(self, node: yaml.Node) -> None:
        # An alias is the node it names, met again; chained aliases can stand for
        # exponentially many nodes, so nodes met again are counted.
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return
        self.revisits += 1
        if self.revisits > _MAX_REVISITS:
            raise _Stop(self.line(node), f"YAML aliases standing for more than {_MAX_REVISITS} nodes are not read",
                        refused=True)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            value = self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            return node.value  # a value its tag cannot hold (`2023-13-45`, bad base64, `!custom`): keep the text
        return value if isinstance(value, Hashable) else node.value  # `!!seq text` would be an empty list

    def _mapping(self, node: yaml.MappingNode, depth: int) -> YamlMap:
        result = YamlMap()
        merged: list[YamlMap] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, depth))
            elif isinstance(key_node, yaml.ScalarNode):  # complex keys (`? [a, b]`) are skipped
                key = self._scalar(key_node)
                result[key] = self.value(value_node, depth + 1)
                result.key_lines[key] = self.line(key_node)
                result.key_spans[key] = self.span(key_node, value_node)
        # `<<: [*a, *b]`: the mapping's own keys win, then the first merged mapping with the key.
        for source in merged:
            for key, value in source.items():
                if key not in result:
                    result[key] = value
                    result.key_lines[key] = source.key_lines[key]
                    result.key_spans[key] = source.key_spans[key]
        return result

    def _merge_sources(self, node: yaml.Node, depth: int) -> list[YamlMap]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = [self.value(item, depth + 1) for item in nodes]
        if not all(isinstance(source, YamlMap) for source in sources):
            raise _Stop(self.line(node), "malformed YAML: `<<` merges something other than mappings", refused=False)
        return sources


def split_lines(text: str) -> list[str]:
    """`text` split where YAML breaks lines, so that line N of a mark or a Problem is item N - 1."""
    return _YAML_BREAK.split(text)


def _last_line(text: str) -> int:
    """The 0-based index of the text's last line; a final line break ends that line, it opens none."""
    lines = split_lines(text)
    return len(lines) - 2 if len(lines) > 1 and not lines[-1] else len(lines) - 1


def _yaml_problem(error: Exception, source: str, text: str, first_line: int) -> Problem:
    """The Problem for an error of the YAML loader."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        # libyaml puts the end of a stream without a final line break on the line after the last.
        line = first_line + min(mark.line if mark else 0, _last_line(text))
        if error.problem == _LIBYAML_TOO_DEEP:  # said as the pure-Python loader's RecursionError is
            return Problem(source, line, _TOO_DEEP, refused=True)
        return Problem(source, line, f"malformed YAML: {error.problem or error.context}")
    if isinstance(error, yaml.reader.ReaderError) and isinstance(error.character, int):
        # The C reader reports a byte offset, the Python one a character index: find the character instead.
        at = max(text.find(chr(error.character)), 0)
        return Problem(source, first_line + len(_YAML_BREAK.findall(text, 0, at)),
                       f"malformed YAML: unacceptable character U+{error.character:04X}")
    if isinstance(error, UnicodeEncodeError):
        return Problem(source, first_line + len(_YAML_BREAK.findall(text, 0, error.start)),
                       "malformed YAML: text holds a lone surrogate")
    if isinstance(error, RecursionError):  # from the pure-Python composer; libyaml stops at depth 1000
        return Problem(source, first_line, _TOO_DEEP, refused=True)
    return Problem(source, first_line, f"malformed YAML: {error}")


def load_yaml(source: str, text: str, first_line: int = 1) -> tuple[Any, list[Problem]]:
    """The document as plain values with lines (None when empty or unread), and what went wrong."""
    if len(text) > _MAX_YAML_BYTES or utf8_length(text) > _MAX_YAML_BYTES:
        return None, [Problem(source, first_line, "YAML text larger than 1 MiB is not read", refused=True)]
    try:
        loader = _SafeLoader(text)  # the pure-Python reader checks every character here
        try:
            node = loader.get_single_node()
            return (None if node is None else _Reader(loader, first_line).value(node)), []
        finally:
            loader.dispose()
    except _Stop as stop:
        return None, [Problem(source, stop.line, stop.message, stop.refused)]
    except (yaml.YAMLError, UnicodeEncodeError, RecursionError) as error:
        return None, [_yaml_problem(error, source, text, first_line)]


def document(value: Any, source: str, problems: list[Problem], line: int = 1) -> YamlMap:
    """The document's top-level mapping; an empty one when the document is empty or something else."""
    if isinstance(value, YamlMap):
        return value
    if value is not None:
        problems.append(Problem(source, line, "expected a YAML mapping at the top level"))
    return YamlMap()


def mapping_at(mapping: YamlMap, key: str, source: str, problems: list[Problem]) -> YamlMap:
    value = mapping.get(key)
    if isinstance(value, YamlMap):
        return value
    if value is not None:
        problems.append(Problem(source, mapping.key_lines[key], f"`{key}` is not a mapping"))
    return YamlMap()


def items_at(mapping: YamlMap, key: str, source: str, problems: list[Problem]) -> list[tuple[Any, Span]]:
    """The items of the sequence at `key`, each with its span."""
    value = mapping.get(key)
    if isinstance(value, _Seq):
        return list(zip(value, value.item_spans, strict=True))
    if value is not None:
        problems.append(Problem(source, mapping.key_lines[key], f"`{key}` is not a list"))
    return []
