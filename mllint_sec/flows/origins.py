"""Where the bytes a deserialization finding loads come from: network, user, constant, self-written...

The loaded argument of a finding (RawFinding.loaded: the path, file or bytes a loader reads) is
followed back, within the file: through assignments, unpacking, `with open(...) as f`, loops,
containers, `os.path.join` / `Path(...)` / `/` / f-strings and the other pass-through calls of
rules/origins.toml (`open(x)`, `io.BytesIO(x)`, `.read()`), into the return values of the file's
own functions (with that call's arguments for their parameters), and from a private function's
parameter to the arguments its callers in the file pass. Each place the value may come from
gets a kind (core/origin.py); the worst one is the finding's origin. A parameter of a public
function, or of a command-line entry point, is user-chosen: whoever calls it picks the file.

Before that, the load is compared with the writes before it in the same function (or at the
top level of a script): a file written there with a writer of the tables, under the same path
expression, is self-written; an in-memory buffer filled there is a round trip; a file a
downloader wrote there is from the network.

The work is bounded per finding (MAX_STEPS questions, MAX_CALLS own functions deep) and runs
only for findings, never for every call. A value that is the return of a function imported
from elsewhere stays unknown here, with the function's qualified names in `Origin.callees`
for the repository stage (analysis/cross_module_origins.py) to settle one call deep.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from mllint_sec.catalogue.origin_tables import OriginTables, PathArgument, tables
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.origin import WORST_FIRST, Origin, OriginKind
from mllint_sec.flows.origin_order import StatementOrder
from mllint_sec.python import budget, resolve, strings
from mllint_sec.python.matching import RawFinding
from mllint_sec.python.positions import Range
from mllint_sec.python.scopes import (
    ASSIGN,
    CLASS,
    IMPORT,
    OTHER,
    Binding,
    FileFacts,
    Scope,
    Site,
    children,
    dotted_name,
    is_staticmethod,
    parameters,
)

MAX_STEPS = 500  # questions one classification may ask; past it, what is left is unknown
MAX_CALLS = 4  # the file's own functions followed into, one inside another
MAX_CALLERS = 16  # call sites of a private function looked at
MAX_CALLEES = 4  # imported functions recorded for the repository stage
MAX_TEXT = 80  # characters of scanned code quoted in a description
LINE = "{line}"  # replaced by the line of the origin's node once positions are known

_RANK = {kind: rank for rank, kind in enumerate(WORST_FIRST)}
# Names of values that are not paths or bytes.
_NOT_DATA = frozenset({"None", "True", "False"})
# Generic last segments: a label names the module too (`requests.get`, not `get`).
_GENERIC = frozenset({"get", "post", "open", "request", "download", "load", "read"})
# Receivers of a method's own object (a method's first parameter).
_SELF = frozenset({"self", "cls"})


@dataclass(frozen=True)
class Traced:
    """One place the loaded value may come from, before positions are known."""

    kind: OriginKind
    what: str  # the description, with LINE for the line of `node`
    node: cst.CSTNode | None = None
    callees: tuple[str, ...] = ()  # UNKNOWN: imported functions whose return this is
    command_line: bool = False  # the parsed command line (`args`): an attribute names the option


_UNKNOWN = Traced(OriginKind.UNKNOWN, "")
# An attribute of `self` met again while its own values are being checked (origins of cycles).
_ASSUMED = Traced(OriginKind.ROUND_TRIP, "")


def worst(found: list[Traced]) -> Traced:
    """The most exposed possibility (the first of equals, in the order they were found); unknown if none.
    An unknown one carries the imported functions of every unknown possibility."""
    if not found:
        return _UNKNOWN
    best = min(found, key=lambda t: _RANK[t.kind])
    if best.kind == OriginKind.UNKNOWN:
        callees = tuple(dict.fromkeys(c for t in found if t.kind == OriginKind.UNKNOWN for c in t.callees))
        return Traced(OriginKind.UNKNOWN, "", best.node, callees[:MAX_CALLEES])
    return best


def located(traced: Traced, spans: dict[int, Range]) -> Origin:
    """The origin a finding carries, with the line of its node (python/positions.py spans)."""
    span = spans.get(id(traced.node)) if traced.node is not None else None
    line = str(span[0]) if span is not None else "?"
    description = traced.what.replace(LINE, line)
    step = FlowStep.at(span, f"the loaded data comes from here: {description}") if span and description else None
    return Origin(traced.kind, description, step, traced.callees)


def short_text(module: cst.Module, node: cst.CSTNode) -> str:
    """A node's code for a message, on one line and at most MAX_TEXT characters."""
    text = " ".join(module.code_for_node(node).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _label(name: str) -> str:
    """How a message names a call: its last segment, with the module when that is generic."""
    parts = name.split(".")
    return ".".join(parts[-2:]) if parts[-1] in _GENERIC and len(parts) > 1 else parts[-1]


def _owner(scope: Scope) -> Scope:
    """The function (or module) whose body a scope's code runs in."""
    while scope.kind in ("comprehension", "class") and scope.parent is not None:
        if scope.kind == "class":
            return scope
        scope = scope.parent
    return scope


def argument(call: cst.Call, keywords: tuple[str, ...], position: int | None) -> cst.BaseExpression | None:
    """The argument given by keyword, or at a position among the positional ones (not after a `*`)."""
    positional = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value in keywords:
                return arg.value
        elif arg.star:
            if arg.star == "*":
                positional = 10**6
        else:
            if positional == position:
                return arg.value
            positional += 1
    return None


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _terminal_returns(function: cst.FunctionDef) -> Iterator[cst.Return]:
    """The function's own `return` statements (not those of nested functions or classes)."""
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Return):
            yield node
        elif not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(reversed(list(children(node))))


@dataclass
class _Question:
    """One classification's state: its budget, the questions on the current path, parameter values."""

    steps: int = 0
    path: set[tuple[int, int]] = field(default_factory=set)
    # (id(function scope), parameter name) -> (argument expression, its scope), for a call being followed
    bound: dict[tuple[int, str], tuple[cst.BaseExpression | None, Scope]] = field(default_factory=dict)
    calls: int = 0
    # (id(ClassDef), attribute name) of the attributes of `self` being followed on the current path
    attributes: set[tuple[int, str]] = field(default_factory=set)


