"""setup.py: the `install_requires` and `extras_require` of its `setup(...)` call, read statically.

The file is parsed with libcst and never imported or run. What is read:

- the call: `setup(...)` through `from setuptools import setup [as s]` (or `*`),
  `setuptools.setup(...)` through `import setuptools [as st]`, and the same for
  `distutils.core`, `numpy.distutils.core` and scikit-build's `skbuild`; wherever it is
  (module level, under `if __name__ == "__main__":`, inside a function);
- its `install_requires=` and `extras_require=` keywords, also inside `**{...}` or a `**NAME`
  bound to a dict literal;
- values that are literal: strings (one requirement a line, as setuptools reads a string),
  lists, tuples and sets of them, `[*BASE, "x"]`, `A + B`, dicts and `dict(key=[...])` of
  them, and names bound in the same function or at module level to such values (every
  binding counts, `+=` too: each is a version the project may install).

Anything else (a list built by a comprehension, read from a file, returned by a function,
an f-string) is ignored; the requirements files such code reads are manifests of their own.
A file that does not parse, or whose nesting looks hostile, is a Problem at its line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from mllint_sec.python import budget
from mllint_sec.python.decode import ParseFailure, looks_pathological, parse, run_guarded
from mllint_sec.python.positions import Range, ranges
from mllint_sec.python.scopes import dotted_name
from mllint_sec.repo.manifests import manifest as declared  # the shape every manifest reader builds

# The callables that take setuptools' keywords, by qualified name.
_SETUP_CALLS = frozenset({"setuptools.setup", "distutils.core.setup", "numpy.distutils.core.setup", "skbuild.setup"})
_MAX_DEPTH = 32  # names bound through names: deeper chains are not followed
_SECONDS = budget.DEFAULT_SECONDS
_NOT_READ = "setup.py not read for its dependencies"


@dataclass
class _Scope:
    """The names a function (or the module) binds, each to every value it is given."""

    bindings: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)

    def bind(self, name: str, value: cst.BaseExpression) -> None:
        self.bindings.setdefault(name, []).append(value)


@dataclass
class _Found:
    """Requirement strings, each with its group ("" for install_requires, else the extra)."""

    strings: list[tuple[cst.BaseExpression, str]] = field(default_factory=list)


class _Reader:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.imports: dict[str, str] = {}  # bound name -> qualified name ("s" -> "setuptools.setup")
        self.star_modules: set[str] = set()  # `from setuptools import *`
        self.scopes: dict[int, _Scope] = {0: _Scope()}
        self.calls: list[tuple[cst.Call, int]] = []  # (call, id of its function scope; 0: the module)
        self._collect()

    # --- one walk over the statements ---------------------------------------------------

    def _collect(self) -> None:
        pending: list[tuple[cst.CSTNode, int]] = [(statement, 0) for statement in reversed(self.module.body)]
        while pending:
            budget.check()
            node, scope = pending.pop()
            if isinstance(node, cst.SimpleStatementLine):
                for small in node.body:
                    self._small(small, scope)
                continue
            if isinstance(node, cst.BaseSmallStatement):  # from a one-line body
                self._small(node, scope)
                continue
            if isinstance(node, cst.FunctionDef):
                scope = id(node)
                self.scopes[scope] = _Scope()
            elif isinstance(node, cst.ClassDef):
                continue  # a class body binds nothing a setup call reads
            pending.extend((child, scope) for child in reversed(_blocks(node)))

    def _small(self, small: cst.BaseSmallStatement, scope: int) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                dotted = dotted_name(alias.name)
                if dotted is not None:
                    bound = _alias_name(alias)
                    self.imports[bound or dotted.split(".")[0]] = dotted if bound else dotted.split(".")[0]
        elif isinstance(small, cst.ImportFrom):
            source = dotted_name(small.module) if small.module is not None and not small.relative else None
            if source is None:
                return
            if isinstance(small.names, cst.ImportStar):
                self.star_modules.add(source)
                return
            for alias in small.names:
                dotted = dotted_name(alias.name)
                if dotted is not None:
                    self.imports[_alias_name(alias) or dotted] = f"{source}.{dotted}"
        elif isinstance(small, cst.Assign):
            for target in small.targets:
                if isinstance(target.target, cst.Name):
                    self.scopes[scope].bind(target.target.value, small.value)
            self._maybe_call(small.value, scope)
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            added = isinstance(small, cst.AnnAssign) or isinstance(small.operator, cst.AddAssign)
            if isinstance(small.target, cst.Name) and small.value is not None and added:
                self.scopes[scope].bind(small.target.value, small.value)
        elif isinstance(small, cst.Expr):
            self._maybe_call(small.value, scope)

    def _maybe_call(self, value: cst.BaseExpression, scope: int) -> None:
        if isinstance(value, cst.Call) and self._is_setup(value.func):
            self.calls.append((value, scope))

    def _is_setup(self, func: cst.BaseExpression) -> bool:
        dotted = dotted_name(func)
        if dotted is None:
            return False
        head, _, rest = dotted.partition(".")
        if head in self.imports:
            return self.imports[head] + (f".{rest}" if rest else "") in _SETUP_CALLS
        return not rest and any(f"{module}.{head}" in _SETUP_CALLS for module in self.star_modules)

    # --- values ---------------------------------------------------------------------------

    def requirements(self) -> _Found:
        found = _Found()
        for call, scope in self.calls:
            for keyword, value in self._keywords(call, scope):
                if keyword == "install_requires":
                    found.strings += [(string, "") for string in self._strings(value, scope, 0, set())]
                elif keyword == "extras_require":
                    for key, items in self._dict(value, scope, 0, set()):
                        group = self._group(key, scope)
                        found.strings += [(string, group) for string in self._strings(items, scope, 0, set())]
        return found

    def _keywords(self, call: cst.Call, scope: int) -> Iterator[tuple[str, cst.BaseExpression]]:
        for arg in call.args:
            if arg.keyword is not None:
                yield arg.keyword.value, arg.value
            elif arg.star == "**":
                for key, value in self._dict(arg.value, scope, 0, set()):
                    if isinstance(key, str):
                        yield key, value

    def _bound(self, name: str, scope: int) -> list[cst.BaseExpression]:
        """What `name` is bound to where `scope` reads it: its function's bindings, else the module's."""
        local = self.scopes.get(scope, self.scopes[0]).bindings.get(name)
        return local if local is not None else self.scopes[0].bindings.get(name, [])

    def _names(self, node: cst.Name, scope: int, depth: int, seen: set[str]) -> Iterator[cst.BaseExpression]:
        """The values a name is bound to; a name met again on the way (`A = A + [...]`) adds nothing more."""
        if depth >= _MAX_DEPTH or node.value in seen:
            return
        seen.add(node.value)
        yield from self._bound(node.value, scope)

    def _strings(self, node: cst.BaseExpression, scope: int, depth: int, seen: set[str]) -> list[cst.BaseExpression]:
        budget.check()
        if depth >= _MAX_DEPTH:
            return []
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return [node] if isinstance(_literal(node), str) else []
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return [string for element in node.elements
                    for string in self._strings(element.value, scope, depth + 1, seen)]
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self._strings(node.left, scope, depth + 1, seen) + self._strings(node.right, scope, depth + 1, seen)
        if isinstance(node, cst.Name):
            return [string for value in self._names(node, scope, depth, seen)
                    for string in self._strings(value, scope, depth + 1, seen)]
        return []

    def _dict(self, node: cst.BaseExpression, scope: int, depth: int,
              seen: set[str]) -> list[tuple[str | cst.BaseExpression, cst.BaseExpression]]:
        """(key, value) pairs of a dict literal, `dict(k=v)` or a name bound to one; a key is a str when written so."""
        budget.check()
        if depth >= _MAX_DEPTH:
            return []
        if isinstance(node, cst.Dict):
            pairs: list[tuple[str | cst.BaseExpression, cst.BaseExpression]] = []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    literal = _literal(element.key)
                    pairs.append((literal if isinstance(literal, str) else element.key, element.value))
                elif isinstance(element, cst.StarredDictElement):
                    pairs += self._dict(element.value, scope, depth + 1, seen)
            return pairs
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict":
            pairs = []
            for arg in node.args:
                if arg.keyword is not None:
                    pairs.append((arg.keyword.value, arg.value))
                elif arg.star == "**":
                    pairs += self._dict(arg.value, scope, depth + 1, seen)
            return pairs
        if isinstance(node, cst.Name):
            return [pair for value in self._names(node, scope, depth, seen)
                    for pair in self._dict(value, scope, depth + 1, seen)]
        return []

    def _group(self, key: str | cst.BaseExpression, scope: int) -> str:
        if isinstance(key, str):
            return key
        strings = self._strings(key, scope, 0, set()) if isinstance(key, cst.Name) else []
        literal = _literal(strings[0]) if strings else None
        return literal if isinstance(literal, str) else "extra"


def _blocks(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The statements directly inside a compound statement: its body, `except`, `else` and `finally` blocks.

    A one-line body (`if x: setup(...)`) gives its small statements themselves.
    """
    children: list[cst.CSTNode] = []
    body = getattr(node, "body", None)
    if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)):
        children += body.body
    for handler in getattr(node, "handlers", ()):
        children += _blocks(handler)
    orelse = getattr(node, "orelse", None)
    if isinstance(orelse, cst.If):  # `elif`
        children.append(orelse)
    elif orelse is not None:
        children += _blocks(orelse)
    final = getattr(node, "finalbody", None)
    if final is not None:
        children += _blocks(final)
    return children


