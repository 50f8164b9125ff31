"""Classify a callable a pickle imports: dangerous (deny-list), allowed (allow-list), or unknown.

Both lists are data, in rules/pickle-callables.toml (its header says how entries match). The
deny-list is grouped by capability (command execution, code execution, import machinery, file
writes, network, ...) and every entry carries the reason it is listed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from mllint_sec.catalogue.loading import catalogue_dir

DANGEROUS = "dangerous"
UNKNOWN = "unknown"
ALLOWED = "allowed"

_DENY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\*))*$")
_ALLOW_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\.\*)?$")


@dataclass(frozen=True)
class DenyEntry:
    entry: str  # as written: "os", "builtins.eval", "pathlib.Path.*"
    capability: str  # the table it is listed in: "command-execution", "file-write", ...
    why: str


@dataclass(frozen=True)
class CallableLists:
    deny: tuple[tuple[str, ...], ...]  # segments; "*" matches any one segment
    allow: frozenset[str]  # exact qualified names
    allow_packages: tuple[str, ...]  # from "pkg.*": module-level names of pkg and its submodules
    reasons: tuple[DenyEntry, ...] = ()  # the deny entries with their capability and reason, in file order

    @property
    def deny_roots(self) -> frozenset[str]:
        """The first segments of the deny entries: the modules a private alias can stand for."""
        return frozenset(entry[0] for entry in self.deny)


def parse_allow(entries: Iterable[object]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Split allow entries (from TOML or the command line: checked here) into exact names and
    packages; ValueError on a malformed entry."""
    exact: set[str] = set()
    packages: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or not _ALLOW_RE.match(entry):
            raise ValueError(f"malformed allow-list entry {entry!r}: use 'module.name' or 'package.*'")
        if entry.endswith(".*"):
            packages.append(entry[:-2])
        else:
            exact.add(entry)
    return frozenset(exact), tuple(packages)


def load_lists(path: Path) -> CallableLists:
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    reasons: list[DenyEntry] = []
    capabilities = table.get("deny", {})
    if not isinstance(capabilities, dict):
        raise ValueError(f"{path}: [deny] must hold one table per capability")
    for capability, entries in capabilities.items():
        if not isinstance(entries, dict) or not entries:
            raise ValueError(f"{path}: [deny.{capability}] must map entries to the reason each is listed")
        for entry, why in entries.items():
            if not _DENY_RE.match(entry):
                raise ValueError(f"{path}: malformed deny-list entry {entry!r}")
            if not isinstance(why, str) or not why.strip():
                raise ValueError(f"{path}: deny-list entry {entry!r} does not say why it is listed")
            reasons.append(DenyEntry(entry, capability, why))
    allow, packages = parse_allow(table.get("allow", {}).get("entries", []))
    return CallableLists(tuple(tuple(r.entry.split(".")) for r in reasons), allow, packages, tuple(reasons))


@lru_cache(maxsize=1)
def default_lists() -> CallableLists:
    return load_lists(catalogue_dir() / "pickle-callables.toml")


def _denied(segments: list[str], deny: tuple[tuple[str, ...], ...]) -> bool:
    return any(
        # zip stops at the entry's end: an entry matches a name's leading segments.
        len(segments) >= len(entry) and all(e in ("*", s) for e, s in zip(entry, segments, strict=False))
        for entry in deny
    )


def _through_aliases(segments: list[str], first_attr: int, roots: frozenset[str]) -> list[list[str]]:
    """The attribute-path tails that start at a private alias of a deny-listed module, resolved to it.

    Modules keep private aliases of the modules they import (tempfile's `import os as _os`,
    random's `_sys`): the attribute path `tempfile._os.system` loads os.system. Only attributes:
    a module path names a real module, and a package's own `_pickle` submodule
    (numpy.random._pickle) is not the standard library's."""
    return [
        [segment[1:], *segments[i + 1:]]
        for i, segment in enumerate(segments[first_attr:], first_attr)
        if segment.startswith("_") and not segment.startswith("__") and segment[1:] in roots
    ]


def _in_package(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@lru_cache(maxsize=4096)
def classify(module: str, name: str, extra_allow: tuple[str, ...] = ()) -> str:
    """The verdict for `module.name` (name may be a dotted attribute path, or "" for the module itself).

    `extra_allow` adds project entries in the allow-list syntax ("sklearn.*", "mypkg.Model").
    """
    lists = default_lists()
    attrs = name.split(".") if name else []
    segments = module.split(".") + attrs
    if _denied(segments, lists.deny):
        return DANGEROUS
    # An attribute path can walk into another module: torch.os.system is os.system.
    first_attr = len(segments) - len(attrs)
    if any(_denied(segments[i:], lists.deny) for i in range(first_attr, len(segments) - 1)):
        return DANGEROUS
    if any(_denied(tail, lists.deny) for tail in _through_aliases(segments, first_attr, lists.deny_roots)):
        return DANGEROUS
    extra_exact, extra_packages = parse_allow(extra_allow)
    qualified = ".".join(segments)
    if qualified in lists.allow or qualified in extra_exact:
        return ALLOWED
    # Through dunders an attribute reaches anything: module.__builtins__, Class.__init__.__globals__.
    if any(a.startswith("__") and a.endswith("__") for a in attrs):
        return DANGEROUS
    if len(attrs) <= 1 and _in_package(module, lists.allow_packages + extra_packages):
        return ALLOWED
    return UNKNOWN
