"""Conda environment files (`environment.yml`): the `dependencies:` list and its nested `- pip:` list.

A conda entry is a match spec: `numpy`, `numpy=1.26` (conda's `=` is a series: 1.26.*),
`numpy==1.26.4` and `numpy=1.26.4=py311_0` (exact: one version, or one build of it),
`numpy>=1.20,<2`, `numpy 1.26.4 py311_0` (the space form; a bare version is exact),
`conda-forge::numpy` (a channel), `numpy[version='>=1.20']` (bracket keys). Each becomes a
PEP 440 specifier set under the package's PyPI name (conda_names.py): `pytorch=2.1` is
`torch==2.1.*`. A `|` (either of two versions) has no PEP 440 form and reads as any version;
a version PEP 440 cannot express (`1.2.3_1`) also reads as any version, which never hides one
the file allows. The `- pip:` entries are pip requirement lines (requirements_txt.py), `-r`
and `-c` included. The YAML is read by repo/records/yaml_lines.py: no object is constructed,
and its limits (size, depth, aliases) apply; what it refuses is a Problem at its line.
"""

from __future__ import annotations

import dataclasses
import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from mllint_sec.repo.manifests.conda_names import CONDA_TO_PYPI
from mllint_sec.repo.manifests.manifest import NEWLINE, Dependency, Manifest, Problem, build_manifest
from mllint_sec.repo.manifests.requirements_txt import parse_requirements
from mllint_sec.repo.records.record import Problem as YamlProblem
from mllint_sec.repo.records.record import Span
from mllint_sec.repo.records.yaml_lines import YamlMap, document, items_at, load_yaml

_SOURCE = "environment.yml"  # the name yaml_lines' problems carry; only their line and message are kept
# A conda package name, matched at the start of the spec; one class, so linear.
_CONDA_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
# A clause: an operator, then the version up to the next clause (both matched at one position).
_CONDA_CLAUSE = re.compile(r"(==|!=|>=|<=|~=|>|<|=)?([^,|<>=!~\s]+)")


def _pep440_clause(operator: str, version: str) -> str:
    """One conda clause in PEP 440 terms: `=1.2` and `1.2*` are the series 1.2.*; a bare version is exact."""
    if version.endswith("*"):
        series = version.rstrip("*").rstrip(".")
        return f"=={series}.*" if series else ""
    if operator == "=":
        return f"=={version}.*"
    return f"{operator or '=='}{version}"


def conda_specifier(version: str) -> str:
    """A conda version spec (`=1.26`, `>=1.20,<2`, `1.26.4`) as a PEP 440 specifier set; "" for any version."""
    if not version.strip() or "|" in version:
        return ""
    clauses = []
    for part in version.split(","):
        match = _CONDA_CLAUSE.fullmatch(part.strip())
        if match is None:
            return ""
        clause = _pep440_clause(match.group(1) or "", match.group(2))
        if clause:
            clauses.append(clause)
    try:
        return str(SpecifierSet(",".join(clauses)))
    except InvalidSpecifier:
        return ""  # a version PEP 440 cannot express: any version, which hides none


def _version_part(rest: str) -> str:
    """The version spec after a conda name: `=1.2`, `=1.2=build`, `==1.2`, `>=1,<2`, or ` 1.2 build`."""
    rest = rest.strip()
    if rest.startswith("=="):
        return "==" + rest[2:].partition("=")[0].strip()  # `==1.2=build`: the build adds nothing
    if rest.startswith("="):
        version, _, build = rest[1:].partition("=")
        return f"=={version.strip()}" if build.strip() else f"={version.strip()}"
    if rest[:1] in ("<", ">", "!", "~"):
        return "".join(rest.split())
    return rest.split()[0] if rest else ""  # the space form: `1.26.4 py311_0`


