"""Is a value checked before it is used? Explicit validation inside a handler.

A name counts as validated at a point of its function when one of these comes before that
point on every path to it (an earlier statement of an enclosing block), or guards it (the
test of an enclosing `if`/`while`):
- `if <check>: raise / return / abort(...)` (any branch of an `elif` chain, or an `else`
  that exits), or an `assert <check>`;
- (for a value built by a call) a tokenizer that truncates: `truncation=True`, or
  `max_length=` on a tokenizer/encoder/processor call;
- a statement that calls a validator on the name: `jsonschema.validate(data, schema)`,
  `validator.validate(data)`, `Model.model_validate(data)`, `validate_input(data)`,
  `check_features(data)` (a callee whose name says it validates or checks), also inside a
  `try` whose handlers all exit.

A <check> tests the name's type, size, shape or range: `isinstance(x, ...)`, `len(x)`,
`x.shape`, `x.ndim`, `x.dtype`, `x.size`, an ordering comparison (`x < 0`, `0 <= x <= 1`,
`x.max() > 1`), an allow-list (`x in ALLOWED`), equality with a literal, `np.isfinite(x)`,
a predicate named like a validator (`is_valid(x)`), or a name assigned from a validator's
result (`errors = schema.validate(x); if errors: abort(400)`). Presence and truthiness
(`if not x`, `x is None`, `"key" in x`) do not count.
"""

from __future__ import annotations

import re

import libcst as cst

from mllint_sec.python.scopes import ASSIGN, Scope, children

_SHAPE_ATTRIBUTES = {"shape", "ndim", "dtype", "size", "nbytes"}
_ORDERING = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)
_FINITE = {"isfinite", "isnan", "isinf", "isreal"}
_EXITS = {"abort", "exit", "_exit", "quit", "HTTPException"}
_VALIDATOR_NAME = re.compile(
    r"(?i)(?:^|_)(?:validat|verif|sanitiz|sanitis)|(?:^|_)(?:check|ensure|assert)(?:_|s?$)|^is_valid|^valid(?:_|$)"
)


def is_validator_name(name: str) -> bool:
    return bool(_VALIDATOR_NAME.search(name))


def truncates(call: cst.Call) -> bool:
    """A tokenizer or processor call that cuts its input to a fixed size: `tokenizer(text,
    truncation=True)`, `tokenizer.encode_plus(text, max_length=512)` (token ids of bounded length)."""
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    truncation = keywords.get("truncation")
    if truncation is not None and not (isinstance(truncation, cst.Name) and truncation.value in ("False", "None")):
        return True
    length = keywords.get("max_length")
    if length is None or (isinstance(length, cst.Name) and length.value == "None"):
        return False
    callee = cst.Module([]).code_for_node(call.func).lower()
    return any(word in callee for word in ("token", "encode", "processor", "feature_extractor"))


class Checks:
    """Explicit checks in the functions of one file (parent links are built per function, on demand)."""

    def __init__(self) -> None:
        self.parents: dict[int, dict[int, cst.CSTNode]] = {}

    def validated(self, name: str, at: cst.CSTNode, scope: Scope) -> bool:
        """Whether `name` is checked before (or around) `at`, inside the function `scope` belongs to."""
        function = _function_node(scope)
        if function is None:
            return False
        parents = self._parents(function)
        node = at
        while id(node) in parents:
            parent = parents[id(node)]
            if (isinstance(parent, (cst.If, cst.While)) and node is not parent.test
                    and _checks(parent.test, name, scope)):
                return True
            if isinstance(parent, (cst.IndentedBlock, cst.Module, cst.SimpleStatementSuite)):
                body = list(parent.body)
                if node in body:
                    for earlier in body[: body.index(node)]:
                        if _validates(earlier, name, scope):
                            return True
            if parent is function:
                break
            node = parent
        return False

    def _parents(self, function: cst.CSTNode) -> dict[int, cst.CSTNode]:
        key = id(function)
        if key not in self.parents:
            links: dict[int, cst.CSTNode] = {}
            stack = [function]
            while stack:
                node = stack.pop()
                for child in children(node):
                    if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) and node is not function:
                        links[id(child)] = node
                        continue  # nested functions have their own checks
                    links[id(child)] = node
                    stack.append(child)
            self.parents[key] = links
        return self.parents[key]


