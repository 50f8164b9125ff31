"""The configuration: `.mllint-sec.toml` or `mllint-sec.toml` (keys at the top level), or `[tool.mllint-sec]` in
pyproject.toml; found from the scanned path up to the repository root, validated strictly.

In each directory, nearest first, the first of `.mllint-sec.toml`, `mllint-sec.toml`, and a pyproject.toml holding
the table is used (Ruff's order for its own files): a standalone file is for repositories without a pyproject.toml
(many research repositories) and wins over a pyproject.toml beside it. `--config FILE` names one file (either kind);
`--isolated` uses none.

Keys: select, extend-select, ignore, exclude, artifact-allow, provenance-min-bytes, extend-exclude, per-file-ignores,
fail-on, file-timeout, contexts (globs that put paths in a code context), context-policy (what each context's findings
get), require-suppression-reason and forbid-blanket-suppression (what MLS002 asks of suppression comments). An unknown
key, a wrong type or an unknown rule is a `ConfigError` (exit code 2), never silently ignored.
Command-line flags override the file.

The configuration usually comes with the code it is about, so it is no more trusted than that
code: what it turns off is reported with the results (`AppliedConfig`), and `--isolated`
ignores it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core.bounded_read import NotRegular, TooLarge, read_head, read_limited
from mllint_sec.core.code_context import DEFAULT_POLICY, CodeContext, ContextPolicy
from mllint_sec.core.severity import Severity
from mllint_sec.core.wildmatch import Wildmatch, wildmatch
from mllint_sec.python.budget import DEFAULT_SECONDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECTION = "mllint-sec"
DEFAULT_FAIL_ON = Severity.LOW
DEFAULT_PROVENANCE_MIN_BYTES = 1024 * 1024  # test fixtures and samples are smaller
MAX_CONFIG_BYTES = 2 * 1024 * 1024  # as for a manifest: a larger pyproject.toml is not read


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
    contexts: dict[CodeContext, list[str]] = field(default_factory=dict)  # globs that override the path conventions
    context_policy: dict[CodeContext, ContextPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICY))
    require_suppression_reason: bool = False  # a suppression comment without `-- reason` is MLS002
    forbid_blanket_suppression: bool = False  # a bare `# mllint-sec: ignore` (every rule) is MLS002


@dataclass(frozen=True)
class AppliedConfig:
    """The configuration file a run used and what it turned off that could hide a finding.

    A scanned repository's own configuration can silence its scan (`exclude = ["*"]`), so the
    reports name the file and these settings. A field is empty (or None) when the file left
    that alone.
    """

    path: Path
    disabled_rules: tuple[str, ...]  # enabled by the defaults and the command line, turned off by the file
    exclude: tuple[str, ...]  # replaces the default excludes
    extend_exclude: tuple[str, ...]
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...]  # (pattern, the rule ids it turns off)
    fail_on: Severity | None  # raised above the default, and not overridden by the command line
    artifact_allow: tuple[str, ...]  # callables trusted inside pickled artifacts (no ART002)
    provenance_min_bytes: int | None  # raised above the default: smaller data files need no record (PROV001)
    # Globs into a context more lenient than library code (moving library code into `test` downgrades it).
    contexts: tuple[tuple[CodeContext, tuple[str, ...]], ...] = ()
    context_policy: tuple[tuple[CodeContext, ContextPolicy], ...] = ()  # policies more lenient than the default

    @property
    def silences(self) -> bool:
        return any((self.disabled_rules, self.exclude, self.extend_exclude, self.per_file_ignores, self.fail_on,
                    self.artifact_allow, self.provenance_min_bytes, self.contexts, self.context_policy))


def applied_config(config: Config, catalogue: Catalogue, disabled_rules: frozenset[str],
                   fail_on_given: bool) -> AppliedConfig | None:
    """What `config`'s file turned off in a run (`fail_on_given`: the command line set --fail-on); None without a
    file."""
    if config.path is None:
        return None
    per_file_ignores = tuple(
        (pattern, tuple(sorted(resolve_tokens(tokens, catalogue, f"per-file-ignores '{pattern}'"))))
        for pattern, tokens in config.per_file_ignores.items()
    )
    return AppliedConfig(
        path=config.path,
        disabled_rules=tuple(sorted(disabled_rules)),
        exclude=tuple(config.exclude),
        extend_exclude=tuple(config.extend_exclude),
        per_file_ignores=per_file_ignores,
        fail_on=config.fail_on if not fail_on_given and config.fail_on.rank > DEFAULT_FAIL_ON.rank else None,
        artifact_allow=tuple(config.artifact_allow),
        provenance_min_bytes=(config.provenance_min_bytes
                              if config.provenance_min_bytes > DEFAULT_PROVENANCE_MIN_BYTES else None),
        # Only globs into a context treated more leniently than library code can hide anything.
        contexts=tuple((context, tuple(config.contexts[context])) for context in CodeContext
                       if config.contexts.get(context) and config.context_policy[context].leniency
                       > config.context_policy[CodeContext.LIBRARY].leniency),
        context_policy=tuple((context, policy) for context, policy in config.context_policy.items()
                             if policy.leniency > DEFAULT_POLICY[context].leniency),
    )


_LIST_KEYS = {"select", "extend-select", "ignore", "exclude", "extend-exclude", "artifact-allow"}
_BOOL_KEYS = {"require-suppression-reason", "forbid-blanket-suppression"}
_KEYS = _LIST_KEYS | _BOOL_KEYS | {"per-file-ignores", "fail-on", "provenance-min-bytes", "file-timeout", "contexts",
                                   "context-policy"}


def _read(path: Path) -> dict[str, Any]:
    data = read_limited(path, MAX_CONFIG_BYTES)
    if isinstance(data, TooLarge):
        raise ConfigError(f"{path}: {data.size} bytes, over the {data.limit} a configuration file may have")
    if isinstance(data, NotRegular):
        raise ConfigError(f"{path}: a {data.kind}, not a configuration file")
    if not isinstance(data, bytes):
        raise ConfigError(f"{path}: cannot read: {data.reason}")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from exc


STANDALONE_NAMES = (f".{SECTION}.toml", f"{SECTION}.toml")  # in each directory, before pyproject.toml


def _section(path: Path, data: dict[str, Any], explicit: bool) -> dict[str, Any] | None:
    if path.name != "pyproject.toml" and (explicit or path.name in STANDALONE_NAMES):
        # A standalone file holds the keys at the top level; the pyproject.toml form would be taken for one
        # unknown key, so it is named.
        if "tool" in data:
            raise ConfigError(f"{path}: a standalone configuration file holds the keys at the top level, "
                              f"without [tool.{SECTION}]")
        return data
    tool = data.get("tool", {})
    if isinstance(tool, dict) and SECTION in tool:
        section = tool[SECTION]
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [tool.{SECTION}] must be a table")
        return section
    return None


def find_config(start: Path) -> Path | None:
    """The nearest configuration file (see the module's docstring), from `start` up to the repository root.

    The repository root is the nearest directory holding `.git` (a work tree's top, or a
    submodule's); outside any repository only `start` itself is looked in. A file above the
    repository belongs to someone else (an enclosing project, a shared /tmp) and must not
    decide what a scan of this one reports.
    """
    current = start.resolve()
    if current.is_file():
        current = current.parent
    chain = (current, *current.parents)
    top = next((index for index, directory in enumerate(chain) if os.path.lexists(directory / ".git")), 0)
    for directory in chain[:top + 1]:
        standalone = next((directory / name for name in STANDALONE_NAMES if (directory / name).is_file()), None)
        if standalone is not None:
            return standalone  # ours by its name: a broken one is a configuration error when loaded
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = _read(candidate)
        except ConfigError:
            # A broken pyproject.toml that holds our table is a configuration error; any
            # other is a project file the scan reports (MLS001) and goes past.
            head = read_head(candidate, MAX_CONFIG_BYTES)
            if isinstance(head, bytes) and f"tool.{SECTION}".encode() in head:
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
    where = str(path) if path.name != "pyproject.toml" else f"{path} [tool.{SECTION}]"
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
    for key in sorted(_BOOL_KEYS & set(section)):
        if not isinstance(section[key], bool):
            raise ConfigError(f"{where}: '{key}' must be true or false")
        setattr(config, key.replace("-", "_"), section[key])
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
    if "contexts" in section:
        config.contexts = _contexts(section["contexts"], where)
    if "context-policy" in section:
        config.context_policy.update(_context_policy(section["context-policy"], where))
    for key, patterns in (("exclude", config.exclude), ("extend-exclude", config.extend_exclude),
                          ("per-file-ignores", list(config.per_file_ignores)),
                          *((f"contexts.{context}", globs) for context, globs in config.contexts.items())):
        _check_patterns(patterns, f"{where}: '{key}'")
    for key, tokens in (("select", config.select), ("extend-select", config.extend_select), ("ignore", config.ignore)):
        resolve_tokens(tokens, catalogue, f"{where}: '{key}'")
    for pattern, tokens in config.per_file_ignores.items():
        resolve_tokens(tokens, catalogue, f"{where}: per-file-ignores '{pattern}'")
    _check_allow(config.artifact_allow, f"{where}: 'artifact-allow'")
    return config


def _context(name: object, where: str) -> CodeContext:
    if not isinstance(name, str) or name not in set(CodeContext):
        raise ConfigError(f"{where}: unknown context '{name}' (known: {', '.join(CodeContext)})")
    return CodeContext(name)


def _contexts(table: Any, where: str) -> dict[CodeContext, list[str]]:
    """`[tool.mllint-sec.contexts]`: context = [globs], the per-file-ignores pattern syntax."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: 'contexts' must be a table of context = [path patterns]")
    found = {}
    for name, globs in table.items():
        context = _context(name, f"{where}: 'contexts'")
        if not isinstance(globs, list) or not all(isinstance(glob, str) for glob in globs):
            raise ConfigError(f"{where}: 'contexts.{name}' must be a list of path patterns")
        found[context] = list(globs)
    return found


def _context_policy(table: Any, where: str) -> dict[CodeContext, ContextPolicy]:
    """`[tool.mllint-sec.context-policy]`: context = "report" | "downgrade" | "ignore"."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: 'context-policy' must be a table of context = policy")
    found = {}
    for name, policy in table.items():
        context = _context(name, f"{where}: 'context-policy'")
        if not isinstance(policy, str) or policy not in set(ContextPolicy):
            raise ConfigError(f"{where}: 'context-policy.{name}' must be one of {', '.join(ContextPolicy)}")
        found[context] = ContextPolicy(policy)
    return found


def _check_patterns(patterns: list[str], where: str) -> None:
    for pattern in patterns:
        try:
            _path_rule(pattern)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc


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


class PathPatterns:
    """Gitignore patterns (git's wildmatch, `core.wildmatch`), matched against POSIX paths relative to the config root.

    A pattern without '/' matches any path component (`notebooks`, `*.ipynb`);
    one with '/' is anchored at the root (`tests/**`, `src/legacy/*.py`); a match
    on a directory covers everything beneath it. As in .gitignore, the last
    pattern that matches decides, `!pattern` takes a path back, and nothing is
    taken back from under a directory that stays excluded.
    """

    def __init__(self, patterns: list[str]):
        self.rules = [rule for rule in map(_path_rule, patterns) if rule is not None]
        self.directories: dict[str, bool] = {}  # a directory's own verdict, shared by everything beneath it

    def match(self, relative: str) -> bool:
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            excluded = self.directories.get(directory)
            if excluded is None:
                excluded = self.directories[directory] = self._decides(parts[:depth])
            if excluded:
                return True
        return self._decides(parts)

    def _decides(self, parts: list[str]) -> bool:
        for negated, anchored, matcher in reversed(self.rules):
            if matcher.matches_parts(parts if anchored else parts[-1:]):
                return not negated
        return False


def _path_rule(pattern: str) -> tuple[bool, bool, Wildmatch] | None:
    """(negated, anchored, matcher) for one pattern; None for an empty one. ValueError when git could never match it."""
    text = pattern.strip().rstrip("/")
    negated = text.startswith("!")
    text = text.removeprefix("!")
    if not text:
        return None
    matcher = wildmatch(text.removeprefix("/"))
    if matcher is None:
        raise ValueError(
            f"'{pattern}' is not a valid pattern (an unclosed '[', a trailing '\\' or an unknown [:class:])"
        )
    return negated, "/" in text, matcher


def per_file_pattern(pattern: str) -> Callable[[str], bool]:
    """A per-file-ignores key as a test of a config-relative path; `!pattern` (as in Ruff) means the paths it does
    not match."""
    if pattern.strip().startswith("!"):
        matches = PathPatterns([pattern.strip().removeprefix("!")]).match
        return lambda relative: not matches(relative)
    return PathPatterns([pattern]).match
