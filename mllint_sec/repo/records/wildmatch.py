"""git's wildmatch (wildmatch.c, with WM_PATHNAME) as a regular expression.

A `*` or `?` never matches a slash, `**` between slashes crosses directories, brackets
take ranges, `!`/`^` negation, escapes and POSIX classes. A pattern wildmatch aborts on
(an unclosed bracket, a trailing backslash, an unknown class) can never match.
"""

from __future__ import annotations

import re

# wildmatch's POSIX classes, as the ASCII sets its ctype tests mean.
_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": r" \t", "cntrl": r"\x00-\x1f\x7f", "digit": "0-9",
    "graph": r"!-\~", "lower": "a-z", "print": r" -\~", "punct": r"!-/:-@\[-`{-\~", "space": r" \t\n\r\x0b\x0c",
    "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}


def _bracket(pattern: str, start: int) -> tuple[str, int] | None:
    """The regex for the bracket expression at `pattern[start]` and the index after it; None where wildmatch aborts."""
    i = start + 1
    negated = pattern[i:i + 1] in ("!", "^")
    i += negated
    parts: list[str] = []
    previous: str | None = None  # the last single character, which may start a range
    first = True
    while True:
        if i >= len(pattern):
            return None
        char = pattern[i]
        if char == "]" and not first:
            break
        first = False
        if char == "\\":
            i += 1
            if i >= len(pattern):
                return None
            previous = pattern[i]
            parts.append(re.escape(previous))
        elif char == "-" and previous is not None and pattern[i + 1:i + 2] not in ("", "]"):
            i += 1
            end = pattern[i]
            if end == "\\":
                i += 1
                if i >= len(pattern):
                    return None
                end = pattern[i]
            if previous <= end:  # a reversed range matches nothing
                parts.append(f"{re.escape(previous)}-{re.escape(end)}")
            previous = None
        elif pattern.startswith("[:", i):
            close = pattern.find("]", i + 2)
            if close < 0:
                return None
            if close > i + 2 and pattern[close - 1] == ":":
                posix = _POSIX_CLASSES.get(pattern[i + 2:close - 1])
                if posix is None:
                    return None
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
    # Under WM_PATHNAME a bracket never matches a slash.
    return f"(?!/)[{'^' if negated else ''}{''.join(parts)}]", i + 1


def wildmatch(pattern: str) -> re.Pattern[str] | None:
    """git's wildmatch with WM_PATHNAME as a regex; None when the pattern can never match."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            end = i
            while end < len(pattern) and pattern[end] == "*":
                end += 1
            # `**` between slashes (or the ends) crosses directories; elsewhere it is a `*`.
            if end - i > 1 and (i == 0 or pattern[i - 1] == "/") and pattern[end:end + 1] in ("", "/"):
                out.append(".*" if end == len(pattern) else "(?:.*/)?")
                end += end < len(pattern)
            else:
                out.append("[^/]*")
            i = end
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            bracket = _bracket(pattern, i)
            if bracket is None:
                return None
            out.append(bracket[0])
            i = bracket[1]
        elif char == "\\":
            if i + 1 == len(pattern):
                return None
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out), re.DOTALL)