def _alias_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def _literal(node: cst.CSTNode) -> str | bytes | None:
    """A plain string literal's value (implicit concatenation included); None for anything else."""
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.ConcatenatedString):
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
    return None


# --- positions ------------------------------------------------------------------------------


def _placed(node: cst.BaseExpression, span: Range, lines: list[str]) -> Iterator[tuple[str, declared.Where]]:
    """Each requirement a string holds (a line of it, stripped, comments dropped), where it is written.

    Found in the string's own source text, left to right; once escapes make the written text
    differ from the value, the rest are placed at the string's start (searching on would be
    quadratic in a long string).
    """
    value = _literal(node)
    if not isinstance(value, str):
        return
    line, column, end_line, end_column = span
    if line == end_line:
        source = lines[line - 1][column:end_column]
    else:
        source = "\n".join([lines[line - 1][column:], *lines[line:end_line - 1], lines[end_line - 1][:end_column]])
    start_end = end_column + 1 if end_line == line else len(lines[line - 1]) + 1
    cursor: int | None = 0
    row, line_start = line, -column  # the row at `cursor`, and where that row starts in `source`
    for piece in declared.NEWLINE.split(value):
        requirement = piece.partition(" #")[0].strip()
        if not requirement or requirement.startswith("#"):
            continue
        offset = source.find(requirement, cursor) if cursor is not None else -1
        if cursor is None or offset < 0:
            cursor = None
            yield requirement, declared.Where(line, column + 1, start_end, requirement)
            continue
        breaks = source.count("\n", cursor, offset)  # only the text since the last one: linear overall
        if breaks:
            row += breaks
            line_start = source.rfind("\n", cursor, offset) + 1
        cursor = offset + len(requirement)
        start = offset - line_start
        yield requirement, declared.Where(row, start + 1, start + 1 + len(requirement), requirement)


