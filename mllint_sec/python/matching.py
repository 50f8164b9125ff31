"""The one mechanism behind every call-pattern rule: catalogue data in, raw findings out.

`MatchIndex` compiles the catalogue once into dictionaries keyed by qualified
name; `match_file` looks every recorded call, class and assignment up in them.
Adding a loader to a rule is a change to its TOML file, not to this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from mllint_sec.catalogue.model import (
    ArgCheck,
    CallMatch,
    Catalogue,
    EnvMatch,
    Rule,
    SubclassMatch,
)
from mllint_sec.core.unsettled import Unsettled
from mllint_sec.python import budget, forced_kwargs, resolve, strings, switches
from mllint_sec.python.resolve import UNKNOWN, Const, LocalClass, Partial, QName
from mllint_sec.python.scopes import FileFacts, NameOrAttribute, Scope, Site, children

_ENV_SETTERS = {"os.environ.setdefault", "os.environ.__setitem__", "os.putenv"}
_ENV_UPDATE = "os.environ.update"
_REDUCE_METHODS = ("__reduce__", "__reduce_ex__")
# Modules only Python 2 has. A name that may be one of them or its successor
# (`try: import cPickle as pickle` / `except ImportError: import pickle`) is reported under
# the name a current Python binds.
_PYTHON2_ONLY = frozenset({"cPickle"})


def _can_raise(function: cst.FunctionDef) -> bool:
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Raise):
            return True
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            stack.extend(children(node))  # libcst's `.children` runs a visitor: ~10x slower
    return False


@dataclass(frozen=True)
class RawFinding:
    rule: Rule
    node: cst.CSTNode
    statement: cst.CSTNode
    message: str
    unsettled: Unsettled | None = None  # for the repository stage to decide
    site: Site[cst.Call] | None = None  # the call, for rules that follow data into it (taint.py)
    callee: str = ""  # its qualified name
    # What the call loads (CallMatch.loaded) and the scope it is evaluated in, when it was passed:
    # flows/origins.py follows it back to where the bytes come from.
    loaded: tuple[cst.BaseExpression, Scope] | None = None
    # A call of a loader wrapper (loader_wrappers.py): the steps from the call's argument to the
    # loader inside the wrapper, each a node of this file and what happens there.
    via: tuple[tuple[cst.CSTNode, str], ...] = ()


@dataclass
class MatchIndex:
    calls: dict[str, list[tuple[Rule, CallMatch]]] = field(default_factory=dict)
    # `pkg.*.name` patterns: (prefix, suffix, rule, match), matched on qualified names.
    wildcards: list[tuple[str, str, Rule, CallMatch]] = field(default_factory=list)
    subclasses: dict[str, list[tuple[Rule, SubclassMatch]]] = field(default_factory=dict)
    env: dict[str, list[tuple[Rule, EnvMatch]]] = field(default_factory=dict)
    # Word tuples (every segment of a qualified name) whose presence lets a file contain a
    # match at all (see prefilter.py).
    words: frozenset[tuple[str, ...]] = frozenset()
    env_names: frozenset[str] = frozenset()
    last_words: frozenset[str] = frozenset()
    reference_names: frozenset[str] = frozenset()

    @classmethod
    def build(cls, catalogue: Catalogue, rule_ids: set[str] | None = None) -> MatchIndex:
        index = cls()
        words: set[tuple[str, ...]] = set()
        references: set[str] = set()
        for rule in catalogue.rules.values():
            if rule_ids is not None and rule.id not in rule_ids:
                continue
            for call_match in rule.calls:
                for name in call_match.calls:
                    if ".*." in name:
                        prefix, suffix = name.split(".*.", 1)
                        index.wildcards.append((prefix + ".", "." + suffix, rule, call_match))
                    else:
                        index.calls.setdefault(name, []).append((rule, call_match))
                    words.add(_pair(name))
                    if call_match.unconditional and name.rsplit(".", 1)[-1][:1].islower():
                        references.add(name.rsplit(".", 1)[-1])
            for subclass_match in rule.subclasses:
                for name in subclass_match.bases:
                    index.subclasses.setdefault(name, []).append((rule, subclass_match))
                    words.add(_pair(name))
            for env_match in rule.env:
                for name in env_match.names:
                    index.env.setdefault(name, []).append((rule, env_match))
        index.words = frozenset(words)
        # Blocks that declare command-line switches are kept by slicing too: a switch's default
        # decides truth-kind checks (switches.py), whichever function of the file declares it.
        index.last_words = frozenset(word[-1] for word in words) | switches.DECLARATION_WORDS
        index.env_names = frozenset(index.env)
        index.reference_names = frozenset(references)
        return index


def _call_matches(index: MatchIndex, qualified: str) -> list[tuple[Rule, CallMatch]]:
    found = list(index.calls.get(qualified, ()))
    for prefix, suffix, rule, match in index.wildcards:
        if (qualified.startswith(prefix) and qualified.endswith(suffix)
                and len(qualified) > len(prefix) + len(suffix) - 1):
            found.append((rule, match))
    return found


def _current_first(targets: Iterable[str | Partial]) -> list[str | Partial]:
    """The distinct targets in file order, except that names only Python 2 can import come last:
    a call's findings are deduplicated per rule and node, first one kept, and name the callee."""
    def python2_only(target: str | Partial) -> bool:
        name = target.target if isinstance(target, Partial) else target
        return name.split(".", 1)[0] in _PYTHON2_ONLY

    return sorted(dict.fromkeys(targets), key=python2_only)


