"""Opt-in gates that dominate a load, and loads that rely on torch's weights-only default.

A gate: in the function (or script) that loads, an earlier `if <condition>: raise/return` on the
path to the load, whose condition is false only when an environment variable, or a setting or
option whose name says it opts in (rules/origins.toml `[guards]`), allows it
(`if not os.environ.get("ALLOW_PICKLE"): raise ...`); or an enclosing `if` whose branch runs only
when it allows (`if args.trust_remote_checkpoints: torch.load(...)`). Only statements on the
load's own path count: a check in another branch, or after the load, does not dominate it.

The weights-only default: `torch.load` without `weights_only` (and without a `pickle_module`)
inside `with torch.serialization.safe_globals([...])`, or in a file that calls
`torch.serialization.add_safe_globals(...)`, is written for torch 2.6 and later, where
`weights_only=True` is the default; the finding then says it relies on that.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from mllint_sec.catalogue.origin_tables import OriginTables, tables
from mllint_sec.python import budget, resolve
from mllint_sec.python.matching import RawFinding
from mllint_sec.python.scopes import FileFacts, Scope, children, dotted_name

MAX_CONDITION_NODES = 200  # nodes of one condition looked at
_TERMINATING_CALLS = frozenset({"sys.exit", "os._exit", "exit", "quit"})
_FALSY_TEXT = frozenset({"", "0", "false", "no", "off", "n", "f"})


@dataclass(frozen=True)
class Gate:
    node: cst.CSTNode  # the opt-in expression of the condition (to locate)
    text: str  # its code, for the message


@dataclass(frozen=True)
class _Frame:
    """One level of the statements that lead to the load: a block, the load's index in it, and the
    compound statement whose branch the block is (None at the function's top)."""

    block: tuple[cst.BaseStatement, ...]
    index: int
    parent: cst.CSTNode | None
    branch: str  # "body", "orelse", ...


def _body(function: cst.FunctionDef | cst.Module) -> tuple[cst.BaseStatement, ...]:
    if isinstance(function, cst.Module):
        return tuple(function.body)
    body = function.body
    return tuple(body.body) if isinstance(body, cst.IndentedBlock) else ()


def _blocks(node: cst.CSTNode) -> Iterator[tuple[str, tuple[cst.BaseStatement, ...]]]:
    """The statement blocks of a compound statement, by branch."""
    def block(suite: cst.BaseSuite | None) -> tuple[cst.BaseStatement, ...]:
        return tuple(suite.body) if isinstance(suite, cst.IndentedBlock) else ()

    if isinstance(node, cst.If):
        yield "body", block(node.body)
        if isinstance(node.orelse, cst.If):
            yield "orelse", (node.orelse,)
        elif isinstance(node.orelse, cst.Else):
            yield "orelse", block(node.orelse.body)
    elif isinstance(node, (cst.For, cst.While)):
        yield "body", block(node.body)
        if node.orelse is not None:
            yield "loop-else", block(node.orelse.body)
    elif isinstance(node, (cst.Try, cst.TryStar)):
        yield "body", block(node.body)
        for handler in node.handlers:
            yield "handler", block(handler.body)
        if node.orelse is not None:
            yield "try-else", block(node.orelse.body)
        if node.finalbody is not None:
            yield "finally", block(node.finalbody.body)
    elif isinstance(node, (cst.With, cst.ClassDef)):
        yield "body", block(node.body)
    elif isinstance(node, cst.Match):
        for case in node.cases:
            yield "case", block(case.body)


def frames(owner: cst.FunctionDef | cst.Module, statement: cst.CSTNode) -> list[_Frame] | None:
    """The blocks from the owner's body down to `statement`, outermost first; None if it is not there.
    Iterative (deep nesting is hostile input); nested functions are not entered."""
    stack: list[tuple[tuple[cst.BaseStatement, ...], cst.CSTNode | None, str, list[_Frame]]] = [
        (_body(owner), None, "body", [])
    ]
    while stack:
        budget.check()
        block, parent, branch, path = stack.pop()
        for index, item in enumerate(block):
            here = [*path, _Frame(block, index, parent, branch)]
            if item is statement:
                return here
            if not isinstance(item, cst.FunctionDef):
                for name, inner in _blocks(item):
                    stack.append((inner, item, name, here))
    return None


def _owner_node(scope: Scope, module: cst.Module) -> cst.FunctionDef | cst.Module:
    while scope.parent is not None and not isinstance(scope.node, cst.FunctionDef):
        scope = scope.parent
    return scope.node if isinstance(scope.node, cst.FunctionDef) else module


class Guards:
    """Per file: the gates of its findings' loads, and whether a load relies on the weights-only default."""

    def __init__(self, facts: FileFacts, origin_tables: OriginTables | None = None):
        self.facts = facts
        self.tables = origin_tables or tables()
        self._registers: bool | None = None

    def _frames(self, raw: RawFinding) -> list[_Frame] | None:
        if raw.site is None:
            return None
        return frames(_owner_node(raw.site.scope, self.facts.module), raw.statement)

    def gate(self, raw: RawFinding) -> Gate | None:
        """The opt-in gate that dominates the finding's call, if there is one."""
        path = self._frames(raw)
        if path is None or raw.site is None:
            return None
        scope = raw.site.scope
        for frame in path:
            for earlier in frame.block[: frame.index]:
                if isinstance(earlier, cst.If) and earlier.orelse is None and _terminates(earlier.body):
                    found = self._opt_in(earlier.test, scope)
                    if found is not None and _negative(earlier.test):
                        return found
            if isinstance(frame.parent, cst.If) and frame.branch in ("body", "orelse"):
                found = self._opt_in(frame.parent.test, scope)
                if found is not None and _negative(frame.parent.test) == (frame.branch == "orelse"):
                    return found
        return None

    def _opt_in(self, test: cst.BaseExpression, scope: Scope) -> Gate | None:
        """The environment read or opt-in setting a condition names (the first, in source order)."""
        t = self.tables
        stack: list[cst.CSTNode] = [test]
        seen = 0
        while stack and seen < MAX_CONDITION_NODES:
            node = stack.pop()
            seen += 1
            if isinstance(node, cst.Call):
                names = resolve.qualified_names(node.func, scope)
                if set(names) & t.user.environment or self._setting_call(node):
                    return Gate(node, self.facts.module.code_for_node(node))
            if isinstance(node, cst.Subscript):
                names = resolve.qualified_names(node.value, scope)
                if set(names) & t.user.environment_mappings:
                    return Gate(node, self.facts.module.code_for_node(node))
            if isinstance(node, (cst.Name, cst.Attribute)):
                last = node.attr.value if isinstance(node, cst.Attribute) else node.value
                if any(word in last.lower() for word in t.opt_in_words):
                    return Gate(node, self.facts.module.code_for_node(node))
                if isinstance(node, cst.Attribute):
                    stack.append(node.value)
                continue
            stack.extend(reversed(list(children(node))))
        return None

    def _setting_call(self, call: cst.Call) -> bool:
        """`config.get("allow_pickle")`: a setting read by a name that opts in."""
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "get" and call.args):
            return False
        first = call.args[0].value
        if not isinstance(first, cst.SimpleString):
            return False
        text = first.evaluated_value
        return isinstance(text, str) and any(word in text.lower() for word in self.tables.opt_in_words)

    # --- torch's weights-only default ---------------------------------------------------------------
    def relies_on_weights_only_default(self, raw: RawFinding) -> bool:
        t = self.tables
        if raw.site is None or raw.callee not in t.safe_globals.loads:
            return False
        call = raw.site.node
        keywords = {a.keyword.value for a in call.args if a.keyword is not None}
        positional = [a for a in call.args if a.keyword is None]
        if keywords & {"weights_only", "pickle_module"} or any(a.star for a in call.args) or len(positional) > 2:
            return False  # explicit: `weights_only=False` is an unsafe load, not a reliance on the default
        return self._registers_globals() or self._inside_safe_globals(raw)

    def _registers_globals(self) -> bool:
        if self._registers is None:
            words = {name.rsplit(".", 1)[-1] for name in self.tables.safe_globals.registrations}
            self._registers = any(
                _last_word(site.node) in words
                and set(resolve.qualified_names(site.node.func, site.scope)) & self.tables.safe_globals.registrations
                for site in self.facts.calls
            )
        return self._registers

    def _inside_safe_globals(self, raw: RawFinding) -> bool:
        path = self._frames(raw)
        if path is None or raw.site is None:
            return False
        withs = [frame.parent for frame in path if isinstance(frame.parent, cst.With)]
        if isinstance(raw.statement, cst.With):
            withs.append(raw.statement)
        for node in withs:
            assert isinstance(node, cst.With)
            for item in node.items:
                if isinstance(item.item, cst.Call) and set(resolve.qualified_names(item.item.func, raw.site.scope)) & \
                        self.tables.safe_globals.contexts:
                    return True
        return False


