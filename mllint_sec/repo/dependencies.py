"""What the repository declares about its dependencies, and the findings that follow from it.

Manifests (requirements files, pyproject.toml, setup.cfg, setup.py, conda environment files)
and lock files are read once per run by `Declarations`. Two kinds of rules use them:

- dependency rules (`[[match]] dependencies = [...]`, SUP006) report, once per manifest, the
  requirements on listed packages that no `==` pin, constraints file or lock file fixes: at
  the first one's line, with every one of them as a related location;
- advisory rules (`[[advisory]]` entries, SUP007) keep a Python finding only when some
  version the file's project allows lies in an advisory's affected range.

A file's project is the nearest directory, from the file's own up to the scan root, that
holds a manifest or a lock file (a `requirements/` folder's files count for the directory
above it): library code is governed by the root's `setup.py`, an example sub-project by its
own `requirements.txt`. The nearest such project that declares the package decides; when no
directory above the file holds one, every manifest of the repository counts.

Reading is cheap (a setup.py is parsed once, the rest needs TOML, YAML and packaging), so
manifests are not cached.
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
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.severity import Severity
from mllint_sec.core.suppressions import apply_line_comments
from mllint_sec.repo.manifests import manifest_kind, parse_manifest
from mllint_sec.repo.manifests.lock_files import is_lock_file, parse_lock
from mllint_sec.repo.manifests.manifest import NEWLINE, Dependency, Manifest, Problem
from mllint_sec.repo.manifests.pinning import is_pinned, is_series_pin
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
    _by_directory: dict[PurePosixPath, tuple[list[str], list[str]]] | None = field(default=None, repr=False)

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
        """Requirements files reached only through `-r` / `-c` (`-r base.in`, a conda file's pip `-r`), transitively."""
        pending = list(self.manifests)
        while pending:
            declared = self.manifests[pending.pop()]
            for written, _ in (*declared.manifest.includes, *declared.manifest.constraints):
                target = _join(declared.display, written)
                if target in self.manifests or target not in paths or declared.manifest.kind not in _PIP_KINDS:
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

    # --- projects: which manifests govern a file ---------------------------------------

    def _projects(self) -> dict[PurePosixPath, tuple[list[str], list[str]]]:
        """Project directory -> (its manifests, its lock files), each sorted.

        Manifests known by name (not files reached only through `-r`) and lock files mark a
        project; the files of a `requirements/` folder belong to the directory above it.
        """
        if self._by_directory is None:
            projects: dict[PurePosixPath, tuple[list[str], list[str]]] = {}
            for display in sorted(self.manifests):
                if manifest_kind(display) is not None:
                    projects.setdefault(_project_directory(display), ([], []))[0].append(display)
            for display in sorted(self.locked):
                projects.setdefault(_project_directory(display), ([], []))[1].append(display)
            self._by_directory = projects
        return self._by_directory

    def projects_of(self, display: str) -> list[PurePosixPath]:
        """The project directories enclosing the file at `display`, nearest first."""
        projects = self._projects()
        directory = PurePosixPath(display).parent
        return [d for d in (directory, *directory.parents) if d in projects]

    def _declared_in(self, directory: PurePosixPath, package: str) -> list[tuple[str, str]]:
        """(specifier, `manifest:line`) of each requirement on `package` in a project's manifests and the
        files they include."""
        manifests: list[str] = []
        for display in self._projects()[directory][0]:
            for found in (display, *self.included_by(display)):
                if found not in manifests:
                    manifests.append(found)
        return [
            (dependency.specifier, f"{display}:{dependency.line}")
            for display in manifests
            for dependency in self.manifests[display].manifest.dependencies
            if dependency.name == package and dependency.url is None
        ]

    def allowed_for(self, package: str, display: str) -> list[tuple[str, str]]:
        """(specifier, where) pairs saying which versions of `package` the project of the file at `display` allows.

        The nearest enclosing project that declares the package (or whose lock file lists it)
        decides; a lock file in its directory or above that lists the package wins over its
        requirements, as it says exactly what installs. A file no project encloses gets the
        repository-wide answer (`allowed`); an empty list means its projects do not declare it.
        """
        chain = self.projects_of(display)
        if not chain:
            return self.allowed(package)
        for index, directory in enumerate(chain):
            declared = self._declared_in(directory, package)
            locks = [lock for above in chain[index:] for lock in self._projects()[above][1]
                     if package in self.locked[lock]]
            if declared or any(_project_directory(lock) == directory for lock in locks):
                return [(f"=={self.locked[lock][package]}", lock) for lock in locks] or declared
        return []

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


_PIP_KINDS = ("requirements", "conda")  # manifests whose `-r` / `-c` name requirements files


def _project_directory(display: str) -> PurePosixPath:
    """The directory whose project a manifest or lock file describes: `requirements/ci/gpu.txt` is the one
    holding `requirements/`."""
    directory = PurePosixPath(display).parent
    folders = [part.lower() for part in directory.parts]
    if "requirements" not in folders:
        return directory
    last = len(folders) - 1 - folders[::-1].index("requirements")
    return PurePosixPath(*directory.parts[:last])


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
    """Findings for one manifest: its unpinned listed packages (one finding per rule and match table),
    malformed lines (MLS001); suppression comments applied."""
    declared = declarations.manifests.get(display)
    if declared is None:
        return []
    findings: list[Finding] = []
    if PARSE_ERROR in enabled:
        parse_error = catalogue.rules[PARSE_ERROR]
        findings.extend(_problem(declared, problem, parse_error) for problem in declared.manifest.problems)
        findings = apply_line_comments(findings, declared.lines, {parse_error.name: parse_error.id})
    rules = [r for r in catalogue.rules.values() if r.id in enabled and r.dependencies]
    if rules and declarations.lock_covering(display) is None:
        constrained = declarations.pinned_by_constraints(display)
        unpinned = [d for d in declared.manifest.dependencies if not _one_version(d) and d.name not in constrained]
        for rule in rules:
            for match in rule.dependencies:
                listed = [d for d in unpinned if d.name in match.packages]
                findings += _unpinned_findings(declared, listed, rule, match.message)
    return findings


def _unpinned_findings(declared: Declared, listed: list[Dependency], rule: Rule, template: str) -> list[Finding]:
    """One finding for the manifest's unpinned listed packages, and one suppressed finding for each
    requirement a suppression comment on its own line takes out (so the reason stays in the report)."""
    if not listed:
        return []
    # Only `rule`'s findings are here, so only its name needs to be known.
    alone = apply_line_comments([_unpinned(declared, [d], rule, template) for d in listed], declared.lines,
                                {rule.name: rule.id})
    active = [d for d, finding in zip(listed, alone, strict=True) if not finding.suppressed]
    suppressed = [finding for finding in alone if finding.suppressed]
    return ([_unpinned(declared, active, rule, template)] if active else []) + suppressed


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
    "requirements": "pin {them} with `==` (ideally with `--hash`) or commit a lock file",
    "pyproject": "keep the ranges here and commit a lock file (uv.lock, poetry.lock, pdm.lock) "
                 "for the environments you run",
    "setup.cfg": "keep the ranges here and pin the environments you run with a lock file or a hashed requirements file",
    "setup.py": "keep the ranges here and pin the environments you run with a lock file or a hashed requirements file",
    "conda": "pin {them} with `==` (or `=version=build`) or commit a lock file (conda-lock)",
}
_LISTED = 8  # packages named in a message; the related locations list every one