def _pair(qualified: str) -> tuple[str, ...]:
    """The words any spelling of `qualified` must name: `torch.hub.list` needs `hub` as well
    as `torch` and `list` (an import or an attribute), which keeps `list` from admitting
    every file that imports torch."""
    return tuple(dict.fromkeys(part for part in qualified.split(".") if part != "*"))


@dataclass
class _Arg:
    keyword: str | None
    star: str
    value: cst.BaseExpression
    node: cst.CSTNode
    scope: Scope


def _call_args(call: cst.Call, scope: Scope) -> list[_Arg]:
    return [_Arg(a.keyword.value if a.keyword else None, a.star, a.value, a, scope) for a in call.args]


def _find(args: list[_Arg], check: ArgCheck) -> tuple[str, cst.BaseExpression | None, Scope | None, cst.CSTNode | None]:
    """('absent' | 'present' | 'unknown', the value, its scope, the node to report)."""
    unknown_spread = False
    positional = 0
    for arg in args:
        if arg.keyword in check.names:
            return "present", arg.value, arg.scope, arg.node
        if arg.star == "**":
            forced = forced_kwargs.forced(arg.value, arg.node, arg.scope)
            if forced is not None:  # a dict the function fills before spreading it
                hit = next((forced.keys[name][1] for name in check.names if name in forced.keys), None)
                if hit is not None:
                    return "present", hit, forced.scope, arg.node
                unknown_spread |= not forced.closed
                continue
            literal = resolve.dict_literal(arg.value, arg.scope)
            if literal is None:
                unknown_spread = True
                continue
            found = _find_in_dict(literal, check.names, arg.scope)
            if found is not None:
                return "present", found, arg.scope, arg.node
        elif arg.star == "*":
            if check.position is not None and positional <= check.position:
                unknown_spread = True
            positional = 10**6
        elif arg.keyword is None:
            if check.position is not None and positional == check.position:
                return "present", arg.value, arg.scope, arg.node
            positional += 1
    return ("unknown" if unknown_spread else "absent"), None, None, None


def _find_in_dict(literal: cst.Dict | cst.Call, names: tuple[str, ...], scope: Scope) -> cst.BaseExpression | None:
    if isinstance(literal, cst.Call):
        for arg in literal.args:
            if arg.keyword is not None and arg.keyword.value in names:
                return arg.value
        return None
    for element in literal.elements:
        if isinstance(element, cst.DictElement):
            key = resolve.values(element.key, scope)
            if len(key) == 1 and isinstance(key[0], Const) and key[0].value in names:
                return element.value
    return None


