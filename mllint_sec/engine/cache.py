"""Per-file results cached by content: (file bytes, tool version, catalogue, enabled rules) -> FileResult.

Entries are small JSON files (never pickle: a cache directory is just more
untrusted input) under `$XDG_CACHE_HOME/mllint-sec` (or `~/.cache/mllint-sec`),
sharded by the first two hex digits of the key. An entry holds the file's findings
and its flow summary; one that is unreadable or malformed is ignored and rewritten,
never trusted. The format number is part of every key, so an entry of another format
is never looked up. Writes go to a temporary file and are renamed into place, so
concurrent runs never see half an entry.

Whoever can write the cache directory (a CI cache restored from another job, a shared
or world-writable directory) could otherwise hide findings: `{"findings": []}` under a
file's key reads as "clean". So each entry carries an HMAC-SHA256 of its key and its JSON
text under a per-user secret kept outside the cache directory
(`$XDG_CONFIG_HOME/mllint-sec/cache-key`, else `~/.config/mllint-sec/cache-key`: 32 random
bytes, created once, mode 0600). The MAC is checked before the JSON is parsed; an entry
without a valid one is a miss: the file is analysed again and the entry overwritten. A
cache carried to another machine without the key therefore only misses. When the key can
be neither read nor created, the run goes without the cache.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mllint_sec import __version__
from mllint_sec.core.bounded_read import read_limited
from mllint_sec.core.data_use import DataUse
from mllint_sec.core.file_result import FileResult
from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.flow_summary import CarriedData, FlowSummary, OutCall, TaintedReturn
from mllint_sec.core.input_level import InputLevel
from mllint_sec.core.loader_wrapper import LoaderWrapper
from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.core.origin import Origin, OriginKind
from mllint_sec.core.severity import Severity
from mllint_sec.core.unsettled import Unsettled

# Part of every key: entries of another format are never even looked up.
# 2: typed findings (whole_file, cell, flow, unsettled) and the flow summary beside them.
# 3: a MAC line before the JSON.
# 4: a finding's origin, guard and related locations.
# 5: the file's loader wrappers (core/loader_wrapper.py) beside its findings.
# 6: the names the file's imports bring in (python/imports.py).
FORMAT = 6
_RUN_FIELDS = frozenset({"path", "fingerprint", "context"})
SECRET_BYTES = 32
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # far above any real entry; a larger file is not read


def default_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mllint-sec"


def default_secret_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mllint-sec" / "cache-key"


def user_secret(path: Path | None = None) -> bytes | None:
    """The per-user secret that authenticates cache entries, created on first use; None when it
    can be neither read nor created (or is malformed: delete the file to have a new one made)."""
    path = path or default_secret_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    try:
        # O_EXCL: of two runs creating it at once, one writes it and the other reads that one.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        existing = read_limited(path, SECRET_BYTES)
        return existing if isinstance(existing, bytes) and len(existing) == SECRET_BYTES else None
    except OSError:
        return None
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        written = os.write(descriptor, secret)
    except OSError:
        written = 0
    finally:
        os.close(descriptor)
    if written != SECRET_BYTES:  # a full disk: leave no malformed key behind
        path.unlink(missing_ok=True)
        return None
    return secret


def catalogue_digest(rule_paths: list[str], root: Path | None = None) -> str:
    """Changes whenever a rule file or data table changes (the catalogue is part of every result). With
    `root`, file names count relative to it, so the digest does not depend on where the catalogue is installed."""
    digest = hashlib.sha256()
    for path in sorted(rule_paths):
        digest.update((Path(os.path.relpath(path, root)).as_posix() if root is not None else path).encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class ResultCache:
    def __init__(self, directory: Path, catalogue_key: str, secret: bytes):
        self.directory = directory
        self.salt = f"{FORMAT}\0{__version__}\0{catalogue_key}"
        self.secret = secret

    def key(self, data: bytes, rules: frozenset[str]) -> str:
        digest = hashlib.sha256(self.salt.encode())
        digest.update("\0".join(sorted(rules)).encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _mac(self, key: str, text: bytes) -> bytes:
        """Binds the text to its key too: an authentic entry copied under another file's key is no hit."""
        return hmac.new(self.secret, key.encode() + b"\0" + text, hashlib.sha256).hexdigest().encode()

    def get(self, key: str, path: str) -> FileResult | None:
        """The result stored for `key`, its findings placed at `path` (the same bytes may live anywhere)."""
        stored = read_limited(self._path(key), MAX_ENTRY_BYTES)
        if not isinstance(stored, bytes):
            return None
        mac, _, text = stored.partition(b"\n")
        if not hmac.compare_digest(mac, self._mac(key, text)):
            return None  # not written with this user's secret: recompute and overwrite
        try:
            entry = json.loads(text)
            findings = [_finding(item, path) for item in entry["findings"]]
            summary = entry["summary"]
            wrappers = tuple(_wrapper(item) for item in _checked(entry["wrappers"], list))
            return FileResult(findings, None if summary is None else _summary(summary), wrappers=wrappers,
                              imports=_strings(entry["imports"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # written by a faulty version: recompute and overwrite

    def put(self, key: str, result: FileResult) -> None:
        entry = {
            # The path, the fingerprint and the context are the run's, not the content's.
            "findings": [{k: v for k, v in asdict(f).items() if k not in _RUN_FIELDS} for f in result.findings],
            "summary": None if result.summary is None else asdict(result.summary),
            "wrappers": [asdict(wrapper) for wrapper in result.wrappers],
            "imports": list(result.imports),
        }
        text = json.dumps(entry, separators=(",", ":")).encode("ascii")
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(self._mac(key, text) + b"\n" + text)
            os.replace(temporary, target)
        except OSError:
            pass  # a read-only or full cache directory only costs speed


# --- reading an entry back, checking every type (TypeError or ValueError: not a valid entry) ---


def _checked(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else _checked(value, str)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(_checked(item, str) for item in _checked(value, list))


def _argument(value: Any) -> int | str:
    return value if isinstance(value, str) else _checked(value, int)


def _finding(item: dict[str, Any], path: str) -> Finding:
    cell, unsettled = item["cell"], item["unsettled"]
    return Finding(
        rule_id=_checked(item["rule_id"], str),
        path=path,
        line=_checked(item["line"], int),
        column=_checked(item["column"], int),
        end_line=_checked(item["end_line"], int),
        end_column=_checked(item["end_column"], int),
        message=_checked(item["message"], str),
        snippet=_checked(item["snippet"], str),
        severity=Severity(item["severity"]),
        statement_text=_checked(item["statement_text"], str),
        suppressed=_checked(item["suppressed"], bool),
        suppression_reason=_optional_str(item["suppression_reason"]),
        whole_file=_checked(item["whole_file"], bool),
        cell=None if cell is None else NotebookCell(_checked(cell["cell"], int), _checked(cell["line"], int),
                                                    _checked(cell["column"], int)),
        flow=_steps(item["flow"]),
        unsettled=None if unsettled is None else Unsettled(_strings(unsettled["hub_ids"]),
                                                          _optional_str(unsettled["advisory_package"])),
        origin=_origin(item["origin"]),
        guard=_optional_str(item["guard"]),
        related=_steps(item["related"]),
    )


def _origin(item: Any) -> Origin | None:
    if item is None:
        return None
    step = item["step"]
    return Origin(OriginKind(item["kind"]), _checked(item["description"], str),
                  None if step is None else _steps([step])[0], _strings(item["callees"]))


def _steps(value: Any) -> tuple[FlowStep, ...]:
    return tuple(
        FlowStep(_checked(step["line"], int), _checked(step["column"], int), _checked(step["end_line"], int),
                 _checked(step["end_column"], int), _checked(step["message"], str), _optional_str(step["path"]))
        for step in _checked(value, list)
    )


def _summary(item: dict[str, Any]) -> FlowSummary:
    return FlowSummary(
        out_calls=tuple(
            OutCall(_strings(call["callee"]), _argument(call["argument"]), _carried(call["data"]))
            for call in _checked(item["out_calls"], list)
        ),
        returns=tuple(
            TaintedReturn(_checked(entry["function"], str), _carried(entry["data"]))
            for entry in _checked(item["returns"], list)
        ),
        fed=_strings(item["fed"]),
    )


def _wrapper(item: dict[str, Any]) -> LoaderWrapper:
    position, name = item["loaded_position"], item["loaded_name"]
    return LoaderWrapper(
        _checked(item["function"], str), _checked(item["rule_id"], str), _checked(item["callee"], str),
        _checked(item["line"], int), _checked(item["column"], int),
        None if position is None else _checked(position, int), _optional_str(name), _strings(item["through"]),
    )


def _carried(item: dict[str, Any]) -> CarriedData:
    return CarriedData(
        use=DataUse(item["use"]),
        level=InputLevel(item["level"]),
        why=_checked(item["why"], str),
        scalar=_checked(item["scalar"], bool),
        source=_checked(item["source"], str),
        steps=_steps(item["steps"]),
    )
