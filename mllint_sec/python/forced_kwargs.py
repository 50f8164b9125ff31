"""Keys a function puts into a dict before it spreads the dict into a call (`**kwargs`).

A `**name` spread is unknown in general. Inside a function it is not, for a key the function
sets before the call on every path that reaches it:

    def torch_load(*args, **kwargs):
        kwargs.setdefault("weights_only", False)        # a default: the caller's keyword wins
        return torch.load(*args, **kwargs)

`name.setdefault("k", v)` and `if "k" not in name: name["k"] = v` (also as the last condition of an
`and`) give a DEFAULT;
`name["k"] = v`, `name.update(k=v)` and `name.update({"k": v})` FORCE the key. `name` is the
function's `**kwargs` parameter (other keys: whatever the caller passes) or a local dict
literal assigned once (other keys: absent). Only the function body's own statements before the
one holding the call are read, so each of them runs on every path to the call; any other use of
the dict (passed elsewhere, `del`, `pop`, set in a branch or a loop, rebound) answers None, and the
spread stays unknown, as before. Sound and simple beats clever here: a wrong "forced" would
report a safe call or hide an unsafe one.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint_sec.python.scopes import ASSIGN, OTHER, Scope, children

DEFAULT, FORCE = "default", "force"
_MEMO = "forced-kwargs"


@dataclass(frozen=True)
class Forced:
    keys: dict[str, tuple[str, cst.BaseExpression]]  # key -> (DEFAULT | FORCE, the value's expression)
    closed: bool  # a local dict literal (unnamed keys are absent); False: a `**kwargs` parameter
    scope: Scope  # where the values are evaluated (the function's)


def function_scope(scope: Scope) -> Scope | None:
    """The innermost enclosing `def`'s scope (through comprehensions), or None (module, class, lambda)."""
    while scope.kind == "comprehension" and scope.parent is not None:
        scope = scope.parent
    return scope if scope.kind == "function" and isinstance(scope.node, cst.FunctionDef) else None


def forced(value: cst.BaseExpression, arg: cst.CSTNode, scope: Scope) -> Forced | None:
    """What the dict `value`, spread as `arg` (a `**value` argument) in `scope`, certainly holds."""
    if not isinstance(value, cst.Name):
        return None
    memo: dict[int, Forced | None] = scope.module().memo.setdefault(_MEMO, {})
    key = id(arg)
    if key not in memo:
        memo[key] = _forced(value.value, arg, scope)
    return memo[key]


def _forced(name: str, arg: cst.CSTNode, scope: Scope) -> Forced | None:
    owner = function_scope(scope)
    if owner is None or not isinstance(owner.node, cst.FunctionDef):
        return None
    function = owner.node
    bindings, found_in = scope.lookup(name)
    if found_in is not owner or len(bindings) != 1:
        return None  # rebound, global, or not a local at all
    statements = list(function.body.body)
    holder = next((n for n, statement in enumerate(statements) if _contains(statement, arg)), None)
    if holder is None or not _only_spread(statements[holder], name):
        return None
    star_kwarg = function.params.star_kwarg
    keys: dict[str, tuple[str, cst.BaseExpression]] = {}
    binding = bindings[0]
    start: int | None = 0
    if binding.kind == OTHER and isinstance(star_kwarg, cst.Param) and star_kwarg.name.value == name:
        closed = False
    elif binding.kind == ASSIGN and binding.value is not None:
        start = next((n + 1 for n, s in enumerate(statements[:holder]) if _assigns(s, binding.node)), None)
        initial = literal_keys(binding.value)
        if start is None or initial is None:
            return None  # assigned inside a compound statement, or not a literal
        keys, closed = {k: (FORCE, v) for k, v in initial.items()}, True
    else:
        return None
    for statement in statements[start:holder]:
        if not _apply(statement, name, keys):
            return None
    return Forced(keys, closed, owner)


def _contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        if node is target:
            return True
        stack.extend(children(node))
    return False


def _mentions(root: cst.CSTNode, name: str) -> bool:
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value == name:
            return True
        stack.extend(children(node))
    return False