# Checks that ask what a string looks like (strings.py), and what each answers per shape.
_SHAPE_CHECKS: dict[str, Callable[[strings.Shape | None, ArgCheck], bool | None]] = {
    "hub-id": lambda shape, check: strings.hub_id(shape, check.safe),
    "maybe-hub-id": lambda shape, check: strings.hub_id(shape, check.safe) is None,
    "hf-hub-unpinned": lambda shape, check: strings.hf_hub_unpinned(shape),
    "unpinned-ref": lambda shape, check: strings.unpinned_ref(shape),
    "suffix": lambda shape, check: strings.has_suffix(shape, check.values),
    "prefix": lambda shape, check: strings.has_prefix(shape, check.values),
    "http": lambda shape, check: strings.plain_http(shape),
    "unhashed-name": lambda shape, check: strings.unhashed_name(shape),
    "not-commit": lambda shape, check: (
        None if shape is None or shape.exact is None else not strings.is_commit(shape.exact)
    ),
}


def _fires(
    check: ArgCheck, state: str, expr: cst.BaseExpression | None, scope: Scope | None, deferred: bool
) -> bool:
    """Whether `check` reports this call (or, for a condition, holds). `deferred`: a partial,
    whose absent args may come later."""
    if state == "unknown" or (state == "absent" and deferred):
        return check.unknown == "flag" and not deferred
    kind = check.check
    if state == "absent":
        return kind in ("absent-or-falsy", "absent-or-truthy", "not-in", "not-commit")
    assert scope is not None  # a present argument comes with its scope (`_find`)
    if kind in _SHAPE_CHECKS:
        answers = {_SHAPE_CHECKS[kind](shape, check) for shape in strings.shapes(expr, scope)}
        return True in answers or (None in answers and check.unknown == "flag")
    possible = resolve.values(expr, scope)
    if kind == "present":
        return not all(isinstance(v, Const) and v.value is None for v in possible)
    if kind == "one-of":
        return any(isinstance(v, Const) and v.value in check.values for v in possible) or (
            UNKNOWN in possible and check.unknown == "flag"
        )
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
    if kind == "absent-or-truthy":
        return truth is True
    if kind == "truthy":
        return truth is True
    return truth is False  # falsy


# The literal a check's message may claim the argument is: a truthy-kind check fires on a true
# value ("with `x=True`"), a falsy-kind one on a false value; "without `x=True`" claims nothing.
_CLAIMS = {"truthy": "True", "absent-or-truthy": "True", "one-of": "True", "falsy": "False",
           "absent-or-falsy": "False"}
_SHOWN_CHARACTERS = 60


def _as_given(check: ArgCheck, state: str, expr: cst.BaseExpression | None, scope: Scope | None) -> str:
    """The check's message, saying what the argument is when it is not the literal the message names.

    `trust_remote_code=args.trust_remote_code` is not "`trust_remote_code=True`": a message's
    "`name=True`" becomes "`name=args.trust_remote_code` (on unless `--no-...` is given)"; a message
    without such a claim gets the switch's state appended.
    """
    message = check.message
    if state != "present" or expr is None or scope is None:
        return message
    code = cst.Module([]).code_for_node(expr)
    code = " ".join(code.split())  # one line, whatever the call's layout
    if len(code) > _SHOWN_CHARACTERS:
        code = code[: _SHOWN_CHARACTERS - 3] + "..."
    declared = {switches.describe(switch) for switch in switches.switches_in(expr, scope)}
    state_text = f" ({declared.pop()})" if len(declared) == 1 else ""
    claim = _CLAIMS.get(check.check)
    for name in check.names if claim is not None else ():
        claimed = f"`{name}={claim}`"
        if claimed in message:
            if code == claim:
                return message
            return message.replace(claimed, f"`{name}={code}`{state_text}".replace("{", "{{").replace("}", "}}"))
    if state_text:
        return message + f" (`{check.names[0]}={code}`: {state_text[2:-1]})".replace("{", "{{").replace("}", "}}")
    return message