def _unpinned(declared: Declared, listed: list[Dependency], rule: Rule, template: str) -> Finding:
    """The finding for a manifest's unpinned listed packages: at the first, each one a related location.

    Its severity is low when every one is pinned to a release series (`==1.5.*`, `~=1.5.0`, conda's
    `=1.5`): a series takes bug fixes only, a smaller and more reviewable change than any release.
    The fingerprint's statement is the packages' names, sorted: it holds while unrelated lines move.
    """
    first = listed[0]
    names = list(dict.fromkeys(d.raw_name for d in listed))
    canonical = sorted({d.name for d in listed})
    shown = ", ".join(names[:_LISTED]) + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")
    subject = "1 ML package is" if len(canonical) == 1 else f"{len(canonical)} ML packages are"
    advice = _ADVICE.get(declared.manifest.kind, _ADVICE["requirements"])
    message = template.format(
        subject=subject, packages=shown, manifest=declared.display,
        advice=advice.format(them="it" if len(canonical) == 1 else "them"),
    )
    related = tuple(
        FlowStep(d.line, d.column, d.line, d.end_column, f"`{d.text.strip() or d.raw_name}` not pinned")
        for d in listed
    )
    severity = Severity.LOW if all(is_series_pin(d) for d in listed) else rule.severity
    return Finding(
        rule.id, declared.display, first.line, first.column, first.line, first.end_column, message,
        _line(declared.lines, first.line), severity, statement_text=",".join(canonical), related=related,
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
    """Keep a finding whose call relies on a safe form of `package` only if its file's project allows an
    affected version; the message names the manifest (or lock file) that decided."""
    allowed = declarations.allowed_for(package, finding.path)
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
