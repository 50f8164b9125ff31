"""`check --show-settings`: the settings a run with these options would use, resolved, without scanning.

One `key: value` line per setting (lists indented below their key), in a fixed order, lists sorted
where their order means nothing (rules, per-file-ignores patterns); `exclude` patterns keep theirs,
since the last matching one decides. The configuration file is the scanned repository's own text,
so every line goes through `visible()`, as the reports' lines do.
"""

from __future__ import annotations

from pathlib import Path

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.code_context import DEFAULT_POLICY, CodeContext
from mllint_sec.engine.cache import default_directory
from mllint_sec.engine.config import Config, check_severity, resolve_tokens
from mllint_sec.engine.discovery import DEFAULT_EXCLUDES
from mllint_sec.engine.runner import Options, effective_jobs, enabled_rules, resolve_config, scan_root_of
from mllint_sec.report.escape import visible


def show_settings(options: Options) -> str:
    """The resolved settings as text; raises what `run` raises for a bad configuration (ConfigError)."""
    catalogue = load_catalogue()
    config = resolve_config(options, catalogue)
    enabled = enabled_rules(options, config, catalogue)
    fail_on = check_severity(options.fail_on, "--fail-on") if options.fail_on else config.fail_on
    width = max(map(len, enabled), default=0)
    timeout = options.file_timeout if options.file_timeout is not None else config.file_timeout
    lines = [
        f"configuration file: {_configuration(options, config)}",
        f"scan root: {scan_root_of(options.paths).as_posix()}",
        f"enabled rules ({len(enabled)}):",
        *(f"  {rule.ljust(width)}  {catalogue.rules[rule].name}" for rule in sorted(enabled)),
        f"fail-on: {fail_on}",
        # The defaults are ours and hold no comma: one line. A configuration's patterns, one a line, in order.
        *(_listing("exclude", config.exclude) if config.exclude
          else [f"exclude: the defaults ({', '.join(DEFAULT_EXCLUDES)})"]),
        *_listing("extend-exclude", config.extend_exclude),
        *_listing("per-file-ignores", [
            f"{pattern}: {', '.join(sorted(resolve_tokens(tokens, catalogue, f'per-file-ignores {pattern!r}')))}"
            for pattern, tokens in sorted(config.per_file_ignores.items())
        ]),
        "contexts:",
        *(_context_line(config, context) for context in CodeContext),
        "suppressions:",
        f"  require-suppression-reason: {_flag(config.require_suppression_reason)}",
        f"  forbid-blanket-suppression: {_flag(config.forbid_blanket_suppression)}",
        *_listing("artifact-allow", sorted(config.artifact_allow)),
        f"provenance-min-bytes: {config.provenance_min_bytes}",
        f"file-timeout: {f'{timeout:g} s' if timeout else 'none'}",
        f"cache: {_cache(options)}",
        f"jobs: {effective_jobs(options.jobs)}",
    ]
    return "".join(visible(line) + "\n" for line in lines)


def _configuration(options: Options, config: Config) -> str:
    if options.isolated:
        return "none (--isolated)"
    if config.path is None:
        return "none found (defaults)"
    return config.path.resolve().as_posix()


def _listing(key: str, items: list[str]) -> list[str]:
    """`key: (none)` or `key:` and one indented item a line."""
    if not items:
        return [f"{key}: (none)"]
    return [f"{key}:", *(f"  {item}" for item in items)]


def _context_line(config: Config, context: CodeContext) -> str:
    """`  test: downgrade` and the globs that put paths in it, beside the path conventions."""
    policy = config.context_policy.get(context, DEFAULT_POLICY[context])
    changed = "" if policy == DEFAULT_POLICY[context] else f" (default: {DEFAULT_POLICY[context]})"
    globs = config.contexts.get(context)
    paths = f"; also paths matching {', '.join(globs)}" if globs else ""
    return f"  {context}: {policy}{changed}{paths}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _cache(options: Options) -> str:
    if not options.use_cache:
        return "off (--no-cache)"
    directory: Path = options.cache_dir or default_directory()
    return directory.as_posix()