def _only_spread(root: cst.CSTNode, name: str) -> bool:
    """Whether `name` appears in `root` only as `**name` arguments (which copy the dict, never change it)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Arg) and node.star == "**" and isinstance(node.value, cst.Name):
            continue
        if isinstance(node, cst.Name) and node.value == name:
            return False
        stack.extend(children(node))
    return True


def _assigns(statement: cst.CSTNode, assign: cst.CSTNode | None) -> bool:
    # Alone on its line: `opts = {}; opts["k"] = v` would put a change before where reading starts.
    return isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and statement.body[0] is assign


def _string(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def literal_keys(expr: cst.BaseExpression) -> dict[str, cst.BaseExpression] | None:
    """`{"k": v}` with string keys, or `dict(k=v)`; None for anything else."""
    found: dict[str, cst.BaseExpression] = {}
    if isinstance(expr, cst.Dict):
        for element in expr.elements:
            key = _string(element.key) if isinstance(element, cst.DictElement) else None
            if key is None or not isinstance(element, cst.DictElement):
                return None
            found[key] = element.value
        return found
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict":
        for arg in expr.args:
            if arg.keyword is None or arg.star:
                return None
            found[arg.keyword.value] = arg.value
        return found
    return None


def _method_call(small: cst.BaseSmallStatement, name: str) -> tuple[str, cst.Call] | None:
    """`name.method(...)` as an expression statement: (method, call)."""
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return None
    func = small.value.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name:
        return func.attr.value, small.value
    return None


def _subscript_set(small: cst.BaseSmallStatement, name: str) -> tuple[str, cst.BaseExpression] | None:
    """`name["k"] = v`: (k, v)."""
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    if not (isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and target.value.value == name
            and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index)):
        return None
    key = _string(target.slice[0].slice.value)
    return None if key is None or _mentions(small.value, name) else (key, small.value)


def _default_if(statement: cst.CSTNode, name: str) -> tuple[str, cst.BaseExpression] | None:
    """`if "k" not in name: name["k"] = v` (nothing else in the block, no else): (k, v)."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return None
    test = statement.test
    # `if TORCH_1_13 and "k" not in name:`: the other condition only decides whether the default is
    # put in; when it is not, the key stays absent and the loader's own default applies. Taken as
    # the default: a call is reported when that value is unsafe (it is, whenever the condition holds).
    while isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        test = test.right
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.NotIn)
            and isinstance(test.comparisons[0].comparator, cst.Name) and test.comparisons[0].comparator.value == name):
        return None
    key = _string(test.left)
    body = statement.body.body
    if key is None or len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
        return None
    assigned = _subscript_set(body[0].body[0], name)
    return assigned if assigned is not None and assigned[0] == key else None


def _apply(statement: cst.CSTNode, name: str, keys: dict[str, tuple[str, cst.BaseExpression]]) -> bool:
    """Read one statement of the body into `keys`; False when it uses the dict in any other way."""
    default = _default_if(statement, name)
    if default is not None:
        keys.setdefault(default[0], (DEFAULT, default[1]))
        return True
    if not isinstance(statement, cst.SimpleStatementLine):
        return not _mentions(statement, name)
    return all(_apply_small(small, name, keys) for small in statement.body)  # stops at the first use it cannot read


def _apply_small(small: cst.BaseSmallStatement, name: str, keys: dict[str, tuple[str, cst.BaseExpression]]) -> bool:
    assigned = _subscript_set(small, name)
    if assigned is not None:
        keys[assigned[0]] = (FORCE, assigned[1])
        return True
    method = _method_call(small, name)
    if method is None:
        return not _mentions(small, name)
    verb, call = method
    if any(_mentions(arg.value, name) for arg in call.args):
        return False
    if verb == "setdefault" and len(call.args) == 2 and not any(a.keyword or a.star for a in call.args):
        key = _string(call.args[0].value)
        if key is None:
            return False
        keys.setdefault(key, (DEFAULT, call.args[1].value))
        return True
    if verb == "update" and call.args:
        if len(call.args) == 1 and not call.args[0].keyword and not call.args[0].star:
            literal = literal_keys(call.args[0].value)
        elif all(a.keyword is not None and not a.star for a in call.args):
            literal = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        else:
            literal = None
        if literal is None:
            return False
        keys.update({k: (FORCE, v) for k, v in literal.items()})
        return True
    return False