class Origins:
    """Classifies the loaded argument of a file's deserialization findings."""

    def __init__(self, facts: FileFacts, origin_tables: OriginTables | None = None):
        self.facts = facts
        self.tables = origin_tables or tables()
        self.order = {id(site.node): index for index, site in enumerate(facts.calls)}
        self._writes: dict[int, list[tuple[int, Site[cst.Call], cst.BaseExpression, str]]] | None = None
        self._cli_functions: set[int] | None = None
        self._attributes: _ClassAttributes | None = None
        self._orders: dict[int, StatementOrder] = {}  # id(function or module) -> its statements' order
        network_methods = {n.rsplit(".", 1)[-1] for n in self.tables.network_returns}
        self.network_methods = frozenset(m for m in network_methods if "download" in m or "cached" in m or "url" in m)

    # --- the entry point ------------------------------------------------------------------------
    def classify(self, raw: RawFinding) -> Traced | None:
        """Where the finding's loaded value comes from; None when the call loads no argument."""
        if raw.loaded is None:
            return None
        expr, scope = raw.loaded
        if isinstance(expr, cst.Name) and expr.value in _NOT_DATA:
            return None
        budget.check()
        if raw.site is not None:
            written = self._written(expr, scope, self.order.get(id(raw.site.node)))
            if written is not None:
                return written
        return worst(self._trace(expr, scope, _Question()))

    def returned_by(self, function: cst.FunctionDef) -> Traced:
        """Where what a function of this file returns comes from, its parameters unknown (the
        repository stage asks this of another module's function that a finding's file calls)."""
        inner = self.facts.function_scopes.get(id(function))
        if inner is None:
            return _UNKNOWN
        question = _Question()
        for param in parameters(function.params):
            question.bound[(id(inner), param.name.value)] = (None, inner)
        question.calls = 1
        found = [t for ret in _terminal_returns(function) if ret.value is not None
                 for t in self._trace(ret.value, inner, question)]
        return worst(found)

    # --- following a value back -------------------------------------------------------------------
    def _trace(self, expr: cst.BaseExpression, scope: Scope, question: _Question) -> list[Traced]:
        question.steps += 1
        if question.steps > MAX_STEPS:
            return [_UNKNOWN]
        budget.check()
        key = (id(expr), id(scope))
        if key in question.path:
            return []  # a value built from itself (`p = p / "x"` in a loop) adds nothing new
        question.path.add(key)
        try:
            return self._trace_new(expr, scope, question)
        finally:
            question.path.discard(key)

    def _trace_new(self, expr: cst.BaseExpression, scope: Scope, question: _Question) -> list[Traced]:
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.BinaryOperation)):
            return self._built(expr, scope, question)
        if isinstance(expr, (cst.Integer, cst.Float, cst.Imaginary)):
            return []
        if isinstance(expr, cst.Name):
            return self._name(expr, scope, question)
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, scope, question)
        if isinstance(expr, cst.Subscript):
            return self._subscript(expr, scope, question)
        if isinstance(expr, cst.Call):
            return self._call(expr, scope, question)
        if isinstance(expr, cst.IfExp):
            return self._trace(expr.body, scope, question) + self._trace(expr.orelse, scope, question)
        if isinstance(expr, cst.BooleanOperation):
            return self._trace(expr.left, scope, question) + self._trace(expr.right, scope, question)
        if isinstance(expr, (cst.Await, cst.StarredElement)):
            inner = expr.expression if isinstance(expr, cst.Await) else expr.value
            return self._trace(inner, scope, question)
        if isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            return [t for e in expr.elements for t in self._trace(e.value, scope, question)]
        if isinstance(expr, cst.Dict):
            return [t for e in expr.elements if isinstance(e, cst.DictElement)
                    for t in self._trace(e.value, scope, question)]
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            # `[_serialize(x) for x in items]`: the elements are what `elt` computes, in the comprehension's scope.
            where = self._scope_of(expr.elt)
            return self._trace(expr.elt, where, question) if where is not None else [_UNKNOWN]
        return [_UNKNOWN]

    def _scope_of(self, expr: cst.BaseExpression) -> Scope | None:
        """The scope an expression is evaluated in, known from a call in it (scopes.py records calls
        with their scope, not comprehensions or lambdas); None when it has no call of its own."""
        stack: list[cst.CSTNode] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call):
                index = self.order.get(id(node))
                return self.facts.calls[index].scope if index is not None else None
            if not isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
                stack.extend(reversed(list(children(node))))
        return None

    def _constant(self, expr: cst.BaseExpression, scope: Scope) -> Traced:
        """A path built from constants only: the repository file it names."""
        text = _path_text(expr, scope)
        if not text:
            shown = short_text(self.facts.module, expr)
        else:
            shown = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."
        if text and _remote(text):  # `https://...`, `s3://...`, MLflow's `models:/...`: not a file of the repository
            return Traced(OriginKind.NETWORK, f"the remote `{shown}` named at line {LINE}", expr)
        return Traced(OriginKind.CONSTANT, f"a repository file, `{shown}`", expr)

    def _built(self, expr: cst.BaseExpression, scope: Scope, question: _Question) -> list[Traced]:
        """A string or path made of parts: constant when every part is, else the parts' origins."""
        parts: list[cst.BaseExpression] = []
        if isinstance(expr, cst.ConcatenatedString):
            parts = [expr.left, expr.right]
        elif isinstance(expr, cst.FormattedString):
            parts = [p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression)]
        elif isinstance(expr, cst.BinaryOperation):
            parts = [expr.left, expr.right]
        found = [t for part in parts for t in self._trace(part, scope, question)]
        if all(t.kind == OriginKind.CONSTANT for t in found):
            return [self._constant(expr, scope)]
        return [t for t in found if t.kind != OriginKind.CONSTANT]

    def _name(self, expr: cst.Name, scope: Scope, question: _Question) -> list[Traced]:
        if expr.value in _NOT_DATA:
            return []
        if expr.value == "__file__":
            return [Traced(OriginKind.CONSTANT, "a repository file, `__file__`", expr)]
        names = resolve.callee_targets(expr, scope)
        user = self._user_value([n for n in names if isinstance(n, str)], expr)
        if user is not None:
            return [user]
        bindings, owner = scope.lookup(expr.value)
        found: list[Traced] = []
        for binding in self._reaching(bindings, owner, expr, scope):
            if binding.kind == ASSIGN and binding.value is not None:
                found += self._trace(binding.value, binding.scope, question)
            elif binding.kind in (IMPORT, CLASS):
                found.append(_UNKNOWN)
            else:
                found += self._bound_otherwise(expr.value, binding.node, binding.scope, question)
        return found or [_UNKNOWN]

    def _bound_otherwise(
        self, name: str, node: cst.CSTNode | None, scope: Scope, question: _Question
    ) -> list[Traced]:
        """A name bound by a parameter, `with ... as`, a loop, unpacking."""
        if isinstance(node, cst.WithItem):
            return self._trace(node.item, scope, question)
        if isinstance(node, cst.For):
            return self._trace(node.iter, scope, question)
        if isinstance(node, cst.CompFor):
            return self._trace(node.iter, scope, question)
        if isinstance(node, cst.Assign):  # `path, _ = urlretrieve(url)`, `a, b = "x.pt", "y.pt"`
            return self._unpacked(name, node, scope, question)
        if node is None and scope.kind == "function" and isinstance(scope.node, cst.FunctionDef):
            return self._parameter(name, scope, scope.node, question)
        return [_UNKNOWN]

    def _attribute(self, expr: cst.Attribute, scope: Scope, question: _Question) -> list[Traced]:
        names = resolve.qualified_names(expr, scope)
        user = self._user_value(names, expr)
        if user is not None:
            return [user]
        if isinstance(expr.value, cst.Name) and expr.value.value in _SELF:
            return self._own_attribute(expr.value, expr.attr.value, scope, question)
        return [self._option(expr.attr.value, traced) if traced.command_line else traced
                for traced in self._trace(expr.value, scope, question)]

    def _option(self, name: str, parsed: Traced) -> Traced:
        """`args.ckpt`: the option that sets it, and where it is declared."""
        for site in self.facts.calls:
            func = site.node.func
            if not (isinstance(func, cst.Attribute) and func.attr.value in self.tables.user.option_methods):
                continue
            for arg in site.node.args:
                value = arg.value if arg.keyword is None or arg.keyword.value == "dest" else None
                if not isinstance(value, cst.SimpleString):
                    continue
                text = strings.shapes(value, site.scope)[0]
                option = text.exact if text is not None and text.exact else ""
                if option.lstrip("-").replace("-", "_") == name:
                    flag = option if option.startswith("-") else name
                    return Traced(OriginKind.USER, f"the command line (`{flag}`, line {LINE})", site.node)
        return Traced(OriginKind.USER, f"the command line (`{name}`, line {LINE})", parsed.node)

    def _subscript(self, expr: cst.Subscript, scope: Scope, question: _Question) -> list[Traced]:
        names = resolve.qualified_names(expr.value, scope)
        shown = short_text(self.facts.module, expr)
        if any(n in self.tables.user.environment_mappings for n in names):
            return [Traced(OriginKind.USER, f"the environment (`{shown}`, line {LINE})", expr)]
        if any(n in self.tables.user.argv for n in names):
            return [Traced(OriginKind.USER, f"the command line (`{shown}`, line {LINE})", expr)]
        return self._trace(expr.value, scope, question)

    def _user_value(self, names: list[str], node: cst.CSTNode) -> Traced | None:
        """A name or attribute that is itself user input (`sys.argv`, `os.environ`)."""
        shown = short_text(self.facts.module, node)
        if any(n in self.tables.user.argv for n in names):
            return Traced(OriginKind.USER, f"the command line (`{shown}`, line {LINE})", node)
        if any(n in self.tables.user.environment_mappings for n in names):
            return Traced(OriginKind.USER, f"the environment (`{shown}`, line {LINE})", node)
        return None

    # --- calls ----------------------------------------------------------------------------------------
    def _call(self, call: cst.Call, scope: Scope, question: _Question) -> list[Traced]:
        t = self.tables
        names = resolve.qualified_names(call.func, scope)
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        bare = func.value if isinstance(func, cst.Name) and not scope.lookup(func.value)[0] else None
        network = [n for n in names if n in t.network_returns]
        if network or (method in self.network_methods and not names):
            label = _label(network[0]) if network else method
            return [Traced(OriginKind.NETWORK, f"the file `{label}` fetched at line {LINE}", call)]
        serializer = [n for n in names if n in t.serializers]
        if serializer:
            return [Traced(OriginKind.ROUND_TRIP, f"the bytes `{_label(serializer[0])}` produced at line {LINE}", call)]
        if any(n in t.user.environment for n in names):
            shown = short_text(self.facts.module, call)
            return [Traced(OriginKind.USER, f"the environment (`{shown}`, line {LINE})", call)]
        if bare in t.user.interactive:
            return [Traced(OriginKind.USER, f"what is typed at the prompt (`{bare}`, line {LINE})", call)]
        if method in t.user.parse_methods:
            return [Traced(OriginKind.USER, f"the command line (line {LINE})", call, command_line=True)]
        if any(n in t.carriers.calls for n in names) or bare in t.carriers.builtins:
            return self._carried(call, [a.value for a in call.args if a.keyword is None], scope, question)
        if method in t.carriers.methods and not names and isinstance(func, cst.Attribute):
            values = [func.value, *(a.value for a in call.args if a.keyword is None)]
            return self._carried(call, values, scope, question, receiver=True)
        own = self._own_function(call, scope)
        if own is not None:
            return self._returns(own[0], own[1], call, scope, question, method is not None)
        lambdas = self._own_lambdas(call, scope)
        if lambdas:
            return self._lambda_returns(lambdas, question)
        imported = [n for n in names if not n.startswith("builtins.")]
        return [Traced(OriginKind.UNKNOWN, "", call, tuple(imported[:MAX_CALLEES]))]

    def _carried(
        self, call: cst.Call, values: list[cst.BaseExpression], scope: Scope, question: _Question,
        receiver: bool = False,
    ) -> list[Traced]:
        """A call whose result comes from its arguments (`open(p, "rb")`, `os.path.join(d, "x")`)."""
        found = [t for value in values for t in self._trace(value, scope, question)]
        if found and all(t.kind == OriginKind.CONSTANT for t in found):
            path = values[0] if values and not receiver else call
            return [self._constant(path, scope)]
        return [t for t in found if t.kind != OriginKind.CONSTANT] or found

    def _own_function(self, call: cst.Call, scope: Scope) -> tuple[cst.FunctionDef, Scope] | None:
        """The file's function a call calls (a name bound by `def`, or `self.method` of the class)."""
        func = call.func
        if isinstance(func, cst.Name):
            bindings, _ = scope.lookup(func.value)
            defs: list[cst.CSTNode | None] = [b.node for b in bindings if isinstance(b.node, cst.FunctionDef)]
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in _SELF:
            defs = self._methods(scope, func.attr.value)
        else:
            return None
        if len(defs) != 1 or not isinstance(defs[0], cst.FunctionDef):
            return None
        inner = self.facts.function_scopes.get(id(defs[0]))
        return (defs[0], inner) if inner is not None else None

    def _methods(self, scope: Scope, name: str) -> list[cst.CSTNode | None]:
        """The method `name` of the class whose method `scope` is in."""
        function = _owner(scope)
        cls = function.parent
        if function.kind != "function" or cls is None or cls.kind != "class":
            return []
        return [b.node for b in cls.bindings.get(name, [])]

    def _own_lambdas(self, call: cst.Call, scope: Scope) -> list[cst.Lambda]:
        """The lambdas a call calls: a local name every binding of which is `name = lambda ...`."""
        if not isinstance(call.func, cst.Name):
            return []
        bindings, _ = scope.lookup(call.func.value)
        values = [b.value if b.kind == ASSIGN else None for b in bindings]
        lambdas = [v for v in values if isinstance(v, cst.Lambda)]
        return lambdas if len(lambdas) == len(values) else []

    def _lambda_returns(self, lambdas: list[cst.Lambda], question: _Question) -> list[Traced]:
        """What a local lambda returns; its parameters stay unknown (they are not bound to the call's arguments)."""
        if question.calls >= MAX_CALLS:
            return [_UNKNOWN]
        question.calls += 1
        try:
            found: list[Traced] = []
            for function in lambdas:
                inner = self._scope_of(function.body)
                found += self._trace(function.body, inner, question) if inner is not None else [_UNKNOWN]
            return found
        finally:
            question.calls -= 1

    def _returns(
        self, function: cst.FunctionDef, inner: Scope, call: cst.Call, scope: Scope, question: _Question,
        is_method: bool, element: int | None = None,
    ) -> list[Traced]:
        """What the file's own function returns, with this call's arguments for its parameters (the
        element-th item of what it returns, for an unpacking `a, b = f()`)."""
        if question.calls >= MAX_CALLS:
            return [_UNKNOWN]
        saved = dict(question.bound)
        question.calls += 1
        try:
            for name, value in self._parameter_values(function, call, is_method):
                question.bound[(id(inner), name)] = (value, scope)
            found: list[Traced] = []
            for ret in _terminal_returns(function):
                if ret.value is not None:
                    found += self._element(ret.value, element, inner, question)
            return found or [_UNKNOWN]
        finally:
            question.calls -= 1
            question.bound = saved

    def _element(
        self, expr: cst.BaseExpression, element: int | None, scope: Scope, question: _Question
    ) -> list[Traced]:
        """Where the element-th item of an unpacked value comes from (the whole value's origins when
        the item cannot be picked out)."""
        if element is not None and isinstance(expr, (cst.Tuple, cst.List)):
            items = expr.elements
            if not any(isinstance(e, cst.StarredElement) for e in items) and element < len(items):
                return self._trace(items[element].value, scope, question)
        if element is not None and isinstance(expr, cst.Call):
            own = self._own_function(expr, scope)
            if own is not None:
                is_method = isinstance(expr.func, cst.Attribute)
                return self._returns(own[0], own[1], expr, scope, question, is_method, element)
        return self._trace(expr, scope, question)

    # --- attributes of the object -------------------------------------------------------------------
    def _own_attribute(self, receiver: cst.Name, name: str, scope: Scope, question: _Question) -> list[Traced]:
        """`self.<name>` in a method: a round trip when every value the class (and its classes in the file)
        ever assigns to it is serializer output; otherwise unknown, as any attribute was before."""
        cls = _method_class(receiver.value, scope)
        if cls is None:
            return [_UNKNOWN]
        key = (id(cls), name)
        if key in question.attributes:
            # `self._lst = np.concatenate(self._lst)`: built from its other values, which the question
            # being answered checks; it holds only with at least one value that is a round trip itself.
            return [_ASSUMED]
        values = self._class_attributes().values(cls, name)
        if not values:
            return [_UNKNOWN]
        question.attributes.add(key)
        try:
            found: list[Traced] = []
            for value in values:
                if value.value is None or question.steps > MAX_STEPS:
                    return [_UNKNOWN]
                if isinstance(value.value, cst.Name) and value.value.value in _NOT_DATA:
                    continue  # `_cache = None` until filled: nothing a loader could read
                traced = self._element(value.value, value.element, value.scope, question)
                if not traced or any(t.kind != OriginKind.ROUND_TRIP for t in traced):
                    return [_UNKNOWN]
                found += [t for t in traced if t is not _ASSUMED]
            return found or [_UNKNOWN]
        finally:
            question.attributes.discard(key)

    def _class_attributes(self) -> _ClassAttributes:
        if self._attributes is None:
            self._attributes = _ClassAttributes(self.facts)
        return self._attributes

    @staticmethod
    def _parameter_values(
        function: cst.FunctionDef, call: cst.Call, is_method: bool
    ) -> Iterator[tuple[str, cst.BaseExpression | None]]:
        """(parameter, the argument this call passes, or None) for each named parameter."""
        params = [*function.params.posonly_params, *function.params.params]
        if is_method and params:
            params = params[1:]
        positional = [a for a in call.args if a.keyword is None]
        if any(a.star for a in call.args):
            return
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        for index, param in enumerate(params):
            name = param.name.value
            yield name, positional[index].value if index < len(positional) else keywords.get(name)
        for param in function.params.kwonly_params:
            yield param.name.value, keywords.get(param.name.value)

    # --- parameters -----------------------------------------------------------------------------------
    def _parameter(self, name: str, scope: Scope, function: cst.FunctionDef, question: _Question) -> list[Traced]:
        param = next((p for p in parameters(function.params) if p.name.value == name), None)
        if param is None:
            return [_UNKNOWN]
        bound = question.bound.get((id(scope), name))
        if bound is not None:
            value, caller = bound
            if value is not None:
                return self._trace(value, caller, question)
            return self._trace(param.default, scope.parent or scope, question) if param.default else [_UNKNOWN]
        method = scope.parent is not None and scope.parent.kind == "class"
        params = parameters(function.params)
        if method and params and params[0] is param and not is_staticmethod(function):
            return [_UNKNOWN]  # `self`
        if self._is_cli(function, scope):
            where = f"`{name}` of the command `{function.name.value}`, line {LINE}"
            return [Traced(OriginKind.USER, f"the command line ({where})", param)]
        if self._is_public(function, scope):
            kind = "method" if method else "function"
            text = f"a parameter of the public {kind} `{function.name.value}` (`{name}`, line {LINE})"
            return [Traced(OriginKind.USER, text, param)]
        return self._callers(name, function, scope, param, method, question)

    def _callers(
        self, name: str, function: cst.FunctionDef, scope: Scope, param: cst.Param, method: bool,
        question: _Question,
    ) -> list[Traced]:
        """A private function's parameter: what its callers in the file pass (none: unknown)."""
        found: list[Traced] = []
        callers = 0
        for site in self.facts.calls:
            if callers >= MAX_CALLERS or question.steps > MAX_STEPS:
                break
            own = self._own_function(site.node, site.scope) if _calls_name(site.node, function.name.value) else None
            if own is None or own[0] is not function:
                continue
            callers += 1
            is_method = isinstance(site.node.func, cst.Attribute)
            for param_name, value in self._parameter_values(function, site.node, is_method or method):
                if param_name != name:
                    continue
                if value is not None:
                    found += self._trace(value, site.scope, question)
                elif param.default is not None:
                    found += self._trace(param.default, scope.parent or scope, question)
        return found or [_UNKNOWN]

    def _is_public(self, function: cst.FunctionDef, scope: Scope) -> bool:
        """Callable from outside the file under its name: not private, not nested in a function, and
        (for a method) in a public class at the top level."""
        if _private(function.name.value):
            return False
        outer = scope.parent
        while outer is not None and outer.kind == "class":
            if outer.classdef is None or _private(outer.classdef.name.value):
                return False
            outer = outer.parent
        return outer is not None and outer.kind == "module"

    def _is_cli(self, function: cst.FunctionDef, scope: Scope) -> bool:
        """A command-line entry point: decorated by click/typer/hydra, or handed to `fire.Fire`."""
        t = self.tables
        outer = scope.parent or scope
        for decorator in function.decorators:
            expr = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
            names = resolve.qualified_names(expr, outer)
            if any(n.startswith(p) for n in names for p in t.user.cli_decorators):
                return True
            if isinstance(expr, cst.Attribute) and expr.attr.value in t.user.cli_decorator_methods:
                return True
        if self._cli_functions is None:
            self._cli_functions = set()
            for site in self.facts.calls:
                if site.node.args and set(resolve.qualified_names(site.node.func, site.scope)) & t.user.cli_runners:
                    first = site.node.args[0].value
                    if isinstance(first, cst.Name):
                        bindings, _ = site.scope.lookup(first.value)
                        self._cli_functions.update(id(b.node) for b in bindings if b.node is not None)
        return id(function) in self._cli_functions

    # --- writes before the load --------------------------------------------------------------------
    def _written(self, expr: cst.BaseExpression, scope: Scope, load_index: int | None) -> Traced | None:
        """The load reads what the same function (or script) wrote before it under the same path."""
        if load_index is None:
            return None
        owner = _owner(scope)
        writes = self._all_writes().get(id(owner), [])
        target = self._path_key(expr, scope)
        if target is None:
            return None
        last = None
        for index, site, written, kind in writes:
            if index < load_index and self._path_key(written, site.scope) == target:
                last = (site, written, kind)
        if last is None:
            return None
        site, written, kind = last
        if kind == "network":
            downloader = resolve.qualified_names(site.node.func, site.scope)
            label = _label(downloader[0]) if downloader else "download"
            return Traced(OriginKind.NETWORK, f"the file `{label}` fetched at line {LINE}", site.node)
        if self._is_buffer(written, site.scope):
            return Traced(OriginKind.ROUND_TRIP, f"the buffer this code filled at line {LINE}", site.node)
        return Traced(OriginKind.SELF_WRITTEN, f"the file this code wrote at line {LINE}", site.node)

    def _all_writes(self) -> dict[int, list[tuple[int, Site[cst.Call], cst.BaseExpression, str]]]:
        """Every write of the tables in the file, by the id of the function (or module) it runs in."""
        if self._writes is None:
            self._writes = {}
            tables_ = [(w, "write") for w in self.tables.writers] + [(w, "network") for w in self.tables.network_writes]
            last_words = {name.rsplit(".", 1)[-1] for w, _ in tables_ for name in w.calls}
            last_words |= {m for w, _ in tables_ for m in w.methods}
            for index, site in enumerate(self.facts.calls):
                func = site.node.func
                word = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
                if word not in last_words:
                    continue
                budget.check()
                names = set(resolve.qualified_names(site.node.func, site.scope))
                for table, kind in tables_:
                    written = _written_argument(table, site.node, names, word)
                    if written is not None:
                        self._writes.setdefault(id(_owner(site.scope)), []).append((index, site, written, kind))
                        break
        return self._writes

    def _path_key(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> tuple[object, ...] | None:
        """What makes two path expressions the same file: the constant they name, the variable
        (its binding scope), or the same code in the same function."""
        if depth > 4:
            return None
        if isinstance(expr, cst.Call) and expr.args and self._opens(expr, scope):
            return self._path_key(expr.args[0].value, scope, depth + 1)
        if isinstance(expr, cst.Name):
            bindings, owner = scope.lookup(expr.value)
            if len(bindings) == 1:
                node = bindings[0].node
                if isinstance(node, cst.WithItem):
                    return self._path_key(node.item, bindings[0].scope, depth + 1)
                value = bindings[0].value
                if bindings[0].kind == ASSIGN and isinstance(value, cst.Call) and self._opens(value, scope):
                    return self._path_key(value, bindings[0].scope, depth + 1)
            if not bindings:
                return None
            return ("name", expr.value, id(owner))
        text = _exact_text(expr, scope)
        if text is not None:
            return ("constant", text)
        return ("code", " ".join(self.facts.module.code_for_node(expr).split()), id(_owner(scope)))

    def _opens(self, call: cst.Call, scope: Scope) -> bool:
        """`open(p)`, `Path(p)`, `str(p)`, `gzip.open(p)`: a call standing for the file its first argument names."""
        func = call.func
        if isinstance(func, cst.Name) and func.value in ("open", "str") and not scope.lookup(func.value)[0]:
            return True
        names = resolve.qualified_names(func, scope)
        if isinstance(func, cst.Attribute) and func.attr.value == "open" and not names:
            return False  # `Path(p).open()` has no argument naming the file
        openers = {"io.open", "pathlib.Path", "pathlib.PurePath", "os.fspath", "gzip.open", "bz2.open", "lzma.open",
                   "codecs.open"}
        return bool(set(names) & openers)

    def _is_buffer(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """An in-memory buffer created empty (`buf = io.BytesIO()`)."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and not expr.args:
            expr = expr.func.value  # (a method call's receiver)
        if not isinstance(expr, cst.Name):
            return self._makes_buffer(expr, scope)
        bindings, _ = scope.lookup(expr.value)
        values = [b.value if b.kind == ASSIGN else b.node.item if isinstance(b.node, cst.WithItem) else None
                  for b in bindings]
        return bool(values) and all(
            self._makes_buffer(value, binding.scope) for value, binding in zip(values, bindings, strict=True)
        )

    def _makes_buffer(self, value: cst.BaseExpression | None, scope: Scope) -> bool:
        """A call of a buffer constructor (`io.BytesIO()`)."""
        return isinstance(value, cst.Call) and not self.tables.buffers.isdisjoint(
            resolve.qualified_names(value.func, scope))

    # --- source order and unpacking ---------------------------------------------------------------------
    def _reaching(self, bindings: list[Binding], owner: Scope, use: cst.Name, scope: Scope) -> list[Binding]:
        """The bindings that may give this use of a name its value. For a local name of the function
        (or top-level code) the use runs in, not those after it in source order, unless a loop runs
        both (flows/origin_order.py); a parameter (no node) always counts. A closure's or a global's
        binding counts wherever it is: the function may run after any of them."""
        order = self._order(owner) if owner is _owner(scope) else None
        if order is None:
            return bindings
        return [b for b in bindings if b.node is None or b.scope is not owner or order.reaches(b.node, use)]

    def _order(self, owner: Scope) -> StatementOrder | None:
        """The source order of a function's (or the module's top-level) statements, made once per file."""
        root: cst.FunctionDef | cst.Module
        if owner.kind == "module":
            root = self.facts.module
        elif owner.kind == "function" and isinstance(owner.node, cst.FunctionDef):
            root = owner.node
        else:
            return None  # a lambda has no statements; a class body is not followed by name
        order = self._orders.get(id(root))
        if order is None:
            budget.check()
            order = self._orders[id(root)] = StatementOrder(root)
        return order

    def _unpacked(self, name: str, node: cst.Assign, scope: Scope, question: _Question) -> list[Traced]:
        """A name bound by unpacking (`a, b = value`): the matching item of a tuple or list of as many
        items, or of what the file's own function returns when every return is one. Otherwise the
        whole value, less its constants: a constant names one file, maybe another item's."""
        if any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets):
            return self._trace(node.value, scope, question)  # `a = b = value`: the whole value
        position = _unpacking_position(node, name)
        if position is not None and self._unpacks_exactly(node.value, position[1], scope):
            return self._element(node.value, position[0], scope, question)
        found = self._trace(node.value, scope, question)
        return [_UNKNOWN if t.kind == OriginKind.CONSTANT else t for t in found]

    def _unpacks_exactly(self, value: cst.BaseExpression, count: int, scope: Scope) -> bool:
        """A tuple or list literal of `count` items, or a call of the file's own function every
        return of which is one."""
        if _literal_of(value, count):
            return True
        own = self._own_function(value, scope) if isinstance(value, cst.Call) else None
        if own is None:
            return False
        returns = list(_terminal_returns(own[0]))
        return bool(returns) and all(ret.value is not None and _literal_of(ret.value, count) for ret in returns)