def _is_literal_names(value: resolve.Value) -> bool | None:
    """None/False/empty, or a literal sequence of strings: a reviewed list. True or computed: not."""
    if value is UNKNOWN:
        return None
    if not isinstance(value, Const):
        return False
    if value.value is None or value.value is False:
        return True
    return isinstance(value.value, tuple) and all(isinstance(item, str) for item in value.value)


def _is_safe_value(value: resolve.Value, safe: tuple[str, ...]) -> bool | None:
    if isinstance(value, QName):
        return value.name in safe
    if isinstance(value, LocalClass):
        return any(base in safe for base in resolve.class_bases(value))
    if isinstance(value, Const) and isinstance(value.value, str):
        return value.value in safe
    if value is UNKNOWN:
        return None
    return False


def loaded_argument(match: CallMatch, args: list[_Arg]) -> tuple[cst.BaseExpression, Scope] | None:
    """The argument holding what the call loads (the first positional one, or a `loaded` keyword)."""
    state, expr, scope, _ = _find(args, ArgCheck(match.loaded, 0, "present", "", "pass"))
    return (expr, scope) if state == "present" and expr is not None and scope is not None else None


def _holds(check: ArgCheck, args: list[_Arg], deferred: bool) -> bool:
    state, expr, scope, _ = _find(args, check)
    return _fires(check, state, expr, scope, deferred)


def _local_candidates(match: CallMatch, args: list[_Arg]) -> list[str]:
    """Hub ids this call may name that could also be a directory of the scanned repository.

    Whether such a directory exists is a fact about the repository, not the file, so the
    runner decides it (findings stay a pure function of the file, and cacheable).
    """
    found: list[str] = []
    for check in match.when:
        if check.check == "hub-id":
            state, expr, scope, _ = _find(args, check)
            if state == "present" and scope is not None:  # (a present argument has its scope)
                found.extend(s.exact for s in strings.shapes(expr, scope) if s is not None and s.exact is not None)
    return found


def _judges(check: ArgCheck) -> tuple[tuple[str, ...], str, tuple[Any, ...], tuple[str, ...]]:
    """What a check decides, whatever it says about it (a `when` check has no message)."""
    return check.names, check.check, check.values, check.safe


def _evaluate(
    rule: Rule, match: CallMatch, callee: str, args: list[_Arg], report: cst.CSTNode, deferred: bool
) -> tuple[cst.CSTNode, str, Unsettled | None] | None:
    """(node, message, what the repository stage decides) when the call is unsafe, else None.

    The first argument check that fires (in the rule's order: the strongest reason first) gives
    the message and the node; `also` clauses add the other reasons that apply, except a clause
    whose conditions include that check, which would say the same thing twice.
    """
    if not all(_holds(check, args, deferred) for check in match.when):
        return None
    node, message, reason = report, match.message, None
    if match.args:
        for check in match.args:
            state, expr, scope, found = _find(args, check)
            if _fires(check, state, expr, scope, deferred):
                node = found if state == "present" and found is not None else report
                message, reason = _as_given(check, state, expr, scope), check
                break
        else:
            return None
    for also in match.also:
        restates = reason is not None and any(_judges(when) == _judges(reason) for when in also.when)
        if not restates and all(_holds(check, args, deferred) for check in also.when):
            message += also.message
    candidates = tuple(_local_candidates(match, args))
    unsettled = Unsettled(candidates, match.package) if candidates or match.package is not None else None
    return node, message.format(callee=callee, subject=_subject(match, args)), unsettled


def _subject(match: CallMatch, args: list[_Arg]) -> str:
    """What the call fetches, for the message: `"org/name"` when it is a constant."""
    for check in (*match.when, *match.args):
        if check.check in _SHAPE_CHECKS:
            state, expr, scope, _ = _find(args, check)
            if state == "present" and scope is not None:  # (a present argument has its scope)
                exact = sorted({s.exact for s in strings.shapes(expr, scope) if s is not None and s.exact is not None})
                if 0 < len(exact) <= 3:
                    return " or ".join(f'"{e}"' for e in exact)
            break
    return "a repository"


