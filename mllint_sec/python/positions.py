"""Line/column ranges for the few nodes a file reports, from one lean codegen pass.

libcst's PositionProvider records a range for every node through a regex per
token and a context manager per node; on a 6,000-line module that costs about
ten times the plain codegen. Findings need ranges for a handful of nodes, so
this pass tracks the cursor cheaply and records only the requested ones, with
the same syntactic semantics (a statement's range excludes its leading blank
lines and comments; an argument's excludes its comma).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field

import libcst as cst

# libcst has no public hook into its code generator; this pass subclasses its state (a test
# checks the ranges against the public PositionProvider).
from libcst._add_slots import add_slots  # noqa: PLC2701
from libcst._nodes.internal import CodegenState  # noqa: PLC2701

# (start line 1-based, start column 0-based, end line, end column), columns in code points.
Range = tuple[int, int, int, int]
_NULL = nullcontext()


@add_slots
@dataclass(frozen=False)
class _TargetedPositionState(CodegenState):
    targets: set[int] = field(default_factory=set)
    found: dict[int, Range] = field(default_factory=dict)
    line: int = 1
    column: int = 0
    _starts: dict[int, tuple[int, int]] = field(default_factory=dict)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self._advance(token)

    def add_token(self, value: str) -> None:
        self._advance(value)

    def _advance(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            normalised = value.replace("\r\n", "\n").replace("\r", "\n")
            self.line += normalised.count("\n")
            self.column = len(normalised) - normalised.rfind("\n") - 1
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.targets:
            self._starts[id(node)] = (self.line, self.column)

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.targets and key not in self.found:
            start = self._starts.pop(key, (self.line, self.column))
            self.found[key] = (start[0], start[1], self.line, self.column)

    # Not a generator context manager like the method it overrides: a shared no-op context for
    # the nodes nobody asked about (nearly all), so that no generator is made per node.
    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> AbstractContextManager[None]:
        if id(node) not in self.targets:
            return _NULL
        return self._record(node, start_node, end_node)

    @contextmanager
    def _record(
        self, node: cst.CSTNode, start_node: cst.CSTNode | None, end_node: cst.CSTNode | None
    ) -> Iterator[None]:
        for helper in (start_node, end_node):
            if helper is not None:
                self.targets.add(id(helper))
        start = (self.line, self.column)
        try:
            yield
        finally:
            end = (self.line, self.column)
            if start_node is not None and id(start_node) in self.found:
                start = self.found[id(start_node)][:2]
            if end_node is not None and id(end_node) in self.found:
                end = self.found[id(end_node)][2:]
            self.found[id(node)] = (start[0], start[1], end[0], end[1])


def ranges(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[int, Range]:
    """Ranges keyed by id(node) for the given nodes of `module` (call inside source.run_guarded)."""
    state = _TargetedPositionState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        targets={id(node) for node in nodes},
    )
    module._codegen(state)  # noqa: SLF001 - the code generator with our state (see the imports)
    return state.found
