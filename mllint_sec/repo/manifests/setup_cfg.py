"""setup.cfg: setuptools' `[options] install_requires` and `[options.extras_require]`, read as setuptools reads them."""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterator

from mllint_sec.repo.manifests.manifest import (
    NEWLINE,
    Dependency,
    Manifest,
    Problem,
    Where,
    build_manifest,
    parse_pep508,
)

_CFG_SECTION = re.compile(r"\[(?P<name>.+)\]")


def _cfg_key_line(lines: list[str], section: str, option: str) -> int:
    """Index of the line that sets `option` in `section`; with strict=False the last one wins."""
    found, current = 0, None
    key = re.compile(rf"{re.escape(option)}\s*[=:]")
    for index, line in enumerate(lines):
        if line[:1].isspace():  # continuation lines hold values only
            continue
        header = _CFG_SECTION.match(line.strip())
        if header:
            current = header.group("name")
        elif current == section and key.match(line):
            found = index
    return found


def _cfg_value_lines(lines: list[str], section: str, option: str, value: str) -> Iterator[tuple[int, int, str]]:
    """(line index, 0-based column, text) of each non-empty line of a value configparser has read.

    configparser drops comment lines and strips the rest, so each value line is the next
    non-comment physical line that ends with it, from the option's own line on.
    """
    cursor = _cfg_key_line(lines, section, option)
    for item in filter(None, (part.strip() for part in value.splitlines())):
        for index in range(cursor, len(lines)):
            line = lines[index].rstrip()
            if line.endswith(item) and not line.lstrip().startswith(("#", ";")):
                yield index, len(line) - len(item), item
                cursor = index + 1
                break


def _cfg_requirements(value: str, placed: list[tuple[int, int, str]]) -> Iterator[tuple[int, int, str]]:
    """setuptools' reading of a requirement list: one a line, or `;`-separated on a single line."""
    if "\n" not in value and placed:
        index, column, text = placed[0]
        placed = []
        for part in text.split(";"):
            placed.append((index, column, part))
            column += len(part) + 1
    for index, column, line in placed:
        text = line.partition(" #")[0]  # setuptools drops ` #` comments
        stripped = text.strip()
        if stripped and not stripped.startswith("#"):
            yield index, column + len(text) - len(text.lstrip()), stripped


def _setup_cfg_fields(parser: configparser.ConfigParser) -> Iterator[tuple[str, str, str]]:
    """(section, option, group) of every requirement list setuptools reads; it accepts `-` for `_` too."""
    if parser.has_section("options"):
        for option in parser.options("options"):
            if option.replace("-", "_") == "install_requires":
                yield "options", option, ""
    if parser.has_section("options.extras_require"):
        for option in parser.options("options.extras_require"):
            yield "options.extras_require", option, option


class _CaseKeepingParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # setuptools keeps the case of option names


def parse_setup_cfg(text: str) -> Manifest:
    """setuptools' `[options] install_requires` and `[options.extras_require]`."""
    text = text.removeprefix("\ufeff")
    parser = _CaseKeepingParser(interpolation=None, strict=False)
    lines = NEWLINE.split(text)
    problems: list[Problem] = []
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as error:
        return build_manifest("setup.cfg", problems=[Problem(error.lineno, 1, "setup.cfg must start with a [section]")])
    except configparser.ParsingError as error:  # what it could read is kept
        problems += [Problem(lineno, 1, f"malformed setup.cfg line {lines[lineno - 1].strip()!r}")
                     for lineno, _ in error.errors]
    dependencies: list[Dependency] = []
    includes: list[tuple[str, int]] = []
    for section, option, group in _setup_cfg_fields(parser):
        value = parser.get(section, option)
        placed = list(_cfg_value_lines(lines, section, option, value))
        if value.startswith("file:") and placed:
            paths = value.removeprefix("file:").split(",")
            includes += [(path.strip(), placed[0][0] + 1) for path in paths if path.strip()]
            continue
        for index, column, requirement in _cfg_requirements(value, placed):
            where = Where(index + 1, column + 1, column + 1 + len(requirement), requirement)
            found = parse_pep508(requirement, where, group)
            if isinstance(found, Dependency):
                dependencies.append(found)
            else:
                problems.append(found)
    return build_manifest("setup.cfg", dependencies, problems, includes)
