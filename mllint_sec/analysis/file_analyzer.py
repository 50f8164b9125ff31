"""Analyse one Python file: bytes in, findings (and a flow summary) out.

A pure function of (path, bytes, enabled rules), so results can be cached by
content hash and files spread over processes. Steps, cheapest first:
decode -> text prefilter -> `ast` screen (screening.py) -> blank irrelevant top-level blocks -> libcst parse ->
one scope walk -> match -> positions of the reported nodes only -> suppressions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import libcst as cst

from mllint_sec.analysis.screening import Screening
from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core import stage_times
from mllint_sec.core.data_use import SINK_KINDS
from mllint_sec.core.engine_rules import PARSE_ERROR, UNUSED_SUPPRESSION
from mllint_sec.core.file_result import FileResult
from mllint_sec.core.finding import Finding, normalise
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.core.suppressions import NO_POLICY, Suppression, SuppressionPolicy, covers, parse_comment
from mllint_sec.flows import flow_findings as flows
from mllint_sec.flows import origin_findings, sinks, sources
from mllint_sec.flows import summary as flow_summary
from mllint_sec.flows.taint import Taint
from mllint_sec.python import budget, loader_wrappers, notebooks, positions, scopes, slicing
from mllint_sec.python import decode as source
from mllint_sec.python.imports import imported_names
from mllint_sec.python.lines import physical_lines
from mllint_sec.python.matching import MatchIndex, RawFinding, match_file
from mllint_sec.python.positions import Range
from mllint_sec.python.prefilter import (
    SUPPRESSION_MARKER,
    Prefilter,
    code_only_keeping_lines,
)

PATHOLOGICAL_TIMEOUT = 5.0  # seconds for a file whose nesting looks hostile


@dataclass
class Analyzer:
    """Everything per-file analysis needs, built once per run (and per worker process)."""

    catalogue: Catalogue
    enabled: frozenset[str]
    summaries: bool = False  # add flow_summary.py's summary (the runner's cross-module pass wants it)
    file_timeout: float | None = budget.DEFAULT_SECONDS  # seconds per file (python/budget.py); None or 0: no limit
    suppression_policy: SuppressionPolicy = NO_POLICY  # what MLS002 asks of a comment beyond being used
    # The `ast` screen before libcst (analysis/screening.py); MLLINT_SEC_NO_SCREEN=1 turns it off (measurement).
    screen: bool = field(default_factory=lambda: os.environ.get("MLLINT_SEC_NO_SCREEN", "") in ("", "0"))

    def __post_init__(self) -> None:
        # Flow rules (INPUT*) follow request data into the calls another family's rules report,
        # so those rules are matched too; their own findings are kept only when enabled.
        self.flow_rules = [(rule, match) for rule in self.catalogue.rules.values() if rule.id in self.enabled
                           for match in rule.flows]
        sink_families = {match.family for _, match in self.flow_rules}
        matched = set(self.enabled) | {r.id for r in self.catalogue.rules.values() if r.family in sink_families}
        self.index = MatchIndex.build(self.catalogue, matched)
        groups: tuple[frozenset[str], ...] = ()
        if any(match.family in SINK_KINDS for _, match in self.flow_rules):
            groups = (sources.PREFILTER_WORDS, sinks.tables().words())
        self.prefilter = Prefilter(self.index.words, self.index.env_names, groups)
        self.flow_uses = tuple(dict.fromkeys(flows.uses(match) for _, match in self.flow_rules))
        # `ignore[torch-load-unsafe]`: suppression comments may name rules as --select does.
        self.rule_ids_by_name = {rule.name: rule.id for rule in self.catalogue.rules.values()}
        self.screening = Screening(self.index, self.prefilter, self.summaries and bool(groups)) if self.screen else None

    def analyze(self, path: str, data: bytes) -> FileResult:
        if path.endswith(".ipynb"):
            notebook = notebooks.to_python(data)
            if isinstance(notebook, source.ParseFailure):
                return FileResult(self.failure(path, notebook))
            lines = notebook.text.split("\n")
            result = self.analyze_text(path, notebook.text)
            result.findings = [_on_notebook(f, notebook, lines) for f in result.findings]
            return result
        text = source.decode(data)
        if isinstance(text, source.ParseFailure):
            return FileResult(self.failure(path, text))
        # The raw-bytes test first (prefilter.py): most files name no loader and are never blanked.
        since = stage_times.cpu()
        may_want = self.prefilter.may_want(data)
        # A file that names no serving framework nor handler word cannot receive requests (flows/sources.py).
        may_summarize = self.prefilter.may_name(data, sources.REQUEST_FILE_WORDS)
        stage_times.add_cpu("prefilter", since)
        result = self.analyze_text(path, text, may_want, may_summarize)
        if self.summaries and path.endswith(".py"):
            result.imports = imported_names(text)
        return result

    def analyze_text(self, path: str, text: str, may_want: bool = True, may_summarize: bool = True) -> FileResult:
        since = stage_times.cpu()
        summarize = may_summarize and self._summarizes(path, text)
        if not summarize and not (may_want and self.prefilter.wants(text)):
            stage_times.add_cpu("prefilter", since)
            return FileResult()
        code = code_only_keeping_lines(text)  # one blanked view for the nesting guard and the slicer
        since = stage_times.add_cpu("prefilter", since)
        if self.screening is not None and not summarize:
            screened = self.screening.result(path, text, code)  # None: it may name a catalogued call
            stage_times.add_cpu("screen", since)
            if screened is not None:
                return screened
        arguments = (path, text, code, summarize)
        with budget.deadline(self.file_timeout):
            if source.looks_pathological(text, code):
                limit = min(PATHOLOGICAL_TIMEOUT, budget.remaining())
                result, error = source.run_in_child(self._analyze_text, arguments, limit)
                if isinstance(error, TimeoutError) and limit < PATHOLOGICAL_TIMEOUT and self.file_timeout:
                    error = budget.OverBudget(self.file_timeout)  # (a limit below the child's: there is a budget)
            else:
                result, error = source.run_guarded(self._analyze_text, *arguments)
        if error is not None:
            if isinstance(error, budget.OverBudget):
                failure = source.ParseFailure(f"not analysed: {error}")
            elif isinstance(error, RecursionError):
                failure = source.ParseFailure("expression nesting too deep to analyse")
            elif isinstance(error, TimeoutError):
                failure = source.ParseFailure(f"expression nesting too deep to analyse: {error}")
            else:
                failure = source.ParseFailure(f"internal error while analysing: {type(error).__name__}: {error}")
            # How long an analysis takes depends on the machine and its load, not on the file.
            timed_out = isinstance(error, (TimeoutError, budget.OverBudget))
            return FileResult(self.failure(path, failure, text), cacheable=not timed_out)
        assert result is not None  # no error: the analysis returned its result
        return result

    def failure(
        self, path: str, failure: source.ParseFailure, text: str = "", key: str = "parse-error"
    ) -> list[Finding]:
        """The MLS001 finding for a file that could not be analysed (none when MLS001 is not enabled)."""
        if PARSE_ERROR not in self.enabled:
            return []
        lines = physical_lines(text)
        snippet = lines[failure.line - 1] if 0 < failure.line <= len(lines) else ""
        rule = self.catalogue.rules[PARSE_ERROR]
        return [
            Finding(
                PARSE_ERROR, path, failure.line, failure.column, failure.line, failure.column,
                failure.message, snippet.rstrip(), rule.severity, statement_text=key,
            )
        ]

    def _summarizes(self, path: str, text: str) -> bool:
        """Whether this file gets a flow summary: it receives request data (cross-module flows)."""
        return self.summaries and bool(self.flow_rules) and path.endswith(".py") and sources.receives_requests(text)

    def _analyze_text(self, path: str, text: str, code: str, summarize: bool) -> FileResult:
        reduced = None
        if not summarize and not self.prefilter.wants_groups(text):  # a handler's flow may pass through any function
            reduced = slicing.reduce_source(text, self.index.last_words, self.index.env_names, code)
        module = source.parse(reduced) if reduced is not None else None
        sliced = isinstance(module, cst.Module)
        if not isinstance(module, cst.Module):
            module = source.parse(text)  # nothing to reduce, or the reduced text did not parse
        if isinstance(module, source.ParseFailure):
            return FileResult(self.failure(path, module, text))
        facts = scopes.collect(module, self.index.reference_names)
        raw = match_file(facts, self.index)
        wrappers = loader_wrappers.Wrappers(facts, self.index)
        if sliced and reduced is not None and _stubbed_mention(text, reduced, {w.name for w in wrappers.all()}):
            # A stubbed block may call the file's wrappers (its code need not name a loader): read it all.
            whole = source.parse(text)
            if isinstance(whole, cst.Module):
                module, facts = whole, scopes.collect(whole, self.index.reference_names)
                raw = match_file(facts, self.index)
                wrappers = loader_wrappers.Wrappers(facts, self.index)
        raw += wrappers.findings()
        exported = wrappers.exported(self.enabled) if path.endswith(".py") else []
        summary = None
        if self.flow_rules:
            fed = flow_summary.FedBy()
            taint = Taint(facts, foreign=fed)
            raw += flows.flow_findings(facts, raw, self.flow_rules, taint=taint)
            if summarize or (self.summaries and fed.names and path.endswith(".py")):
                summary = flow_summary.summarize(facts, taint, fed, self.flow_uses if summarize else ())
        judge = origin_findings.Judge(facts, raw) if any(origin_findings.judged_rule(f) for f in raw) else None
        raw = [f for f in raw if f.rule.id in self.enabled]
        # Where each load's bytes come from, and its guard (flows/origin_findings.py); round trips are dropped.
        judged = {id(f): j for f in raw if judge is not None and (j := judge.judge(f)) is not None}
        raw = [f for f in raw if id(f) not in judged or not judged[id(f)].dropped]
        comment_nodes = []
        if SUPPRESSION_MARKER in text:
            comment_nodes = [c for c in scopes.comments(module) if SUPPRESSION_MARKER in c.value]
        if not raw and not comment_nodes and summary is None and not exported:
            return FileResult()
        targets = [f.node for f in raw] + [f.statement for f in raw] + comment_nodes
        targets += [node for f in raw for node, _ in f.via] + [w.site.node for w in exported]
        targets += [step.node for f in raw if isinstance(f, flows.FlowFinding) for step in f.steps]
        targets += summary.nodes() if summary is not None else []
        targets += [node for judgement in judged.values() for node in judgement.nodes()]
        spans = positions.ranges(module, targets)
        lines = physical_lines(text)
        findings = [self._finding(path, module, f, spans, lines) for f in raw]
        for finding, raw_finding in zip(findings, raw, strict=True):
            if id(raw_finding) in judged:
                origin_findings.apply(finding, raw_finding, judged[id(raw_finding)], spans)
        suppressions = []
        for comment in comment_nodes:
            line, column = spans[id(comment)][:2]
            suppressions.append(parse_comment(comment.value, line, column + 1, self.rule_ids_by_name))
        findings += self._apply_suppressions(path, findings, suppressions, lines, spans, raw)
        return FileResult(findings, flow_summary.located(summary, spans) if summary is not None else None,
                          wrappers=tuple(loader_wrappers.summary(w, spans[id(w.site.node)]) for w in exported))

    def _finding(
        self, path: str, module: cst.Module, raw: RawFinding, spans: dict[int, Range], lines: list[str]
    ) -> Finding:
        start_line, start_col, end_line, end_col = spans[id(raw.node)]
        if isinstance(raw.statement, cst.SimpleStatementLine):
            code = "".join(module.code_for_node(small) for small in raw.statement.body)
        else:
            code = module.code_for_node(raw.node)
        finding = Finding(
            raw.rule.id, path, start_line, start_col + 1, end_line, end_col + 1, raw.message,
            lines[start_line - 1].rstrip() if start_line <= len(lines) else "",
            raw.rule.severity, statement_text=normalise(code), unsettled=raw.unsettled,
        )
        if isinstance(raw, flows.FlowFinding):
            finding.flow = flows.located(raw.steps, spans)
        elif raw.via:  # a call of a loader wrapper: through the wrapper to its loader
            finding.flow = tuple(FlowStep.at(spans[id(node)], text) for node, text in raw.via if id(node) in spans)
        return finding

    def _apply_suppressions(
        self,
        path: str,
        findings: list[Finding],
        suppressions: list[Suppression],
        lines: list[str],
        spans: dict[int, Range],
        raw: list[RawFinding],
    ) -> list[Finding]:
        by_line: dict[int, list[Suppression]] = {}
        for suppression in suppressions:
            by_line.setdefault(suppression.line, []).append(suppression)
        for finding, origin in zip(findings, raw, strict=True):
            statement_line = spans[id(origin.statement)][0] if id(origin.statement) in spans else finding.line
            for line in dict.fromkeys((finding.line, statement_line)):
                for suppression in by_line.get(line, ()):
                    if covers(suppression, finding.rule_id):
                        finding.suppressed = True
                        finding.suppression_reason = suppression.reason
                        suppression.used.add(finding.rule_id)
        unused: list[Finding] = []
        if UNUSED_SUPPRESSION not in self.enabled:
            return unused
        known = self.catalogue.rules
        for suppression in suppressions:
            messages = self.suppression_policy.violations(suppression)  # separate: a later pass may withdraw "unused"
            detail = self._unused_detail(suppression)
            if detail is not None:
                kind = "invalid" if suppression.malformed else "unused"
                messages.insert(0, f"{kind} suppression comment: {detail}")
            line_text = lines[suppression.line - 1].rstrip() if suppression.line <= len(lines) else ""
            unused.extend(
                Finding(
                    UNUSED_SUPPRESSION, path, suppression.line, suppression.column, suppression.line,
                    suppression.end_column, message, line_text,
                    known[UNUSED_SUPPRESSION].severity, statement_text=normalise(suppression.text),
                )
                for message in messages
            )
        return unused

    def _unused_detail(self, suppression: Suppression) -> str | None:
        """Why the comment is MLS002 once this file's findings are applied; None when it is used."""
        known = self.catalogue.rules
        if suppression.malformed:
            return "malformed; write `# mllint-sec: ignore[RULE, ...] -- reason`"
        if suppression.rules:
            # A manifest rule's findings in a setup.py are made by the repository stage, not here.
            stale = [r for r in suppression.rules
                     if r not in suppression.used and (r in self.enabled or r not in known)
                     and not (r in known and known[r].dependencies)]
            if not stale:
                return None
            unknown = [r for r in stale if r not in known]
            return f"unknown rule {', '.join(unknown)}" if unknown else f"no {', '.join(stale)} finding here"
        return None if suppression.used else "no finding here"


