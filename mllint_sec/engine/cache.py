"""Per-file results cached by content: (file bytes, tool version, catalogue, enabled rules) -> findings.

Entries are small JSON files (never pickle: a cache directory is just more
untrusted input) under `$XDG_CACHE_HOME/mllint-sec` (or `~/.cache/mllint-sec`),
sharded by the first two hex digits of the key. An entry that is unreadable,
malformed or written for another key is ignored and rewritten, never trusted.
Writes go to a temporary file and are renamed into place, so concurrent runs
never see half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from mllint_sec import __version__
from mllint_sec.core.finding import Finding

FORMAT = 1
_FIELDS = ("rule_id", "line", "column", "end_line", "end_column", "message", "snippet", "severity",
           "statement_text", "suppressed", "suppression_reason")


def default_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mllint-sec"


def catalogue_digest(rule_paths: list[str]) -> str:
    """Changes whenever a rule file or data table changes (the catalogue is part of every result)."""
    digest = hashlib.sha256()
    for path in sorted(rule_paths):
        digest.update(path.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, directory: Path, catalogue_key: str):
        self.directory = directory
        self.salt = f"{FORMAT}\0{__version__}\0{catalogue_key}"

    def key(self, data: bytes, rules: frozenset[str]) -> str:
        digest = hashlib.sha256(self.salt.encode())
        digest.update("\0".join(sorted(rules)).encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str, path: str) -> list[Finding] | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
            if entry.get("key") != key or entry.get("format") != FORMAT:
                return None
            findings = []
            for item in entry["findings"]:
                values = {name: item[name] for name in _FIELDS}
                if not all(isinstance(values[n], int) for n in ("line", "column", "end_line", "end_column")):
                    return None
                extra = item.get("extra", {})
                if not isinstance(extra, dict):
                    return None
                findings.append(Finding(path=path, extra=extra, **values))
            return findings
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing, corrupt or foreign: recompute and overwrite

    def put(self, key: str, findings: list[Finding]) -> None:
        entry = {
            "format": FORMAT,
            "key": key,
            "findings": [
                {**{name: getattr(f, name) for name in _FIELDS}, "extra": f.extra}
                for f in findings
            ],
        }
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(entry, stream, separators=(",", ":"))
            os.replace(temporary, target)
        except OSError:
            pass  # a read-only or full cache directory only costs speed
