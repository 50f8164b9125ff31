"""Analyse one Python file: bytes in, findings out.

A pure function of (path, bytes, enabled rules), so results can be cached by
content hash and files spread over processes. Steps, cheapest first:
decode -> text prefilter -> blank irrelevant top-level blocks -> libcst parse ->
one scope walk -> match -> positions of the reported nodes only -> suppressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core.finding import SUMMARY_ID, Finding, normalise
from mllint_sec.core.suppressions import Suppression, covers, parse_comment
from mllint_sec.flows import flow_findings as flows
from mllint_sec.flows import sinks, sources
from mllint_sec.flows import summary as flow_summary
from mllint_sec.flows.taint import Taint
from mllint_sec.python import decode as source
from mllint_sec.python import notebooks, positions, scopes, slicing
from mllint_sec.python.matching import MatchIndex, RawFinding, match_file
from mllint_sec.python.prefilter import (
    SUPPRESSION_MARKER,
    Prefilter,
    code_only_keeping_lines,
)

PARSE_ERROR = "MLS001"
UNUSED_SUPPRESSION = "MLS002"
PATHOLOGICAL_TIMEOUT = 5.0  # seconds for a file whose nesting looks hostile


@dataclass
class Analyzer:
    """Everything per-file analysis needs, built once per run (and per worker process)."""

    catalogue: Catalogue
    enabled: frozenset[str]
    summaries: bool = False  # add flow_summary.py's summary (the runner's cross-module pass wants it)

    def __post_init__(self) -> None:
        # Flow rules (INPUT*) follow request data into the calls another family's rules report,
        # so those rules are matched too; their own findings are kept only when enabled.
        self.flow_rules = [(rule, match) for rule in self.catalogue.rules.values() if rule.id in self.enabled
                           for match in rule.flows]
        sink_families = {match.family for _, match in self.flow_rules}
        matched = set(self.enabled) | {r.id for r in self.catalogue.rules.values() if r.family in sink_families}
        self.index = MatchIndex.build(self.catalogue, matched)
        groups = ()
        if any(match.family in sinks.SINK_KINDS for _, match in self.flow_rules):
            groups = (sources.PREFILTER_WORDS, sinks.tables().words())
        self.prefilter = Prefilter(self.index.words, self.index.env_names, groups)
        self.flow_uses = tuple(dict.fromkeys(flows.uses(match) for _, match in self.flow_rules))

    def analyze(self, path: str, data: bytes) -> list[Finding]:
        if path.endswith(".ipynb"):
            notebook = notebooks.to_python(data)
            if isinstance(notebook, source.ParseFailure):
                return self.failure(path, notebook)
            lines = notebook.text.split("\n")
            return [_on_notebook(f, notebook, lines) for f in self.analyze_text(path, notebook.text)]
        text = source.decode(data)
        if isinstance(text, source.ParseFailure):
            return self.failure(path, text)
        return self.analyze_text(path, text)

    def analyze_text(self, path: str, text: str) -> list[Finding]:
        summarize = self._summarizes(path, text)
        if not summarize and not self.prefilter.wants(text):
            return []
        code = code_only_keeping_lines(text)  # one blanked view for the nesting guard and the slicer
        arguments = (path, text, code, summarize)
        if source.looks_pathological(text, code):
            result, error = source.run_in_child(self._analyze_text, arguments, PATHOLOGICAL_TIMEOUT)
        else:
            result, error = source.run_guarded(self._analyze_text, *arguments)
        if error is not None:
            if isinstance(error, RecursionError):
                failure = source.ParseFailure("expression nesting too deep to analyse")
            elif isinstance(error, TimeoutError):
                failure = source.ParseFailure(f"expression nesting too deep to analyse: {error}")
            else:
                failure = source.ParseFailure(f"internal error while analysing: {type(error).__name__}: {error}")
            return self.failure(path, failure, text)
        return result

    def failure(self, path: str, failure: source.ParseFailure, text: str = "", key: str = "parse-error") -> list[Finding]:
        """The MLS001 finding for a file that could not be analysed (none when MLS001 is not enabled)."""
        if PARSE_ERROR not in self.enabled:
            return []
        lines = text.splitlines()
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

    def _analyze_text(self, path: str, text: str, code: str, summarize: bool) -> list[Finding]:
        reduced = None
        if not summarize and not self.prefilter.wants_groups(text):  # a handler's flow may pass through any function
            reduced = slicing.reduce_source(text, self.index.last_words, self.index.env_names, code)
        module = source.parse(reduced) if reduced is not None else None
        if not isinstance(module, cst.Module):
            module = source.parse(text)  # nothing to reduce, or the reduced text did not parse
        if isinstance(module, source.ParseFailure):
            return self.failure(path, module, text)
        facts = scopes.collect(module, self.index.reference_names)
        raw = match_file(facts, self.index)
        summary = None
        if self.flow_rules:
            fed = flow_summary.FedBy()
            taint = Taint(facts, foreign=fed)
            raw += flows.flow_findings(facts, raw, self.flow_rules, taint=taint)
            if summarize or (self.summaries and fed.names and path.endswith(".py")):
                summary = flow_summary.summarize(facts, taint, fed, self.flow_uses if summarize else ())
        raw = [f for f in raw if f.rule.id in self.enabled]
        comment_nodes = []
        if SUPPRESSION_MARKER in text:
            comment_nodes = [c for c in scopes.comments(module) if SUPPRESSION_MARKER in c.value]
        if not raw and not comment_nodes and summary is None:
            return []
        targets = [f.node for f in raw] + [f.statement for f in raw] + comment_nodes
        targets += [step.node for f in raw for step in f.extra.get(flows.FLOW_NODES, ())]
        targets += summary.nodes() if summary is not None else []
        spans = positions.ranges(module, targets)
        lines = text.splitlines()
        findings = [self._finding(path, module, f, spans, lines) for f in raw]
        suppressions = []
        for comment in comment_nodes:
            line, column = spans[id(comment)][:2]
            suppressions.append(parse_comment(comment.value, line, column + 1))
        findings += self._apply_suppressions(path, findings, suppressions, lines, spans, raw)
        if summary is not None:
            summary_finding = Finding(SUMMARY_ID, path, 1, 1, 1, 1, "", "", "low")
            summary_finding.extra["summary"] = flow_summary.located(summary, spans)
            findings.append(summary_finding)
        return findings

    def _finding(self, path: str, module: cst.Module, raw: RawFinding, spans, lines: list[str]) -> Finding:
        start_line, start_col, end_line, end_col = spans[id(raw.node)]
        statement_line = spans[id(raw.statement)][0] if id(raw.statement) in spans else start_line
        if isinstance(raw.statement, cst.SimpleStatementLine):
            code = "".join(module.code_for_node(small) for small in raw.statement.body)
        else:
            code = module.code_for_node(raw.node)
        finding = Finding(
            raw.rule.id, path, start_line, start_col + 1, end_line, end_col + 1, raw.message,
            lines[start_line - 1].rstrip() if start_line <= len(lines) else "",
            raw.rule.severity, statement_text=normalise(code),
        )
        finding.extra["statement_line"] = statement_line
        finding.extra.update(raw.extra)
        if flows.FLOW_NODES in finding.extra:
            finding.extra[flows.FLOW] = flows.located(finding.extra.pop(flows.FLOW_NODES), spans, finding)
        return finding

    def _apply_suppressions(self, path, findings, suppressions: list[Suppression], lines, spans, raw) -> list[Finding]:
        by_line: dict[int, list[Suppression]] = {}
        for suppression in suppressions:
            by_line.setdefault(suppression.line, []).append(suppression)
        for finding in findings:
            for line in dict.fromkeys((finding.line, finding.extra.get("statement_line", finding.line))):
                for suppression in by_line.get(line, ()):
                    if covers(suppression, finding.rule_id):
                        finding.suppressed = True
                        finding.suppression_reason = suppression.reason
                        suppression.used.add(finding.rule_id)
        unused = []
        if UNUSED_SUPPRESSION not in self.enabled:
            return unused
        known = self.catalogue.rules
        for suppression in suppressions:
            if suppression.malformed:
                detail = "malformed; write `# mllint-sec: ignore[RULE, ...] -- reason`"
            elif suppression.rules:
                stale = [r for r in suppression.rules if r not in suppression.used and (r in self.enabled or r not in known)]
                if not stale:
                    continue
                unknown = [r for r in stale if r not in known]
                detail = f"unknown rule {', '.join(unknown)}" if unknown else f"no {', '.join(stale)} finding here"
            elif suppression.used:
                continue
            else:
                detail = "no finding here"
            line_text = lines[suppression.line - 1].rstrip() if suppression.line <= len(lines) else ""
            kind = "invalid" if suppression.malformed else "unused"
            unused.append(
                Finding(
                    UNUSED_SUPPRESSION, path, suppression.line, suppression.column, suppression.line,
                    suppression.end_column, f"{kind} suppression comment: {detail}", line_text,
                    known[UNUSED_SUPPRESSION].severity, statement_text=normalise(suppression.text),
                )
            )
        return unused


def _on_notebook(finding: Finding, notebook: notebooks.NotebookSource, lines: list[str]) -> Finding:
    """Move a finding from the cells' Python text to its cell and to the line of the .ipynb file."""
    start, end = notebook.place(finding.line), notebook.place(finding.end_line)
    if start is None:
        return finding
    finding.extra.update(cell=start.cell, cell_line=start.cell_line, cell_column=finding.column)
    finding.extra.pop("statement_line", None)  # suppressions were applied on the cells' text
    finding.column = notebooks.file_column(start, lines[finding.line - 1], finding.column)
    if end is not None:
        finding.end_column = notebooks.file_column(end, lines[finding.end_line - 1], finding.end_column)
        finding.end_line = end.file_line
    finding.line = start.file_line
    for step in finding.extra.get(flows.FLOW, ()):
        place = notebook.place(step["line"])
        if place is not None:
            step["column"] = notebooks.file_column(place, lines[step["line"] - 1], step["column"])
            step["line"] = place.file_line
    return finding