def _stubbed_mention(text: str, reduced: str, names: set[str]) -> bool:
    """Whether the slicer stubbed out text that names one of `names` (a call, or an alias of one, must
    name it): the kept blocks name it as often as the whole text unless a stubbed block does too."""
    return any(text.count(name) > reduced.count(name) for name in names)


def _on_notebook(finding: Finding, notebook: notebooks.NotebookSource, lines: list[str]) -> Finding:
    """Move a finding from the cells' Python text to its cell and to the line of the .ipynb file."""
    start, end = notebook.place(finding.line), notebook.place(finding.end_line)
    if start is None:
        return finding
    finding.cell = NotebookCell(start.cell, start.cell_line, finding.column)
    finding.column = notebooks.file_column(start, lines[finding.line - 1], finding.column)
    if end is not None:
        finding.end_column = notebooks.file_column(end, lines[finding.end_line - 1], finding.end_column)
        finding.end_line = end.file_line
    finding.line = start.file_line
    finding.flow = tuple(_step_on_notebook(step, notebook, lines) for step in finding.flow)
    return finding


def _step_on_notebook(step: FlowStep, notebook: notebooks.NotebookSource, lines: list[str]) -> FlowStep:
    place = notebook.place(step.line)
    if place is None:
        return step
    return replace(step, line=place.file_line, column=notebooks.file_column(place, lines[step.line - 1], step.column))
