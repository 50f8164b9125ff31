"""pyproject.toml: PEP 621 dependencies and extras, PEP 735 dependency groups, and Poetry's tables.

Poetry's version constraints (`^1.2`, `~1.2`, `1.2.*`) are turned into PEP 440 specifier sets.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mllint_sec.repo.manifests.manifest import (
    PROJECT_NAME,
    Dependency,
    Manifest,
    Problem,
    build_manifest,
    dependency_at,
    parse_pep508,
)
from mllint_sec.repo.manifests.toml_positions import TomlPath, TomlSpans, toml_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# Both linear on any constraint: a match starts only where a run of blanks starts, and the
# blanks after an operator are a separate run (two adjacent `\s*` were cubic on blanks).
_POETRY_CLAUSE = re.compile(r"(?<!\s)\s*(?:(\^|~=|~|===|==|!=|<=|>=|<|>|=)\s*)?([^\s,]+)")
_POETRY_WILDCARD = re.compile(r"(?<!\.[xX*])(\.[xX*])+$")  # from the start of a run of `.x` only


def _bumped(version: str, index: int) -> str:
    """`version` with release component `index` incremented and the later ones zeroed, as long as written."""
    parsed = Version(version)
    release = list(parsed.release)
    release[index:] = [release[index] + 1] + [0] * (len(release) - index - 1)
    epoch = f"{parsed.epoch}!" if parsed.epoch else ""
    return epoch + ".".join(map(str, release))


def _poetry_clause(operator: str, version: str) -> str:
    if operator == "^":  # the first non-zero component is the breaking one (poetry-core's next_breaking)
        release = Version(version).release
        index = 0 if release[0] or len(release) == 1 else 1 if release[1] or len(release) == 2 else 2
        return f">={version},<{_bumped(version, index)}"
    if operator == "~":  # ~1 allows 1.x; ~1.2 and ~1.2.3 allow 1.2.x
        return f">={version},<{_bumped(version, 0 if len(Version(version).release) == 1 else 1)}"
    if operator in ("", "="):  # a bare version is exact
        return f"=={_POETRY_WILDCARD.sub('.*', version)}"
    return operator + _POETRY_WILDCARD.sub(".*", version)


def _poetry_specifier(constraint: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier set; ValueError when it is malformed.

    `a || b` has no PEP 440 form and is read as "any version": that never hides a
    version the constraint allows.
    """
    if "||" in constraint:
        for alternative in constraint.split("||"):
            _poetry_specifier(alternative)
        return ""
    clauses = [_poetry_clause(operator or "", version)
               for operator, version in _POETRY_CLAUSE.findall(constraint) if version != "*"]
    return str(SpecifierSet(",".join(clauses)))


class _PyprojectReader:
    def __init__(self, text: str) -> None:
        self.spans = TomlSpans(text)
        self.dependencies: list[Dependency] = []
        self.problems: list[Problem] = []

    def pep508_list(self, items: Any, path: TomlPath, group: str) -> None:
        """A PEP 621 / PEP 735 array of requirement strings; PEP 735 `{include-group = ...}` tables are skipped."""
        if not isinstance(items, list):
            self.problems.append(self._type_problem(path, "an array of requirement strings"))
            return
        for index, item in enumerate(items):
            if isinstance(item, dict) and path[0] == "dependency-groups":
                continue
            if not isinstance(item, str):
                self.problems.append(self._type_problem((*path, index), "a requirement string"))
                continue
            found = parse_pep508(item, self.spans.where((*path, index), item), group)
            if isinstance(found, Dependency):
                self.dependencies.append(found)
            else:
                self.problems.append(found)

    def pep508_tables(self, tables: Any, path: TomlPath) -> None:
        """`[project.optional-dependencies]` and `[dependency-groups]`: arrays named by their group."""
        if not isinstance(tables, dict):
            self.problems.append(self._type_problem(path, "a table"))
            return
        for group, items in tables.items():
            self.pep508_list(items, (*path, group), group)

    def poetry_table(self, table: Any, path: TomlPath, group: str) -> None:
        if not isinstance(table, dict):
            self.problems.append(self._type_problem(path, "a table"))
            return
        for name, spec in table.items():
            if name == "python":  # the interpreter, not a package
                continue
            if isinstance(spec, list):  # several constraints, each for its own markers
                for index, entry in enumerate(spec):
                    self._poetry_entry(name, entry, (*path, name, index), group)
            else:
                self._poetry_entry(name, spec, (*path, name), group)

    def _poetry_entry(self, name: str, spec: Any, path: TomlPath, group: str) -> None:
        where = self.spans.where(path)
        try:
            requirement = _poetry_requirement(name, spec)
        except (ValueError, TypeError) as error:
            self.problems.append(Problem(where.line, where.column, f"malformed Poetry dependency {name!r}: {error}"))
            return
        if requirement is not None:
            self.dependencies.append(dependency_at(requirement, where, group))

    def _type_problem(self, path: TomlPath, expected: str) -> Problem:
        where = self.spans.where(path)
        dotted = ".".join(str(part) for part in path)
        return Problem(where.line, where.column, f"`{dotted}` should be {expected}")


def _poetry_requirement(name: str, spec: Any) -> Requirement | None:
    """A Poetry dependency as a PEP 508 requirement; None for local paths. ValueError/TypeError when malformed."""
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise TypeError(f"expected a version string or a table, not {type(spec).__name__}")
    if "path" in spec:
        return None
    if not PROJECT_NAME.fullmatch(name):
        raise ValueError("not a valid project name")
    extras = spec.get("extras", [])
    if not isinstance(extras, list):
        raise TypeError("`extras` should be an array")
    requirement = Requirement(name)
    requirement.extras = {str(extra) for extra in extras}
    if "git" in spec:
        ref = next((spec[key] for key in ("rev", "tag", "branch") if key in spec), None)
        requirement.url = f"git+{spec['git']}" + (f"@{ref}" if ref else "")
    elif "url" in spec:
        requirement.url = str(spec["url"])
    else:
        requirement.specifier = SpecifierSet(_poetry_specifier(str(spec.get("version", "*"))))
    if "markers" in spec:
        requirement.marker = Marker(str(spec["markers"]))
    return requirement


def parse_pyproject(text: str) -> Manifest:
    """PEP 621 dependencies and extras, PEP 735 dependency groups, and Poetry's dependency tables."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return build_manifest("pyproject", problems=[toml_problem(error, text)])
    except RecursionError:
        return build_manifest("pyproject", problems=[Problem(1, 1, "invalid TOML: nested too deeply")])
    reader = _PyprojectReader(text)
    project = data.get("project")
    if isinstance(project, dict):
        if "dependencies" in project:
            reader.pep508_list(project["dependencies"], ("project", "dependencies"), "")
        if "optional-dependencies" in project:
            reader.pep508_tables(project["optional-dependencies"], ("project", "optional-dependencies"))
    if "dependency-groups" in data:
        reader.pep508_tables(data["dependency-groups"], ("dependency-groups",))
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict):
        for key, group in (("dependencies", ""), ("dev-dependencies", "dev")):
            if key in poetry:
                reader.poetry_table(poetry[key], ("tool", "poetry", key), group)
        groups = poetry.get("group")
        for group, table in groups.items() if isinstance(groups, dict) else ():
            if isinstance(table, dict) and "dependencies" in table:
                reader.poetry_table(table["dependencies"], ("tool", "poetry", "group", group, "dependencies"), group)
    return build_manifest("pyproject", reader.dependencies, reader.problems)