@dataclass(frozen=True)
class _Value:
    """A value assigned to an attribute: None when it cannot be followed (`for self.x in ...`, `+=`,
    a dataclass field, which is a constructor parameter); `element` of it for `self.a, self.b = value`."""

    value: cst.BaseExpression | None
    scope: Scope
    element: int | None = None


# Methods that change the object they are called on (`self._lst.append(x)`), or the one they are given.
_MUTATORS = frozenset({
    "append", "extend", "insert", "update", "setdefault", "__setitem__", "fill", "put", "itemset", "resize",
    "copy_", "set_", "setflags", "frombytes", "fromfile", "__init__", "__setstate__",
})
_FILLERS = frozenset({"readinto", "readinto1", "recv_into", "recvfrom_into", "copyto", "put", "place", "putmask"})
# Bases whose annotated class-level names are constructor parameters, as a decorated class's may be.
_FIELD_BASES = frozenset({"BaseModel", "BaseSettings", "NamedTuple", "TypedDict", "Struct"})


class _ClassAttributes:
    """Every assignment to an attribute in a file, read once: by class for `self.<attr> = ...` (and
    `cls.<attr>`) in its methods and its class-level names; the attributes that are also set or changed
    elsewhere (on another object, through `setattr`, a subscript, `.append(...)`), which stay unknown."""

    def __init__(self, facts: FileFacts):
        self.facts = facts
        self.assigned: dict[tuple[int, str], list[_Value]] = {}
        self.foreign: set[str] = set()
        self.everything = "__dict__" in facts.module.code  # `self.__dict__.update(kw)` may set any attribute
        self.bases: dict[int, list[cst.ClassDef]] = {}
        self.subclasses: dict[int, list[cst.ClassDef]] = {}
        self.scopes: dict[int, Scope] = {}
        self._class_scopes()
        self._walk()
        self._calls()
        self._hierarchy()

    def values(self, cls: cst.ClassDef, name: str) -> list[_Value]:
        """The values the attribute may hold on an object of `cls`: assigned by it or its classes in the
        file (bases, and subclasses, whose objects run its methods too); none when set elsewhere as well."""
        if self.everything or name in self.foreign:
            return []
        own = [v for c in self._related(cls, self.bases) for v in self.assigned.get((id(c), name), [])]
        if not own:
            return []  # (a subclass alone assigning it does not make this class's objects hold it)
        below = [v for c in self._related(cls, self.subclasses)[1:] for v in self.assigned.get((id(c), name), [])]
        return own + below

    @staticmethod
    def _related(start: cst.ClassDef, links: dict[int, list[cst.ClassDef]]) -> list[cst.ClassDef]:
        """`start` and the classes reachable through `links`, each once, nearest first."""
        found, seen = [start], {id(start)}
        for current in found:
            for other in links.get(id(current), []):
                if id(other) not in seen:
                    seen.add(id(other))
                    found.append(other)
        return found

    def _class_scopes(self) -> None:
        for scope in [*self.facts.function_scopes.values(), *(site.scope for site in self.facts.calls)]:
            outer: Scope | None = scope
            while outer is not None:
                if outer.kind == "class" and outer.classdef is not None:
                    self.scopes.setdefault(id(outer.classdef), outer)
                outer = outer.parent

    def _hierarchy(self) -> None:
        for site in self.facts.classes:
            for base in site.node.bases:
                if not isinstance(base.value, cst.Name):
                    continue
                for binding in site.scope.lookup(base.value.value)[0]:
                    if isinstance(binding.node, cst.ClassDef):
                        self.bases.setdefault(id(site.node), []).append(binding.node)
                        self.subclasses.setdefault(id(binding.node), []).append(site.node)

    def _walk(self) -> None:
        # (node, its scope, the class whose body it is directly in, (class, name of `self`) in a method)
        Item = tuple[cst.CSTNode, Scope, cst.ClassDef | None, tuple[cst.ClassDef, str] | None]
        stack: list[Item] = [(self.facts.module, self.facts.scope, None, None)]
        outer_of = {id(site.node): site.scope for site in self.facts.classes}
        while stack:
            budget.check()
            node, scope, body_of, receiver = stack.pop()
            pushed: list[Item] = []
            if isinstance(node, cst.ClassDef):
                inner = self.scopes.get(id(node), outer_of.get(id(node), scope))
                pushed = [(node.body, inner, node, None)]
            elif isinstance(node, cst.FunctionDef):
                inner = self.facts.function_scopes.get(id(node), scope)
                if body_of is not None:
                    self._assign(node.name, None, scope, body_of, receiver, None)  # a method by that name
                    params = [*node.params.posonly_params, *node.params.params]
                    receiver = (body_of, params[0].name.value) if params and not is_staticmethod(node) else None
                elif receiver is not None and any(p.name.value == receiver[1] for p in parameters(node.params)):
                    receiver = None
                pushed = [(node.body, inner, None, receiver)]
            elif isinstance(node, cst.SimpleStatementLine):
                for small in node.body:
                    self._statement(small, scope, body_of, receiver)
            elif isinstance(node, (cst.For, cst.CompFor)):
                self._assign(node.target, None, scope, body_of, receiver, None)
            elif isinstance(node, cst.WithItem) and node.asname is not None:
                self._assign(node.asname.name, None, scope, body_of, receiver, None)
            if not isinstance(node, (cst.ClassDef, cst.FunctionDef, cst.SimpleStatementLine)):
                pushed = [(child, scope, body_of, receiver) for child in children(node)
                          if isinstance(child, (cst.BaseSuite, cst.BaseStatement, cst.BaseCompoundStatement,
                                                cst.WithItem, cst.ExceptHandler, cst.ExceptStarHandler,
                                                cst.Else, cst.Finally, cst.MatchCase))]
            stack.extend(reversed(pushed))

    def _statement(
        self, small: cst.BaseSmallStatement, scope: Scope, body_of: cst.ClassDef | None,
        receiver: tuple[cst.ClassDef, str] | None,
    ) -> None:
        if isinstance(small, cst.Assign):
            for target in small.targets:
                self._assign(target.target, small.value, scope, body_of, receiver, None)
        elif isinstance(small, cst.AnnAssign):
            value = small.value
            if body_of is not None and isinstance(small.target, cst.Name) and self._fields(body_of):
                value = None  # a dataclass's (or model's) field: also a parameter of its constructor
            if value is not None or (body_of is not None and self._fields(body_of)):
                self._assign(small.target, value, scope, body_of, receiver, None)
        elif isinstance(small, cst.AugAssign):
            self._assign(small.target, None, scope, body_of, receiver, None)

    def _fields(self, cls: cst.ClassDef) -> bool:
        """Whether the class's annotated names may be constructor parameters (`@dataclass`, pydantic...)."""
        names = {dotted_text.rsplit(".", 1)[-1] for base in cls.bases
                 if (dotted_text := dotted_name(base.value)) is not None}
        return bool(cls.decorators) or bool(names & _FIELD_BASES)

    def _assign(
        self, target: cst.BaseExpression | cst.Name, value: cst.BaseExpression | None, scope: Scope,
        body_of: cst.ClassDef | None, receiver: tuple[cst.ClassDef, str] | None, element: int | None,
    ) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for index, item in enumerate(target.elements):
                starred = isinstance(item, cst.StarredElement) or element is not None
                self._assign(item.value, None if starred else value, scope, body_of, receiver,
                             None if starred else index)
        elif isinstance(target, cst.StarredElement):
            self._assign(target.value, None, scope, body_of, receiver, None)
        elif isinstance(target, cst.Attribute):
            owner = target.value
            if receiver is not None and isinstance(owner, cst.Name) and owner.value == receiver[1]:
                self.assigned.setdefault((id(receiver[0]), target.attr.value), []).append(
                    _Value(value, scope, element))
            else:
                self.foreign.add(target.attr.value)  # `other._lst = ...`: whose object it is, is not known
                self.foreign.update(_attribute_chain(owner))
        elif isinstance(target, cst.Subscript):
            self.foreign.update(_attribute_chain(target.value))  # `self._lst[0] = data` changes its content
        elif isinstance(target, cst.Name) and body_of is not None:
            self.assigned.setdefault((id(body_of), target.value), []).append(_Value(value, scope, element))

    def _calls(self) -> None:
        """`setattr(obj, name, value)`, `vars(obj)`, `self._lst.append(x)`, `f.readinto(self._buf)`."""
        for site in self.facts.calls:
            call, func = site.node, site.node.func
            word = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(
                func, cst.Name) else None
            if word in ("setattr", "__setattr__", "vars"):
                names = [a.value for a in call.args[:2] if a.keyword is None]
                literal = [_exact_text(n, site.scope) for n in names if isinstance(n, cst.SimpleString)]
                if word == "vars" or not [n for n in literal if n]:
                    self.everything = True
                self.foreign.update(n for n in literal if n)
            if isinstance(func, cst.Attribute) and word in _MUTATORS:
                self.foreign.update(_attribute_chain(func.value))
            if word in _FILLERS:
                for arg in call.args:
                    self.foreign.update(_attribute_chain(arg.value))