def _last_word(call: cst.Call) -> str | None:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)


def _terminates(suite: cst.BaseSuite) -> bool:
    """A block that always leaves: its last statement raises, returns, or exits."""
    if isinstance(suite, cst.IndentedBlock):
        if not suite.body or not isinstance(suite.body[-1], cst.SimpleStatementLine):
            return False
        small = suite.body[-1].body
    elif isinstance(suite, cst.SimpleStatementSuite):
        small = suite.body
    else:
        return False
    if not small:
        return False
    last = small[-1]
    if isinstance(last, (cst.Raise, cst.Return)):
        return True
    if isinstance(last, cst.Expr) and isinstance(last.value, cst.Call):
        return dotted_name(last.value.func) in _TERMINATING_CALLS
    return False


def _negative(test: cst.BaseExpression) -> bool:
    """Whether a condition holds when the opt-in it names is off (`not allow`, `x != "1"`, `x is None`)."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return True
    if isinstance(test, cst.BooleanOperation):
        return _negative(test.left) or _negative(test.right)
    if isinstance(test, cst.Comparison):
        for target in test.comparisons:
            operator = target.operator
            if isinstance(operator, (cst.NotEqual, cst.NotIn)):
                return True
            if isinstance(operator, (cst.Is, cst.Equal)) and _falsy(target.comparator):
                return True
    return False


def _falsy(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "False")
    if isinstance(expr, cst.Integer):
        return expr.value == "0"
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return isinstance(value, str) and value.strip().lower() in _FALSY_TEXT
    return False
