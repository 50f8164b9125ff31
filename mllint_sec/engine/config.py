"""`[tool.mllint-sec]` in pyproject.toml: found from the scanned path upward, validated strictly.

Keys: select, extend-select, ignore, exclude, artifact-allow, provenance-min-bytes, extend-exclude, per-file-ignores, fail-on,
file-timeout. An
unknown key, a wrong type or an unknown rule is a `ConfigError` (exit code 2),
never silently ignored. Command-line flags override the file.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core.severity import Severity
from mllint_sec.python.budget import DEFAULT_SECONDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECTION = "mllint-sec"
DEFAULT_FAIL_ON = Severity.LOW
DEFAULT_PROVENANCE_MIN_BYTES = 1024 * 1024  # test fixtures and samples are smaller


class ConfigError(Exception):
    """A configuration or usage problem, reported in one line with exit code 2."""


@dataclass
class Config:
    path: Path | None = None  # the file the settings came from
    root: Path | None = None  # its directory: patterns are relative to it
    select: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)  # added to select (or the defaults): opt-in rules
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    artifact_allow: list[str] = field(default_factory=list)  # callables trusted in pickled artifacts (ART002)
    provenance_min_bytes: int = DEFAULT_PROVENANCE_MIN_BYTES  # smaller data files need no provenance record (PROV001)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    fail_on: Severity = DEFAULT_FAIL_ON
    file_timeout: float = DEFAULT_SECONDS  # a file's analysis may take this long, then it is MLS001 (0: no limit)


_LIST_KEYS = {"select", "extend-select", "ignore", "exclude", "extend-exclude", "artifact-allow"}
_KEYS = _LIST_KEYS | {"per-file-ignores", "fail-on", "provenance-min-bytes", "file-timeout"}


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _section(path: Path, data: dict[str, Any], explicit: bool) -> dict[str, Any] | None:
    tool = data.get("tool", {})
    if isinstance(tool, dict) and SECTION in tool:
        section = tool[SECTION]
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
        return section
    if explicit and path.name != "pyproject.toml":
        return data  # a standalone mllint-sec.toml holds the keys at top level
    return None


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.mllint-sec] table, from `start` upward."""
    current = start.resolve()
    if current.is_file():
        current = current.parent
    for directory in (current, *current.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = _read(candidate)
        except ConfigError:
            # A broken pyproject.toml that holds our table is a configuration error; any
            # other is a project file the scan reports (MLS001) and goes past.
            if f"tool.{SECTION}" in candidate.read_text(encoding="utf-8", errors="replace"):
                raise
            continue
        if _section(candidate, data, explicit=False) is not None:
            return candidate
    return None


def load_config(path: Path | None, catalogue: Catalogue, explicit: bool = False) -> Config:
    if path is None:
        return Config()
    section = _section(path, _read(path), explicit)
    if section is None:
        if explicit:
            raise ConfigError(f"{path}: no [tool.{SECTION}] table")
        return Config()
    where = f"{path} [tool.{SECTION}]"
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})")
    config = Config(path=path, root=path.parent)
    for key in _LIST_KEYS:
        if key in section:
            value = section[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: '{key}' must be a list of strings")
            setattr(config, key.replace("-", "_"), list(value))
    if "provenance-min-bytes" in section:
        value = section["provenance-min-bytes"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{where}: 'provenance-min-bytes' must be a non-negative integer")
        config.provenance_min_bytes = value
    if "file-timeout" in section:
        value = section["file-timeout"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < float("inf"):
            raise ConfigError(f"{where}: 'file-timeout' must be a number of seconds (0: no limit)")
        config.file_timeout = float(value)
    if "fail-on" in section:
        config.fail_on = check_severity(section["fail-on"], f"{where}: 'fail-on'")
    if "per-file-ignores" in section:
        table = section["per-file-ignores"]
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: 'per-file-ignores' must be a table of pattern = [rules]")
        for pattern, rules in table.items():
            if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
                raise ConfigError(f"{where}: per-file-ignores '{pattern}' must be a list of rule ids")
            config.per_file_ignores[pattern] = list(rules)
    for key, tokens in (("select", config.select), ("extend-select", config.extend_select), ("ignore", config.ignore)):
        resolve_tokens(tokens, catalogue, f"{where}: '{key}'")
    for pattern, tokens in config.per_file_ignores.items():
        resolve_tokens(tokens, catalogue, f"{where}: per-file-ignores '{pattern}'")
    _check_allow(config.artifact_allow, f"{where}: 'artifact-allow'")
    return config


def _check_allow(entries: list[str], where: str) -> None:
    from mllint_sec.artifacts.callables import parse_allow

    try:
        parse_allow(tuple(entries))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def check_severity(value: Any, where: str) -> Severity:
    if not isinstance(value, str) or value.lower() not in set(Severity):
        raise ConfigError(f"{where} must be one of {', '.join(Severity)}")
    return Severity(value.lower())


def resolve_tokens(tokens: list[str], catalogue: Catalogue, where: str) -> set[str]:
    """Rule ids named by ids, id prefixes, family names or rule names; unknown tokens are errors."""
    found: set[str] = set()
    for token in tokens:
        ids = catalogue.select(token.strip())
        if not ids:
            raise ConfigError(f"{where}: '{token}' matches no rule (see `mllint-sec rules`)")
        found.update(ids)
    return found


@functools.lru_cache(maxsize=512)
def _glob(pattern: str) -> re.Pattern[str]:
    """Gitignore-style glob: `*` and `?` stay within one path segment, `**` spans segments."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
        i += 1
    return re.compile("".join(out) + r"\Z")


class PathPatterns:
    """Gitignore-flavoured patterns, compiled once, matched against POSIX paths relative to the config root.

    A pattern without '/' matches any path component (`notebooks`, `*.ipynb`);
    one with '/' is anchored at the root (`tests/**`, `src/legacy/*.py`); a match
    on a directory covers everything beneath it.
    """

    def __init__(self, patterns: list[str]):
        cleaned = [p.strip().rstrip("/") for p in patterns]
        self.anywhere = [_glob(p) for p in cleaned if p and "/" not in p]
        self.anchored = [_glob(p.lstrip("/")) for p in cleaned if "/" in p]

    def match(self, relative: str) -> bool:
        parts = relative.split("/")
        if any(regex.match(part) for regex in self.anywhere for part in parts):
            return True
        if self.anchored:
            prefixes = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
            return any(regex.match(prefix) for regex in self.anchored for prefix in prefixes)
        return False
