"""Human-readable output: `path:line:col: RULE [severity] message`, the source line, a summary.

Findings come worst first (report/order.py); a downgraded context's marker ("(in test code)") is
part of the message. `--statistics` adds a table of counts per rule and context. `--quiet` keeps the
findings only. This is the default text style; `concise` (one line per finding) and `full` (a source
frame) are built from the same pieces (`render_style`, `headline`, `flow_lines`). Colour, when the
command line turned it on, is added by report/terminal.py's Painter after escaping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

from mllint_sec.core.code_context import DESCRIPTION, CodeContext, ContextPolicy
from mllint_sec.core.finding import Finding
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult
from mllint_sec.report.configuration import summary_clause
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.order import ordered
from mllint_sec.report.terminal import BOLD, YELLOW, Painter

STYLES = ("text", "concise", "full")  # the text styles: each ends with the summary, so none needs it on stderr


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    return render_style(result, options, _finding_lines)


def _finding_lines(finding: Finding, paint: Painter) -> list[str]:
    lines = [headline(finding, paint)]
    if finding.snippet:
        lines.append(f"    {paint(excerpt(finding.snippet, finding.column))}")
    return lines + flow_lines(finding, paint)


def render_style(
    result: RunResult, options: RenderOptions, finding_lines: Callable[[Finding, Painter], list[str]],
) -> str:
    """A text style's report: each shown finding as `finding_lines` writes it, then (unless `--quiet`) the
    statistics, the warnings and the summary. Every piece of text goes through the painter, which escapes it
    (scanned text (paths, lines, quoted code) cannot forge the report) before any colour is added."""
    paint = Painter(options.color)
    out: list[str] = []
    for finding in ordered(result.findings, options.sort):
        if finding.suppressed and not options.show_suppressed:
            continue
        out.extend(finding_lines(finding, paint))
    if not options.quiet:  # the findings only: a clean quiet run prints nothing at all
        if options.statistics:
            out.extend(map(paint, statistics(result)))
        out.extend(f"{paint('warning:', YELLOW)} {paint(problem)}" for problem in result.problems)
        out.extend(map(paint, summary_lines(result)))
    return "\n".join(out) + "\n" if out else ""


def headline(finding: Finding, paint: Painter) -> str:
    """`path:line:col: RULE [severity] message`; in a notebook, the cell and its line, as Jupyter shows them."""
    if finding.cell is not None:
        place = f":cell {finding.cell.cell}:line {finding.cell.line}:{finding.cell.column}"
    else:
        place = f":{finding.line}:{finding.column}"
    mark = " (suppressed)" if finding.suppressed else ""
    severity = finding.severity
    return (f"{paint(finding.path, BOLD)}{paint(place)}: {paint.severity(finding.rule_id, severity)} "
            f"{paint.severity(f'[{severity}]', severity)} {paint(finding.message + mark)}")


def flow_lines(finding: Finding, paint: Painter) -> list[str]:
    """The path request data takes (INPUT rules), source first."""
    return [
        f"    flow {paint(f'{step.path or finding.path}:{step.line}:{step.column}: {step.message}')}"
        for step in finding.flow
    ]


SNIPPET_WIDTH = 160  # characters of a source line shown under a finding; JSON and SARIF keep it whole


def excerpt(line: str, column: int) -> str:
    """The source line, or for a long one (minified or generated code) the part around `column`
    (1-based), with "..." where it was cut: a 200,000-character line must not fill the terminal."""
    text = line.strip()
    indent = len(line) - len(line.lstrip())
    return window(text, column - indent).shown


class Window(NamedTuple):
    """The part of a line that is shown: character i of the line (start <= i <= end) is character
    i - start + lead of `shown`, where `lead` is the length of the "..." that marks a cut start."""

    shown: str
    start: int
    end: int
    lead: int


def window(text: str, column: int) -> Window:
    """`text` when it fits in SNIPPET_WIDTH, else the SNIPPET_WIDTH characters around `column` (1-based;
    a quarter of the width before it), with "..." where it was cut."""
    if len(text) <= SNIPPET_WIDTH:
        return Window(text, 0, len(text), 0)
    start = max(0, min(column - 1 - SNIPPET_WIDTH // 4, len(text) - SNIPPET_WIDTH))
    end = start + SNIPPET_WIDTH
    head = "..." if start else ""
    return Window(head + text[start:end] + ("..." if end < len(text) else ""), start, end, len(head))


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
