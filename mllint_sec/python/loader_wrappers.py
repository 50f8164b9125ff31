"""Functions that are loaders themselves: each call of one is judged as the loader call inside it.

    def torch_load(*args, **kwargs):                # a wrapper of torch.load
        kwargs.setdefault("weights_only", False)
        return torch.load(*args, **kwargs)

    model = torch_load(downloaded)                  # reported here, with the wrapper as a step

A function F is a wrapper when a catalogued call inside it (a rule's CallMatch) loads one of F's
parameters (by name, or F's first positional argument through `*args`) and that call is unsafe
as F makes it (unconditionally, with F's defaults, or with keys F forces into its `**kwargs`,
forced_kwargs.py) or could be, depending on arguments F's callers choose (`weights_only=wo`, a
forwarded `**kwargs`). At a call `F(...)`, the call's arguments are bound to F's parameters, put
in place of those parameters in the inner call's argument list (forced keys override the caller's,
defaults give way to them), and matching.py's one evaluation judges the result: every argument
check, message and `also` clause works for every loader rule with no code of its own here.

A wrapper may call another wrapper (up to MAX_DEPTH loaders deep). Wrappers are found in rounds,
each from the previous round's answers only, so the answer is the same whichever function is
looked at first, and a cycle (two functions calling each other) ends at the depth bound.
Functions are module-level ones, nested ones, and methods called as `self.name(...)` from a
method of the same class; they are called by name, through aliases (`tl = torch_load`) and
`functools.partial`. Calls from other modules are found by analysis/cross_module_wrappers.py
through `external`, which gives the wrappers a qualified name stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from mllint_sec.catalogue.model import CallMatch, Rule
from mllint_sec.core.loader_wrapper import LoaderWrapper
from mllint_sec.core.unsettled import Unsettled
from mllint_sec.python import budget, resolve
from mllint_sec.python.forced_kwargs import FORCE, forced, function_scope, literal_keys
from mllint_sec.python.matching import (
    Arg,
    MatchIndex,
    RawFinding,
    call_args,
    call_matches,
    cleared_by_code,
    evaluate,
    find_argument,
    loaded_argument,
)
from mllint_sec.python.resolve import UNKNOWN
from mllint_sec.python.scopes import OTHER, FileFacts, Scope, Site, is_staticmethod

LOADER_FAMILY = "deserialization"  # the rules whose wrappers are loaders themselves
MAX_DEPTH = 3  # loaders deep: a wrapper of a wrapper of a wrapper
_MAX_ALIASES = 8  # `a = b`, `b = partial(c, ...)`: names followed to find a function


@dataclass(eq=False)
class Wrapper:
    function: cst.FunctionDef
    scope: Scope  # the function's body scope
    method: bool  # a method: its first parameter is bound by `self.name(...)`
    site: Site[cst.Call]  # the call inside it that loads: a loader's, or another wrapper's
    rule: Rule
    match: CallMatch
    callee: str  # the loader's qualified name
    loaded: tuple[int | None, str | None]  # the parameter that is loaded: (position, name)
    inner: Wrapper | None = None  # the wrapper `site` calls, for a wrapper of a wrapper
    prefix: list[Arg] = field(default_factory=list)  # arguments a partial binds before the site's
    path: str | None = None  # the file, when it is another module's (set by the cross-module pass)

    @property
    def name(self) -> str:
        return self.function.name.value

    @property
    def depth(self) -> int:
        return 1 if self.inner is None else 1 + self.inner.depth

    def chain(self) -> list[Wrapper]:
        found, current = [self], self.inner
        while current is not None:
            found.append(current)
            current = current.inner
        return found

    @property
    def exported(self) -> bool:
        """Callable from another module by its name: a module-level function."""
        return not self.method and self.scope.parent is not None and self.scope.parent.kind == "module"


@dataclass(frozen=True)
class WrapperCall:
    """A call of a wrapper that the wrapped loader's rule reports."""

    wrapper: Wrapper
    site: Site[cst.Call]
    node: cst.CSTNode  # what to report: the call, or its argument that makes it unsafe
    message: str
    unsettled: Unsettled | None
    loaded: tuple[cst.BaseExpression, Scope] | None  # the call's argument the loader loads
    steps: tuple[tuple[cst.CSTNode, str, str | None], ...]  # (node, what happens there, its file if another)


