"""How the reports show the configuration file a run used and what it turned off.

A scanned repository's own `[tool.mllint-sec]` can silence its scan (`exclude = ["*"]`,
`ignore = [...]`), so no report leaves it unsaid: JSON has a `configuration` object, SARIF
the same object as a run property and one tool-configuration notification per change, and
the text summary a clause. Nothing is shown when no configuration file applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mllint_sec.engine.config import AppliedConfig


def shown_path(applied: AppliedConfig, scan_root: Path) -> str:
    """The file relative to the scan root when it is inside it (as finding paths are), else absolute."""
    absolute = applied.path.resolve()
    try:
        return absolute.relative_to(scan_root).as_posix()
    except ValueError:
        return absolute.as_posix()


def record(applied: AppliedConfig, scan_root: Path) -> dict[str, Any]:
    """The `configuration` object of the JSON report (docs/json-schema.json) and of SARIF's run properties."""
    return {
        "path": shown_path(applied, scan_root),
        "disabled_rules": list(applied.disabled_rules),
        "exclude": list(applied.exclude),
        "extend_exclude": list(applied.extend_exclude),
        "per_file_ignores": {pattern: list(rules) for pattern, rules in applied.per_file_ignores},
        "fail_on": applied.fail_on,
        "artifact_allow": list(applied.artifact_allow),
        "provenance_min_bytes": applied.provenance_min_bytes,
        "contexts": {context.value: list(globs) for context, globs in applied.contexts},
        "context_policy": {context.value: policy.value for context, policy in applied.context_policy},
    }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def changes(applied: AppliedConfig) -> list[tuple[str, str]]:
    """What the file turned off: (a short phrase for the summary, the details), in the record's order."""
    found = []
    if applied.disabled_rules:
        found.append((f"turns off {_count(len(applied.disabled_rules), 'rule')}", ", ".join(applied.disabled_rules)))
    if applied.exclude:
        found.append((f"replaces the default excludes with {_count(len(applied.exclude), 'pattern')}",
                      ", ".join(applied.exclude)))
    if applied.extend_exclude:
        found.append((f"excludes {_count(len(applied.extend_exclude), 'more pattern')}",
                      ", ".join(applied.extend_exclude)))
    if applied.per_file_ignores:
        found.append((f"turns rules off in {_count(len(applied.per_file_ignores), 'per-file-ignores pattern')}",
                      "; ".join(f"{pattern}: {', '.join(rules)}" for pattern, rules in applied.per_file_ignores)))
    if applied.fail_on is not None:
        found.append((f"fails only at {applied.fail_on} or above", f"fail-on = {applied.fail_on}"))
    if applied.artifact_allow:
        found.append((f"trusts {_count(len(applied.artifact_allow), 'artifact callable')}",
                      ", ".join(applied.artifact_allow)))
    if applied.provenance_min_bytes is not None:
        found.append((f"needs provenance only from {applied.provenance_min_bytes} bytes",
                      f"provenance-min-bytes = {applied.provenance_min_bytes}"))
    if applied.contexts:  # a glob can move library code into a downgraded or ignored context
        found.append((f"sets the context of {_count(sum(len(globs) for _, globs in applied.contexts), 'pattern')}",
                      "; ".join(f"{context}: {', '.join(globs)}" for context, globs in applied.contexts)))
    for context, policy in applied.context_policy:
        verb = "ignores" if policy.value == "ignore" else "downgrades"
        found.append((f"{verb} findings in {context} code", f"context-policy.{context} = {policy}"))
    return found


def summary_clause(applied: AppliedConfig | None, scan_root: Path) -> str:
    """`; configuration pyproject.toml turns off 2 rules, ...` for the text summary; "" when it turned nothing off."""
    if applied is None or not applied.silences:
        return ""
    return f"; configuration {shown_path(applied, scan_root)} " + ", ".join(phrase for phrase, _ in changes(applied))


def notifications(applied: AppliedConfig | None, scan_root: Path) -> list[str]:
    """One message per change, with its details (SARIF's toolConfigurationNotifications)."""
    if applied is None:
        return []
    path = shown_path(applied, scan_root)
    return [f"configuration {path} {phrase}: {details}" for phrase, details in changes(applied)]