def _identifiers(node: cst.CSTNode) -> set[str]:
    """Every Name and attribute name under `node`; not strings, comments or keyword-argument
    names (`check_hash=False` mentions a hash but checks none)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.add(current.value)
        elif isinstance(current, cst.Arg):
            stack.append(current.value)
        else:
            stack.extend(children(current))
    return found


class _FileMatcher:
    def __init__(self, facts: FileFacts, index: MatchIndex):
        self.facts = facts
        self.index = index
        self.found: list[RawFinding] = []
        self.called_aliases: set[int] = set()
        self.reported_partials: set[tuple[int, str]] = set()
        self.identifiers: dict[int, set[str]] = {}

    def add(self, rule: Rule, node: cst.CSTNode, statement: cst.CSTNode, message: str,
            unsettled: Unsettled | None = None, site: Site[cst.Call] | None = None, callee: str = "",
            loaded: tuple[cst.BaseExpression, Scope] | None = None) -> None:
        self.found.append(RawFinding(rule, node, statement, message, unsettled, site, callee, loaded))

    def mentions(self, scope: Scope, words: tuple[str, ...]) -> bool:
        """Whether the innermost enclosing function (or, at top level, the module) names one of `words`."""
        while scope.parent is not None and scope.node is None:
            scope = scope.parent
        owner = scope.node if scope.node is not None else self.facts.module
        names = self.identifiers.get(id(owner))
        if names is None:
            names = self.identifiers[id(owner)] = {n.lower() for n in _identifiers(owner)}
        return any(word in name for name in names for word in words)

    def run(self, calls: list[Site[cst.Call]]) -> list[RawFinding]:
        # Partials first, so a call through an already-reported partial is not reported twice.
        for site in calls:
            budget.check()
            self.partial_creation(site)
        for site in calls:
            budget.check()
            self.call(site)
        for class_site in self.facts.classes:
            self.subclass(class_site)
        for assign_site in self.facts.subscript_assigns:
            self.env_assign(assign_site)
        for reference_site in self.facts.references:
            budget.check()
            self.reference(reference_site)
        return self.found

    def call(self, site: Site[cst.Call]) -> None:
        call = site.node
        via: list[cst.BaseExpression] = []
        targets = resolve.callee_targets(call.func, site.scope, via)
        matched = False
        for target in _current_first(targets):
            if isinstance(target, Partial):
                matched |= self.partial_call(site, target)
            else:
                matched |= self.direct_call(site, target, _call_args(call, site.scope), call, deferred=False)
        if matched:
            self.called_aliases.update(id(v) for v in via)
        self.env_call(site, targets)

    def partial_creation(self, site: Site[cst.Call]) -> None:
        """`functools.partial(loader, ...)`: check the arguments it binds, here."""
        for partial in resolve.as_partial(site.node, site.scope):
            args = _call_args(site.node, site.scope)[1:]
            if self.direct_call(site, partial.target, args, site.node, deferred=True):
                self.reported_partials.add((id(site.node), partial.target))

    def direct_call(
        self, site: Site[cst.Call], callee: str, args: list[_Arg], report: cst.CSTNode, deferred: bool
    ) -> bool:
        hit = False
        matches = _call_matches(self.index, callee)
        for rule, match in matches:
            if deferred and match.unconditional:
                hit = True  # reported as a value reference (the partial's first argument)
                continue
            outcome = _evaluate(rule, match, callee, args, report, deferred)
            if outcome and not (match.unless_code_mentions and self.mentions(site.scope, match.unless_code_mentions)):
                self.add(rule, outcome[0], site.statement, outcome[1], outcome[2], site, callee,
                         loaded_argument(match, args))
                hit = True
        return hit or (bool(matches) and not deferred)

    def partial_call(self, site: Site[cst.Call], partial: Partial) -> bool:
        if (id(partial.call), partial.target) in self.reported_partials:
            return True
        args = _call_args(partial.call, partial.scope)[1:] + _call_args(site.node, site.scope)
        return self.direct_call(site, partial.target, args, site.node, deferred=False)

    def subclass(self, site: Site[cst.ClassDef]) -> None:
        node = site.node
        if not self.index.subclasses:
            return
        defined: set[str] | None = None
        for base in node.bases:
            for target in _current_first(resolve.callee_targets(base.value, site.scope)):
                for rule, match in self.index.subclasses.get(target if isinstance(target, str) else "", ()):
                    if defined is None:
                        # An override counts only if it can refuse something: a `find_class` that ends
                        # in `return super().find_class(module, name)` with no `raise` restricts nothing.
                        defined = {
                            stmt.name.value
                            for stmt in node.body.body
                            if isinstance(stmt, cst.FunctionDef) and _can_raise(stmt)
                        }
                    if not defined.intersection(match.unless_defines):
                        self.add(rule, base.value, site.statement, match.message.format(callee=target))

    def reference(self, site: Site[NameOrAttribute]) -> None:
        if id(site.node) in self.facts.alias_values or site.scope.name in _REDUCE_METHODS:
            # In __reduce__ a loader is the reconstructor of bytes the object itself
            # produced; whoever unpickles the outer pickle already runs its callables.
            return
        for target in _current_first(resolve.callee_targets(site.node, site.scope)):
            if not isinstance(target, str):
                continue
            for rule, match in _call_matches(self.index, target):
                if match.unconditional:
                    self.add(rule, site.node, site.statement, match.message.format(callee=target))

    def uncalled_aliases(self) -> None:
        for key, site in self.facts.alias_values.items():
            if key in self.called_aliases:
                continue
            for target in _current_first(resolve.callee_targets(site.node, site.scope)):
                if isinstance(target, str):
                    for rule, match in _call_matches(self.index, target):
                        if match.unconditional:
                            self.add(rule, site.node, site.statement, match.message.format(callee=target))

    # --- environment switches ------------------------------------------------
    def env_assign(self, site: Site[cst.Assign]) -> None:
        assign = site.node
        for target in assign.targets:
            sub = target.target
            if not isinstance(sub, cst.Subscript) or len(sub.slice) != 1:
                continue
            if "os.environ" not in resolve.callee_targets(sub.value, site.scope):
                continue
            index = sub.slice[0].slice
            if isinstance(index, cst.Index):
                self.env_set(site, index.value, assign.value, site.scope, assign)

    def env_call(self, site: Site[cst.Call], targets: Iterable[str | Partial]) -> None:
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

    def env_set(
        self,
        site: Site[cst.Call] | Site[cst.Assign],
        key_expr: cst.BaseExpression,
        value_expr: cst.BaseExpression,
        scope: Scope,
        report: cst.CSTNode,
    ) -> None:
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


def match_file(facts: FileFacts, index: MatchIndex, calls: list[Site[cst.Call]] | None = None) -> list[RawFinding]:
    """The file's raw findings; `calls`: the call sites to match, in this order (default: all, in
    file order). Which calls are matched, and in what order, never changes a call's own findings."""
    switches.register(facts)  # the file's switch declarations, for resolve.values
    matcher = _FileMatcher(facts, index)
    matcher.run(facts.calls if calls is None else calls)
    matcher.uncalled_aliases()
    # One finding per rule and node: a call can be reached through several bindings.
    unique: dict[tuple[str, int], RawFinding] = {}
    for finding in matcher.found:
        unique.setdefault((finding.rule.id, id(finding.node)), finding)
    return list(unique.values())



# --- what loader_wrappers.py evaluates a wrapper's call with: the same arguments and the same
# evaluation as every catalogued call, so each argument check, message and `also` clause applies.
Arg = _Arg
call_args = _call_args
call_matches = _call_matches
find_argument = _find
evaluate = _evaluate


def cleared_by_code(facts: FileFacts, scope: Scope, match: CallMatch) -> bool:
    """Whether the function around `scope` names one of the match's `unless_code_mentions` words."""
    return bool(match.unless_code_mentions) and _FileMatcher(facts, MatchIndex()).mentions(
        scope, match.unless_code_mentions)