def _read(text: str) -> declared.Manifest:
    """Parse and read; runs on the analysis worker (a large stack) under the time budget."""
    with budget.deadline(_SECONDS):
        module = parse(text)
        if isinstance(module, ParseFailure):
            return declared.build_manifest("setup.py", problems=[
                declared.Problem(module.line, module.column, f"{_NOT_READ}: {module.message}")])
        try:
            reader = _Reader(module)
            found = reader.requirements()
            spans = ranges(module, [string for string, _ in found.strings])
        except budget.OverBudget as over:
            return declared.build_manifest("setup.py", problems=[declared.Problem(1, 1, f"{_NOT_READ}: {over}")])
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    dependencies: list[declared.Dependency] = []
    problems: list[declared.Problem] = []
    placed: set[tuple[int, int]] = set()  # a string reached twice (`BASE` in two lists) is read once
    for string, group in found.strings:
        span = spans.get(id(string))
        if span is None:
            continue
        for index, (requirement, where) in enumerate(_placed(string, span, lines)):
            if (id(string), index) in placed:
                continue
            placed.add((id(string), index))
            parsed = declared.parse_pep508(requirement, where, group)
            if isinstance(parsed, declared.Dependency):
                dependencies.append(parsed)
            else:
                problems.append(parsed)
    return declared.build_manifest("setup.py", dependencies, problems)


def parse_setup_py(text: str) -> declared.Manifest:
    """The requirements a setup.py's `setup(...)` call declares literally; never imports or runs it."""
    text = text.removeprefix("\ufeff")
    if "setup" not in text:
        return declared.build_manifest("setup.py")
    if looks_pathological(text):
        # libcst's parse time grows much faster than linearly with nesting (python/decode.py).
        return declared.build_manifest("setup.py", problems=[
            declared.Problem(1, 1, f"{_NOT_READ}: expression nesting too deep")])
    result, error = run_guarded(_read, text)
    if result is None:
        reason = "expression nesting too deep" if isinstance(error, RecursionError) else type(error).__name__
        return declared.build_manifest("setup.py", problems=[declared.Problem(1, 1, f"{_NOT_READ}: {reason}")])
    return result