def _attribute_chain(expr: cst.BaseExpression) -> Iterator[str]:
    """The attribute names an expression reaches its object through (`self._lst[i].data`: data, _lst)."""
    while isinstance(expr, (cst.Attribute, cst.Subscript, cst.Call)):
        if isinstance(expr, cst.Attribute):
            yield expr.attr.value
            expr = expr.value
        elif isinstance(expr, cst.Subscript):
            expr = expr.value
        else:
            expr = expr.func


def _method_class(name: str, scope: Scope) -> cst.ClassDef | None:
    """The class whose method binds `name` (`self`, `cls`) as its first parameter, seen from `scope`
    (the method's body, a comprehension or a function nested in it); None otherwise."""
    bindings, owner = scope.lookup(name)
    if any(b.kind != OTHER or b.node is not None for b in bindings) or not bindings:
        return None  # rebound in the method: another object
    function, cls = owner.node, owner.parent
    if owner.kind != "function" or not isinstance(function, cst.FunctionDef) or is_staticmethod(function):
        return None
    params = [*function.params.posonly_params, *function.params.params]
    if not params or params[0].name.value != name or cls is None or cls.kind != "class":
        return None
    return cls.classdef


def _remote(text: str) -> bool:
    """A URI with a scheme other than `file:` (`https://`, `s3://`, `hf://`, `models:/`), not a Windows drive."""
    scheme, colon, rest = text.partition(":")
    return (bool(colon) and rest.startswith("/") and len(scheme) > 1 and scheme[0].isalpha()
            and all(c.isalnum() or c in "+.-" for c in scheme) and scheme.lower() != "file")