def _function_node(scope: Scope | None) -> cst.CSTNode | None:
    while scope is not None:
        if scope.node is not None:
            return scope.node
        scope = scope.parent
    return None


def _validates(statement: cst.CSTNode, name: str, scope: Scope) -> bool:
    """Whether an earlier statement of the same block validates `name` for what follows it."""
    if isinstance(statement, cst.If):
        branch: cst.CSTNode | None = statement
        while isinstance(branch, cst.If):
            if _checks(branch.test, name, scope) and (_exits(branch.body) or _else_exits(branch.orelse)):
                return True
            branch = branch.orelse
        return False
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, cst.Assert) and _checks(small.test, name, scope):
                return True
            if isinstance(small, cst.Expr) and _validator_call(small.value, name):
                return True
        return False
    if (isinstance(statement, (cst.Try, cst.TryStar)) and statement.handlers
            and all(_exits(h.body) for h in statement.handlers)):
        return any(_validates(inner, name, scope) for inner in statement.body.body)
    return False


def _else_exits(orelse: cst.CSTNode | None) -> bool:
    return isinstance(orelse, cst.Else) and _exits(orelse.body)


def _exits(block: cst.BaseSuite) -> bool:
    statements = block.body if isinstance(block, cst.IndentedBlock) else [block]
    for statement in statements:
        smalls = statement.body if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else []
        for small in smalls:
            if isinstance(small, (cst.Raise, cst.Return)):
                return True
            if (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)
                    and _callee_name(small.value) in _EXITS):
                return True
    return False


def _validator_call(expr: cst.BaseExpression, name: str) -> bool:
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if not isinstance(expr, cst.Call) or not is_validator_name(_callee_name(expr)):
        return False
    return any(_mentions(arg.value, name) for arg in expr.args)


def _checks(test: cst.BaseExpression, name: str, scope: Scope) -> bool:
    """Whether `test` checks the type, size, shape or range of `name`."""
    stack: list[cst.CSTNode] = [test]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call):
            callee = _callee_name(node)
            if callee == "isinstance" and node.args and _mentions(node.args[0].value, name):
                return True
            if ((callee in _FINITE or callee == "len" or is_validator_name(callee))
                    and any(_mentions(a.value, name) for a in node.args)):
                return True
        elif isinstance(node, cst.Attribute):
            if node.attr.value in _SHAPE_ATTRIBUTES and _mentions(node.value, name):
                return True
        elif isinstance(node, cst.Comparison):
            if _compares(node, name):
                return True
        elif isinstance(node, cst.Name) and node.value != name and _assigned_from_validator(node.value, name, scope):
            return True
        stack.extend(_value_children(node))
    return False


def _compares(comparison: cst.Comparison, name: str) -> bool:
    left = comparison.left
    for target in comparison.comparisons:
        operator, right = target.operator, target.comparator
        if isinstance(operator, _ORDERING) and (_mentions(left, name) or _mentions(right, name)):
            return True
        if isinstance(operator, (cst.In, cst.NotIn)) and _mentions(left, name):
            return True  # an allow-list: `lang in SUPPORTED`
        if isinstance(operator, (cst.Equal, cst.NotEqual)) and (
            (_mentions(left, name) and _literal(right)) or (_mentions(right, name) and _literal(left))
        ):
            return True
        left = right
    return False


def _assigned_from_validator(other: str, name: str, scope: Scope) -> bool:
    bindings, _ = scope.lookup(other)
    return any(b.kind == ASSIGN and b.value is not None and _validator_call(b.value, name) for b in bindings)


def _literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString, cst.Tuple))


def _mentions(expr: cst.CSTNode, name: str) -> bool:
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value == name:
            return True
        if isinstance(node, (cst.Lambda, cst.FunctionDef)):
            continue
        stack.extend(_value_children(node))
    return False


def _value_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Children that hold values: not an attribute's name nor a keyword argument's name."""
    if isinstance(node, cst.Attribute):
        return [node.value]
    if isinstance(node, cst.Arg):
        return [node.value]
    return list(children(node))


def _callee_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""
