"""GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` annotation per finding.

For repositories without code scanning: the runner turns each line into an
annotation on the pull request's diff. Paths are relative to the repository root
(the git top level, else the scan root), as in the SARIF output. The most severe come first (as in
the text output; `--sort path` for path order): a job's log shows the first annotations.
"""

from __future__ import annotations

from mllint_sec.engine.runner import RunResult
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.order import ordered
from mllint_sec.report.repository_facts import locate_repository
from mllint_sec.report.source_lines import SourceFiles

COMMANDS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice", "note": "notice"}


def escape_data(value: str) -> str:
    """The message part of a workflow command (actions/toolkit `escapeData`)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A `key=value` property of a workflow command (actions/toolkit `escapeProperty`)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    scan_root = result.scan_root
    sources = SourceFiles(scan_root, locate_repository(scan_root).root)
    rules = result.catalogue.rules
    lines = []
    for finding in ordered(result.active, options.sort):
        rule = rules.get(finding.rule_id)
        title = f"{finding.rule_id} {rule.name}" if rule else finding.rule_id
        empty = finding.end_line < finding.line or (
            finding.end_line == finding.line and finding.end_column <= finding.column
        )
        lines.append(
            command(
                COMMANDS[finding.severity],
                visible(finding.message),
                file=visible(sources.display(finding.path)),
                line=finding.line,
                col=finding.column,
                endLine=None if empty else finding.end_line,
                endColumn=None if empty else finding.end_column,
                title=title,
            )
        )
    lines += [command("warning", visible(problem), title="mllint-sec") for problem in result.problems]
    return "".join(line + "\n" for line in lines)


FORMAT = Format("github", render)
