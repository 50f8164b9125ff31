"""Lock files (uv.lock, poetry.lock, pdm.lock, Pipfile.lock, PEP 751 pylock.toml): what a resolver pinned."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

LOCK_FILES: tuple[str, ...] = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "pylock.toml", "pylock.*.toml")
_PYLOCK = re.compile(r"pylock\.([^.]+\.)?toml")  # PEP 751: pylock.toml or pylock.<name>.toml, name without dots


def _lock_name(name: str) -> str | None:
    """Which lock format `name` (a file name or path) holds: its file name, any pylock.*.toml being pylock.toml."""
    base = name.replace("\\", "/").rpartition("/")[2]
    if _PYLOCK.fullmatch(base):
        return "pylock.toml"
    return base if base in LOCK_FILES else None


def is_lock_file(name: str) -> bool:
    return _lock_name(name) is not None


def _locked(kind: str, data: Any) -> Iterator[tuple[Any, Any]]:
    """(name, version) of each locked package, unchecked."""
    if kind == "Pipfile.lock":
        for section in ("default", "develop"):
            packages = data.get(section)
            for name, entry in packages.items() if isinstance(packages, dict) else ():
                version = entry.get("version") if isinstance(entry, dict) else None
                if isinstance(version, str) and version.startswith("=="):
                    yield name, version[2:]
        return
    packages = data.get("packages" if kind == "pylock.toml" else "package")
    for entry in packages if isinstance(packages, list) else ():
        if isinstance(entry, dict):
            yield entry.get("name"), entry.get("version")


def _version_order(version: str) -> tuple[int, Any]:
    try:
        return 0, Version(version)
    except InvalidVersion:
        return 1, version


def parse_lock(name: str, text: str) -> dict[str, str]:
    """Canonical name -> locked version, for a file is_lock_file accepts; {} when it cannot be read.

    A lock may hold one package at several versions (uv forks its resolution by
    environment); the lowest is kept, as the one most likely to be affected by an advisory.
    """
    kind = _lock_name(name)
    if kind is None:
        return {}
    try:
        data = json.loads(text) if kind == "Pipfile.lock" else tomllib.loads(text)
    except (ValueError, RecursionError):  # TOMLDecodeError and JSONDecodeError are ValueErrors
        return {}
    if not isinstance(data, dict):
        return {}
    locked: dict[str, str] = {}
    for package, version in _locked(kind, data):
        if isinstance(package, str) and isinstance(version, str) and version:
            key = canonicalize_name(package)
            locked[key] = min(locked.get(key, version), version, key=_version_order)
    return locked
