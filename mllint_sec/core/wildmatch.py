"""git's wildmatch (wildmatch.c with WM_PATHNAME), matched without backtracking.

Every path pattern a scan meets goes through here: `.gitattributes` lines (content of the
scanned repository) and the configuration's `exclude`, `extend-exclude` and
`per-file-ignores`. Such a pattern compiled to a backtracking regex costs time exponential
in its `*`s (`*a*a*a*a*a*a*a*a*a*a*b` against a 40-character name: 20 s), so it is not.

Semantics: a `*` or `?` never matches a slash, `**` between slashes (or at an end) crosses
directories, brackets take ranges, `!`/`^` negation, escapes and POSIX classes. A pattern
wildmatch aborts on (an unclosed bracket, a trailing backslash, an unknown class) can never
match: `wildmatch` returns None for it.

How: slashes cut the pattern and the path into components (a slash inside brackets cannot
match, so it does not cut). A `**` component matches any run of whole path components,
every other pattern component exactly one path component; inside a component, `*` matches
any run of characters and every other unit exactly one character. So both levels are
"fixed-width pieces between stars", matched by one greedy procedure: the first piece at the
start, the last at the end, each piece between them at its leftmost place after the one
before. Leftmost is always right: a later place would only leave less room, and the star
after the piece absorbs what a leftmost place skips. A piece is tried at most once per
position, so a match costs O(len(path) x len(pattern)). The per-character pieces are regexes
without any quantifier (literals, `.` and one-character classes), which cannot backtrack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

# wildmatch's POSIX classes, as the ASCII sets its ctype tests mean.
_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": r" \t", "cntrl": r"\x00-\x1f\x7f", "digit": "0-9",
    "graph": r"!-\~", "lower": "a-z", "print": r" -\~", "punct": r"!-/:-@\[-`{-\~", "space": r" \t\n\r\x0b\x0c",
    "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}

_STAR = "*"  # a token: any run of characters (within a component)
_SLASH = "/"  # a token: a component boundary
_ESCAPED_SLASH = "\\/"  # a token: a component boundary after which a `**` cannot match zero directories



class _Wide(Protocol):
    @property
    def width(self) -> int: ...  # how many items (characters, components) it matches


_Item = TypeVar("_Item", bound=_Wide)


class _Invalid(Exception):
    """The pattern is one wildmatch aborts on."""


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    """The one-character regex for the bracket expression at `pattern[start]` and the index after it."""
    i = start + 1
    negated = pattern[i:i + 1] in ("!", "^")
    i += negated
    parts: list[str] = []
    previous: str | None = None  # the last single character, which may start a range
    first = True
    while True:
        if i >= len(pattern):
            raise _Invalid
        char = pattern[i]
        if char == "]" and not first:
            break
        first = False
        if char == "\\":
            i += 1
            if i >= len(pattern):
                raise _Invalid
            previous = pattern[i]
            parts.append(re.escape(previous))
        elif char == "-" and previous is not None and pattern[i + 1:i + 2] not in ("", "]"):
            i += 1
            end = pattern[i]
            if end == "\\":
                i += 1
                if i >= len(pattern):
                    raise _Invalid
                end = pattern[i]
            if previous <= end:  # a reversed range matches nothing
                parts.append(f"{re.escape(previous)}-{re.escape(end)}")
            previous = None
        elif pattern.startswith("[:", i):
            close = pattern.find("]", i + 2)
            if close < 0:
                raise _Invalid
            if close > i + 2 and pattern[close - 1] == ":":
                posix = _POSIX_CLASSES.get(pattern[i + 2:close - 1])
                if posix is None:
                    raise _Invalid
                parts.append(posix)
                previous = None
                i = close
            else:  # no `:]`: the `[` is a member like any other
                previous = char
                parts.append(re.escape(char))
        else:
            previous = char
            parts.append(re.escape(char))
        i += 1
    # A path component holds no slash, so the class need not exclude it (WM_PATHNAME).
    return f"[{'^' if negated else ''}{''.join(parts)}]", i + 1


def _tokens(pattern: str) -> list[str | tuple[str, str]]:
    """`_STAR`, `_SLASH`, `_ESCAPED_SLASH`, or (regex of one character, the literal character or "")."""
    tokens: list[str | tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            # A run of two or more stars is marked by a second token, kept for `_components`.
            if not (tokens and tokens[-1] == _STAR) or tokens[-2:] != [_STAR, _STAR]:
                tokens.append(_STAR)
            i += 1
        elif char == "?":
            tokens.append((".", ""))
            i += 1
        elif char == "[":
            regex, i = _bracket(pattern, i)
            tokens.append((regex, ""))
        elif char == "\\":
            if i + 1 == len(pattern):
                raise _Invalid
            escaped = pattern[i + 1]
            tokens.append(_ESCAPED_SLASH if escaped == "/" else (re.escape(escaped), escaped))
            i += 2
        elif char == "/":
            tokens.append(_SLASH)
            i += 1
        else:
            tokens.append((re.escape(char), char))
            i += 1
    return tokens


@dataclass(frozen=True)
class _Piece:
    """A run of one-character units: it matches exactly `width` characters."""

    regex: re.Pattern[str]
    width: int


@dataclass(frozen=True)
class _Component:
    """One pattern component: pieces between `*`s, or a literal name."""

    literal: str | None  # no wildcard at all: the component must equal it
    pieces: tuple[_Piece, ...]  # one more than the stars

    @classmethod
    def build(cls, tokens: Sequence[str | tuple[str, str]]) -> _Component:
        # A component's tokens are stars and units (no slashes: `_runs` splits on them).
        units = [token for token in tokens if isinstance(token, tuple)]
        if len(units) == len(tokens) and all(literal for _, literal in units):
            return cls("".join(literal for _, literal in units), ())
        runs: list[list[str]] = [[]]
        for token in tokens:
            if isinstance(token, tuple):
                runs[-1].append(token[0])
            elif runs[-1] or len(runs) == 1:  # a star; `**` inside a component is one `*`
                runs.append([])
        return cls(None, tuple(_Piece(re.compile("".join(run), re.DOTALL), len(run)) for run in runs))

    def matches(self, name: str) -> bool:
        if self.literal is not None:
            return name == self.literal
        return _greedy(self.pieces, len(name), lambda piece, at: piece.regex.match(name, at) is not None,
                       lambda piece, start, end: _search(piece, name, start, end))


def _search(piece: _Piece, name: str, start: int, end: int) -> int | None:
    """Where `piece` first matches inside name[start:end], or None."""
    found = piece.regex.search(name, start, end)
    return None if found is None else found.start()


@dataclass(frozen=True)
class _Run:
    """Pattern components between `**`s: matches exactly `width` path components."""

    components: tuple[_Component, ...]

    @property
    def width(self) -> int:
        return len(self.components)

    def matches_at(self, parts: Sequence[str], at: int) -> bool:
        return all(component.matches(parts[at + offset]) for offset, component in enumerate(self.components))

    def search(self, parts: Sequence[str], start: int, end: int) -> int | None:
        return next((at for at in range(start, end - self.width + 1) if self.matches_at(parts, at)), None)


def _greedy(pieces: Sequence[_Item], length: int, matches_at: Callable[[_Item, int], bool],
            search: Callable[[_Item, int, int], int | None]) -> bool:
    """Whether `pieces`, with a star between each two, match a sequence of `length` items exactly.

    Each piece matches a fixed number of items (`piece.width`); `matches_at(piece, i)` tests it at
    item i, `search(piece, start, end)` finds its leftmost place inside items[start:end].
    """
    first, last = pieces[0], pieces[-1]
    if len(pieces) == 1:
        return length == first.width and matches_at(first, 0)
    end = length - last.width
    if end < first.width or not matches_at(first, 0) or not matches_at(last, end):
        return False
    position = first.width
    for piece in pieces[1:-1]:
        found = search(piece, position, end)
        if found is None:
            return False
        position = found + piece.width
    return True


_ANY_NAME = _Component.build([_STAR])


@dataclass(frozen=True)
class Wildmatch:
    """A compiled pattern; `matches` takes a POSIX path (no leading slash) or its components."""

    pattern: str
    alternatives: tuple[tuple[_Run, ...], ...]  # each: runs between `**` components; the path matches one

    def matches(self, path: str) -> bool:
        return self.matches_parts(path.split("/"))

    def matches_parts(self, parts: Sequence[str]) -> bool:
        return any(
            _greedy(runs, len(parts), lambda run, at: run.matches_at(parts, at),
                    lambda run, start, end: run.search(parts, start, end))
            for runs in self.alternatives
        )


def wildmatch(pattern: str) -> Wildmatch | None:
    """git's wildmatch with WM_PATHNAME, as git matches a pattern against a path; None when it can never match."""
    try:
        return Wildmatch(pattern, tuple(_alternatives(pattern)))
    except _Invalid:
        return None


