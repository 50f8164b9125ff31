"""Human-readable output: `path:line:col: RULE [severity] message`, the source line, a summary."""

from __future__ import annotations

from collections import Counter

from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult
from mllint_sec.report.configuration import summary_clause
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import Format, RenderOptions


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    out: list[str] = []
    for finding in result.findings:
        if finding.suppressed and not options.show_suppressed:
            continue
        mark = " (suppressed)" if finding.suppressed else ""
        if finding.cell is not None:  # notebooks: the cell and its line, as Jupyter shows them
            where = f"{finding.path}:cell {finding.cell.cell}:line {finding.cell.line}:{finding.cell.column}"
        else:
            where = f"{finding.path}:{finding.line}:{finding.column}"
        out.append(f"{where}: {finding.rule_id} [{finding.severity}] {finding.message}{mark}")
        if finding.snippet:
            out.append(f"    {finding.snippet.strip()}")
        out.extend(  # the path request data takes (INPUT rules)
            f"    flow {step.path or finding.path}:{step.line}:{step.column}: {step.message}" for step in finding.flow
        )
    out.extend(f"warning: {problem}" for problem in result.problems)
    out.append(summary(result))
    return "\n".join(map(visible, out)) + "\n"  # scanned text (paths, lines, quoted code) cannot forge the report


def summary(result: RunResult) -> str:
    active = result.active
    suppressed = len(result.findings) - len(active)
    files = f"{result.files_scanned} file{'s' if result.files_scanned != 1 else ''}"
    tail = f"; {suppressed} suppressed" if suppressed else ""
    if result.not_scanned:
        tail += f"; {len(result.not_scanned)} Git LFS pointer{'s' if len(result.not_scanned) != 1 else ''} not scanned"
    if result.submodules:  # names from the scanned repository: shown, never obeyed, even on stderr
        names = visible(", ".join(result.submodules))
        tail += f"; {len(result.submodules)} submodule{'s' if len(result.submodules) != 1 else ''} not scanned: {names}"
    # The configuration can come with the scanned code; what it turned off is never left unsaid.
    tail += visible(summary_clause(result.configuration, result.scan_root))
    if not active:
        return f"No findings in {files}{tail}."
    counts = Counter(f.severity for f in active)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in Severity if counts[s])
    noun = "finding" if len(active) == 1 else "findings"
    return f"Found {len(active)} {noun} ({by_severity}) in {files}{tail}."


FORMAT = Format("text", render)
