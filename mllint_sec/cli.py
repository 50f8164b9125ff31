"""Command line: `mllint-sec check | rules | explain`.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 a usage
or configuration error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from mllint_sec import __version__
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.catalogue.model import CatalogueError
from mllint_sec.core.file_kinds import MAX_NOTEBOOK_BYTES, MAX_SOURCE_BYTES
from mllint_sec.core.severity import Severity
from mllint_sec.engine.config import ConfigError
from mllint_sec.engine.discovery import TargetError
from mllint_sec.engine.runner import Options, run
from mllint_sec.report import text
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import FORMAT_MODULES, RenderOptions
from mllint_sec.report.order import SORT_ORDERS
from mllint_sec.report.outputs import OutputError, plan_outputs, write_outputs
from mllint_sec.report.progress import Progress, wanted
from mllint_sec.report.rule_docs import render_docs
from mllint_sec.report.terminal import COLOR_MODES, colour_for_stdout

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split(values: tuple[str, ...]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


# A scanned repository's own configuration can turn rules off; a responder scanning untrusted code sets this.
_isolated_option = click.option(
    "--isolated", is_flag=True,
    help="Use no configuration file: defaults and command-line flags only (for scanning untrusted code).",
)


def _fail(message: str) -> None:
    # Errors can quote the scanned repository's own configuration: shown escaped, like any scanned text.
    click.echo(f"mllint-sec: error: {visible(message)}", err=True)
    sys.exit(EXIT_ERROR)


class _OneLineErrors(click.Group):
    """Usage errors as one `mllint-sec: error: ...` line with exit code 2, as configuration errors are."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            ctx: click.Context | None = exc.ctx
            click.echo(ctx.get_help() if ctx is not None else str(exc))
            sys.exit(EXIT_CLEAN)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            _fail(exc.format_message())
        except click.exceptions.Abort:
            _fail("aborted")


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="mllint-sec")
def main() -> None:
    """Security linter for machine-learning repositories."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--select", multiple=True,
              help="Only these rules: ids, id prefixes, family or rule names (comma-separated).")
@click.option("--extend-select", multiple=True, help="Add these rules to the selection (how opt-in rules are enabled).")
@click.option("--ignore", multiple=True, help="Skip these rules (added to the configuration's ignore list).")
@click.option("--format", "output_format", type=click.Choice(list(FORMAT_MODULES)),
              help="The report's format [default: text].")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to FILE.")
@click.option("--output-format", "output_specs", multiple=True, metavar="FORMAT[:FILE]",
              help="Several reports from one scan, e.g. `--output-format sarif:results.sarif --output-format text`; "
                   "without :FILE to stdout (one at most). Replaces --format and --output.")
@click.option("--stdin-filename", type=click.Path(path_type=Path, dir_okay=False), metavar="PATH",
              help="Read the source from stdin (PATHS: `-` or none) and report it as PATH: its configuration, "
                   "per-file ignores and context apply (for editors).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--fail-on", type=click.Choice([s.value for s in Severity], case_sensitive=False),
              help="Lowest severity that fails the run [default: low].")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Use this configuration file.")
@_isolated_option
@click.option("--show-suppressed", is_flag=True, help="Also list suppressed findings in text output.")
@click.option("--include-suppressed", is_flag=True,
              help="SARIF: also emit suppressed findings, marked with suppressions[].")
@click.option("--sort", type=click.Choice(SORT_ORDERS), default="severity", show_default=True,
              help="Text and GitHub output: most severe first, or by path and line (JSON and SARIF: always by path).")
@click.option("--statistics", is_flag=True, help="Text output: a table of findings per rule and context at the end.")
@click.option("--color", "color", type=click.Choice(COLOR_MODES), default="auto", show_default=True,
              help="Colour text output by severity. auto: on a terminal, unless NO_COLOR is set (FORCE_COLOR forces "
                   "it); a report written to a file is never coloured.")
@click.option("--quiet", "-q", is_flag=True,
              help="Text output: the findings only (no statistics, warnings or summary); nothing for a clean run.")
@click.option("--category", help="SARIF: runAutomationDetails.id, the code scanning category (a trailing / is added).")
@click.option("--diff-base", metavar="REF", help="Only report findings on lines changed since this git revision.")
@click.option("--baseline", "baseline_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Only report findings not recorded in this baseline (see `mllint-sec baseline`).")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Processes to scan with [default and maximum: one per CPU].")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--file-timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Analysis time per file; a file over it is reported (MLS001) and skipped. "
                   "0: no limit [default: 20].")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Result cache directory [default: $XDG_CACHE_HOME/mllint-sec].")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings and exit without scanning.")
@click.option("--show-files", is_flag=True,
              help="List every file met under PATHS, whether it is scanned and as what, or why not; exit without "
                   "scanning.")
@click.option("--no-progress", is_flag=True,
              help="No [done/total files] line on a terminal's stderr (it is never shown in CI or in a pipe).")
def check(
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str | None,
    output: Path | None,
    exit_zero: bool,
    fail_on: str | None,
    config_file: Path | None,
    show_suppressed: bool,
    include_suppressed: bool,
    category: str | None,
    diff_base: str | None,
    baseline_file: Path | None,
    jobs: int | None,
    no_cache: bool,
    cache_dir: Path | None,
    file_timeout: float | None,
    isolated: bool,
    sort: str,
    statistics: bool,
    color: str,
    quiet: bool,
    output_specs: tuple[str, ...],
    stdin_filename: Path | None,
    show_settings: bool,
    show_files: bool,
    no_progress: bool,
) -> None:
    """Scan PATHS (default: the current directory) for ML security problems."""
    stdin = _stdin_source(paths, stdin_filename, diff_base)
    if stdin is not None:
        paths = (stdin[0],)  # the configuration is looked for from the editor's file
    if output_specs and (output_format is not None or output is not None):
        _fail("--output-format replaces --format and --output; give every output as FORMAT[:FILE]")
    try:
        outputs = plan_outputs(output_specs, output_format or "text", output)
    except OutputError as exc:
        _fail(str(exc))
        return
    options = _options(paths, select, ignore, config_file, fail_on, jobs, no_cache, cache_dir)
    options.extend_select = _split(extend_select)
    options.diff_base = diff_base
    options.baseline = baseline_file
    options.file_timeout = file_timeout
    options.isolated = isolated
    options.stdin = stdin
    if show_settings or show_files:
        _show(options, show_settings, show_files)
        return
    progress = _progress(no_progress)
    options.progress = progress.update if progress is not None else None
    try:
        result = run(options)
    except (ConfigError, CatalogueError, TargetError) as exc:
        _fail(str(exc))
        return
    finally:
        if progress is not None:
            progress.finish()  # before the report, so it starts on a clean line
    render_options = RenderOptions(
        show_suppressed=show_suppressed, include_suppressed=include_suppressed, category=category, sort=sort,
        statistics=statistics, quiet=quiet,
    )
    stdout_colour = colour_for_stdout(color)  # decided once; only the output to stdout can have it
    try:
        to_stdout = write_outputs(
            result, outputs, lambda output: replace(render_options, color=output.path is None and stdout_colour),
        )
    except OSError as exc:
        _fail(f"cannot write {exc.filename}: {exc.strerror or exc}")
        return
    if to_stdout is not None:
        click.echo(to_stdout, nl=False, color=stdout_colour or None)  # click strips ANSI off a terminal otherwise
    elif not quiet and not any(o.format in text.STYLES for o in outputs):  # all went to files: the counts still show
        click.echo(text.summary(result), err=True)
    if result.failing() and not exit_zero:
        sys.exit(EXIT_FINDINGS)


def _show(options: Options, settings: bool, files: bool) -> None:
    """--show-settings and --show-files: what a run would use and scan, printed instead of running it."""
    from mllint_sec.engine.file_listing import list_files
    from mllint_sec.report.settings import show_settings
    from mllint_sec.report.shown_files import render_files

    try:
        shown = [show_settings(options)] if settings else []
        if files:
            shown.append(render_files(list_files(options)))
    except (ConfigError, CatalogueError, TargetError) as exc:
        _fail(str(exc))
        return
    click.echo("\n".join(shown), nl=False)


def _progress(no_progress: bool) -> Progress | None:
    """The progress line for this run, when stderr is a terminal outside CI and nothing silences it."""
    # --quiet (an option of its own, beside this one) silences progress too; read by name so either may come first.
    quiet = no_progress or bool(click.get_current_context().params.get("quiet"))
    return Progress(sys.stderr) if wanted(sys.stderr, quiet=quiet) else None


def _stdin_source(paths: tuple[Path, ...], stdin_filename: Path | None,
                  diff_base: str | None) -> tuple[Path, bytes] | None:
    """`check - --stdin-filename PATH`: PATH and the bytes on stdin; None for a scan of files."""
    reads_stdin = paths == (Path("-"),)
    if stdin_filename is None:
        if Path("-") in paths:
            _fail("`-` reads the source from stdin: name its file with --stdin-filename PATH")
        return None
    if paths and not reads_stdin:
        _fail("--stdin-filename reads one source from stdin: give `-` or no PATHS")
    if diff_base is not None:
        _fail("--diff-base compares files on disk; it cannot be combined with --stdin-filename")
    limit = MAX_NOTEBOOK_BYTES if stdin_filename.suffix == ".ipynb" else MAX_SOURCE_BYTES
    data = sys.stdin.buffer.read(limit + 1)  # bounded, as a file on disk is
    if len(data) > limit:
        _fail(f"stdin: more than {limit // (1024 * 1024)} MiB, the most a {stdin_filename.suffix or 'source'} "
              f"file may have")
    return stdin_filename, data


def _options(
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: Path | None,
    fail_on: str | None = None,
    jobs: int | None = None,
    no_cache: bool = False,
    cache_dir: Path | None = None,
) -> Options:
    if select and not _split(select):
        _fail("--select names no rule")
    return Options(
        paths=list(paths) or [Path(".")],
        select=_split(select) if select else None,
        ignore=_split(ignore),
        config_file=config_file,
        fail_on=fail_on,
        jobs=jobs,
        use_cache=not no_cache,
        cache_dir=cache_dir,
    )


@main.command("baseline")
@click.argument("baseline_file", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--select", multiple=True, help="Only these rules.")
@click.option("--ignore", multiple=True, help="Skip these rules.")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Use this configuration file.")
@_isolated_option
def write_baseline(
    baseline_file: Path,
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: Path | None,
    isolated: bool,
) -> None:
    """Record the current findings of PATHS in FILE; `check --baseline FILE` then reports only new ones."""
    from mllint_sec.engine import baseline

    try:
        options = _options(paths, select, ignore, config_file)
        options.isolated = isolated
        result = run(options)
        # What a context policy ignores is recorded too: relaxing the policy later shows nothing "new".
        count = baseline.write(baseline_file, result.findings + result.ignored)
    except (ConfigError, CatalogueError, TargetError) as exc:
        _fail(str(exc))
        return
    except OSError as exc:
        _fail(f"cannot write {baseline_file}: {exc.strerror or exc}")
        return
    click.echo(f"Recorded {count} finding{'s' if count != 1 else ''} in {baseline_file}.")


@main.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: every field of every rule (taxonomy ids, precision, docs) and the catalogue's digest.")
def list_rules(output_format: str) -> None:
    """List every rule: id, name, severity and summary."""
    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        _fail(str(exc))
        return
    if output_format == "json":
        from mllint_sec.report.json_report import rules_listing

        click.echo(rules_listing(catalogue), nl=False)
        return
    rows = sorted(catalogue.rules.values(), key=lambda r: r.id)
    name_width = max(len(r.name) for r in rows)
    for rule in rows:
        click.echo(f"{rule.id:<8} {rule.name:<{name_width}}  {rule.severity:<8}  {rule.summary}")


@main.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print the documentation of RULE (an id such as LOAD003, or a name)."""
    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        _fail(str(exc))
        return
    found = catalogue.lookup(rule)
    if found is None:
        _fail(f"unknown rule '{rule}' (see `mllint-sec rules`)")
        return
    click.echo(render_docs(found, catalogue))

if __name__ == "__main__":  # pragma: no cover
    main()
