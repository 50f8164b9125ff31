"""A cheap screen before libcst: the qualified names a file's expressions may stand for, read with `ast`.

libcst is what every finding is made from, and it is the expensive step (about ten times
CPython's own parser, `ast`, which is C). Most files the word prefilter admits (`torch` and
`load` both in code) still name no catalogued call: `import torch` and `json.load(f)`. This
module answers, from an `ast` tree, the one question that decides it: which qualified names
can any expression of the file resolve to? It follows the rules of `resolve.callee_targets`
as a superset:

- an import binds a name to its dotted name exactly as `scopes.py` does (`import a.b` binds
  `a`; `import a.b as c` binds `c` to `a.b`; `from .m import f` binds `f` to `.m.f`); a name no
  binding explains may be `star.name` for every non-relative `from star import *`;
- a single-name assignment (`=`, annotated, `:=`) binds its name to whatever its value may be;
- an attribute appends its name; `getattr(x, "a")`, `__import__("m")` and
  `importlib.import_module("m")` with literal strings are followed like resolve.py does;
- anything else (a subscript, a call's result, a parameter, a loop variable) stands for nothing.

It is flow- and scope-insensitive: every binding of a name, in any scope, counts wherever the
name is used, and the star imports count even for bound names. So the answer holds every name
resolve.py can give, and perhaps more. Names bound through one another are settled by a
worklist to their least fixpoint; a name that keeps growing (`m = m.child` in a loop, which
resolve.py leaves out) makes the screen give up, as does any bound on work, a parse failure or
too deep a tree: the caller then analyses the file with libcst as before. Nothing is imported
or evaluated; literal strings are read from the tree.
"""

from __future__ import annotations

import ast
import warnings
from collections import deque
from dataclasses import dataclass

from mllint_sec.python.matching import MatchIndex, call_matches

# A binding that may stand for more names than this, or a name longer than this, is no
# ordinary import alias: the screen gives up rather than follow it.
MAX_NAMES = 256
MAX_LENGTH = 512
# Fields of ast nodes that never hold code: contexts and operators (leaf nodes), and names, numbers
# and flags (`FunctionDef.name`, `Global.names`, `ImportFrom.level`...). Imports are read, not walked.
_NOT_CODE = frozenset({"ctx", "op", "ops", "id", "attr", "name", "names", "arg", "module", "level", "kind",
                       "type_comment", "conversion", "is_async", "simple", "kwd_attrs", "asname"})
_LEAVES = frozenset({ast.Constant, ast.MatchSingleton, ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue})
_DYNAMIC = frozenset({"__import__", "import_module", "getattr"})
_DYNAMIC_SUFFIXES = tuple(f".{name}" for name in sorted(_DYNAMIC))
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


class _GiveUp(Exception):
    """The file is too entangled to screen cheaply; libcst reads it."""


@dataclass(frozen=True)
class Reading:
    """What a file's expressions may stand for."""

    names: frozenset[str]  # every qualified name any name, attribute or call of the file may resolve to
    callees: frozenset[str]  # those a call's callee may resolve to


def read(text: str) -> Reading | None:
    """The qualified names of `text`'s expressions; None when it does not parse with `ast` (newer or older
    grammar, or too deep) or is too entangled to read cheaply: libcst must read it then."""
    try:
        with warnings.catch_warnings():  # `"\d"` in scanned code is the scanned project's business, not ours
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # MemoryError: CPython's "too many nested"
        return None
    try:
        return _Reader(tree).reading()
    except (_GiveUp, RecursionError):
        return None


def may_match(reading: Reading, index: MatchIndex) -> bool:
    """Whether any of the names is a call, wildcard or base class the index looks for."""
    names = reading.names
    if not names.isdisjoint(index.calls) or not names.isdisjoint(index.subclasses):
        return True
    return bool(index.wildcards) and any(call_matches(index, name) for name in names)


def _fields(node_type: type[ast.AST]) -> tuple[str, ...]:
    fields = _FIELDS.get(node_type)
    if fields is None:
        fields = _FIELDS[node_type] = tuple(f for f in node_type._fields if f not in _NOT_CODE)
    return fields


