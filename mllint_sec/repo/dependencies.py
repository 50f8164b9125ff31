"""What the repository declares about its dependencies, and the findings that follow from it.

Manifests (requirements files, pyproject.toml, setup.cfg) and lock files are read once per
run by `Declarations`. Two kinds of rules use them:

- dependency rules (`[[match]] dependencies = [...]`, SUP006) report each requirement on a
  listed package that no `==` pin, constraints file or lock file fixes, at its line;
- advisory rules (`[[advisory]]` entries, SUP007) keep a Python finding only when some
  version the project allows lies in an advisory's affected range.

Reading is cheap (no parser beyond TOML and packaging), so manifests are not cached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from mllint_sec.catalogue.model import Advisory, Catalogue, Rule
from mllint_sec.core.bounded_read import read_limited
from mllint_sec.core.engine_rules import PARSE_ERROR
from mllint_sec.core.finding import Finding, normalise
from mllint_sec.core.suppressions import apply_line_comments
from mllint_sec.repo.manifests import manifest_kind, parse_manifest
from mllint_sec.repo.manifests.lock_files import is_lock_file, parse_lock
from mllint_sec.repo.manifests.manifest import NEWLINE, Dependency, Manifest, Problem
from mllint_sec.repo.manifests.pinning import is_pinned
from mllint_sec.repo.manifests.requirements_txt import parse_requirements
from mllint_sec.repo.manifests.version_ranges import allows_any

MAX_MANIFEST_BYTES = 2 * 1024 * 1024  # a requirements file larger than this is not a manifest


@dataclass
class Declared:
    """One manifest of the repository, parsed."""

    display: str  # path relative to the scan root (POSIX)
    path: Path
    manifest: Manifest
    lines: list[str]


@dataclass
class Declarations:
    """Every manifest and lock file of the repository, by display path."""

    manifests: dict[str, Declared] = field(default_factory=dict)
    locked: dict[str, dict[str, str]] = field(default_factory=dict)  # lock display path -> {package: version}
    problems: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, files: list[tuple[str, Path]]) -> Declarations:
        """`files`: (display path, absolute path) of the repository's files; others are ignored."""
        found = cls()
        for display, path in files:
            name = PurePosixPath(display).name
            kind = manifest_kind(display)
            if kind is None and not is_lock_file(name):
                continue
            text = _read_text(path)
            if text is None:
                found.problems.append(f"{display}: cannot read")
                continue
            if kind is not None:
                found.manifests[display] = Declared(display, path, parse_manifest(kind, text), _lines(text))
            else:
                found.locked[display] = parse_lock(name, text)
        found._read_includes(dict(files))
        return found

    def _read_includes(self, paths: dict[str, Path]) -> None:
        """Requirements files reached only through `-r` / `-c` (`-r base.in`), transitively."""
        pending = list(self.manifests)
        while pending:
            declared = self.manifests[pending.pop()]
            for written, _ in (*declared.manifest.includes, *declared.manifest.constraints):
                target = _join(declared.display, written)
                if target in self.manifests or target not in paths or declared.manifest.kind != "requirements":
                    continue
                text = _read_text(paths[target])
                if text is not None:
                    parsed = parse_requirements(text)
                    self.manifests[target] = Declared(target, paths[target], parsed, _lines(text))
                    pending.append(target)

    def included_by(self, display: str) -> list[str]:
        """The requirements files `display` includes with `-r`, transitively."""
        seen: list[str] = []
        pending = [display]
        while pending:
            declared = self.manifests.get(pending.pop())
            if declared is None:
                continue
            for written, _ in declared.manifest.includes:
                target = _join(declared.display, written)
                if target in self.manifests and target not in seen and target != display:
                    seen.append(target)
                    pending.append(target)
        return seen

    def lock_covering(self, display: str) -> str | None:
        """A lock file in the manifest's directory or above it, or the manifest itself when it is one."""
        declared = self.manifests.get(display)
        if declared is not None and declared.manifest.is_lock:
            return display
        directory = PurePosixPath(display).parent
        for lock in sorted(self.locked):
            lock_dir = PurePosixPath(lock).parent
            if lock_dir == directory or lock_dir in directory.parents or str(lock_dir) == ".":
                return lock
        return None

    def pinned_by_constraints(self, display: str) -> set[str]:
        """Packages the manifest's `-c` files pin exactly."""
        declared = self.manifests.get(display)
        if declared is None:
            return set()
        pinned: set[str] = set()
        for written, _ in declared.manifest.constraints:
            target = _join(display, written)
            constraint = self.manifests.get(target)
            if constraint is not None:
                pinned |= {d.name for d in constraint.manifest.dependencies if is_pinned(d)}
        return pinned

    def allowed(self, package: str) -> list[tuple[str, str]]:
        """(specifier, where) pairs saying which versions of `package` the project allows.

        Lock files win: they say exactly what installs. Without one, every requirement on the
        package in every manifest counts; an empty list means the project does not declare it.
        """
        locked = [
            (f"=={versions[package]}", lock) for lock, versions in sorted(self.locked.items()) if package in versions
        ]
        if locked:
            return locked
        return [
            (dependency.specifier, f"{display}:{dependency.line}")
            for display, declared in sorted(self.manifests.items())
            for dependency in declared.manifest.dependencies
            if dependency.name == package and dependency.url is None
        ]


