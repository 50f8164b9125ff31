"""Command line: `mllint-sec check | rules | explain`.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 a usage
or configuration error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from mllint_sec import __version__
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.catalogue.model import CatalogueError
from mllint_sec.core.severity import Severity
from mllint_sec.engine.config import ConfigError
from mllint_sec.engine.discovery import TargetError
from mllint_sec.engine.runner import Options, run
from mllint_sec.report import text
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import FORMAT_MODULES, RenderOptions, format_named
from mllint_sec.report.order import SORT_ORDERS
from mllint_sec.report.rule_docs import render_docs

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
@click.option("--format", "output_format", type=click.Choice(list(FORMAT_MODULES)), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to FILE.")
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
def check(
    paths: tuple[Path, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
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
) -> None:
    """Scan PATHS (default: the current directory) for ML security problems."""
    options = _options(paths, select, ignore, config_file, fail_on, jobs, no_cache, cache_dir)
    options.extend_select = _split(extend_select)
    options.diff_base = diff_base
    options.baseline = baseline_file
    options.file_timeout = file_timeout
    options.isolated = isolated
    try:
        result = run(options)
    except (ConfigError, CatalogueError, TargetError) as exc:
        _fail(str(exc))
        return
    render_options = RenderOptions(
        show_suppressed=show_suppressed, include_suppressed=include_suppressed, category=category, sort=sort,
        statistics=statistics,
    )
    report = format_named(output_format).render(result, render_options)
    if output is not None:
        try:
            output.write_text(report, encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}")
        if output_format != "text":
            click.echo(text.summary(result), err=True)
    else:
        click.echo(report, nl=False)
    if result.failing() and not exit_zero:
        sys.exit(EXIT_FINDINGS)


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
