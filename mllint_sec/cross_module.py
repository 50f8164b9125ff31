"""Flows across modules of the scanned repository, one call deep.

Per-file analysis follows request data through the functions of one file. A serving file
often hands the data to a function of another module of the same repository
(`from .inference import predict`) or gets it from one (`payload = parsing.read_request()`).
Both are followed here, once per run, for the files that receive request data and import a
scanned module:
- into: a call `helper(data)` with request data, where `helper` is a module-level function
  of another scanned file: the parameter is taken as a source in that file, and the sinks
  its data reaches there are reported in that file, with the path starting in the caller;
- out of: a call of another module's function whose return value carries request data
  (read there from Flask's `request`, say) into a sink of the calling file.
The other module's own calls to further modules are not followed (the depth bound). These
findings depend on two files, so they are not cached per file; only files that pass the
prefilter for request sources and import a scanned module are parsed for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from . import flows, positions, resolve, source
from .analyze import Analyzer
from .discovery import Target
from .findings import Finding, normalise
from .matching import match_file
from .prefilter import code_only
from .scopes import FileFacts, collect
from .sinks import returns
from .sources import PREFILTER_WORDS, Source, parameter
from .suppressions import apply_line_comments
from .taint import DESERIALIZE, TRAINING, Flow, Step, Taint
from .taint import INFERENCE as INFERENCE_USE

MAX_BYTES = 1 << 20  # files larger than this are not read for cross-module flows
_SOURCE_WORDS = re.compile(r"\b(?:" + "|".join(sorted(PREFILTER_WORDS)) + r")\b")
_IMPORTS = re.compile(r"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import|import[ \t]+([.\w]+))", re.MULTILINE)
_USES = (DESERIALIZE, INFERENCE_USE, TRAINING)


@dataclass
class Parsed:
    target: Target
    text: str
    module: cst.Module
    facts: FileFacts
    dotted: str
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)


class ModuleIndex:
    """Dotted module names of the scanned Python files (`pkg.sub.mod`, and each shorter suffix
    that names only one file: `sub.mod`, `mod`), so imports can be matched to files."""

    def __init__(self, targets: list[Target]):
        self.by_name: dict[str, Target | None] = {}
        self.dotted: dict[str, str] = {}
        for target in targets:
            if not target.display.endswith(".py"):
                continue
            parts = target.display[:-3].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not parts:
                continue
            self.dotted[target.display] = ".".join(parts)
            for start in range(len(parts)):
                name = ".".join(parts[start:])
                self.by_name[name] = None if name in self.by_name and self.by_name[name] != target else target

    def function_of(self, qualified: str, importer: str) -> tuple[Target, str] | None:
        """The file and function name a qualified callee names (relative imports resolved)."""
        if qualified.startswith("."):
            level = len(qualified) - len(qualified.lstrip("."))
            package = self.dotted.get(importer, "").split(".")
            is_package = importer.endswith("__init__.py")
            base = package[: len(package) - level + (1 if is_package else 0)]
            qualified = ".".join([*base, qualified.lstrip(".")]) if base else qualified.lstrip(".")
        module, _, function = qualified.rpartition(".")
        target = self.by_name.get(module)
        return (target, function) if target is not None and function else None


class CrossModule:
    def __init__(self, targets: list[tuple[Target, frozenset[str]]], analyzer: Analyzer):
        """`targets`: the Python files with the rules enabled for each; `analyzer`: one with every
        rule enabled somewhere (its matching finds the deserialization sinks)."""
        self.enabled = {t.display: rules for t, rules in targets}
        self.targets = [t for t, _ in targets]
        self.index = ModuleIndex(self.targets)
        self.analyzer = analyzer
        self.rules = analyzer.flow_rules
        self.parsed: dict[str, Parsed | None] = {}

    def findings(self, known: list[Finding]) -> list[Finding]:
        seen = {(f.rule_id, f.path, f.line, f.column) for f in known}
        found: list[Finding] = []
        for target in self.targets:
            if not target.display.endswith(".py") or not self._receives_requests(target):
                continue
            caller = self._parse(target)
            if caller is None:
                continue
            for finding in self._from(caller):
                key = (finding.rule_id, finding.path, finding.line, finding.column)
                if key not in seen and finding.rule_id in self.enabled.get(finding.path, ()):
                    seen.add(key)
                    found.append(finding)
        return found

    def _receives_requests(self, target: Target) -> bool:
        try:
            if target.path.stat().st_size > MAX_BYTES:
                return False
            text = target.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        if not _SOURCE_WORDS.search(text):
            return False
        imports_scanned = any(
            name.startswith(".") or self.index.function_of(f"{name}.x", target.display) is not None
            for groups in _IMPORTS.findall(text) for name in groups if name
        )
        return imports_scanned and bool(_SOURCE_WORDS.search(code_only(text)))

    def _parse(self, target: Target) -> Parsed | None:
        if target.display not in self.parsed:
            self.parsed[target.display] = None
            try:
                text = target.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            module, error = source.run_guarded(source.parse, text)
            if error is not None or not isinstance(module, cst.Module):
                return None
            facts = collect(module, self.analyzer.index.reference_names)
            parsed = Parsed(target, text, module, facts, self.index.dotted.get(target.display, ""))
            for statement in module.body:
                if isinstance(statement, cst.FunctionDef):
                    parsed.functions[statement.name.value] = statement
            self.parsed[target.display] = parsed
        return self.parsed[target.display]

    def _callee(self, call: cst.Call, scope, importer: str) -> tuple[Parsed, cst.FunctionDef] | None:
        for name in resolve.callee_targets(call.func, scope):
            if not isinstance(name, str):
                continue
            place = self.index.function_of(name, importer)
            if place is None or place[0].display == importer:
                continue
            parsed = self._parse(place[0])
            if parsed is not None and place[1] in parsed.functions:
                return parsed, parsed.functions[place[1]]
        return None

    # --- the two directions -----------------------------------------------------------------
    def _from(self, caller: Parsed) -> list[Finding]:
        found: list[Finding] = []
        outward = _Returns(self, caller)
        taint = Taint(caller.facts, foreign=outward)
        for site in caller.facts.calls:  # into: request data passed to another module's function
            callee = self._callee(site.node, site.scope, caller.target.display)
            if callee is None:
                continue
            for arg, param in _bound_parameters(site.node, callee[1]):
                for use in _USES:
                    rules = [(r, m) for r, m in self.rules if flows.uses(m) == use]
                    flow = taint.flow_to(arg, site.scope, use) if rules else None
                    if flow is not None:
                        passed = flow.then(arg, f"passed to `{callee[1].name.value}()` in {callee[0].target.display}")
                        found += self._into(callee[0], callee[1], param, passed, caller, rules)
        # out of: another module's returns reaching this file's sinks
        raw = flows.flow_findings(caller.facts, match_file(caller.facts, self.analyzer.index), self.rules, taint=taint)
        raw = [r for r in raw if any(step.path for step in r.extra[flows.FLOW_NODES])]
        return found + self._located(caller, raw, {})

    def _into(self, callee: Parsed, function: cst.FunctionDef, param: str, passed: Flow, caller: Parsed,
              rules) -> list[Finding]:
        taint = Taint(callee.facts)
        entry = f"arrives from {caller.target.display} as `{param}`"
        taint.sources.injected[(id(function), param)] = Source(
            passed.source.text, passed.level, passed.why, passed.source.scalar, entry)
        raw = flows.flow_findings(callee.facts, match_file(callee.facts, self.analyzer.index), rules, taint=taint)
        keep = [r for r in raw if r.extra[flows.FLOW_NODES][0].text == entry]  # flows from what was passed in
        prefix = [Step(s.node, s.text, caller.target.display) for s in passed.steps]
        return self._located(callee, keep, {caller.target.display: caller}, prefix)

    def _located(self, parsed: Parsed, raw, others: dict[str, Parsed], prefix: list[Step] | None = None) -> list[Finding]:
        """Findings in `parsed`'s file whose flow steps may lie in other files."""
        if not raw:
            return []
        prefix = prefix or []
        steps_of = [[*prefix, *r.extra.get(flows.FLOW_NODES, ())] for r in raw]
        by_file: dict[str, list[cst.CSTNode]] = {}
        for r, steps in zip(raw, steps_of):
            by_file.setdefault(parsed.target.display, []).extend([r.node, r.statement])
            for step in steps:
                by_file.setdefault(step.path or parsed.target.display, []).append(step.node)
        spans: dict[str, dict] = {}
        for path, nodes in by_file.items():
            module = parsed.module if path == parsed.target.display else (others.get(path) or self.parsed[path]).module
            spans[path], _ = source.run_guarded(positions.ranges, module, nodes)
        lines = parsed.text.splitlines()
        found = []
        for r, steps in zip(raw, steps_of):
            own = spans[parsed.target.display] or {}
            if id(r.node) not in own:
                continue
            line, column, end_line, end_column = own[id(r.node)]
            code = normalise(parsed.module.code_for_node(r.node))
            finding = Finding(r.rule.id, parsed.target.display, line, column + 1, end_line, end_column + 1, r.message,
                              lines[line - 1].rstrip() if line <= len(lines) else "", r.rule.severity,
                              statement_text=code)
            located = []
            for step in steps:
                path = step.path or parsed.target.display
                span = (spans.get(path) or {}).get(id(step.node))
                if span is None:
                    continue
                entry = {"line": span[0], "column": span[1] + 1, "end_line": span[2], "end_column": span[3] + 1,
                         "message": step.text}
                if path != parsed.target.display:
                    entry["path"] = path
                located.append(entry)
            finding.extra[flows.FLOW] = located
            found.append(finding)
        return apply_line_comments(found, lines)


