"""The one mechanism behind every call-pattern rule: catalogue data in, raw findings out.

`MatchIndex` compiles the catalogue once into dictionaries keyed by qualified
name; `match_file` looks every recorded call, class and assignment up in them.
Adding a loader to a rule is a change to its TOML file, not to this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from . import resolve
from .catalogue import ArgCheck, CallMatch, Catalogue, EnvMatch, Rule, SubclassMatch
from .resolve import UNKNOWN, Const, LocalClass, Partial, QName
from .scopes import FileFacts, Scope, Site

_ENV_SETTERS = {"os.environ.setdefault", "os.environ.__setitem__", "os.putenv"}
_ENV_UPDATE = "os.environ.update"
_REDUCE_METHODS = ("__reduce__", "__reduce_ex__")


def _can_raise(function: cst.FunctionDef) -> bool:
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Raise):
            return True
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            stack.extend(node.children)
    return False


@dataclass(frozen=True)
class RawFinding:
    rule: Rule
    node: cst.CSTNode
    statement: cst.CSTNode
    message: str


@dataclass
class MatchIndex:
    calls: dict[str, list[tuple[Rule, CallMatch]]] = field(default_factory=dict)
    # `pkg.*.name` patterns: (prefix, suffix, rule, match), matched on qualified names.
    wildcards: list[tuple[str, str, Rule, CallMatch]] = field(default_factory=list)
    subclasses: dict[str, list[tuple[Rule, SubclassMatch]]] = field(default_factory=dict)
    env: dict[str, list[tuple[Rule, EnvMatch]]] = field(default_factory=dict)
    # (root, last) word pairs whose presence lets a file contain a match at all (see prefilter.py).
    words: frozenset[tuple[str, str]] = frozenset()
    env_names: frozenset[str] = frozenset()
    last_words: frozenset[str] = frozenset()
    reference_names: frozenset[str] = frozenset()

    @classmethod
    def build(cls, catalogue: Catalogue, rule_ids: set[str] | None = None) -> "MatchIndex":
        index = cls()
        words: set[tuple[str, str]] = set()
        references: set[str] = set()
        for rule in catalogue.rules.values():
            if rule_ids is not None and rule.id not in rule_ids:
                continue
            for match in rule.calls:
                for name in match.calls:
                    if ".*." in name:
                        prefix, suffix = name.split(".*.", 1)
                        index.wildcards.append((prefix + ".", "." + suffix, rule, match))
                    else:
                        index.calls.setdefault(name, []).append((rule, match))
                    words.add(_pair(name))
                    if not match.args and name.rsplit(".", 1)[-1][:1].islower():
                        references.add(name.rsplit(".", 1)[-1])
            for match in rule.subclasses:
                for name in match.bases:
                    index.subclasses.setdefault(name, []).append((rule, match))
                    words.add(_pair(name))
            for match in rule.env:
                for name in match.names:
                    index.env.setdefault(name, []).append((rule, match))
        index.words = frozenset(words)
        index.last_words = frozenset(last for _, last in words)
        index.env_names = frozenset(index.env)
        index.reference_names = frozenset(references)
        return index


def _call_matches(index: "MatchIndex", qualified: str) -> list[tuple[Rule, CallMatch]]:
    found = list(index.calls.get(qualified, ()))
    for prefix, suffix, rule, match in index.wildcards:
        if qualified.startswith(prefix) and qualified.endswith(suffix) and len(qualified) > len(prefix) + len(suffix) - 1:
            found.append((rule, match))
    return found


def _pair(qualified: str) -> tuple[str, str]:
    return qualified.split(".", 1)[0], qualified.rsplit(".", 1)[-1]


@dataclass
class _Arg:
    keyword: str | None
    star: str
    value: cst.BaseExpression
    node: cst.CSTNode
    scope: Scope


def _call_args(call: cst.Call, scope: Scope) -> list[_Arg]:
    return [_Arg(a.keyword.value if a.keyword else None, a.star, a.value, a, scope) for a in call.args]


def _find(args: list[_Arg], check: ArgCheck) -> tuple[str, list, cst.CSTNode | None]:
    """('absent' | 'present' | 'unknown', possible values, node to report)."""
    unknown_spread = False
    positional = 0
    for arg in args:
        if arg.keyword == check.name:
            return "present", resolve.values(arg.value, arg.scope), arg.node
        if arg.star == "**":
            literal = resolve.dict_literal(arg.value, arg.scope)
            if literal is None:
                unknown_spread = True
                continue
            found = _find_in_dict(literal, check.name, arg.scope)
            if found is not None:
                return "present", resolve.values(found, arg.scope), arg.node
        elif arg.star == "*":
            if check.position is not None and positional <= check.position:
                unknown_spread = True
            positional = 10**6
        elif arg.keyword is None:
            if check.position is not None and positional == check.position:
                return "present", resolve.values(arg.value, arg.scope), arg.node
            positional += 1
    return ("unknown" if unknown_spread else "absent"), [], None


def _find_in_dict(literal: cst.Dict | cst.Call, name: str, scope: Scope) -> cst.BaseExpression | None:
    if isinstance(literal, cst.Call):
        for arg in literal.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return arg.value
        return None
    for element in literal.elements:
        if isinstance(element, cst.DictElement):
            key = resolve.values(element.key, scope)
            if key == [Const(name)]:
                return element.value
    return None


def _fires(check: ArgCheck, state: str, possible: list, deferred: bool) -> bool:
    """Whether `check` reports this call. `deferred`: a partial, whose absent args may come later."""
    if state == "unknown" or (state == "absent" and deferred):
        return check.unknown == "flag" and not deferred
    kind = check.check
    if state == "absent":
        return kind in ("absent-or-falsy", "not-in")
    if kind == "present":
        return not all(isinstance(v, Const) and v.value is None for v in possible)
    if kind == "not-literal":
        verdicts = {_is_literal_names(v) for v in possible}
        if False in verdicts:
            return True
        return None in verdicts and check.unknown == "flag"
    if kind == "not-in":
        verdicts = {_is_safe_value(v, check.safe) for v in possible}
        if False in verdicts:
            return True
        return None in verdicts and check.unknown == "flag"
    truth = resolve.truth_of(possible)
    if truth is None:
        return check.unknown == "flag"
    if kind == "absent-or-falsy":
        return truth is False
    if kind == "truthy":
        return truth is True
    return truth is False  # falsy


def _is_literal_names(value) -> bool | None:
    """None/False/empty, or a literal sequence of strings: a reviewed list. True or computed: not."""
    if value is UNKNOWN:
        return None
    if not isinstance(value, Const):
        return False
    if value.value is None or value.value is False:
        return True
    return isinstance(value.value, tuple) and all(isinstance(item, str) for item in value.value)


def _is_safe_value(value, safe: tuple[str, ...]) -> bool | None:
    if isinstance(value, QName):
        return value.name in safe
    if isinstance(value, LocalClass):
        return any(base in safe for base in resolve.class_bases(value))
    if value is UNKNOWN:
        return None
    return False


def _evaluate(rule: Rule, match: CallMatch, callee: str, args: list[_Arg], report: cst.CSTNode, deferred: bool):
    """(node, message) when the call is unsafe, else None."""
    if not match.args:
        return report, match.message.format(callee=callee)
    for check in match.args:
        state, possible, node = _find(args, check)
        if _fires(check, state, possible, deferred):
            return (node if state == "present" else report), check.message.format(callee=callee)
    return None


class _FileMatcher:
    def __init__(self, facts: FileFacts, index: MatchIndex):
        self.facts = facts
        self.index = index
        self.found: list[RawFinding] = []
        self.called_aliases: set[int] = set()
        self.reported_partials: set[tuple[int, str]] = set()

    def add(self, rule: Rule, node: cst.CSTNode, statement: cst.CSTNode, message: str) -> None:
        self.found.append(RawFinding(rule, node, statement, message))

    def run(self) -> list[RawFinding]:
        # Partials first, so a call through an already-reported partial is not reported twice.
        for site in self.facts.calls:
            self.partial_creation(site)
        for site in self.facts.calls:
            self.call(site)
        for site in self.facts.classes:
            self.subclass(site)
        for site in self.facts.subscript_assigns:
            self.env_assign(site)
        for site in self.facts.references:
            self.reference(site)
        return self.found

    def call(self, site: Site) -> None:
        call = site.node
        assert isinstance(call, cst.Call)
        via: list = []
        targets = resolve.callee_targets(call.func, site.scope, via)
        matched = False
        for target in dict.fromkeys(targets):
            if isinstance(target, Partial):
                matched |= self.partial_call(site, target)
            else:
                matched |= self.direct_call(site, target, _call_args(call, site.scope), call, deferred=False)
        if matched:
            self.called_aliases.update(id(v) for v in via)
        self.env_call(site, targets)

    def partial_creation(self, site: Site) -> None:
        """`functools.partial(loader, ...)`: check the arguments it binds, here."""
        for partial in resolve.as_partial(site.node, site.scope):
            args = _call_args(site.node, site.scope)[1:]
            if self.direct_call(site, partial.target, args, site.node, deferred=True):
                self.reported_partials.add((id(site.node), partial.target))

    def direct_call(self, site: Site, callee: str, args: list[_Arg], report, deferred: bool) -> bool:
        hit = False
        matches = _call_matches(self.index, callee)
        for rule, match in matches:
            if deferred and not match.args:
                hit = True  # reported as a value reference (the partial's first argument)
                continue
            outcome = _evaluate(rule, match, callee, args, report, deferred)
            if outcome:
                self.add(rule, outcome[0], site.statement, outcome[1])
                hit = True
        return hit or (bool(matches) and not deferred)

    def partial_call(self, site: Site, partial: Partial) -> bool:
        if (id(partial.call), partial.target) in self.reported_partials:
            return True
        args = _call_args(partial.call, partial.scope)[1:] + _call_args(site.node, site.scope)
        return self.direct_call(site, partial.target, args, site.node, deferred=False)

    def subclass(self, site: Site) -> None:
        node = site.node
        assert isinstance(node, cst.ClassDef)
        # An override counts only if it can refuse something: a `find_class` that ends in
        # `return super().find_class(module, name)` with no `raise` restricts nothing.
        defined = {
            stmt.name.value
            for stmt in node.body.body
            if isinstance(stmt, cst.FunctionDef) and _can_raise(stmt)
        }
        for base in node.bases:
            for target in resolve.callee_targets(base.value, site.scope):
                for rule, match in self.index.subclasses.get(target if isinstance(target, str) else "", ()):
                    if not defined.intersection(match.unless_defines):
                        self.add(rule, base.value, site.statement, match.message.format(callee=target))

    def reference(self, site: Site) -> None:
        if id(site.node) in self.facts.alias_values or site.scope.name in _REDUCE_METHODS:
            # In __reduce__ a loader is the reconstructor of bytes the object itself
            # produced; whoever unpickles the outer pickle already runs its callables.
            return
        for target in resolve.callee_targets(site.node, site.scope):
            if not isinstance(target, str):
                continue
            for rule, match in _call_matches(self.index, target):
                if not match.args:
                    self.add(rule, site.node, site.statement, match.message.format(callee=target))

    def uncalled_aliases(self) -> None:
        for key, site in self.facts.alias_values.items():
            if key in self.called_aliases:
                continue
            for target in resolve.callee_targets(site.node, site.scope):
                if isinstance(target, str):
                    for rule, match in _call_matches(self.index, target):
                        if not match.args:
                            self.add(rule, site.node, site.statement, match.message.format(callee=target))

    # --- environment switches ------------------------------------------------
    def env_assign(self, site: Site) -> None:
        assign = site.node
        assert isinstance(assign, cst.Assign)
        for target in assign.targets:
            sub = target.target
            if not isinstance(sub, cst.Subscript) or len(sub.slice) != 1:
                continue
            if "os.environ" not in resolve.callee_targets(sub.value, site.scope):
                continue
            index = sub.slice[0].slice
            if isinstance(index, cst.Index):
                self.env_set(site, index.value, assign.value, site.scope, assign)

    def env_call(self, site: Site, targets: list) -> None:
        call = site.node
        names = {t for t in targets if isinstance(t, str)}
        args = call.args
        setenv = isinstance(call.func, cst.Attribute) and call.func.attr.value == "setenv"  # pytest monkeypatch
        if (names & _ENV_SETTERS or setenv) and len(args) >= 2 and not args[0].keyword and not args[1].keyword:
            self.env_set(site, args[0].value, args[1].value, site.scope, call)
        elif _ENV_UPDATE in names:
            for arg in args:
                if arg.keyword is not None:
                    self.env_set(site, cst.SimpleString(repr(arg.keyword.value)), arg.value, site.scope, call)
                elif not arg.star:
                    literal = resolve.dict_literal(arg.value, site.scope)
                    if isinstance(literal, cst.Dict):
                        for element in literal.elements:
                            if isinstance(element, cst.DictElement):
                                self.env_set(site, element.key, element.value, site.scope, call)

    def env_set(self, site: Site, key_expr, value_expr, scope: Scope, report) -> None:
        for key in resolve.values(key_expr, scope):
            if not isinstance(key, Const) or not isinstance(key.value, str):
                continue
            for rule, match in self.index.env.get(key.value, ()):
                possible = resolve.values(value_expr, scope)
                enabling = any(
                    v is UNKNOWN or not isinstance(v, Const) or str(v.value).strip().lower() in match.enabling
                    for v in possible
                )
                if enabling:
                    self.add(rule, report, site.statement, match.message.format(callee=key.value))


def match_file(facts: FileFacts, index: MatchIndex) -> list[RawFinding]:
    matcher = _FileMatcher(facts, index)
    matcher.run()
    matcher.uncalled_aliases()
    # One finding per rule and node: a call can be reached through several bindings.
    unique: dict[tuple[str, int], RawFinding] = {}
    for finding in matcher.found:
        unique.setdefault((finding.rule.id, id(finding.node)), finding)
    return list(unique.values())

