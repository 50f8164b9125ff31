"""Resolve what a callee or an argument can be, from the bindings recorded by scopes.py.

Everything here is static and bounded: no code is imported or evaluated (string
literals are read with libcst's `evaluated_value`, never `eval`). Each answer is
a list of possibilities, because a name may be bound several ways
(`try: import cPickle as pickle / except ImportError: import pickle`); a rule
asks whether any (or all) of them are unsafe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import libcst as cst

from mllint_sec.python import budget, switches
from mllint_sec.python.fixpoint import Answers
from mllint_sec.python.scopes import ASSIGN, CLASS, IMPORT, Binding, Scope

MAX_DEPTH = 8
PARTIAL = ("functools.partial", "functools.partialmethod")


@dataclass(frozen=True)
class Partial:
    """`functools.partial(target, ...)`: calling it calls `target` with the bound arguments first."""

    target: str
    call: cst.Call
    scope: Scope


@dataclass(frozen=True)
class Const:
    value: object


@dataclass(frozen=True)
class QName:
    name: str


@dataclass(frozen=True)
class LocalClass:
    node: cst.ClassDef
    scope: Scope


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
Value = Const | QName | LocalClass | _Unknown


def qualified_names(expr: cst.BaseExpression, scope: Scope) -> list[str]:
    """The dotted names `expr` may refer to (`callee_targets` without partials and local classes)."""
    return [t for t in callee_targets(expr, scope) if isinstance(t, str)]


def callee_targets(
    expr: cst.BaseExpression, scope: Scope, via: list[cst.BaseExpression] | None = None
) -> tuple[str | Partial, ...]:
    """The qualified names (or partials) a callee expression may refer to.

    `via` collects the alias right-hand sides walked through, so an alias that is
    called is not reported again as a bare reference. Answers are memoised per
    (expression, scope) and settled whole for names that are bound through one another
    (fixpoint.py), so they never depend on which call was resolved first, and a name
    bound many times is resolved once, to its distinct targets.
    """
    targets, walked = _callees(expr, scope)
    if via is not None:
        via.extend(walked)
    return targets


# (the targets, the alias right-hand sides walked through)
_Callees: TypeAlias = tuple[tuple[str | Partial, ...], tuple[cst.BaseExpression, ...]]
_NOTHING: _Callees = ((), ())
_CALLEES = "callees"
_IMPORTED = "imported"


def _merged(old: _Callees, new: _Callees) -> _Callees:
    targets = dict.fromkeys(old[0])
    targets.update(dict.fromkeys(new[0]))
    walked = dict.fromkeys(old[1])
    walked.update(dict.fromkeys(new[1]))
    if len(targets) == len(old[0]) and len(walked) == len(old[1]):
        return old
    return tuple(targets), tuple(walked)


def _answers(scope: Scope) -> Answers[_Callees]:
    memo = scope.module().memo
    answers = memo.get(_CALLEES)
    if answers is None:
        answers = memo[_CALLEES] = Answers(_NOTHING, _merged)
    return answers


def _key(expr: cst.BaseExpression, scope: Scope) -> tuple[str | int, int]:
    # A bare name's answer depends only on the name and the scope (resolution is
    # flow-insensitive), so all its occurrences share one entry.
    return (expr.value, id(scope)) if isinstance(expr, cst.Name) else (id(expr), id(scope))


def _callees(expr: cst.BaseExpression, scope: Scope) -> _Callees:
    return _answers(scope).get(_key(expr, scope), _resolve_callee, expr, scope)


def _settled_callees(expr: cst.BaseExpression, scope: Scope) -> _Callees:
    """What `expr` resolves to, or nothing while that is still being worked out through a cycle.

    An attribute of a name bound through itself (`m = m.child` in a loop) would otherwise
    make names without end (`m.child.child...`); such a name contributes its other bindings.
    """
    found = _callees(expr, scope)
    return found if _answers(scope).settled(_key(expr, scope)) else _NOTHING


def _resolve_callee(expr: cst.BaseExpression, scope: Scope) -> _Callees:
    if isinstance(expr, cst.Name):
        bindings, _ = scope.lookup(expr.value)
        if not bindings:
            module = scope.module()
            return tuple(f"{star}.{expr.value}" for star in module.star_imports if not star.startswith(".")), ()
        found: dict[str | Partial, None] = {}
        walked: dict[cst.BaseExpression, None] = {}
        for binding in bindings:
            if binding.kind == IMPORT and binding.qname:
                found[binding.qname] = None
            elif binding.kind == ASSIGN and binding.value is not None:
                walked[binding.value] = None
                targets, via = _callees(binding.value, binding.scope)
                found.update(dict.fromkeys(targets))
                walked.update(dict.fromkeys(via))
        return tuple(found), tuple(walked)
    if isinstance(expr, cst.Attribute):
        bases, via = _settled_callees(expr.value, scope)
        return tuple(f"{base}.{expr.attr.value}" for base in bases if isinstance(base, str)), via
    if isinstance(expr, cst.Call):
        return tuple(as_partial(expr, scope) or _dynamic_target(expr, scope)), ()
    return _NOTHING


def _imported(name: cst.Name, scope: Scope) -> frozenset[str]:
    """The qualified names `name` is imported as where it is used (read once per name and scope)."""
    memo: dict[tuple[str, int], frozenset[str]] = scope.module().memo.setdefault(_IMPORTED, {})
    key = (name.value, id(scope))
    found = memo.get(key)
    if found is None:
        bindings, _ = scope.lookup(name.value)
        found = memo[key] = frozenset(b.qname for b in bindings if b.kind == IMPORT and b.qname)
    return found


_DYNAMIC = ("__import__", "import_module", "getattr")


def _imported_as_dynamic(name: cst.Name, scope: Scope) -> bool:
    """`from importlib import import_module as load_mod`."""
    return any(qname.endswith(".import_module") for qname in _imported(name, scope))


def _dynamic_target(call: cst.Call, scope: Scope) -> list[str | Partial]:
    """`__import__("pickle")`, `importlib.import_module("pickle")`, `getattr(pickle, "loads")` with literal names."""
    args = call.args
    if not args or any(a.star or a.keyword for a in args):
        return []
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    if last not in _DYNAMIC and not (isinstance(func, cst.Name) and _imported_as_dynamic(func, scope)):
        return []
    bare = func.value if isinstance(func, cst.Name) and not scope.lookup(func.value)[0] else None
    names = qualified_names(func, scope)
    first = _literal(args[0].value)
    if (bare == "__import__" or "builtins.__import__" in names) and isinstance(first, Const):
        return [str(first.value).split(".")[0]] if isinstance(first.value, str) else []
    if "importlib.import_module" in names and isinstance(first, Const) and isinstance(first.value, str):
        return [first.value]
    if (bare == "getattr" or "builtins.getattr" in names) and len(args) in (2, 3):
        attr = _literal(args[1].value)
        if isinstance(attr, Const) and isinstance(attr.value, str):
            bases, _ = _settled_callees(args[0].value, scope)
            return [f"{base}.{attr.value}" for base in bases if isinstance(base, str)]
    return []


def as_partial(call: cst.Call, scope: Scope) -> list[Partial]:
    """`functools.partial(f, ...)` as Partial objects, one per name `f` may be."""
    if not call.args or call.args[0].keyword is not None or call.args[0].star:
        return []
    last = call.func.attr.value if isinstance(call.func, cst.Attribute) else getattr(call.func, "value", None)
    # Only `partial`/`partialmethod` (possibly aliased) can build a partial; resolving
    # every other call's callee here would multiply work on chains of rebinding.
    if not (isinstance(last, str) and last.startswith("partial")) and not (
        isinstance(call.func, cst.Name) and _imported(call.func, scope) & set(PARTIAL)
    ):
        return []
    funcs = qualified_names(call.func, scope)
    if not any(f in PARTIAL for f in funcs):
        return []
    return [
        Partial(target, call, scope)
        for target in callee_targets(call.args[0].value, scope)
        if isinstance(target, str)
    ]


def _literal(expr: cst.BaseExpression) -> Value:
    try:
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            value = expr.evaluated_value
            return UNKNOWN if value is None else Const(value)
        if isinstance(expr, (cst.Integer, cst.Float)):
            return Const(expr.evaluated_value)
    except Exception:  # noqa: BLE001 - malformed literals are simply unknown
        return UNKNOWN
    return UNKNOWN


def values(expr: cst.BaseExpression | None, scope: Scope, depth: int = 0) -> list[Value]:
    """What an expression may evaluate to, as far as constants and imports tell.

    Not memoised: `depth` bounds it, and an answer cut short there must not stand for a
    question asked from nearer the top (results would depend on the order of questions)."""
    budget.check()
    if expr is None or depth > MAX_DEPTH:
        return [UNKNOWN]
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        return [_literal(expr)]
    if isinstance(expr, cst.FormattedString):
        has_text = any(isinstance(part, cst.FormattedStringText) and part.value for part in expr.parts)
        return [Const("f") if has_text else UNKNOWN]
    if isinstance(expr, cst.Name):
        if expr.value in ("True", "False", "None"):
            return [Const({"True": True, "False": False, "None": None}[expr.value])]
        bindings, _ = scope.lookup(expr.value)
        if not bindings:
            module = scope.module()
            stars: list[Value] = [QName(f"{s}.{expr.value}") for s in module.star_imports if not s.startswith(".")]
            return stars or [UNKNOWN]
        return [v for binding in bindings for v in _binding_values(binding, depth, expr.value)]
    if isinstance(expr, cst.Attribute):
        # `args.trust_remote_code`: what the switch holds when the user passes nothing (switches.py),
        # never the imported object `shared.args.x` itself, whose truth says nothing.
        declared = switches.attribute_switch(expr, scope)
        if declared is not None:
            return _switch_values(declared)
        names = qualified_names(expr, scope)
        return [QName(n) for n in names] or [UNKNOWN]
    if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        if any(isinstance(e, cst.StarredElement) for e in expr.elements):
            return [UNKNOWN]
        # Elements that are not single constants stay UNKNOWN inside the tuple: the
        # container's truthiness (its length) is still known.
        items = []
        for element in expr.elements:
            possible = values(element.value, scope, depth + 1)
            items.append(possible[0].value if len(possible) == 1 and isinstance(possible[0], Const) else UNKNOWN)
        return [Const(tuple(items))]
    if isinstance(expr, cst.Dict):
        if any(isinstance(e, cst.StarredDictElement) for e in expr.elements):
            return [UNKNOWN]
        return [Const(tuple(range(len(expr.elements))))]
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        inner = [truth(v) for v in values(expr.expression, scope, depth + 1)]
        return [UNKNOWN if t is None else Const(not t) for t in inner]
    if isinstance(expr, cst.IfExp):
        return values(expr.body, scope, depth + 1) + values(expr.orelse, scope, depth + 1)
    if isinstance(expr, cst.Call):
        return _call_values(expr, scope, depth)
    return [UNKNOWN]


def _switch_values(declared: list[switches.Switch]) -> list[Value]:
    found: list[Value] = [UNKNOWN if s.default is switches.NO_DEFAULT else Const(s.default) for s in declared]
    return list(dict.fromkeys(found)) or [UNKNOWN]


def _binding_values(binding: Binding, depth: int, name: str) -> list[Value]:
    if binding.kind == IMPORT and binding.qname:
        return [QName(binding.qname)]
    if binding.kind == ASSIGN:
        return values(binding.value, binding.scope, depth + 1)
    if binding.kind == CLASS and isinstance(binding.node, cst.ClassDef):
        return [LocalClass(binding.node, binding.scope)]
    command_parameter = switches.parameter_switch(name, binding)  # click / typer / fire
    if command_parameter is not None:
        return _switch_values([command_parameter])
    return [UNKNOWN]


def _call_values(call: cst.Call, scope: Scope, depth: int) -> list[Value]:
    funcs = qualified_names(call.func, scope)
    args = call.args
    is_getattr = "builtins.getattr" in funcs or (
        not funcs and isinstance(call.func, cst.Name) and call.func.value == "getattr"
    )
    # getattr(module, "Name", default): either the attribute or the default.
    if is_getattr and len(args) >= 2 and not any(a.star or a.keyword for a in args):
        found: list[Value] = []
        attr = _literal(args[1].value)
        bases = qualified_names(args[0].value, scope)
        if isinstance(attr, Const) and isinstance(attr.value, str) and bases:
            found.extend(QName(f"{b}.{attr.value}") for b in bases)
        else:
            found.append(UNKNOWN)
        if len(args) == 3:
            found.extend(values(args[2].value, scope, depth + 1))
        return found
    if not funcs and isinstance(call.func, cst.Name) and call.func.value == "bool" and len(args) == 1:
        return [UNKNOWN if truth(v) is None else Const(truth(v)) for v in values(args[0].value, scope, depth + 1)]
    if not funcs and isinstance(call.func, cst.Name) and call.func.value in ("dict", "list", "tuple", "set"):
        if call.func.value == "dict" and args and all(a.keyword is not None for a in args):
            return [Const(tuple(range(len(args))))]
        if not args:
            return [Const(())]
    return [UNKNOWN]


def truth(value: Value) -> bool | None:
    """Truthiness of one possibility; None when unknown."""
    if isinstance(value, Const):
        try:
            return bool(value.value)
        except Exception:  # noqa: BLE001
            return None
    if isinstance(value, (QName, LocalClass)):
        return True
    return None


def truth_of(possible: list[Value]) -> bool | None:
    """True/False when every possibility agrees, else None."""
    truths = {truth(v) for v in possible}
    if truths == {True}:
        return True
    if truths == {False}:
        return False
    return None


def class_bases(cls: LocalClass, depth: int = 0) -> list[str]:
    """Qualified names a local class derives from, through local base classes too."""
    if depth > MAX_DEPTH:
        return []
    found = []
    for base in cls.node.bases:
        for value in values(base.value, cls.scope, depth + 1):
            if isinstance(value, QName):
                found.append(value.name)
            elif isinstance(value, LocalClass):
                found.extend(class_bases(value, depth + 1))
    return found


def dict_literal(expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> cst.Dict | cst.Call | None:
    """The dict literal (or `dict(k=v)` call) an expression certainly is, following one name binding."""
    if isinstance(expr, cst.Dict):
        return expr
    if (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict"
            and all(a.keyword is not None for a in expr.args)):
        return expr
    if isinstance(expr, cst.Name) and depth < MAX_DEPTH:
        bindings, _ = scope.lookup(expr.value)
        if len(bindings) == 1 and bindings[0].kind == ASSIGN and bindings[0].value is not None:
            return dict_literal(bindings[0].value, bindings[0].scope, depth + 1)
    return None