def _alternatives(pattern: str) -> list[tuple[_Run, ...]]:
    """git compares a pattern's literal head itself and wildmatches only the rest (dir.c, match_pathname).

    So a `**` right after that head starts the rest, where it crosses slashes though no slash
    precedes it: `models**` is `models` then anything, `ckpt**/x.bin` is `ckpt` then `x.bin` or
    anything and `/x.bin`. Such a pattern is the union of two ordinary ones.
    """
    head = len(pattern)
    for special in "*?[\\":
        found = pattern.find(special)
        if 0 <= found < head:
            head = found
    stars = head
    while pattern[stars:stars + 1] == "*":
        stars += 1
    rest = pattern[stars:]
    if stars - head < 2 or head == 0 or pattern[head - 1] == "/" or not (rest == "" or rest.startswith(("/", "\\/"))):
        return [_runs(pattern)]
    literal = pattern[:head]
    if not rest:  # `models**`: the name begins with the head, and anything may follow
        return [_runs(literal + "*"), _runs(literal + "*/**")]
    if rest.startswith("\\"):  # an escaped slash: git skips its "no directory at all" shortcut
        return [_runs(literal + "*/**/" + rest[2:])]
    return [*_alternatives(literal + rest[1:]), _runs(literal + "*/**/" + rest[1:])]


def _runs(pattern: str) -> tuple[_Run, ...]:
    components: list[list[str | tuple[str, str]]] = [[]]
    escaped_after: list[bool] = []  # whether the slash after each component was written `\\/`
    for token in _tokens(pattern):
        if token in (_SLASH, _ESCAPED_SLASH):
            escaped_after.append(token == _ESCAPED_SLASH)
            components.append([])
        else:
            components[-1].append(token)
    escaped_after.append(False)
    runs: list[list[_Component]] = [[]]
    for index, tokens_of in enumerate(components):
        if len(tokens_of) == 2 and tokens_of[0] == tokens_of[1] == _STAR:  # `**` alone between slashes
            if index == len(components) - 1 or escaped_after[index]:
                # A trailing `/**` matches everything inside, and `**\\/` at least one directory
                # (wildmatch.c tries "no directory" only before a plain slash): one component or more.
                runs[-1].append(_ANY_NAME)
            runs.append([])
        else:
            runs[-1].append(_Component.build(tokens_of))
    return tuple(_Run(tuple(run)) for run in runs)
