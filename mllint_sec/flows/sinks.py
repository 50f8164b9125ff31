"""Where a file runs or trains a model: the sinks of the input-validation rules.

The tables are data (rules/model-sinks.toml). A call is an inference sink when its method
name is specific to models (`.predict`, `.generate`), or when its receiver is known to be a
model (`model.encode(...)`, `model(...)`, `session.run(...)`): bound from a loader or
factory (`from_pretrained`, `joblib.load`, `onnxruntime.InferenceSession`, `pipeline`), an
instance of a local `nn.Module`/`LightningModule`/`keras.Model` class, `self.model` set so in
the class, or a local function that returns one. `.fit`/`.partial_fit` and
`loss.backward()` are training sinks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from mllint_sec.catalogue.loading import catalogue_dir, read_toml
from mllint_sec.core.data_use import DataUse
from mllint_sec.flows.input_types import qualified
from mllint_sec.python import resolve
from mllint_sec.python.fixpoint import Answers
from mllint_sec.python.scopes import ASSIGN, FileFacts, Scope, Site, children

INFERENCE, TRAINING = DataUse.INFERENCE, DataUse.TRAINING


@dataclass(frozen=True)
class Tables:
    methods: frozenset[str]
    model_methods: frozenset[str]
    factories: frozenset[str]
    factory_patterns: tuple[tuple[str, str], ...]
    bases: frozenset[str]
    chains: frozenset[str]
    not_models: tuple[str, ...]
    training: frozenset[str]
    receiver_training: frozenset[str]

    def words(self) -> frozenset[str]:
        """Words one of which a file must name to hold a sink (for the prefilter)."""
        names = {n.rsplit(".", 1)[-1] for n in (*self.factories, *self.bases)}
        names |= {(suffix or prefix.rstrip(".")).rsplit(".", 1)[-1] for prefix, suffix in self.factory_patterns}
        every = self.methods | self.model_methods | self.training | self.receiver_training | names
        return frozenset(every) - {"__call__"}


@functools.lru_cache(maxsize=1)
def tables() -> Tables:
    data = read_toml(catalogue_dir() / "model-sinks.toml")
    inference, training = data["inference"], data["training"]
    factories = [n for n in inference["model_factories"] if "*" not in n]
    patterns = []
    for name in inference["model_factories"]:
        if "*" in name:
            prefix, _, suffix = name.partition("*")
            patterns.append((prefix, suffix))
    return Tables(
        frozenset(inference["methods"]), frozenset(inference["model_methods"]), frozenset(factories),
        tuple(patterns), frozenset(inference["model_bases"]), frozenset(inference["model_chains"]),
        tuple(inference["not_models"]),
        frozenset(training["methods"]), frozenset(training["receiver_methods"]),
    )


@dataclass(frozen=True)
class Sink:
    site: Site[cst.Call]
    kind: DataUse  # INFERENCE or TRAINING
    callee: str  # the code of the callee, for messages: "model.predict", "self.model"
    data: tuple[cst.BaseExpression, ...]  # the expressions whose request data counts


class Models:
    """Which expressions of a file are model objects (memoised per expression, and per name; names
    bound through one another are settled together, python/fixpoint.py)."""

    def __init__(self, facts: FileFacts):
        self.facts = facts
        self.tables = tables()
        self.answers: Answers[bool] = Answers(False, lambda old, new: old or new, saturated=bool)
        self._self_attributes: dict[int, dict[str, list[tuple[cst.BaseExpression, Scope]]]] = {}

    def sinks(self) -> list[Sink]:
        found = []
        t = self.tables
        for site in self.facts.calls:
            call = site.node
            func = call.func
            args = tuple(a.value for a in call.args)
            if isinstance(func, cst.Attribute):
                method = func.attr.value
                if method in t.training:
                    if not self._fresh_local(func.value, site.scope):
                        found.append(Sink(site, TRAINING, _code(func), args))
                elif method in t.receiver_training:
                    found.append(Sink(site, TRAINING, _code(func), (func.value,)))
                elif local_function(func, site.scope) is not None:
                    continue  # the handler's own `self.generate(...)`: the data is followed into it
                elif (method in t.methods or (method in t.model_methods and self.is_model(func.value, site.scope))
                      or (args and self.is_model(func, site.scope))):
                    found.append(Sink(site, INFERENCE, _code(func), args))
            elif isinstance(func, cst.Name) and args and self.is_model(func, site.scope):
                found.append(Sink(site, INFERENCE, _code(func), args))
        return found

    def _fresh_local(self, receiver: cst.BaseExpression, scope: Scope) -> bool:
        """A model built in this function (`m = Prophet(); m.fit(rows)`): fitting it on request data
        serves this request only, unless it was loaded (`joblib.load`) and may be saved back."""
        if not isinstance(receiver, cst.Name):
            return False
        bindings, owner = scope.lookup(receiver.value)
        if not bindings or owner.node is None or owner.parent is None:
            return False
        for binding in bindings:
            if binding.kind != ASSIGN or not isinstance(binding.value, cst.Call):
                return False
            names = qualified(binding.value.func, binding.scope)
            if names & self.tables.factories or (isinstance(binding.value.func, cst.Attribute) \
                    and binding.value.func.attr.value in ("from_pretrained", "load", "load_model")):
                return False
        return True

    def is_model(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(expr, cst.Name):
            return self.answers.get((expr.value, id(scope)), self._is_model_name, expr.value, scope)
        return self.answers.get((id(expr), id(scope)), self._is_model, expr, scope)

    def _is_model_name(self, name: str, scope: Scope) -> bool:
        bindings, _ = scope.lookup(name)
        return any(b.kind == ASSIGN and b.value is not None and self.is_model(b.value, b.scope) for b in bindings)

    def _is_model(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        t = self.tables
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            return any(self.is_model(value, where) for value, where in self._self_attribute(scope, expr.attr.value))
        if isinstance(expr, cst.Await):
            return self.is_model(expr.expression, scope)
        if not isinstance(expr, cst.Call):
            return False
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value in t.chains:
            return self.is_model(func.value, scope)
        if isinstance(func, cst.Attribute) and any(word in _code(func.value) for word in t.not_models):
            return False  # AutoTokenizer.from_pretrained(...), CLIPProcessor.from_pretrained(...)
        names = qualified(func, scope)
        if names & t.factories or any(n.startswith(p) and n.endswith(s) for n in names for p, s in t.factory_patterns):
            return True
        if isinstance(func, cst.Attribute) and func.attr.value in ("from_pretrained", "from_single_file", "from_pipe"):
            return True  # a project class's from_pretrained
        for value in resolve.values(func, scope):
            if isinstance(value, resolve.LocalClass) and set(resolve.class_bases(value)) & t.bases:
                return True
        return self._returns_model(func, scope)

    def _returns_model(self, func: cst.BaseExpression, scope: Scope) -> bool:
        """A call of a local function that returns a model (`model = load_model()`)."""
        function = local_function(func, scope)
        if function is None:
            return False
        inner = self.facts.function_scopes.get(id(function))
        return inner is not None and any(self.is_model(value, inner) for value in returns(function))

    def _self_attribute(self, scope: Scope, attr: str) -> list[tuple[cst.BaseExpression, Scope]]:
        """The values `self.<attr>` is assigned in the methods of the class around `scope`."""
        classdef, _ = enclosing_class(scope)
        if classdef is None:
            return []
        if id(classdef) not in self._self_attributes:
            assigned: dict[str, list[tuple[cst.BaseExpression, Scope]]] = {}
            for statement in classdef.body.body if isinstance(classdef.body, cst.IndentedBlock) else ():
                if not isinstance(statement, cst.FunctionDef):
                    continue
                inner = self.facts.function_scopes.get(id(statement))
                for node in _walk(statement.body):
                    if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
                        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
                        for target in targets:
                            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                                    and target.value.value == "self" and inner is not None:
                                assigned.setdefault(target.attr.value, []).append((node.value, inner))
            self._self_attributes[id(classdef)] = assigned
        return self._self_attributes[id(classdef)].get(attr, [])


def enclosing_class(scope: Scope | None) -> tuple[cst.ClassDef | None, Scope | None]:
    """The class whose method `scope` is in (through nested scopes of the method)."""
    while scope is not None:
        if isinstance(scope.node, cst.FunctionDef):
            if scope.parent is not None and scope.parent.classdef is not None:
                return scope.parent.classdef, scope.parent
            return None, None
        scope = scope.parent
    return None, None


def local_function(func: cst.BaseExpression, scope: Scope) -> cst.FunctionDef | None:
    """The function of this file a callee names: `helper` or `self.helper`."""
    if isinstance(func, cst.Name):
        bindings, _ = scope.lookup(func.value)
        for binding in bindings:
            if isinstance(binding.node, cst.FunctionDef):
                return binding.node
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
        classdef, _ = enclosing_class(scope)
        if classdef is not None and isinstance(classdef.body, cst.IndentedBlock):
            for statement in classdef.body.body:
                if isinstance(statement, cst.FunctionDef) and statement.name.value == func.attr.value:
                    return statement
    return None


def returns(function: cst.FunctionDef) -> list[cst.BaseExpression]:
    """The values a function returns (not those of functions nested in it)."""
    return [node.value for node in _walk(function.body) if isinstance(node, cst.Return) and node.value is not None]


def _walk(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(
            child for child in children(node) if not isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
        )


def _code(node: cst.CSTNode) -> str:
    text = cst.Module([]).code_for_node(node)
    return text if len(text) <= 60 else text[:57] + "..."