# --- binding a call's arguments to a function's parameters ---------------------------------------

def _positional(function: cst.FunctionDef, method: bool) -> list[cst.Param]:
    params = [*function.params.posonly_params, *function.params.params]
    return params[1:] if method and not is_staticmethod(function) else params


@dataclass
class _Bound:
    params: dict[str, Arg]  # a parameter's argument (the caller's, or its default); missing: unknown
    positional: list[Arg]  # what `*args` receives
    keywords: list[Arg]  # what `**kwargs` receives (keywords, and spreads nobody can read)


def _bind(wrapper: Wrapper, args: list[Arg]) -> _Bound:
    function = wrapper.function
    positional = _positional(function, wrapper.method)
    by_name = {p.name.value for p in [*function.params.params, *function.params.kwonly_params]}
    bound = _Bound({}, [], [])
    index, unknown = 0, False
    for arg in args:
        if arg.star == "*":
            unknown = True  # which parameters it fills is not known
            index = len(positional)
            bound.positional.append(arg)
        elif arg.star == "**":
            literal = resolve.dict_literal(arg.value, arg.scope)
            keys = literal_keys(literal) if literal is not None else None
            if keys is None:
                unknown = True
                bound.keywords.append(arg)
                continue
            for key, value in keys.items():
                _bind_keyword(bound, by_name, Arg(key, "", value, arg.node, arg.scope))
        elif arg.keyword is not None:
            _bind_keyword(bound, by_name, arg)
        elif index < len(positional):
            bound.params[positional[index].name.value] = arg
            index += 1
        else:
            bound.positional.append(arg)
    if not unknown:
        outer = wrapper.scope.parent or wrapper.scope
        for param in [*positional, *function.params.kwonly_params]:
            if param.name.value not in bound.params and param.default is not None:
                bound.params[param.name.value] = Arg(param.name.value, "", param.default, param.default, outer)
    return bound


def _bind_keyword(bound: _Bound, by_name: set[str], arg: Arg) -> None:
    if arg.keyword in by_name:
        bound.params[arg.keyword] = arg
    else:
        bound.keywords.append(arg)


def _parameter(value: cst.BaseExpression, wrapper: Wrapper) -> str | None:
    """The parameter of the wrapper `value` names, when nothing else binds that name there."""
    if not isinstance(value, cst.Name):
        return None
    params = wrapper.function.params
    names = {p.name.value for p in [*params.posonly_params, *params.params, *params.kwonly_params]}
    names.update(p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param))
    if value.value not in names:
        return None
    bindings, owner = wrapper.scope.lookup(value.value)
    if owner is not wrapper.scope or len(bindings) != 1 or bindings[0].kind != OTHER or bindings[0].node is not None:
        return None
    return value.value


def _star_name(param: object) -> str | None:
    return param.name.value if isinstance(param, cst.Param) else None


def _substituted(wrapper: Wrapper, bound: _Bound, notes: dict[int, str]) -> list[Arg]:
    """The wrapper's inner call's arguments, with the caller's in place of the wrapper's parameters."""
    params = wrapper.function.params
    star, star_kwarg = _star_name(params.star_arg), _star_name(params.star_kwarg)
    found: list[Arg] = []
    for arg in wrapper.prefix + call_args(wrapper.site.node, wrapper.site.scope):
        name = _parameter(arg.value, wrapper)
        if name is None:
            found.append(arg)
        elif arg.star == "*" and name == star:
            found.extend(bound.positional)
        elif arg.star == "**" and name == star_kwarg:
            found.extend(_forwarded(arg, bound, notes))
        elif not arg.star and name in bound.params:
            given = bound.params[name]
            found.append(Arg(arg.keyword, "", given.value, given.node, given.scope))
        else:
            found.append(arg)  # a parameter nobody's argument fills: unknown, as in the wrapper itself
    return found


