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

import contextlib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.core.bounded_read import read_limited
from mllint_sec.core.data_use import DataUse
from mllint_sec.core.file_kinds import Target
from mllint_sec.core.finding import Finding, normalise
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.flow_summary import FlowSummary, OutCall
from mllint_sec.core.suppressions import apply_line_comments
from mllint_sec.flows import flow_findings as flows
from mllint_sec.flows.sinks import INFERENCE, TRAINING, returns
from mllint_sec.flows.sources import Source, parameter, positional_names
from mllint_sec.flows.taint import DESERIALIZE, Flow, Step, Taint
from mllint_sec.python import decode as source
from mllint_sec.python import positions, resolve, slicing
from mllint_sec.python.lines import physical_lines
from mllint_sec.python.matching import match_file
from mllint_sec.python.positions import Range
from mllint_sec.python.scopes import FileFacts, Scope, collect

MAX_BYTES = 1 << 20  # files larger than this are not read for cross-module flows
_USES = (DESERIALIZE, INFERENCE, TRAINING)


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
        self.by_display = {t.display: t for t, _ in targets}
        self.index = ModuleIndex([t for t, _ in targets])
        self.analyzer = analyzer
        self.rules = analyzer.flow_rules
        self.parsed: dict[str, Parsed | None] = {}
        self.sliced_for: dict[str, frozenset[str]] = {}  # files parsed sliced: the words their blocks kept
        self.texts: dict[str, str] = {}
        self.defines: dict[tuple[str, str], bool] = {}
        self.problems: list[str] = []

    def findings(self, known: list[Finding], summaries: dict[str, FlowSummary]) -> list[Finding]:
        """Join the files' flow summaries: data passed into other modules, and returned out of them."""
        found: list[Finding] = []
        for caller in sorted(summaries):
            for call in summaries[caller].out_calls:
                found += self._guarded(caller, self._into, caller, call)
        returning = {(path, entry.function) for path, summary in summaries.items() for entry in summary.returns}
        # Only a name ending in such a function's name can be placed there (a file the `ast` screen dropped
        # lists every outside function it calls): the others are not looked for in their modules' text.
        functions = {function for _, function in returning}
        for caller in sorted(summaries):
            places = [self._place(name, caller) for name in summaries[caller].fed
                      if name.rpartition(".")[2] in functions]
            if any(place is not None and (place[0].display, place[1]) in returning for place in places):
                found += self._guarded(caller, self._out_of, caller)
        seen = {(f.rule_id, f.path, f.line, f.column) for f in known}
        kept = []
        for finding in found:
            key = (finding.rule_id, finding.path, finding.line, finding.column)
            if key not in seen and finding.rule_id in self.enabled.get(finding.path, ()):
                seen.add(key)
                kept.append(finding)
        return kept

    def _guarded(self, caller: str, step: Callable[..., list[Finding]], *args: Any) -> list[Finding]:
        """One join; a failure is a diagnostic for that file, and the run goes on."""
        try:
            return step(*args)
        except (Exception, RecursionError) as exc:  # noqa: BLE001 - never let one file stop the run
            self.problems.append(f"{caller}: cross-module flows not followed: {type(exc).__name__}: {exc}")
            return []

    # --- files -------------------------------------------------------------------------------
    def text(self, display: str) -> str:
        """A scanned file's text (read once per run, bounded); "" when it cannot be read."""
        return self._text(display)

    def parse(self, display: str, words: frozenset[str] | None = None) -> Parsed | None:
        """A scanned file parsed (once per run), or None when it cannot be. `words`: only the top-level
        blocks that name one of them are wanted; the others are stubbed (python/slicing.py keeps lines
        and columns), which parses several times faster. Asking again with words it did not keep parses
        again."""
        kept = self.sliced_for.get(display)
        if display in self.parsed and (kept is None or (words is not None and words <= kept)):
            return self.parsed[display]
        self.parsed.pop(display, None)
        if kept is not None and words is not None:
            words = words | kept
        return self._parse(display, words)

    def _text(self, display: str) -> str:
        if display not in self.texts:
            text = ""
            target = self.by_display.get(display)
            data = read_limited(target.path, MAX_BYTES) if target is not None else None
            if isinstance(data, bytes):
                with contextlib.suppress(UnicodeDecodeError):
                    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()  # universal newlines
            self.texts[display] = text
        return self.texts[display]

    def _parse(self, display: str, words: frozenset[str] | None = None) -> Parsed | None:
        if display not in self.parsed:
            self.parsed[display] = None
            self.sliced_for.pop(display, None)
            text = self._text(display)
            reduced = slicing.reduce_source(text, words) if text and words else None
            module, error = source.run_guarded(source.parse, reduced or text) if text else (None, None)
            if reduced is not None and not isinstance(module, cst.Module):
                module, error = source.run_guarded(source.parse, text)  # the stubbed text did not parse
                reduced = None
            if error is not None or not isinstance(module, cst.Module):
                return None
            if reduced is not None and words is not None:
                self.sliced_for[display] = words
            facts = collect(module, self.analyzer.index.reference_names)
            parsed = Parsed(self.by_display[display], text, module, facts, self.index.dotted.get(display, ""))
            for statement in module.body:
                if isinstance(statement, cst.FunctionDef):
                    parsed.functions[statement.name.value] = statement
            self.parsed[display] = parsed
        return self.parsed[display]

    def _place(self, name: str, importer: str) -> tuple[Target, str] | None:
        """The scanned file and module-level function a qualified name names (checked on its text)."""
        place = self.index.function_of(name, importer)
        if place is None or place[0].display == importer:
            return None
        key = (place[0].display, place[1])
        if key not in self.defines:
            pattern = rf"^(?:async[ \t]+)?def[ \t]+{re.escape(place[1])}\b"
            self.defines[key] = bool(re.search(pattern, self._text(place[0].display), re.MULTILINE))
        return place if self.defines[key] else None

    def function_named(self, names: Iterable[str], importer: str) -> tuple[Parsed, cst.FunctionDef] | None:
        """The function of another module that one of `names` (as `importer` imports it) is."""
        for name in names:
            place = self._place(name, importer)
            if place is None:
                continue
            parsed = self._parse(place[0].display)
            if parsed is not None and place[1] in parsed.functions:
                return parsed, parsed.functions[place[1]]
        return None

    # --- the two directions ------------------------------------------------------------------
    def _into(self, caller: str, call: OutCall) -> list[Finding]:
        """Request data passed (per the caller's summary) to a function of another module."""
        target = self.function_named(call.callee, caller)
        if target is None:
            return []
        callee, function = target
        param = _parameter_named(function, call.argument)
        data = call.data
        rules = [(r, m) for r, m in self.rules if flows.uses(m) == data.use]
        if param is None or not rules:
            return []
        taint = Taint(callee.facts)
        entry = f"arrives from {caller} as `{param}`"
        taint.sources.injected[(id(function), param)] = Source(data.source, data.level, data.why, data.scalar, entry)
        raw = flows.flow_findings(callee.facts, match_file(callee.facts, self.analyzer.index), rules, taint=taint)
        keep = [r for r in raw if r.steps[0].text == entry]  # flows from what was passed in
        prefix = [replace(step, path=caller) for step in data.steps]
        if prefix:
            prefix[-1] = replace(prefix[-1], message=f"{prefix[-1].message} in {callee.target.display}")
        return self._located(callee, keep, prefix)

    def _out_of(self, caller_display: str) -> list[Finding]:
        """This file's sinks fed by the return value of another module's function."""
        caller = self._parse(caller_display)
        if caller is None:
            return []
        taint = Taint(caller.facts, foreign=_Returns(self, caller))
        raw = flows.flow_findings(caller.facts, match_file(caller.facts, self.analyzer.index), self.rules, taint=taint)
        return self._located(caller, [r for r in raw if any(step.path for step in r.steps)])

    def _located(
        self, parsed: Parsed, raw: list[flows.FlowFinding], prefix: list[FlowStep] | None = None
    ) -> list[Finding]:
        """Findings in `parsed`'s file; `prefix`: located steps in the caller's file, first."""
        if not raw:
            return []
        by_file: dict[str, list[cst.CSTNode]] = {parsed.target.display: []}
        for r in raw:
            by_file[parsed.target.display] += [r.node, r.statement]
            for step in r.steps:
                by_file.setdefault(step.path or parsed.target.display, []).append(step.node)
        spans: dict[str, dict[int, Range] | None] = {}
        for path, nodes in by_file.items():
            here = self.parsed[path]
            assert here is not None  # every file a flow passes through here was parsed
            spans[path], _ = source.run_guarded(positions.ranges, here.module, nodes)
        lines = physical_lines(parsed.text)
        found = []
        for r in raw:
            own = spans[parsed.target.display] or {}
            if id(r.node) not in own:
                continue
            line, column, end_line, end_column = own[id(r.node)]
            finding = Finding(r.rule.id, parsed.target.display, line, column + 1, end_line, end_column + 1, r.message,
                              lines[line - 1].rstrip() if line <= len(lines) else "", r.rule.severity,
                              statement_text=normalise(parsed.module.code_for_node(r.node)))
            located = list(prefix or [])
            for step in r.steps:
                path = step.path or parsed.target.display
                span = (spans.get(path) or {}).get(id(step.node))
                if span is not None:
                    located.append(FlowStep.at(span, step.text, None if path == parsed.target.display else path))
            finding.flow = tuple(located)
            found.append(finding)
        return apply_line_comments(found, lines, self.analyzer.rule_ids_by_name)


class _Returns:
    """For a caller's Taint: request data returned by another module's function (read there)."""

    def __init__(self, cross: CrossModule, caller: Parsed):
        self.cross = cross
        self.caller = caller
        self.taints: dict[str, Taint] = {}

    def returned(self, call: cst.Call, scope: Scope, use: DataUse) -> Flow | None:
        names = resolve.qualified_names(call.func, scope)
        target = self.cross.function_named(names, self.caller.target.display)
        if target is None:
            return None
        parsed, function = target
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


def _parameter_named(function: cst.FunctionDef, arg: int | str) -> str | None:
    """The parameter a call's argument binds: a position (among positional parameters) or a keyword."""
    if isinstance(arg, str):
        return arg if parameter(function, arg) is not None else None
    params = positional_names(function)
    return params[arg] if arg < len(params) else None
