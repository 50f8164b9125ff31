"""scan_artifact: what a model or data file would import and call if it were loaded.

The scan reads bytes only: nothing is unpickled, imported or executed. A report lists
every callable the artifact's pickles import, with a verdict, and every part that
could not be read completely. An artifact is clean only when both `unscanned` is empty
and no callable is dangerous or unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from mllint_sec.artifacts.callables import classify, parse_allow
from mllint_sec.artifacts.containers import Limits, unpack

__all__ = ["ArtifactReport", "ImportedCallable", "Limits", "Unscanned", "scan_artifact"]


@dataclass(frozen=True)
class ImportedCallable:
    module: str
    name: str  # may be a dotted attribute path; "" when a module object itself is imported
    verdict: str  # "dangerous", "unknown" or "allowed"
    member: str  # path inside the container ("outer.zip!inner/data.pkl"), "" for the file itself
    offset: int  # of the opcode, in the member's (decompressed) bytes
    opcode: str  # GLOBAL, INST, STACK_GLOBAL, or REDUCE for getattr(...) and __import__(...)

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}" if self.name else self.module


@dataclass(frozen=True)
class Unscanned:
    reason: str  # a stable prefix ("truncated pickle", "zip bomb: ratio", ...), then ": " and details
    member: str


@dataclass(frozen=True)
class ArtifactReport:
    # pickle, joblib, joblib-compressed, pickle-compressed, compressed, torch-zip, zip, npz, npy, tar, torch-tar,
    # lfs-pointer; None: not an artifact
    kind: str | None
    callables: tuple[ImportedCallable, ...]
    unscanned: tuple[Unscanned, ...]


def scan_artifact(
    data: bytes, limits: Limits = Limits(), extra_allow: tuple[str, ...] = ()  # noqa: B008 - Limits is frozen
) -> ArtifactReport:
    """Scan one file's bytes. extra_allow: the project's own allow-list entries ("sklearn.*", "pkg.Model")."""
    parse_allow(extra_allow)  # a malformed entry is the caller's error: ValueError now, not per callable
    contents = unpack(bytes(data), limits)
    first: dict[tuple[str, str, str], ImportedCallable] = {}
    for member, found in contents.imports:
        key = (member, found.module, found.name)
        if key not in first or found.offset < first[key].offset:
            verdict = classify(found.module, found.name, tuple(extra_allow))
            first[key] = ImportedCallable(found.module, found.name, verdict, member, found.offset, found.opcode)
    callables = sorted(first.values(), key=lambda c: (c.member, c.offset, c.module, c.name))
    unscanned = dict.fromkeys(Unscanned(reason, member) for reason, member in contents.unscanned)
    return ArtifactReport(contents.kind, tuple(callables), tuple(unscanned))
