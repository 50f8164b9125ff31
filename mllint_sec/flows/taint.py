"""Does request data reach this expression? Flow from the sources of sources.py.

An expression carries request data when it is a source or is built from one: through
assignments (tuple unpacking included), `for`/`with`/comprehension targets, attribute and
subscript access, containers, method calls on it (`upload.read()`), calls that take it
(`np.array(x)`, `torch.tensor(x)`, `json.loads(x)`), `await`, f-strings and operators.
Across functions of the same file: a parameter is followed back to the arguments of the
function's call sites, and a call of a local function to the values it returns.

What the data is used for decides what stops it (`purpose`):
- DESERIALIZE: any source that can hold bytes or text; nothing clears it, since the bytes
  themselves execute however well their shape was checked.
- INFERENCE: validation clears it: a validated source, a validating call
  (`Model.model_validate(x)`, a marshmallow `schema.load(x)`, `validate_payload(x)`), or an
  explicit check before the use (validation.py). A pydantic model with unbounded fields
  makes the flow TYPED.
- TRAINING: every source; well-formed data poisons a model as well as malformed data.

Answers carry the path, source first. They are memoised per (expression, scope, purpose), and
per (name, scope, purpose) for a name's bindings, which all its uses share (a name rebound
10,000 times is traced once); names bound through one another in a loop are settled together
(python/fixpoint.py), so an answer never depends on which sink was traced first. Of the ways
data arrives, the first binding (in source order) that carries it gives the path; inside such
a cycle, the first found in the fewest rounds of the cycle's solution.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import libcst as cst

from mllint_sec.core.data_use import DataUse
from mllint_sec.core.input_level import InputLevel
from mllint_sec.flows.input_types import RAW, TYPED, VALIDATED, model_level, qualified
from mllint_sec.flows.sinks import INFERENCE, local_function, returns
from mllint_sec.flows.sources import (
    Source,
    Sources,
    first_data_parameter,
    parameter,
    parameter_of,
    positional_names,
)
from mllint_sec.flows.validation import Checks, is_validator_name, truncates
from mllint_sec.python import resolve
from mllint_sec.python.fixpoint import Answers
from mllint_sec.python.scopes import ASSIGN, Binding, FileFacts, Scope, Site

MAX_CALLERS = 16  # call sites followed per function
MAX_RETURNING = 8  # helpers whose returns are followed one inside another
DESERIALIZE = DataUse.DESERIALIZE  # the other uses are the sink kinds: INFERENCE, TRAINING (sinks.py)
_PYDANTIC_PARSERS = {"model_validate", "model_validate_json", "parse_obj", "parse_raw", "model_construct"}


@dataclass(frozen=True)
class Purpose:
    """What the data is used for, and the functions whose returns are being read for one call
    (their parameters are that call's arguments, already looked at, not every caller's)."""

    use: DataUse
    returning: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Step:
    node: cst.CSTNode
    text: str  # what happens at this step, for the report
    path: str = ""  # the file the node is in, when not the finding's (cross_module.py)


@dataclass(frozen=True)
class Flow:
    steps: tuple[Step, ...]
    source: Source
    level: InputLevel  # RAW or TYPED (INFERENCE); the source's level otherwise
    why: str = ""  # for TYPED: what is unbounded

    def then(self, node: cst.CSTNode, text: str) -> Flow:
        return Flow((*self.steps, Step(node, text)), self.source, self.level, self.why)


class Foreign(Protocol):
    """What a call of a function defined outside the file returns (a hook: cross_module.py, summary.py)."""

    def returned(self, call: cst.Call, scope: Scope, use: DataUse) -> Flow | None: ...


class Taint:
    """Flow questions for one file."""

    def __init__(self, facts: FileFacts, foreign: Foreign | None = None):
        self.facts = facts
        self.foreign = foreign  # cross_module.py: what calls of other modules' functions return
        self.sources = Sources(facts)
        self.checks = Checks()
        self.uses_marshmallow = "marshmallow" in self.sources.frameworks
        self.answers: Answers[Flow | None] = Answers(None, _first_found, saturated=lambda flow: flow is not None)
        self._callers: dict[int, list[tuple[Site[cst.Call], bool]]] | None = None

    def flow_to(self, expr: cst.BaseExpression, scope: Scope, use: DataUse) -> Flow | None:
        """How request data reaches `expr`, or None when it does not (for `use`)."""
        return self._expr(expr, scope, Purpose(use))

    # --- propagation -------------------------------------------------------------------
    def _expr(self, expr: cst.BaseExpression, scope: Scope, purpose: Purpose) -> Flow | None:
        if isinstance(expr, cst.Name):
            source = self.sources.of(expr, scope)
            if source is not None:
                return self._from_source(expr, source, purpose)
            if purpose.use == INFERENCE and self.checks.validated(expr.value, expr, scope):
                return None
            return self.answers.get((expr.value, id(scope), purpose), self._name, expr.value, scope, purpose)
        return self.answers.get((id(expr), id(scope), purpose), self._trace, expr, scope, purpose)

    def _trace(self, expr: cst.BaseExpression, scope: Scope, purpose: Purpose) -> Flow | None:
        source = self.sources.of(expr, scope)
        if source is not None:
            return self._from_source(expr, source, purpose)
        if isinstance(expr, (cst.Attribute, cst.Subscript)):
            return self._expr(expr.value, scope, purpose)
        if isinstance(expr, cst.Await):
            return self._expr(expr.expression, scope, purpose)
        if isinstance(expr, cst.Call):
            return self._call(expr, scope, purpose)
        if isinstance(expr, cst.BinaryOperation):
            return self._worst([expr.left, expr.right], scope, purpose)
        if isinstance(expr, cst.BooleanOperation):
            return self._worst([expr.left, expr.right], scope, purpose)
        if isinstance(expr, cst.UnaryOperation):
            return self._expr(expr.expression, scope, purpose)
        if isinstance(expr, cst.FormattedString):
            parts = [p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression)]
            return self._worst(parts, scope, purpose)
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return self._worst([e.value for e in expr.elements], scope, purpose)
        if isinstance(expr, cst.Dict):
            parts = [p for e in expr.elements
                     for p in ((e.key, e.value) if isinstance(e, cst.DictElement) else (e.value,))]
            return self._worst(parts, scope, purpose)
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return self._worst([expr.elt, expr.for_in.iter], scope, purpose)
        if isinstance(expr, cst.DictComp):
            return self._worst([expr.key, expr.value, expr.for_in.iter], scope, purpose)
        if isinstance(expr, cst.IfExp):
            return self._worst([expr.body, expr.orelse], scope, purpose)
        if isinstance(expr, (cst.StarredElement, cst.NamedExpr)):
            return self._expr(expr.value, scope, purpose)
        return None

    def _from_source(self, expr: cst.BaseExpression, source: Source, purpose: Purpose) -> Flow | None:
        if purpose.use == DESERIALIZE and source.scalar:
            return None
        if purpose.use == INFERENCE and source.level == VALIDATED:
            return None
        text = source.entry or f"request data enters here: {source.text}"
        return Flow((Step(expr, text),), source, source.level, source.why)

    def _worst(self, parts: Iterable[cst.BaseExpression], scope: Scope, purpose: Purpose) -> Flow | None:
        """The flow of the first part that carries raw data, else of the first that carries any."""
        found: Flow | None = None
        for part in parts:
            flow = self._expr(part, scope, purpose)
            if flow is not None:
                if flow.level == RAW:
                    return flow
                found = found or flow
        return found

    def _call(self, call: cst.Call, scope: Scope, purpose: Purpose) -> Flow | None:
        args = [a.value for a in call.args]
        if purpose.use == INFERENCE and self._validates(call, scope):
            return self._validated(call, scope, args, purpose)
        parts: list[cst.BaseExpression] = list(args)
        if isinstance(call.func, cst.Attribute):
            parts.insert(0, call.func)  # request.get_data(), upload.read(), data.decode()
        flow = self._worst(parts, scope, purpose)
        if flow is not None:
            return flow
        function = local_function(call.func, scope)  # a helper of this file that returns request data
        inner = self.facts.function_scopes.get(id(function)) if function is not None else None
        if function is not None and inner is not None:
            if len(purpose.returning) >= MAX_RETURNING:
                return None
            returning = Purpose(purpose.use, purpose.returning | {id(function)})
            for value in returns(function):
                flow = self._expr(value, inner, returning)
                if flow is not None:
                    return flow.then(call, f"returned by `{function.name.value}()`")
        elif self.foreign is not None:
            flow = self.foreign.returned(call, scope, purpose.use)
            if flow is not None:
                return flow
        return None

    def _validates(self, call: cst.Call, scope: Scope) -> bool:
        func = call.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if name in _PYDANTIC_PARSERS or is_validator_name(name) or truncates(call):
            return True
        if name in ("load", "loads") and self.uses_marshmallow and isinstance(func, cst.Attribute):
            return not any(q.split(".")[0] in ("json", "pickle", "yaml", "torch", "joblib", "numpy", "dill")
                           for q in qualified(func, scope))
        return bool(self._schema_class(func, scope))

    def _schema_class(self, func: cst.BaseExpression, scope: Scope) -> list[resolve.LocalClass]:
        """The local pydantic models or dataclasses a call constructs (`Request(**payload)`)."""
        found: list[resolve.LocalClass] = []
        target = func.value if isinstance(func, cst.Attribute) and func.attr.value in _PYDANTIC_PARSERS else func
        for value in resolve.values(target, scope):
            if isinstance(value, resolve.LocalClass):
                level, _ = model_level(value)
                bases = resolve.class_bases(value)
                if any(b.startswith(("pydantic", "sqlmodel")) for b in bases) or level == VALIDATED:
                    found.append(value)
        return found

    def _validated(
        self, call: cst.Call, scope: Scope, args: list[cst.BaseExpression], purpose: Purpose
    ) -> Flow | None:
        """A validating call: clean, unless the schema it applies (a local model) leaves fields unbounded."""
        func = call.func
        for cls in self._schema_class(func, scope):
            level, why = model_level(cls)
            if level == VALIDATED:
                return None
            flow = self._worst(args, scope, purpose)
            if flow is not None:
                typed = Flow(flow.steps, flow.source, TYPED, why)
                leaves = why.split(" ", 1)[-1]
                return typed.then(call, f"checked against `{cls.node.name.value}`, which leaves {leaves}")
        return None

    def _name(self, name: str, scope: Scope, purpose: Purpose) -> Flow | None:
        bindings, _ = scope.lookup(name)
        for binding in bindings:
            origin, verb = self._origin(binding)
            if origin is None:
                continue
            flow = self._expr(origin, binding.scope, purpose)
            if flow is not None:
                return flow.then(binding.node or origin, f"{verb} `{name}`")
        found = parameter_of(name, scope)
        if found is not None:
            function, _, defined_in = found
            if self.sources.kind(function, defined_in) == "torchserve-preprocessed":
                return self._preprocessed(function, name, purpose)
            if id(function) in purpose.returning:
                return None  # this call's arguments: already followed by the caller
            return self._callers_of(function, name, purpose)
        return None

    def _preprocessed(self, function: cst.FunctionDef, param: str, purpose: Purpose) -> Flow | None:
        """TorchServe passes `preprocess`'s result to `inference`: its returns are what arrives."""
        arrives = parameter(function, param)
        if param != first_data_parameter(function) or arrives is None:  # (it is not None when it is the first)
            return None
        preprocess = local_function(cst.Attribute(cst.Name("self"), cst.Name("preprocess")),
                                    self.facts.function_scopes[id(function)])
        inner = self.facts.function_scopes.get(id(preprocess)) if preprocess is not None else None
        if preprocess is None or inner is None:
            return None
        for value in returns(preprocess):
            flow = self._expr(value, inner, purpose)
            if flow is not None:
                return flow.then(arrives.name, f"returned by `preprocess()`, arrives as `{param}`")
        return None

    @staticmethod
    def _origin(binding: Binding) -> tuple[cst.BaseExpression | None, str]:
        node = binding.node
        if binding.kind == ASSIGN and binding.value is not None:
            return binding.value, "assigned to"
        if isinstance(node, cst.For):
            return node.iter, "iterated as"  # for upload in request.files.values()
        if isinstance(node, cst.CompFor):
            return node.iter, "iterated as"
        if isinstance(node, cst.WithItem):
            return node.item, "opened as"
        if isinstance(node, (cst.Assign, cst.AugAssign)) and node.value is not None:
            return node.value, "unpacked into" if isinstance(node, cst.Assign) else "added to"
        return None, ""

    # --- across functions of the file ---------------------------------------------------
    def _callers_of(self, function: cst.FunctionDef, param: str, purpose: Purpose) -> Flow | None:
        """A parameter that is not a source: the arguments the file's calls pass for it."""
        for site, is_method in self._call_sites().get(id(function), [])[:MAX_CALLERS]:
            argument = _argument_for(site.node, function, param, is_method)
            if argument is None:
                continue
            flow = self._expr(argument, site.scope, purpose)
            if flow is not None:
                return flow.then(argument, f"passed to `{function.name.value}()` as `{param}`")
        return None

    def _call_sites(self) -> dict[int, list[tuple[Site[cst.Call], bool]]]:
        if self._callers is None:
            self._callers = {}
            for site in self.facts.calls:
                function = local_function(site.node.func, site.scope)
                if function is not None:
                    is_method = isinstance(site.node.func, cst.Attribute)
                    self._callers.setdefault(id(function), []).append((site, is_method))
        return self._callers


def _first_found(old: Flow | None, new: Flow | None) -> Flow | None:
    """Once data is found to arrive one way, that path stands: a later round cannot replace it."""
    return new if old is None else old


def _argument_for(call: cst.Call, function: cst.FunctionDef, param: str, is_method: bool) -> cst.BaseExpression | None:
    params = positional_names(function)
    if is_method and params[:1] in (["self"], ["cls"]):
        params = params[1:]
    position = 0
    for arg in call.args:
        if arg.star:
            return arg.value  # `*args` / `**kwargs` may hold it: followed, conservatively
        if arg.keyword is not None:
            if arg.keyword.value == param:
                return arg.value
            continue
        if position < len(params) and params[position] == param:
            return arg.value
        position += 1
    return None