def _bracket_version(bracket: str) -> str:
    """The `version=` key of a bracket spec (`[version='>=1.20', build=...]`), read without a regex."""
    at = bracket.find("version")
    if at < 0:
        return ""
    rest = bracket[at + len("version"):].lstrip()
    if not rest.startswith("="):
        return ""
    rest = rest[1:].lstrip()
    if rest[:1] in ("'", '"'):
        return rest[1:].partition(rest[0])[0]
    return rest.partition(",")[0].partition("]")[0].strip()


def parse_conda_spec(spec: str) -> tuple[str, str, str] | None:
    """(PyPI canonical name, name as written, PEP 440 specifier) of a conda match spec; None when it names none."""
    text = spec.strip().rpartition("::")[2].strip()  # `conda-forge::numpy`, `pkgs/main::numpy`
    bracket = ""
    if "[" in text:
        text, _, bracket = text.partition("[")
    name = _CONDA_NAME.match(text)
    if name is None:
        return None
    written = name.group()
    version = _version_part(text[name.end():]) or _bracket_version(bracket)
    canonical = canonicalize_name(written)
    return CONDA_TO_PYPI.get(canonical, canonical), written, conda_specifier(version)


class _EnvironmentReader:
    def __init__(self, text: str) -> None:
        self.lines = NEWLINE.split(text)
        self.dependencies: list[Dependency] = []
        self.problems: list[Problem] = []
        self.includes: list[tuple[str, int]] = []
        self.constraints: list[tuple[str, int]] = []
        value, yaml_problems = load_yaml(_SOURCE, text)
        root = document(value, _SOURCE, yaml_problems)
        for item, span in items_at(root, "dependencies", _SOURCE, yaml_problems):
            if isinstance(item, str):
                self._conda(item, span)
            elif isinstance(item, YamlMap) and "pip" in item:
                for entry, entry_span in items_at(item, "pip", _SOURCE, yaml_problems):
                    if isinstance(entry, str):
                        self._pip(entry, entry_span)
        self.problems += [self._problem(problem) for problem in yaml_problems]

    def _problem(self, problem: YamlProblem) -> Problem:
        return Problem(problem.line, 1, problem.message)

    def _start(self, span: Span) -> int:
        """The column where an item's text starts: after its quote, when it is quoted."""
        line = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        return span.column + (1 if line[span.column - 1:span.column] in ("'", '"') else 0)

    def _conda(self, item: str, span: Span) -> None:
        parsed = parse_conda_spec(item)
        if parsed is None:
            self.problems.append(Problem(span.line, span.column, f"malformed conda package spec {item!r}"))
            return
        name, written, specifier = parsed
        column = self._start(span)
        text = item.strip()
        end = column + len(text) if span.end_line == span.line else len(self.lines[span.line - 1]) + 1
        self.dependencies.append(Dependency(name, written, specifier, None, None, (), span.line, column, end, text,
                                            False, "conda"))

    def _pip(self, entry: str, span: Span) -> None:
        """A pip line, read as requirements_txt.py reads one, its positions moved to where the entry is."""
        parsed = parse_requirements(entry)
        line, column = span.line, self._start(span)

        def moved(at_line: int, at_column: int) -> tuple[int, int]:
            return line + at_line - 1, (column + at_column - 1 if at_line == 1 else at_column)

        for dependency in parsed.dependencies:
            where_line, where_column = moved(dependency.line, dependency.column)
            self.dependencies.append(dataclasses.replace(
                dependency, line=where_line, column=where_column,
                end_column=where_column + dependency.end_column - dependency.column, group="pip"))
        for problem in parsed.problems:
            self.problems.append(Problem(*moved(problem.line, problem.column), problem.message))
        self.includes += [(path, line) for path, _ in parsed.includes]
        self.constraints += [(path, line) for path, _ in parsed.constraints]


def parse_environment_yml(text: str) -> Manifest:
    """A conda environment file: conda and pip requirements, with their positions."""
    reader = _EnvironmentReader(text.removeprefix("\ufeff"))
    return build_manifest("conda", reader.dependencies, reader.problems, reader.includes, reader.constraints)