def _forwarded(arg: Arg, bound: _Bound, notes: dict[int, str]) -> list[Arg]:
    """`**kwargs` forwarded: what the function forces first, then the caller's keywords, then its defaults."""
    keys = forced(arg.value, arg.node, arg.scope)
    if keys is None:
        return [*bound.keywords, arg]  # the dict may have changed in ways not followed: unknown
    forces: list[Arg] = []
    defaults: list[Arg] = []
    for key, (mode, value) in keys.keys.items():
        code = " ".join(cst.Module([]).code_for_node(value).split())
        notes[id(value)] = f"`{key}={code}` " + ("forced" if mode == FORCE else "by default")
        (forces if mode == FORCE else defaults).append(Arg(key, "", value, value, keys.scope))
    overridden = {a.keyword for a in forces}
    kept = [a for a in bound.keywords if a.keyword is None or a.keyword not in overridden]
    # Last, the spread itself: a key nobody passed is absent from the call, so the loader's own
    # default applies, which the rule treats as it treats any forwarded `**kwargs` (unknown).
    return [*forces, *kept, *defaults, arg]


def _final_arguments(wrapper: Wrapper, args: list[Arg], notes: dict[int, str]) -> list[Arg]:
    """The loader call's arguments when the wrapper is called with `args`."""
    current: Wrapper | None = wrapper
    while current is not None:
        budget.check()
        args = _substituted(current, _bind(current, args), notes)
        current = current.inner
    return args


# --- finding the functions a callee names --------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    function: cst.FunctionDef
    prefix: tuple[Arg, ...]  # bound by `functools.partial`
    method: bool


def _local_targets(expr: cst.BaseExpression, scope: Scope, facts: FileFacts, depth: int = 0) -> list[_Target]:
    if depth > _MAX_ALIASES:
        return []
    if isinstance(expr, cst.Name):
        bindings, _ = scope.lookup(expr.value)
        found: list[_Target] = []
        for binding in bindings:
            if isinstance(binding.node, cst.FunctionDef) and id(binding.node) in facts.function_scopes:
                found.append(_Target(binding.node, (), False))
            elif binding.value is not None and isinstance(binding.value, (cst.Name, cst.Attribute, cst.Call)):
                found += _local_targets(binding.value, binding.scope, facts, depth + 1)
        return found
    if isinstance(expr, cst.Call):
        return _partial_targets(expr, scope, facts, depth)
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
        return _method_targets(expr.value.value, expr.attr.value, scope, facts)
    return []


def _partial_targets(call: cst.Call, scope: Scope, facts: FileFacts, depth: int) -> list[_Target]:
    if not call.args or call.args[0].keyword is not None or call.args[0].star:
        return []
    if not any(t in resolve.PARTIAL for t in resolve.callee_targets(call.func, scope)):
        return []
    bound = tuple(call_args(call, scope)[1:])
    return [_Target(t.function, t.prefix + bound, t.method)
            for t in _local_targets(call.args[0].value, scope, facts, depth + 1)]


def _method_targets(receiver: str, attribute: str, scope: Scope, facts: FileFacts) -> list[_Target]:
    """`self.load(p)` in a method: the method `load` its class defines (not one a subclass may)."""
    owner = function_scope(scope)
    if owner is None or not isinstance(owner.node, cst.FunctionDef) or owner.parent is None:
        return []
    function, classdef = owner.node, owner.parent.classdef
    first = [*function.params.posonly_params, *function.params.params][:1]
    if classdef is None or not first or first[0].name.value != receiver or is_staticmethod(function):
        return []
    return [_Target(statement, (), True) for statement in classdef.body.body
            if isinstance(statement, cst.FunctionDef) and statement.name.value == attribute
            and id(statement) in facts.function_scopes]


# --- the file's wrappers and the calls of them -------------------------------------------------

ExternalWrappers = Callable[[str], list[Wrapper]]


