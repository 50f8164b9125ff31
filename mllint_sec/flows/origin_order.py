"""Source order of one function's statements, so that following a name back skips the bindings
that cannot reach a use of it.

A binding of a function's local name that comes after the use in source order cannot give the
use its value, unless a loop (`for`, `while`) runs both: then the binding of one iteration is seen
by the next. flows/origins.py asks this of a name's bindings in the function (or the module's
top-level code) the use is in; a name of an enclosing scope (a closure, a global read in a
function) is not ordered: the function may run after any of its bindings.

Each statement of the body gets a source-order index and the loops it runs in, once per
function, only when a finding of the file is classified. The body of a nested function, class or
lambda is not walked: its names belong to another scope.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint_sec.python.scopes import children

_STATEMENTS = (cst.BaseSmallStatement, cst.BaseCompoundStatement)
# Bindings made within a statement before its other parts run (`if (p := f()) and load(p)`,
# `with open(p) as f, wrap(f)`): one in the use's own statement may reach it.
_EARLY = (cst.NamedExpr, cst.WithItem)


@dataclass(frozen=True)
class Place:
    """Where a node runs: its statement's index in source order and the loops that repeat it."""

    index: int
    loops: frozenset[int] = frozenset()  # ids of the For / While nodes


class StatementOrder:
    """The Place of every node of one function's body (or a module's top-level code)."""

    def __init__(self, root: cst.FunctionDef | cst.Module):
        self.places: dict[int, Place] = {}
        start = Place(-1)
        stack: list[tuple[cst.CSTNode, Place]] = [(s, start) for s in reversed(list(_body(root)))]
        index = 0
        while stack:
            node, place = stack.pop()
            if isinstance(node, _STATEMENTS):
                # A `while` test runs again each iteration: it is inside its own loop.
                own = place.loops | {id(node)} if isinstance(node, cst.While) else place.loops
                place = Place(index, own)
                index += 1
            self.places[id(node)] = place
            stack.extend(reversed(list(_parts(node, place))))

    def reaches(self, binding: cst.CSTNode, use: cst.CSTNode) -> bool:
        """Whether a binding may give a use its value: it comes before it (or early in the same
        statement), or a loop repeats both. A node outside this body counts (not ordered)."""
        bound, used = self.places.get(id(binding)), self.places.get(id(use))
        if bound is None or used is None or bound.index < used.index:
            return True
        if bound.index == used.index and isinstance(binding, _EARLY):
            return True
        return bool(bound.loops & used.loops)


def _body(root: cst.FunctionDef | cst.Module) -> list[cst.CSTNode]:
    return list(root.body) if isinstance(root, cst.Module) else [root.body]


def _parts(node: cst.CSTNode, place: Place) -> list[tuple[cst.CSTNode, Place]]:
    """A node's children in source order, each with the Place its code runs in."""
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        # The decorators, defaults, bases run here; the body runs elsewhere (another scope).
        return [(child, place) for child in children(node) if child is not node.body]
    if isinstance(node, cst.Lambda):
        return [(node.params, place)]
    if isinstance(node, (cst.For, cst.While)):
        # The body repeats; the `else` runs once, after; the header is where the statement is.
        inner = Place(place.index, place.loops | {id(node)})
        outer = Place(place.index, place.loops - {id(node)})
        return [(child, inner if child is node.body else outer if child is node.orelse else place)
                for child in children(node)]
    return [(child, place) for child in children(node)]
