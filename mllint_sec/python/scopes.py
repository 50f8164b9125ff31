"""One walk over a libcst module that records scopes, bindings and the nodes rules look at.

This replaces libcst's ScopeProvider/QualifiedNameProvider, which cost about 10x
the parse (see docs/design.md): we only need, per name, which imports or
assignments may bind it, following Python's rules (function locals, `global`,
class bodies not visible from methods, star imports).

The walk is iterative (no recursion on deep trees) and visits only the fields
that can hold code; whitespace is skipped unless comments are wanted.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

import libcst as cst

from mllint_sec.python import budget

# Binding kinds.
IMPORT, ASSIGN, CLASS, OTHER = "import", "assign", "class", "other"
# A module name longer than this is neither a catalogued name nor a scanned file's (a path has at most
# 4,096 bytes), and `from <it> import n0, ..., n19999` would copy it into every name (a 40 KB module:
# 800 MB): such a module is named by its digest instead, which keeps imports of it apart and matches nothing.
LONGEST_MODULE = 4096


@dataclass(eq=False)
class Binding:
    kind: str
    scope: Scope
    qname: str | None = None  # IMPORT: the dotted name bound
    value: cst.BaseExpression | None = None  # ASSIGN: the right-hand side
    node: cst.CSTNode | None = None  # CLASS: the ClassDef; ASSIGN: the Assign statement


@dataclass(eq=False)
class Scope:
    kind: str  # module, function, class, comprehension
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    global_names: set[str] = field(default_factory=set)
    star_imports: list[str] = field(default_factory=list)
    name: str = ""  # the function's name, for function scopes
    node: cst.FunctionDef | cst.Lambda | None = None  # the FunctionDef or Lambda, for function scopes
    classdef: cst.ClassDef | None = None  # the ClassDef, for class scopes
    memo: dict[Any, Any] = field(default_factory=dict)  # module scope: resolve.py's per-file answers

    def bind(self, name: str, binding: Binding) -> None:
        target = self.module() if name in self.global_names else self
        target.bindings.setdefault(name, []).append(binding)

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def lookup(self, name: str) -> tuple[list[Binding], Scope]:
        """The bindings a load of `name` in this scope may see, and the scope that owns them."""
        if name in self.global_names:
            module = self.module()
            return module.bindings.get(name, []), module
        scope: Scope | None = self
        first = True
        while scope is not None:
            if (first or scope.kind != "class") and name in scope.bindings:
                return scope.bindings[name], scope
            first = False
            scope = scope.parent
        return [], self.module()


_N = TypeVar("_N", bound=cst.CSTNode)


@dataclass(eq=False)
class Site(Generic[_N]):
    """A node a rule may report, with the scope it is evaluated in and its enclosing statement."""

    node: _N
    scope: Scope
    statement: cst.CSTNode


# What `FileFacts.references` and `alias_values` hold: a value reference is a name or a dotted name.
NameOrAttribute: TypeAlias = cst.Name | cst.Attribute


@dataclass
class FileFacts:
    module: cst.Module
    scope: Scope
    calls: list[Site[cst.Call]] = field(default_factory=list)
    classes: list[Site[cst.ClassDef]] = field(default_factory=list)
    subscript_assigns: list[Site[cst.Assign]] = field(default_factory=list)
    references: list[Site[NameOrAttribute]] = field(default_factory=list)
    alias_values: dict[int, Site[NameOrAttribute]] = field(default_factory=dict)  # id(rhs) -> site of `name = rhs`
    function_scopes: dict[int, Scope] = field(default_factory=dict)  # id(FunctionDef) -> its body's scope


_COMPOUND = (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar, cst.FunctionDef, cst.ClassDef, cst.Match)
_SKIP_FIELDS = {
    "whitespace_before", "whitespace_after", "whitespace_before_colon", "whitespace_after_colon",
    "whitespace_before_params", "whitespace_after_def", "whitespace_after_class", "whitespace_before_args",
    "whitespace_after_func", "whitespace_after_star", "whitespace_after_param", "whitespace_before_indicator",
    "whitespace_after_indicator", "whitespace_after_arg", "whitespace_after_keyword", "whitespace_after_import",
    "whitespace_before_import", "whitespace_after_from", "whitespace_before_as", "whitespace_after_as",
    "whitespace_after_await", "whitespace_before_in", "whitespace_after_in", "whitespace_before_from",
    "whitespace_after_lambda", "whitespace_before_value", "whitespace_after_at", "whitespace_after_global",
    "whitespace_after_nonlocal", "whitespace_after_del", "whitespace_after_return", "whitespace_after_raise",
    "whitespace_after_assert", "whitespace_before_else", "whitespace_after_else", "whitespace_after_if",
    "whitespace_before_if", "whitespace_after_for", "whitespace_before_for", "whitespace_after_while",
    "whitespace_after_with", "whitespace_after_yield", "whitespace_after_type",
    "lpar", "rpar", "comma", "semicolon", "colon", "equal", "dot", "star", "lbracket", "rbracket", "lbrace",
    "rbrace", "leading_lines", "lines_after_decorators", "header", "footer", "trailing_whitespace", "newline",
    "indent", "operator", "default_indent",
}
_FIELDS_ALL: dict[type, tuple[str, ...]] = {}
_FIELDS_CODE: dict[type, tuple[str, ...]] = {}


def _fields(node_type: type, with_whitespace: bool = False) -> tuple[str, ...]:
    cache = _FIELDS_ALL if with_whitespace else _FIELDS_CODE
    names = cache.get(node_type)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if with_whitespace or f.name not in _SKIP_FIELDS
        )
        cache[node_type] = names
    return names


def children(node: cst.CSTNode, with_whitespace: bool = False) -> Iterator[cst.CSTNode]:
    for name in _fields(type(node), with_whitespace):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def parameters(params: cst.Parameters) -> list[cst.Param]:
    """Every parameter a function binds: positional-only, ordinary, keyword-only, `*args`, `**kwargs`."""
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every.extend(extra for extra in (params.star_arg, params.star_kwarg) if isinstance(extra, cst.Param))
    return every


def is_staticmethod(function: cst.FunctionDef) -> bool:
    """Decorated `@staticmethod`: its first parameter is not the instance."""
    return any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in function.decorators)


def _target_names(target: cst.CSTNode) -> Iterator[cst.Name]:
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


class _Collector:
    def __init__(self, module: cst.Module, reference_names: frozenset[str]):
        self.facts = FileFacts(module, Scope("module", None))
        self.reference_names = reference_names
        # Work items: (node, scope, statement, load_context). load_context=False for
        # nodes whose Names are not value references (targets, bases, callees).
        self.stack: list[tuple[cst.CSTNode, Scope, cst.CSTNode, bool]] = []

    def run(self) -> FileFacts:
        module = self.facts.module
        self.stack.append((module, self.facts.scope, module, True))
        while self.stack:
            budget.check()
            node, scope, statement, load = self.stack.pop()
            handler = _HANDLERS.get(type(node))
            if handler is not None:
                handler(self, node, scope, statement, load)
                continue
            self.push_children(node, scope, statement, load)
        return self.facts

    def push(self, node: cst.CSTNode | None, scope: Scope, statement: cst.CSTNode, load: bool = True) -> None:
        if node is not None:
            self.stack.append((node, scope, statement, load))

    def push_children(self, node: cst.CSTNode, scope: Scope, statement: cst.CSTNode, load: bool = True) -> None:
        # Reversed, so the stack pops them in source order (`global x` before `import x`).
        for child in reversed(list(children(node))):
            self.stack.append((child, scope, statement, load))

    # --- statements -------------------------------------------------------
    def simple_line(self, node: cst.SimpleStatementLine, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        self.push_children(node, scope, node)

    def compound(self, node: cst.CSTNode, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        self.push_children(node, scope, node)

    def import_(self, node: cst.Import, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                scope.bind(alias.asname.name.value, Binding(IMPORT, scope, qname=full))
            else:
                top = full.split(".")[0]
                scope.bind(top, Binding(IMPORT, scope, qname=top))

    def import_from(self, node: cst.ImportFrom, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        base = dotted_name(node.module) if node.module is not None else ""
        base = "." * len(node.relative) + (base or "")
        if len(base) > LONGEST_MODULE:
            base = "<module " + hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:32] + ">"
        if isinstance(node.names, cst.ImportStar):
            scope.star_imports.append(base)
        else:
            for alias in node.names:
                # libcst types an alias's `as` target as Name | Tuple | List; an import's is a Name.
                bound = alias.asname.name if alias.asname is not None else alias.name
                if not isinstance(alias.name, cst.Name) or not isinstance(bound, cst.Name):
                    continue
                qname = f"{base}.{alias.name.value}" if not base.endswith(".") else f"{base}{alias.name.value}"
                scope.bind(bound.value, Binding(IMPORT, scope, qname=qname))

    def function(self, node: cst.FunctionDef, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        scope.bind(node.name.value, Binding(OTHER, scope, node=node))
        inner = Scope("function", scope, name=node.name.value, node=node)
        self.facts.function_scopes[id(node)] = inner
        for decorator in node.decorators:
            self.push(decorator, scope, node)
        self.push(node.returns, scope, node)
        self.params(node.params, scope, inner, node)
        self.push(node.body, inner, node)

    def lambda_(self, node: cst.Lambda, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        inner = Scope("function", scope, node=node)
        self.params(node.params, scope, inner, statement)
        self.push(node.body, inner, statement)

    def params(self, params: cst.Parameters, outer: Scope, inner: Scope, statement: cst.CSTNode) -> None:
        for param in parameters(params):
            inner.bind(param.name.value, Binding(OTHER, inner))
            self.push(param.default, outer, statement)
            if param.annotation is not None:
                self.push(param.annotation, outer, statement)

    def class_(self, node: cst.ClassDef, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        scope.bind(node.name.value, Binding(CLASS, scope, node=node))
        self.facts.classes.append(Site(node, scope, node))
        for decorator in node.decorators:
            self.push(decorator, scope, node)
        for arg in [*node.bases, *node.keywords]:
            self.push(arg.value, scope, node, load=False)
        self.push(node.body, Scope("class", scope, classdef=node), node)

    def global_(self, node: cst.Global, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        for item in node.names:
            scope.global_names.add(item.name.value)

    def assign(self, node: cst.Assign, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        single_name = len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name)
        for target in node.targets:
            self.bind_target(target.target, scope, statement, ASSIGN if single_name else OTHER, node.value, node)
            if isinstance(target.target, cst.Subscript):
                self.facts.subscript_assigns.append(Site(node, scope, statement))
        self.push_value(node.value, scope, statement, is_alias=single_name)

    def push_value(self, value: cst.BaseExpression, scope: Scope, statement: cst.CSTNode, is_alias: bool) -> None:
        if is_alias and isinstance(value, (cst.Name, cst.Attribute)):
            # `loader = pickle.loads` is an alias: calls through it are matched; the alias
            # itself is reported only if it is never called (see matching.py).
            self.facts.alias_values[id(value)] = Site(value, scope, statement)
            self.push(value, scope, statement, load=False)
        else:
            self.push(value, scope, statement)

    def ann_assign(self, node: cst.AnnAssign, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        if node.value is not None:
            kind = ASSIGN if isinstance(node.target, cst.Name) else OTHER
            self.bind_target(node.target, scope, statement, kind, node.value, node)
            self.push(node.value, scope, statement)
        self.push(node.annotation, scope, statement)

    def aug_assign(self, node: cst.AugAssign, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        self.bind_target(node.target, scope, statement, OTHER, None, node)
        self.push(node.value, scope, statement)

    def named_expr(self, node: cst.NamedExpr, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        owner = scope
        while owner.kind == "comprehension" and owner.parent is not None:
            owner = owner.parent
        self.bind_target(node.target, owner, statement, ASSIGN, node.value, node)
        self.push_value(node.value, scope, statement, is_alias=isinstance(node.target, cst.Name))

    def bind_target(
        self,
        target: cst.BaseExpression,
        scope: Scope,
        statement: cst.CSTNode,
        kind: str,
        value: cst.BaseExpression | None,
        node: cst.CSTNode,
    ) -> None:
        if isinstance(target, cst.Name):
            scope.bind(target.value, Binding(kind, scope, value=value if kind == ASSIGN else None, node=node))
            return
        if isinstance(target, (cst.Tuple, cst.List, cst.StarredElement)):
            for name in _target_names(target):  # node: taint.py follows the unpacked value
                scope.bind(name.value, Binding(OTHER, scope, node=node))
            return
        self.push(target, scope, statement)  # attribute / subscript targets load their base

    def for_(self, node: cst.For, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        self.bind_target(node.target, scope, node, OTHER, None, node)
        self.push(node.iter, scope, node)
        self.push(node.body, scope, node)
        self.push(node.orelse, scope, node)

    def with_item(self, node: cst.WithItem, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        if node.asname is not None:
            self.bind_target(node.asname.name, scope, statement, OTHER, None, node)
        self.push(node.item, scope, statement)

    def except_handler(
        self, node: cst.ExceptHandler | cst.ExceptStarHandler, scope: Scope, statement: cst.CSTNode, load: bool
    ) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            scope.bind(node.name.name.value, Binding(OTHER, scope))
        self.push(node.type, scope, node)
        self.push(node.body, scope, node)

    def comprehension(
        self,
        node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp,
        scope: Scope,
        statement: cst.CSTNode,
        load: bool,
    ) -> None:
        inner = Scope("comprehension", scope)
        clause: cst.CompFor | None = node.for_in
        first = True
        while clause is not None:
            self.push(clause.iter, scope if first else inner, statement)
            self.bind_target(clause.target, inner, statement, OTHER, None, clause)
            for condition in clause.ifs:
                self.push(condition.test, inner, statement)
            first = False
            clause = clause.inner_for_in
        for part in ("elt", "key", "value"):
            self.push(getattr(node, part, None), inner, statement)

    def match_as(self, node: cst.MatchAs | cst.MatchStar, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        name = getattr(node, "name", None)
        if isinstance(name, cst.Name):
            scope.bind(name.value, Binding(OTHER, scope))
        self.push_children(node, scope, statement)

    # --- expressions ------------------------------------------------------
    def call(self, node: cst.Call, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        self.facts.calls.append(Site(node, scope, statement))
        self.push(node.func, scope, statement, load=False)
        for arg in node.args:
            self.push(arg.value, scope, statement)

    def attribute(self, node: cst.Attribute, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        if load and node.attr.value in self.reference_names:
            self.facts.references.append(Site(node, scope, statement))
        self.push(node.value, scope, statement, load=False)

    def name(self, node: cst.Name, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        if load and node.value in self.reference_names:
            self.facts.references.append(Site(node, scope, statement))

    def arg(self, node: cst.Arg, scope: Scope, statement: cst.CSTNode, load: bool) -> None:
        self.push(node.value, scope, statement)


# A handler takes (collector, node of its type, scope, statement, load context).
_Handler = Callable[[_Collector, Any, Scope, cst.CSTNode, bool], None]
_HANDLERS: dict[type[cst.CSTNode], _Handler] = {
    cst.SimpleStatementLine: _Collector.simple_line,
    cst.If: _Collector.compound,
    cst.While: _Collector.compound,
    cst.Try: _Collector.compound,
    cst.TryStar: _Collector.compound,
    cst.With: _Collector.compound,
    cst.Match: _Collector.compound,
    cst.For: _Collector.for_,
    cst.Import: _Collector.import_,
    cst.ImportFrom: _Collector.import_from,
    cst.FunctionDef: _Collector.function,
    cst.Lambda: _Collector.lambda_,
    cst.ClassDef: _Collector.class_,
    cst.Global: _Collector.global_,
    cst.Assign: _Collector.assign,
    cst.AnnAssign: _Collector.ann_assign,
    cst.AugAssign: _Collector.aug_assign,
    cst.NamedExpr: _Collector.named_expr,
    cst.WithItem: _Collector.with_item,
    cst.ExceptHandler: _Collector.except_handler,
    cst.ExceptStarHandler: _Collector.except_handler,
    cst.ListComp: _Collector.comprehension,
    cst.SetComp: _Collector.comprehension,
    cst.GeneratorExp: _Collector.comprehension,
    cst.DictComp: _Collector.comprehension,
    cst.MatchAs: _Collector.match_as,
    cst.MatchStar: _Collector.match_as,
    cst.Call: _Collector.call,
    cst.Attribute: _Collector.attribute,
    cst.Name: _Collector.name,
    cst.Arg: _Collector.arg,
}


def collect(module: cst.Module, reference_names: frozenset[str] = frozenset()) -> FileFacts:
    """Walk `module` once. `reference_names`: last name segments worth recording as value references."""
    return _Collector(module, reference_names).run()


def comments(module: cst.Module) -> list[cst.Comment]:
    """Every comment node in the module (a second, full walk; run only when a file has a marker)."""
    found: list[cst.Comment] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Comment):
            found.append(node)
        else:
            stack.extend(children(node, with_whitespace=True))
    return found