class _Reader:
    def __init__(self, tree: ast.AST):
        self.imports: dict[str, set[str]] = {}
        self.assigned: list[tuple[str, ast.expr]] = []  # (name, value) of single-name bindings
        self.stars: list[str] = []  # `from m import *`, non-relative (resolve.py ignores relative ones)
        # Every expression a name resolves through: its base, the attribute names after it, the whole node.
        self.chains: list[tuple[ast.expr, tuple[str, ...], ast.expr]] = []
        self.callees: set[int] = set()  # ids of the calls' callee expressions
        self._walk(tree)
        self.env: dict[str, set[str]] = {name: set(found) for name, found in self.imports.items()}
        self.work = 0
        self.budget = 200_000 + 50 * (len(self.chains) + len(self.assigned))

    # --- one iterative walk over the tree ---------------------------------------------------
    def _walk(self, tree: ast.AST) -> None:
        # Exact type tests and one field table per node type: this loop visits every node of the
        # file and costs about what `ast.parse` does; isinstance and ast.walk cost twice that.
        name_type, attribute_type, call_type = ast.Name, ast.Attribute, ast.Call
        stack: list[ast.AST | None] = [tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            node = pop()
            kind = type(node)
            if kind is name_type:  # in any context: libcst's walk reads `del loads` as a use
                assert isinstance(node, ast.Name)
                self.chains.append((node, (), node))
                continue
            if kind is attribute_type:
                assert isinstance(node, ast.Attribute)
                attrs: list[str] = []
                base: ast.expr = node
                while type(base) is attribute_type:
                    assert isinstance(base, ast.Attribute)
                    attrs.append(base.attr)
                    base = base.value
                self.chains.append((base, tuple(reversed(attrs)), node))
                if type(base) is not name_type:
                    push(base)  # a call's or subscript's own parts
                continue
            if node is None or kind in _LEAVES:
                continue
            if kind is call_type:
                assert isinstance(node, ast.Call)
                self.callees.add(id(node.func))
                self.chains.append((node, (), node))
            elif isinstance(node, ast.Import):
                self._import(node)
                continue
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node)
                continue
            elif isinstance(node, ast.Assign):
                self.assigned.extend((t.id, node.value) for t in node.targets if isinstance(t, ast.Name))
            elif (isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(node.target, ast.Name)
                  and node.value is not None):
                self.assigned.append((node.target.id, node.value))
            for field in _fields(type(node)):
                value = getattr(node, field)
                if type(value) is list:
                    extend(value)
                elif value is not None:
                    push(value)

    def _bind(self, name: str, qualified: str) -> None:
        self.imports.setdefault(name, set()).add(qualified)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname is not None:
                self._bind(alias.asname, alias.name)
            else:
                top = alias.name.split(".")[0]
                self._bind(top, top)

    def _import_from(self, node: ast.ImportFrom) -> None:
        base = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                if not base.startswith("."):
                    self.stars.append(base)
                continue
            joint = "" if base.endswith(".") else "."
            self._bind(alias.asname or alias.name, f"{base}{joint}{alias.name}")

    # --- resolution -------------------------------------------------------------------------
    def reading(self) -> Reading:
        self._settle()
        names: set[str] = set()
        callees: set[str] = set()
        for base, attrs, whole in self.chains:
            found = self._base(base)
            names.update(found)
            for attr in attrs:
                if not found:
                    break
                found = self._grown({f"{name}.{attr}" for name in found})
                names.update(found)
            if id(whole) in self.callees:
                callees.update(found)
        return Reading(frozenset(names), frozenset(callees))

    def _settle(self) -> None:
        """Every single-name binding's names, to the least fixpoint (a worklist: a binding is read again
        only when a name its value goes through has grown)."""
        users: dict[str, list[int]] = {}
        for number, (_, value) in enumerate(self.assigned):
            for name in _names_read(value):
                users.setdefault(name, []).append(number)
        queue = deque(range(len(self.assigned)))
        queued = [True] * len(self.assigned)
        while queue:
            number = queue.popleft()
            queued[number] = False
            name, value = self.assigned[number]
            found = self._value(value)
            known = self.env.setdefault(name, set())
            if found <= known:
                continue
            known |= found
            self._check(known)
            for user in users.get(name, ()):
                if not queued[user]:
                    queued[user] = True
                    queue.append(user)

    def _check(self, names: set[str]) -> None:
        self.work += len(names)
        if self.work > self.budget or len(names) > MAX_NAMES:
            raise _GiveUp

    def _grown(self, names: set[str]) -> set[str]:
        self._check(names)
        if any(len(name) > MAX_LENGTH for name in names):
            raise _GiveUp
        return names

    def _value(self, expr: ast.expr) -> set[str]:
        """The names an expression may stand for (resolve.py's `_resolve_callee`)."""
        attrs: list[str] = []
        while isinstance(expr, ast.Attribute):
            attrs.append(expr.attr)
            expr = expr.value
        found = self._base(expr)
        for attr in reversed(attrs):
            if not found:
                break
            found = self._grown({f"{name}.{attr}" for name in found})
        return found

    def _base(self, expr: ast.expr) -> set[str]:
        if isinstance(expr, ast.Name):
            found = self.env.get(expr.id, set())
            if self.stars:
                found = found | {f"{star}.{expr.id}" for star in self.stars}
            return found
        if isinstance(expr, ast.Call):
            return self._dynamic(expr)
        return set()

    def _dynamic(self, call: ast.Call) -> set[str]:
        """`__import__("m")`, `importlib.import_module("m")`, `getattr(x, "a")` with literal strings."""
        args = call.args
        if not args or call.keywords or any(isinstance(a, ast.Starred) for a in args):
            return set()
        func = call.func
        bare = func.id if isinstance(func, ast.Name) else None
        last = func.attr if isinstance(func, ast.Attribute) else bare
        if last not in _DYNAMIC and not (bare is not None and any(
                name.endswith(_DYNAMIC_SUFFIXES) for name in self.env.get(bare, ()))):
            return set()  # neither one of them nor an alias of one (resolve.py asks this first too)
        funcs = self._value(func)
        first = _string(args[0])
        if (bare == "__import__" or "builtins.__import__" in funcs) and first is not None:
            return {first.split(".")[0]}
        if "importlib.import_module" in funcs and first is not None:
            return {first}
        if (bare == "getattr" or "builtins.getattr" in funcs) and len(args) in (2, 3):
            attr = _string(args[1])
            if attr is not None:
                return self._grown({f"{base}.{attr}" for base in self._value(args[0])})
        return set()


def _string(expr: ast.expr) -> str | None:
    return expr.value if isinstance(expr, ast.Constant) and isinstance(expr.value, str) else None


def _names_read(expr: ast.expr) -> set[str]:
    """The names whose bindings `_Reader._value(expr)` may consult."""
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        while isinstance(node, ast.Attribute):
            node = node.value
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Call):
            stack.append(node.func)
            stack.extend(node.args[:1])  # getattr's object
    return found
