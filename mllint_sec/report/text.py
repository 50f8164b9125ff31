"""Human-readable output: `path:line:col: RULE [severity] message`, the source line, a summary.

Findings come worst first (report/order.py); a downgraded context's marker ("(in test code)") is
part of the message. `--statistics` adds a table of counts per rule and context.
"""

from __future__ import annotations

from collections import Counter

from mllint_sec.core.code_context import DESCRIPTION, CodeContext, ContextPolicy
from mllint_sec.core.finding import Finding
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult
from mllint_sec.report.configuration import summary_clause
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.order import ordered


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    out: list[str] = []
    for finding in ordered(result.findings, options.sort):
        if finding.suppressed and not options.show_suppressed:
            continue
        mark = " (suppressed)" if finding.suppressed else ""
        if finding.cell is not None:  # notebooks: the cell and its line, as Jupyter shows them
            where = f"{finding.path}:cell {finding.cell.cell}:line {finding.cell.line}:{finding.cell.column}"
        else:
            where = f"{finding.path}:{finding.line}:{finding.column}"
        out.append(f"{where}: {finding.rule_id} [{finding.severity}] {finding.message}{mark}")
        if finding.snippet:
            out.append(f"    {_excerpt(finding.snippet, finding.column)}")
        out.extend(  # the path request data takes (INPUT rules)
            f"    flow {step.path or finding.path}:{step.line}:{step.column}: {step.message}" for step in finding.flow
        )
    if options.statistics:
        out.extend(statistics(result))
    out.extend(f"warning: {problem}" for problem in result.problems)
    out.extend(summary_lines(result))
    return "\n".join(map(visible, out)) + "\n"  # scanned text (paths, lines, quoted code) cannot forge the report


SNIPPET_WIDTH = 160  # characters of a source line shown under a finding; JSON and SARIF keep it whole


def _excerpt(line: str, column: int) -> str:
    """The source line, or for a long one (minified or generated code) the part around `column`
    (1-based), with "..." where it was cut: a 200,000-character line must not fill the terminal."""
    text = line.strip()
    if len(text) <= SNIPPET_WIDTH:
        return text
    indent = len(line) - len(line.lstrip())
    start = max(0, min(column - 1 - indent - SNIPPET_WIDTH // 4, len(text) - SNIPPET_WIDTH))
    end = start + SNIPPET_WIDTH
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def summary(result: RunResult) -> str:
    return "\n".join(summary_lines(result))


def _plural(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _context(finding: Finding) -> CodeContext:
    return finding.context or CodeContext.LIBRARY  # a finding made outside a run has no context yet


def summary_lines(result: RunResult) -> list[str]:
    """The counts, and (when anything is outside library code or was ignored) their split by context."""
    active = result.active
    suppressed = len(result.findings) - len(active)
    scanned = _plural(result.files_scanned, "file")
    tail = f"; {suppressed:,} suppressed" if suppressed else ""
    if result.not_scanned:
        tail += f"; {_plural(len(result.not_scanned), 'Git LFS pointer')} not scanned"
    if result.submodules:  # names from the scanned repository: shown, never obeyed, even on stderr
        names = visible(", ".join(result.submodules))
        tail += f"; {_plural(len(result.submodules), 'submodule')} not scanned: {names}"
    # The configuration can come with the scanned code; what it turned off is never left unsaid.
    tail += visible(summary_clause(result.configuration, result.scan_root))
    if not active:
        lines = [f"No findings in {scanned}{tail}."]
    else:
        counts = Counter(f.severity for f in active)
        by_severity = ", ".join(f"{counts[s]:,} {s}" for s in Severity if counts[s])
        noun = "finding" if len(active) == 1 else "findings"
        # Files with findings, not files scanned: how much there is to look at.
        with_findings = _plural(len({f.path for f in active}), "file")
        lines = [f"Found {len(active):,} {noun} ({by_severity}) in {with_findings} ({scanned} scanned){tail}."]
    split = context_split(result)
    if split:
        lines.append(split)
    return lines


def context_split(result: RunResult) -> str:
    """`23 in library code; 1,032 in test code (downgraded); 12 ignored by context policy`; "" when every
    finding is library code and nothing was ignored (the first line says it all)."""
    by_context = Counter(_context(f) for f in result.active)
    ignored = sum(not f.suppressed for f in result.ignored)
    if not ignored and set(by_context) <= {CodeContext.LIBRARY}:
        return ""
    parts = [
        f"{by_context[context]:,} in {DESCRIPTION[context]}"
        + (" (downgraded)" if result.context_policy.get(context) == ContextPolicy.DOWNGRADE else "")
        for context in CodeContext if by_context[context]
    ]
    if ignored:
        parts.append(f"{ignored:,} ignored by context policy")
    return "; ".join(parts)


def statistics(result: RunResult) -> list[str]:
    """`--statistics`: findings per rule and context, most first (ignored ones too, marked so)."""
    rows: Counter[tuple[str, CodeContext, str]] = Counter()
    for finding in result.active:
        policy = result.context_policy.get(_context(finding))
        rows[(finding.rule_id, _context(finding), " (downgraded)" if policy == ContextPolicy.DOWNGRADE else "")] += 1
    for finding in result.ignored:
        if not finding.suppressed:
            rows[(finding.rule_id, _context(finding), " (ignored)")] += 1
    if not rows:
        return ["Statistics: no findings."]
    order = list(CodeContext)
    ranked = sorted(rows.items(), key=lambda row: (-row[1], row[0][0], order.index(row[0][1]), row[0][2]))
    rules = result.catalogue.rules
    names = {rule_id: rules[rule_id].name if rule_id in rules else "" for rule_id, _, _ in rows}
    count_width = max(len(f"{count:,}") for count in rows.values())
    id_width = max(len(rule_id) for rule_id in names)
    name_width = max(len(name) for name in names.values())
    lines = ["Statistics (findings per rule and context):"]
    lines += [
        f"  {count:>{count_width},}  {rule_id:<{id_width}}  {names[rule_id]:<{name_width}}  {context}{mark}"
        for (rule_id, context, mark), count in ranked
    ]
    return lines


FORMAT = Format("text", render)