_JOINS = frozenset({"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath",
                    "pathlib.PurePosixPath"})


def _path_text(expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> str | None:
    """The path a constant expression names, joins (`os.path.join`, `Path(...)`, `/`) included."""
    exact = _exact_text(expr, scope)
    if exact is not None or depth > 4:
        return exact
    if isinstance(expr, cst.Name):
        bindings, _ = scope.lookup(expr.value)
        if len(bindings) == 1 and bindings[0].kind == ASSIGN and bindings[0].value is not None:
            return _path_text(bindings[0].value, bindings[0].scope, depth + 1)
        return None
    parts: list[cst.BaseExpression] = []
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
        parts = [expr.left, expr.right]
    elif isinstance(expr, cst.Call) and not any(a.star or a.keyword for a in expr.args):
        names = set(resolve.qualified_names(expr.func, scope))
        if names & _JOINS:
            parts = [a.value for a in expr.args]
        elif expr.args and (names & {"io.open", "gzip.open", "bz2.open", "lzma.open"} or (
                isinstance(expr.func, cst.Name) and expr.func.value == "open" and not scope.lookup("open")[0])):
            return _path_text(expr.args[0].value, scope, depth + 1)
    texts = [_path_text(part, scope, depth + 1) for part in parts]
    if not texts or any(t is None for t in texts):
        return None
    return "/".join(t.rstrip("/") for t in texts if t is not None)


def _exact_text(expr: cst.BaseExpression, scope: Scope) -> str | None:
    """The one string an expression certainly is, if it is one (python/strings.py)."""
    exact = {shape.exact if shape is not None else None for shape in strings.shapes(expr, scope)}
    return exact.pop() if len(exact) == 1 and None not in exact else None


def _calls_name(call: cst.Call, name: str) -> bool:
    func = call.func
    return (isinstance(func, cst.Name) and func.value == name) or (
        isinstance(func, cst.Attribute) and func.attr.value == name
    )


def _written_argument(
    table: PathArgument, call: cst.Call, names: set[str], word: str | None
) -> cst.BaseExpression | None:
    """The file argument of a write of this table, when `call` is one."""
    # A method name counts only on a receiver that is not an imported module (`json.dump` is no `arr.dump`).
    method = word in table.methods and isinstance(call.func, cst.Attribute) and not names
    if not names & table.calls and not method:
        return None
    if table.receiver:
        return call.func.value if isinstance(call.func, cst.Attribute) else None
    return argument(call, table.keywords, table.position)


def _unpacking_position(node: cst.Assign, name: str) -> tuple[int, int] | None:
    """(index, number of targets) of `name` in a flat unpacking target (`a, b = ...`); None when it
    is nested or the target has a starred name."""
    for target in node.targets:
        if not isinstance(target.target, (cst.Tuple, cst.List)):
            continue
        items = target.target.elements
        if any(isinstance(item, cst.StarredElement) for item in items):
            return None
        for index, item in enumerate(items):
            if isinstance(item.value, cst.Name) and item.value.value == name:
                return index, len(items)
    return None


def _literal_of(value: cst.BaseExpression, count: int) -> bool:
    """A tuple or list literal of exactly `count` items, none starred."""
    return (isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == count
            and not any(isinstance(item, cst.StarredElement) for item in value.elements))
