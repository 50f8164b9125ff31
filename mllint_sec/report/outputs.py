"""Where a run's reports go: one or several outputs, each a format and a destination (a file, or stdout).

`check --output-format sarif:results.sarif --output-format text` writes SARIF for the code scanning
upload and text for the job's log from the same result, in one scan. Each format is rendered once;
at most one output goes to stdout (two would interleave), and no file is named twice (the second
would overwrite the first). The specs are checked before the scan starts: a typo must not cost a
90-second run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mllint_sec.engine.runner import RunResult
from mllint_sec.report.formats import FORMAT_MODULES, RenderOptions, format_named


class OutputError(Exception):
    """A usage error in the output options, reported like a configuration error (exit code 2)."""


@dataclass(frozen=True)
class Output:
    format: str  # a name from FORMAT_MODULES
    path: Path | None  # None: stdout


def parse_output(spec: str) -> Output:
    """`FORMAT` (stdout) or `FORMAT:FILE`; the format name never holds a colon, the file name may."""
    name, colon, file_name = spec.partition(":")
    if name not in FORMAT_MODULES:
        raise OutputError(f"--output-format '{spec}': unknown format '{name}' (known: {', '.join(FORMAT_MODULES)})")
    if colon and not file_name:
        raise OutputError(f"--output-format '{spec}': no file name after ':' (leave out the ':' for stdout)")
    return Output(name, Path(file_name) if colon else None)


def plan_outputs(specs: Iterable[str], single_format: str, single_file: Path | None) -> list[Output]:
    """The outputs of a run: the `--output-format` specs when any were given, else `--format` and `--output`."""
    outputs = [parse_output(spec) for spec in specs]
    if not outputs:
        return [Output(single_format, single_file)]
    to_stdout = [output.format for output in outputs if output.path is None]
    if len(to_stdout) > 1:
        raise OutputError(f"--output-format: only one output can go to stdout, not {' and '.join(to_stdout)}; "
                          f"give the others a file (FORMAT:FILE)")
    seen: set[str] = set()
    for output in outputs:
        if output.path is None:
            continue
        key = str(output.path.resolve())
        if key in seen:
            raise OutputError(f"--output-format: {output.path} is named twice")
        seen.add(key)
    return outputs


def write_outputs(
    result: RunResult, outputs: list[Output], options_for: Callable[[Output], RenderOptions],
) -> str | None:
    """Write every file output; return what goes to stdout (None when nothing does).

    `options_for` gives each output its render options: colour, for one, suits a terminal and never a file.
    Raises OSError (with the file's name in `filename`) when a file cannot be written.
    """
    stdout = None
    for output in outputs:
        report = format_named(output.format).render(result, options_for(output))
        if output.path is None:
            stdout = report
            continue
        try:
            output.path.write_text(report, encoding="utf-8")
        except OSError as exc:
            exc.filename = str(output.path)
            raise
    return stdout