def _lines(text: str) -> list[str]:
    """Lines as the manifest parsers count them: only \\n, \\r\\n and \\r end one (not form feeds)."""
    return NEWLINE.split(text)


def _read_text(path: Path) -> str | None:
    data = read_limited(path, MAX_MANIFEST_BYTES)
    return data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else None


def _join(display: str, written: str) -> str:
    """A path written in a manifest (`-c ../constraints.txt`), as a display path."""
    joined = os.path.normpath(str(PurePosixPath(display).parent / written))
    return PurePosixPath(joined.replace(os.sep, "/")).as_posix()


# --- dependency rules --------------------------------------------------------------------


def dependency_findings(
    display: str, declarations: Declarations, catalogue: Catalogue, enabled: frozenset[str]
) -> list[Finding]:
    """Findings for one manifest: unpinned listed packages, malformed lines (MLS001), suppressions applied."""
    declared = declarations.manifests.get(display)
    if declared is None:
        return []
    findings: list[Finding] = []
    if PARSE_ERROR in enabled:
        parse_error = catalogue.rules[PARSE_ERROR]
        findings.extend(_problem(declared, problem, parse_error) for problem in declared.manifest.problems)
    rules = [r for r in catalogue.rules.values() if r.id in enabled and r.dependencies]
    if rules and declarations.lock_covering(display) is None:
        constrained = declarations.pinned_by_constraints(display)
        for dependency in declared.manifest.dependencies:
            if _one_version(dependency) or dependency.name in constrained:
                continue
            findings.extend(
                _unpinned(declared, dependency, rule, match.message)
                for rule in rules
                for match in rule.dependencies
                if dependency.name in match.packages
            )
    return apply_line_comments(findings, declared.lines)


def _one_version(dependency: Dependency) -> bool:
    """Pinned, or a direct link to one release's wheel or sdist (its file name carries the version)."""
    if is_pinned(dependency):
        return True
    if dependency.url is None:
        return False
    name = unquote(urlsplit(dependency.url).path).rsplit("/", 1)[-1]
    try:
        if name.endswith(".whl"):
            parse_wheel_filename(name)
            return True
        if name.endswith((".tar.gz", ".zip")):
            parse_sdist_filename(name)
            return True
    except (InvalidWheelFilename, InvalidSdistFilename):
        return False
    return False


_ADVICE = {
    "requirements": "pin it with `==` (ideally with `--hash`) or commit a lock file",
    "pyproject": "keep the range here and commit a lock file (uv.lock, poetry.lock, pdm.lock) "
                 "for the environments you run",
    "setup.cfg": "keep the range here and pin the environments you run with a lock file or a hashed requirements file",
}


def _unpinned(declared: Declared, dependency: Dependency, rule: Rule, template: str) -> Finding:
    requirement = dependency.text.strip() or dependency.raw_name
    allowed = f"`{requirement}`" if dependency.specifier or dependency.url else "any version"
    message = template.format(
        package=dependency.raw_name, requirement=allowed, manifest=declared.display,
        advice=_ADVICE.get(declared.manifest.kind, _ADVICE["requirements"]),
    )
    return Finding(
        rule.id, declared.display, dependency.line, dependency.column, dependency.line, dependency.end_column,
        message, _line(declared.lines, dependency.line), rule.severity, statement_text=normalise(requirement),
    )


def _problem(declared: Declared, problem: Problem, rule: Rule) -> Finding:
    snippet = _line(declared.lines, problem.line)
    return Finding(
        rule.id, declared.display, problem.line, problem.column, problem.line, max(problem.column, len(snippet) + 1),
        problem.message, snippet, rule.severity, statement_text="malformed-requirement:" + normalise(snippet),
    )


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1].rstrip() if 0 < number <= len(lines) else ""


# --- advisory rules ----------------------------------------------------------------------


def settle_advisory(finding: Finding, package: str, rule: Rule, declarations: Declarations) -> Finding | None:
    """Keep a finding whose call relies on a safe form of `package` only if the project allows an affected version."""
    allowed = declarations.allowed(package)
    if not allowed:
        return None  # not declared: nothing says which version runs
    hits: list[tuple[Advisory, str, str]] = []
    for advisory in rule.advisories:
        if advisory.package != package:
            continue
        for specifier, where in allowed:
            if allows_any(specifier, advisory.affected):
                hits.append((advisory, specifier, where))
                break
    if not hits:
        return None
    ids = ", ".join(a.id for a, _, _ in hits)
    fixed = max((a.fixed for a, _, _ in hits), key=_version_key)
    _, specifier, where = hits[0]
    declared = f"{package}{specifier}" if specifier else f"any {package} version"
    finding.message += f" ({ids}); {declared} is allowed by {where}: require {package}>={fixed}"
    return finding


def _version_key(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")