class Wrappers:
    def __init__(self, facts: FileFacts, index: MatchIndex, external: ExternalWrappers | None = None):
        """`external(qualified name)`: the wrappers of other modules a callee's name stands for."""
        self.facts = facts
        self.index = index
        self.external = external
        self.of: dict[int, list[Wrapper]] = {}  # id(FunctionDef) -> its wrappers, in file order
        self.sites: dict[int, list[Site[cst.Call]]] = {}  # id(FunctionDef) -> the calls in its body
        self.functions: dict[int, tuple[cst.FunctionDef, Scope, bool]] = {}
        for site in facts.calls:
            owner = function_scope(site.scope)
            if owner is None or not isinstance(owner.node, cst.FunctionDef):
                continue
            method = owner.parent is not None and owner.parent.kind == "class"
            self.functions[id(owner.node)] = (owner.node, owner, method)
            self.sites.setdefault(id(owner.node), []).append(site)
        self._find()

    def all(self) -> list[Wrapper]:
        return [w for wrappers in self.of.values() for w in wrappers]

    def _find(self) -> None:
        """Round n finds the wrappers n loaders deep, from round n-1's answers only."""
        for key, sites in self.sites.items():
            for site in sites:
                budget.check()
                self._loader_calls(key, site)
        for _ in range(MAX_DEPTH - 1):
            before = {key: list(wrappers) for key, wrappers in self.of.items()}
            added = False
            for key, sites in self.sites.items():
                for site in sites:
                    budget.check()
                    added |= self._wrapper_calls(key, site, before)
            if not added:
                break

    def _loader_calls(self, key: int, site: Site[cst.Call]) -> None:
        function, scope, method = self.functions[key]
        for target in resolve.callee_targets(site.node.func, site.scope):
            if not isinstance(target, str):
                continue
            for rule, match in call_matches(self.index, target):
                if match.package is not None:
                    continue  # an advisory (SUP007) is about the project's versions: said once, at the loader
                if rule.family != LOADER_FAMILY:
                    # A helper that downloads a fixed hub model (SUP001) or turns on remote code (SUP002) is
                    # reported where that happens; each of its callers would repeat the same finding.
                    continue
                candidate = Wrapper(function, scope, method, site, rule, match, target, (None, None))
                self._keep(key, candidate, call_args(site.node, site.scope))

    def _wrapper_calls(self, key: int, site: Site[cst.Call], before: dict[int, list[Wrapper]]) -> bool:
        function, scope, method = self.functions[key]
        added = False
        for inner, prefix in self.called(site, before):
            if inner.depth >= MAX_DEPTH or any(w.site is site and w.inner is inner for w in self.of.get(key, ())):
                continue
            candidate = Wrapper(function, scope, method, site, inner.rule, inner.match, inner.callee, (None, None),
                                inner, list(prefix))
            args = _final_arguments(inner, [*prefix, *call_args(site.node, site.scope)], {})
            added |= self._keep(key, candidate, args)
        return added

    def _keep(self, key: int, candidate: Wrapper, final: list[Arg]) -> bool:
        """Record `candidate` when it loads a parameter and its loader call is or may be unsafe."""
        loaded = self._loaded_parameter(candidate, final)
        if loaded is None or cleared_by_code(self.facts, candidate.site.scope, candidate.match):
            return False
        if not _may_fire(candidate, final):
            return False
        candidate.loaded = loaded
        self.of.setdefault(key, []).append(candidate)
        return True

    def _loaded_parameter(self, wrapper: Wrapper, final: list[Arg]) -> tuple[int | None, str | None] | None:
        positional = _positional(wrapper.function, wrapper.method)
        names = [p.name.value for p in positional]
        loaded = loaded_argument(wrapper.match, final)
        if loaded is not None:
            expr, scope = loaded
            name = _parameter(expr, wrapper) if scope is wrapper.scope else None
            if name is None or name in (_star_name(wrapper.function.params.star_arg),
                                        _star_name(wrapper.function.params.star_kwarg)):
                return None
            posonly = {p.name.value for p in wrapper.function.params.posonly_params}
            return (names.index(name) if name in names else None, None if name in posonly else name)
        # `torch.load(*args, ...)`: the loader's first positional argument is the wrapper's first one
        # after its named positional parameters.
        star = _star_name(wrapper.function.params.star_arg)
        for arg in final:
            if arg.star == "*" and arg.scope is wrapper.scope and _parameter(arg.value, wrapper) == star:
                return (len(positional), None)
            if arg.star or arg.keyword is None or arg.keyword in wrapper.match.loaded:
                return None
        return None

    def called(self, site: Site[cst.Call], among: dict[int, list[Wrapper]] | None = None
               ) -> list[tuple[Wrapper, tuple[Arg, ...]]]:
        """The wrappers a call calls (of this file, or through `external` another module's), with the
        arguments a partial binds first."""
        among = self.of if among is None else among
        found: list[tuple[Wrapper, tuple[Arg, ...]]] = []
        for target in _local_targets(site.node.func, site.scope, self.facts):
            found += [(w, target.prefix) for w in among.get(id(target.function), ()) if w.method == target.method]
        if self.external is not None and not found:
            for name in resolve.callee_targets(site.node.func, site.scope):
                if isinstance(name, str):
                    found += [(w, ()) for w in self.external(name)]
                elif isinstance(name, resolve.Partial):
                    bound = tuple(call_args(name.call, name.scope)[1:])
                    found += [(w, bound) for w in self.external(name.target)]
        return found

    # --- judging the calls ---------------------------------------------------------------------
    def calls(self, only_external: bool = False) -> list[WrapperCall]:
        """Every call of a wrapper that its loader's rule reports, in file order; one per rule and node."""
        found: list[WrapperCall] = []
        seen: set[tuple[str, int]] = set()
        for site in self.facts.calls:
            budget.check()
            for wrapper, prefix in self.called(site):
                if only_external and wrapper.path is None:
                    continue
                judged = judge(wrapper, site, prefix)
                if judged is not None and (wrapper.rule.id, id(judged.node)) not in seen:
                    seen.add((wrapper.rule.id, id(judged.node)))
                    found.append(judged)
        return found

    def findings(self) -> list[RawFinding]:
        """The file's calls of its own wrappers, as findings (the steps are nodes of this file)."""
        return [
            RawFinding(call.wrapper.rule, call.node, call.site.statement, call.message, call.unsettled, call.site,
                       call.wrapper.callee, call.loaded, tuple((node, text) for node, text, _ in call.steps))
            for call in self.calls()
        ]

    def exported(self, rules: frozenset[str]) -> list[Wrapper]:
        """The module-level wrappers of `rules`, which other modules may import."""
        return [w for w in self.all() if w.exported and w.rule.id in rules]


