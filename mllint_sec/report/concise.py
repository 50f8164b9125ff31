"""The `concise` text style: exactly one line per finding, `path:line:col: RULE [severity] message`,
then the summary. No source line and no flow lines, so each finding is one line for grep, editors'
error lists and `wc -l` (Ruff's `--output-format concise`)."""

from __future__ import annotations

from mllint_sec.core.finding import Finding
from mllint_sec.engine.runner import RunResult
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.terminal import Painter
from mllint_sec.report.text import headline, render_style


def _one_line(finding: Finding, paint: Painter) -> list[str]:
    return [headline(finding, paint)]  # escaped: a newline in a name or message cannot make it two


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    return render_style(result, options, _one_line)


FORMAT = Format("concise", render)
