"""Analyse one model or data artifact: bytes in, findings out, nothing unpickled.

The content scan is `artifacts.scan_artifact` (an opcode walk over every pickle the
file holds, whatever its container). This module turns its report into findings of
the rules that match on artifact verdicts (`[[match]] artifact = "dangerous" |
"unknown" | "unscanned"`): one finding per dangerous callable, naming it; one per
file listing the callables outside the allow-list; one per file that could not be
read completely, so that nothing unread passes for clean. Like Python analysis, it
is a pure function of (bytes, rules, allow-list), so results are cached by content.
"""

from __future__ import annotations

from mllint_sec.artifacts import ArtifactReport, Limits, scan_artifact
from mllint_sec.catalogue.model import ArtifactMatch, Catalogue, Rule
from mllint_sec.core.finding import Finding

LIMITS = Limits()
MAX_LISTED = 5  # callables named in one message; the rest are counted


def artifact_findings(
    path: str, data: bytes, catalogue: Catalogue, enabled: frozenset[str], allow: tuple[str, ...]
) -> list[Finding]:
    matches = _matches(catalogue, enabled)
    if not matches:
        return []
    report = scan_artifact(data, LIMITS, allow)
    if report.kind is None and not report.unscanned:
        return []  # not an artifact (a text file that happens to be named .p)
    found: list[Finding] = []
    for rule, match in matches:
        found.extend(_for_verdict(path, report, rule, match))
    return found


def too_large(path: str, size: int, catalogue: Catalogue, enabled: frozenset[str]) -> list[Finding]:
    """A file over the size limit is reported as not scanned, without reading it."""
    reason = f"size limit: {size} bytes is over the {LIMITS.max_file_bytes} byte limit"
    return _not_read(path, reason, "unscanned:size", catalogue, enabled)


def cannot_read(path: str, error: str, catalogue: Catalogue, enabled: frozenset[str]) -> list[Finding]:
    """A file the system would not read (`error`: its reason) is not scanned, like any unread part."""
    return _not_read(path, f"cannot read: {error}", "unscanned:unreadable", catalogue, enabled)


def _not_read(path: str, reason: str, key: str, catalogue: Catalogue, enabled: frozenset[str]) -> list[Finding]:
    return [
        _finding(rule, path, match.message.format(reason=reason, count=1, kind="file"), key)
        for rule, match in _matches(catalogue, enabled) if match.verdict == "unscanned"
    ]


def _matches(catalogue: Catalogue, enabled: frozenset[str]) -> list[tuple[Rule, ArtifactMatch]]:
    return [(rule, match) for rule in catalogue.rules.values() if rule.id in enabled for match in rule.artifacts]


def _for_verdict(path: str, report: ArtifactReport, rule: Rule, match: ArtifactMatch) -> list[Finding]:
    if match.verdict == "dangerous":
        return [
            _finding(
                rule,
                path,
                match.message.format(callable=c.qualname, where=_where(c.member, c.offset), kind=_kind(report)),
                f"dangerous:{c.member}:{c.qualname}",
            )
            for c in report.callables if c.verdict == "dangerous"
        ]
    if match.verdict == "unknown":
        unknown = sorted({c.qualname for c in report.callables if c.verdict == "unknown"})
        if not unknown:
            return []
        names = ", ".join(f"`{n}`" for n in unknown[:MAX_LISTED])
        more = f" and {len(unknown) - MAX_LISTED} more" if len(unknown) > MAX_LISTED else ""
        # {count} comes with its noun ("1 callable", "3 callables"), so the message agrees with it.
        message = match.message.format(count=_counted(len(unknown), "callable"), names=names + more, kind=_kind(report))
        return [_finding(rule, path, message, "unknown:" + ",".join(unknown))]
    if not report.unscanned:
        return []
    first = report.unscanned[0]
    reason = first.reason + (f" (in {first.member})" if first.member else "")
    more = f"; {_counted(len(report.unscanned) - 1, 'more part')} unread" if len(report.unscanned) > 1 else ""
    message = match.message.format(reason=reason + more, count=len(report.unscanned), kind=_kind(report))
    return [_finding(rule, path, message, "unscanned:" + first.reason.split(":", 1)[0])]


_KINDS = {
    "pickle": "pickle", "joblib": "joblib file", "joblib-compressed": "compressed joblib file",
    "torch-zip": "PyTorch checkpoint", "zip": "zip archive", "npz": "numpy archive", "npy": "numpy array file",
    "pickle-compressed": "compressed pickle", "compressed": "compressed file", "tar": "tar archive",
    "torch-tar": "PyTorch legacy tar checkpoint",
}


def _kind(report: ArtifactReport) -> str:
    return _KINDS.get(report.kind or "", "file")


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _where(member: str, offset: int) -> str:
    return f"{member} at byte {offset}" if member else f"byte {offset}"


def _finding(rule: Rule, path: str, message: str, key: str) -> Finding:
    # A binary file has no lines: the finding is the file, reported at 1:1 and marked so that
    # reports do not quote its bytes.
    return Finding(rule.id, path, 1, 1, 1, 1, message, "", rule.severity, statement_text=key, whole_file=True)