class _Returns:
    """For a caller's Taint: request data returned by another module's function (read there)."""

    def __init__(self, cross: CrossModule, caller: Parsed):
        self.cross = cross
        self.caller = caller
        self.taints: dict[str, Taint] = {}

    def returned(self, call: cst.Call, scope, use: str) -> Flow | None:
        callee = self.cross._callee(call, scope, self.caller.target.display)
        if callee is None:
            return None
        parsed, function = callee
        taint = self.taints.setdefault(parsed.target.display, Taint(parsed.facts))
        inner = parsed.facts.function_scopes.get(id(function))
        if inner is None:
            return None
        for value in returns(function):
            flow = taint.flow_to(value, inner, use)
            if flow is not None:
                steps = tuple(Step(s.node, s.text, parsed.target.display) for s in flow.steps)
                return Flow(steps, flow.source, flow.level, flow.why).then(
                    call, f"returned by `{function.name.value}()` of {parsed.target.display}")
        return None


def _bound_parameters(call: cst.Call, function: cst.FunctionDef) -> list[tuple[cst.BaseExpression, str]]:
    """(argument, parameter name) pairs of a call to `function`."""
    params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
    bound = []
    position = 0
    for arg in call.args:
        if arg.star:
            continue
        if arg.keyword is not None:
            if parameter(function, arg.keyword.value) is not None:
                bound.append((arg.value, arg.keyword.value))
            continue
        if position < len(params):
            bound.append((arg.value, params[position]))
        position += 1
    return bound