def _may_fire(wrapper: Wrapper, final: list[Arg]) -> bool:
    """Whether the loader call is unsafe as the wrapper makes it, or may be for some caller."""
    if evaluate(wrapper.rule, wrapper.match, wrapper.callee, final, wrapper.site.node, False) is not None:
        return True
    for check in (*wrapper.match.when, *wrapper.match.args):
        state, expr, scope, _ = find_argument(final, check)
        if state == "unknown" or (state == "present" and scope is not None and UNKNOWN in resolve.values(expr, scope)):
            return True
    return False


def judge(wrapper: Wrapper, site: Site[cst.Call], prefix: tuple[Arg, ...] = ()) -> WrapperCall | None:
    """The finding a call of `wrapper` makes, if its loader's rule reports the call it amounts to."""
    notes: dict[int, str] = {}
    given = [*prefix, *call_args(site.node, site.scope)]
    final = _final_arguments(wrapper, given, notes)
    outcome = evaluate(wrapper.rule, wrapper.match, wrapper.callee, final, site.node, False)
    if outcome is None:
        return None
    node, message, unsettled = outcome
    own = {id(arg) for arg in site.node.args}
    note = notes.get(id(node))
    how = f" with {note}" if note else ""
    chain = wrapper.chain()
    through = f" (through {', '.join(f'`{w.name}()`' for w in chain[1:])})" if len(chain) > 1 else ""
    text = f"`{wrapper.name}()` passes its argument to `{wrapper.callee}`{through}{how}: {message}"
    loaded = loaded_argument(wrapper.match, final)
    steps: list[tuple[cst.CSTNode, str, str | None]] = []
    if loaded is not None and loaded[1] is site.scope:
        steps.append((loaded[0], f"passed to `{wrapper.name}()`", None))
    for level, current in enumerate(chain):
        if current.inner is None:
            detail = f" ({note})" if note else ""
            step = f"`{current.name}()` calls `{current.callee}` with it{detail}"
            steps.append((current.site.node, step, current.path))
        else:
            nxt = chain[level + 1]
            steps.append((current.site.node, f"`{current.name}()` passes it to `{nxt.name}()`", current.path))
    return WrapperCall(wrapper, site, node if id(node) in own else site.node, text, unsettled, loaded, tuple(steps))


def summary(wrapper: Wrapper, span: tuple[int, int, int, int]) -> LoaderWrapper:
    """The wrapper as plain data; `span`: its inner call's (python/positions.py, 0-based columns)."""
    position, name = wrapper.loaded
    return LoaderWrapper(wrapper.name, wrapper.rule.id, wrapper.callee, span[0], span[1] + 1, position, name,
                         tuple(w.name for w in wrapper.chain()[1:]))
