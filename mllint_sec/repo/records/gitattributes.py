""".gitattributes: which paths git routes through Git LFS (gitattributes(5); git's attr.c and dir.c).

Only the `filter` attribute is read. Patterns are matched as git matches them
(`core.wildmatch`, without backtracking: the patterns are the scanned repository's); a deeper
file's lines take precedence over a shallower one's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mllint_sec.core.wildmatch import Wildmatch, wildmatch
from mllint_sec.repo.records.record import Problem, utf8_length

_ATTR_BLANK = " \t\r\n"
_ATTR_TOKEN = re.compile(r"[^ \t\r\n]+")
_ATTR_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")
_ATTR_MAX_LINE = 2048  # git ignores longer lines (ATTR_MAX_LINE_LENGTH)
_MACRO = "[attr]"
_C_QUOTED = re.compile(r'"((?:[^"\\]|\\(?:[abfnrtv\\"]|[0-3][0-7]{2}))*)"')
_C_ESCAPE = re.compile(r"((?:\\[0-3][0-7]{2})+)|\\(.)")
_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


@dataclass(frozen=True)
class LfsRule:
    """One `.gitattributes` line that sets the `filter` attribute."""

    pattern: str  # as written, unquoted
    lfs: bool  # `filter=lfs`; False for another filter, `-filter` or `!filter`
    source: str  # display path of the .gitattributes file
    line: int
    base: str  # the directory of that file, "" at the root
    basename_only: bool  # no slash: matches a file's name at any depth below `base`
    matcher: Wildmatch | None = field(repr=False)  # None: can never match (as wildmatch aborts)

    def matches(self, path: str) -> bool:
        if self.base:
            if not path.startswith(self.base + "/"):
                return False
            path = path[len(self.base) + 1:]
        subject = path.rpartition("/")[2] if self.basename_only else path
        return self.matcher is not None and self.matcher.matches(subject)


@dataclass(frozen=True)
class LfsPatterns:
    rules: tuple[LfsRule, ...]  # lowest precedence first
    problems: tuple[Problem, ...]

    def rule_for(self, path: str) -> LfsRule | None:
        """The line that decides `path`'s `filter` attribute: the last matching one, deepest file first."""
        return next((rule for rule in reversed(self.rules) if rule.matches(path)), None)

    def matches(self, path: str) -> bool:
        """Whether git routes `path` (repository-relative, POSIX) through LFS."""
        rule = self.rule_for(path)
        return rule is not None and rule.lfs

    @classmethod
    def combine(cls, files: Iterable[LfsPatterns]) -> LfsPatterns:
        """One matcher for several .gitattributes files: a deeper file's lines take precedence, as in git."""
        parts = list(files)
        rules = [rule for patterns in parts for rule in patterns.rules]
        # A file's own order is kept; files of the same depth never govern the same path.
        rules.sort(key=lambda rule: (rule.base.count("/") + bool(rule.base), rule.base, rule.source, rule.line))
        return cls(tuple(rules), tuple(sorted(problem for patterns in parts for problem in patterns.problems)))


def _unquote(text: str) -> tuple[str, str] | None:
    """A C-quoted pattern at the start of `text` and the rest of the line, as git's unquote_c_style."""
    match = _C_QUOTED.match(text)
    if match is None:
        return None
    return _C_ESCAPE.sub(_unescape_c, match[1]), text[match.end():]


def _unescape_c(match: re.Match[str]) -> str:
    if match[1]:  # octal escapes are bytes; a run of them may spell one UTF-8 character
        return bytes(int(octal, 8) for octal in match[1].split("\\")[1:]).decode("utf-8", "surrogateescape")
    return _C_ESCAPES[match[2]]


def _pattern_and_states(line: str) -> tuple[str, list[str]]:
    """The pattern (C-quoted or up to the first blank) and the attribute states after it."""
    quoted = _unquote(line) if line.startswith('"') else None
    if quoted is not None:
        pattern, rest = quoted
    else:  # git too reads a malformed quoted pattern as a plain one
        token = _ATTR_TOKEN.match(line)
        assert token is not None  # the caller strips leading blanks and skips blank lines
        pattern = token[0]
        rest = line[len(pattern):]
    return pattern, _ATTR_TOKEN.findall(rest)


def _attribute_name(state: str) -> str:
    return (state[1:] if state[0] in "-!" else state).partition("=")[0]


def _lfs_rule(pattern: str, lfs: bool, source: str, line: int, problems: list[Problem]) -> LfsRule | None:
    if pattern.startswith("!"):
        problems.append(Problem(source, line,
                                "git ignores negative patterns in .gitattributes; write `\\!` for a literal `!`"))
        return None
    if pattern.endswith("/"):
        problems.append(Problem(source, line, f"`{pattern}` matches only directories, and attributes do not apply "
                                              f"to the files inside them; write `{pattern}**`"))
        return None
    # A leading slash only anchors the pattern, which any slash does.
    return LfsRule(pattern, lfs, source, line, posixpath.dirname(source), "/" not in pattern,
                   wildmatch(pattern.removeprefix("/")))


def gitattributes_lfs(display: str, text: str) -> LfsPatterns:
    """The lines of a `.gitattributes` file that set or unset `filter=lfs`, for matching paths.

    Macro definitions (`[attr]lfs filter=lfs ...`) and their uses are not followed.
    """
    rules: list[LfsRule] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        stripped = line.lstrip(_ATTR_BLANK)
        if not stripped or stripped.startswith("#"):
            continue
        if utf8_length(line) >= _ATTR_MAX_LINE:
            problems.append(Problem(display, number, f"git ignores attribute lines of {_ATTR_MAX_LINE} bytes or more"))
            continue
        pattern, states = _pattern_and_states(stripped)
        if pattern.startswith(_MACRO) and len(pattern) > len(_MACRO):
            continue
        invalid = [state for state in states if not _ATTR_NAME.fullmatch(_attribute_name(state))]
        if invalid:  # git drops the whole line
            problems.append(Problem(display, number, f"`{invalid[0]}` is not a valid attribute; git ignores the line"))
            continue
        filters = [state for state in states if _attribute_name(state) == "filter"]
        if filters:  # within a line, the last setting wins
            rule = _lfs_rule(pattern, filters[-1] == "filter=lfs", display, number, problems)
            if rule is not None:
                rules.append(rule)
    return LfsPatterns(tuple(rules), tuple(problems))
