"""Decide cheaply, from the bytes and the text alone, whether a file can produce any finding.

Sound by construction: a call can only resolve to the qualified name
`torch.serialization.load` if the file names every segment of it somewhere
(`torch` in an import, `serialization` in an import or an attribute, `load`);
aliases keep the words in the file (`from torch import load as tl`). So each
rule contributes word tuples, and a file is parsed only when some tuple is
present in full in its code: comments and plain string literals (docstrings included, where most
mentions of loaders in ML libraries live) are blanked first, since they never
hold code. f-strings and t-strings can, so they are kept.

Two steps, cheapest first. `may_want(data)` looks at the file's raw bytes before anything is
decoded or blanked: every byte that cannot be part of an ASCII word becomes a space (one
`bytes.translate`), the rest is split into words, and only a file that holds some word tuple (or
a word of every group, or a raw word) can be wanted at all; on transformers 61% of the files stop
there. The others go on to `wants(text)`, the blanking test. The bytes test is a superset of the
text test: a word is ASCII, so in UTF-8 (or any encoding that maps ASCII to itself and everything
else to bytes 0x80-0xFF) it is the same bytes, and a non-ASCII character beside it, a word
character to `re`'s Unicode `\b`, is a separator here, so the bytes see every whole word the
text has and perhaps more. A file that declares another encoding (a coding cookie naming one,
a UTF-16 or UTF-32 byte-order mark) is not judged on its bytes.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize

SUPPRESSION_MARKER = "mllint-sec:"
DYNAMIC_MARKERS = ("__import__", "import_module", "getattr")  # ways to name a loader in a string
# A string that is never closed ends at its line's end (or the text's): had the closing quote been
# required, every quote of a line full of unclosed strings would rescan the rest of the line, which
# is quadratic. Such a file does not parse, so what the blanking then hides cannot be a finding.
# A match starts only at `#` or a quote (re skips every other character in C); a string's prefix
# (`rb`, `f`) is read back from the text before it, which is 2.3x faster on transformers than a
# pattern that let a match start at any of the letters before a quote.
_COMMENTS_AND_STRINGS = re.compile(
    r"#[^\n]*"
    r"|\"\"\"(?:\\[\s\S]|[^\\])*?(?:\"\"\"|\Z)"
    r"|'''(?:\\[\s\S]|[^\\])*?(?:'''|\Z)"
    r"|\"(?:\\[\s\S]|[^\"\\\n])*\"?|'(?:\\[\s\S]|[^'\\\n])*'?"
)
_PREFIX_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_CODE_PREFIXES = frozenset("fFtT")  # f-strings and t-strings hold code
_PREFIX_MAX = 3  # letters of a prefix, at most (`Rb`, and in old or broken code a few more)


def _blanked(text: str, keep_fstrings: bool, keep_lines: bool) -> str:
    """The text with each comment and string literal (its prefix with it) replaced by a blank, or by
    a blank and its line breaks; f-strings and t-strings kept when asked."""
    out: list[str] = []
    done = 0  # the text before this is in `out`
    previous_end = 0
    for match in _COMMENTS_AND_STRINGS.finditer(text):
        start, end = match.span()
        if text[start] != "#":
            # The prefix is the last letters (at most three) before the quote, as far back as the
            # previous literal's end.
            first = start
            while first > max(start - _PREFIX_MAX, previous_end) and text[first - 1] in _PREFIX_LETTERS:
                first -= 1
            previous_end = end
            if keep_fstrings and not _CODE_PREFIXES.isdisjoint(text[first:start]):
                continue  # stays in the text, which is copied up to the next blanked literal
            start = first
        previous_end = end
        out.append(text[done:start])
        out.append(" " + "\n" * text.count("\n", start, end) if keep_lines else " ")
        done = end
    out.append(text[done:])
    return "".join(out)


def code_only_keeping_lines(text: str, keep_fstrings: bool = True) -> str:
    """Like code_only, but blanked literals keep their line breaks; optionally blank f-strings too."""
    return _blanked(text, keep_fstrings, keep_lines=True)


def code_only(text: str) -> str:
    """The text with comments and plain string literals blanked."""
    return _blanked(text, keep_fstrings=True, keep_lines=False)


# Every byte that is not an ASCII letter, digit or underscore (bytes `\w`) becomes a space, so that
# `split()` yields exactly the maximal runs of word bytes: the whole words `\bword\b` would find.
_SEPARATORS = bytes(byte if chr(byte).isascii() and (chr(byte).isalnum() or byte == ord("_")) else ord(" ")
                    for byte in range(256))
_FOREIGN_BOMS = (b"\xfe\xff", b"\xff\xfe", b"\x00\x00\xfe\xff")  # UTF-16 BE/LE, UTF-32 (LE starts as UTF-16 LE)
# Encodings in which an ASCII word is the same bytes and every other character is made of bytes
# 0x80-0xFF only: a file declaring one of these may be judged on its bytes.
_ASCII_PRESERVING = frozenset({"utf-8", "utf-8-sig", "ascii", "iso8859-1", "cp1252"})
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")


def _words_of(data: bytes, wanted: frozenset[bytes]) -> frozenset[bytes]:
    """Which of `wanted` occur in `data` as whole words (runs of ASCII word bytes)."""
    return wanted.intersection(data.translate(_SEPARATORS).split())


def _judged_on_bytes(data: bytes) -> bool:
    """Whether the text these bytes decode to has the same ASCII words: no byte-order mark of UTF-16
    or UTF-32, and no coding cookie naming an encoding that could map bytes to other ASCII letters."""
    if data.startswith(_FOREIGN_BOMS):
        return False
    # tokenize reads a cookie from the first two lines (a file without "\n" is one line).
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    if data.find(b"coding", 0, len(data) if second < 0 else second) < 0:
        return True
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return codecs.lookup(encoding).name in _ASCII_PRESERVING
    except (SyntaxError, LookupError):  # decoding fails too, and reports it; judge nothing here
        return False


class Prefilter:
    """`pairs`: word tuples (the segments of a qualified name) that must all appear in code;
    `raw_words`: words that may sit inside string literals (environment variable names) and
    are looked for as is."""

    def __init__(self, pairs: frozenset[tuple[str, ...]], raw_words: frozenset[str] = frozenset(),
                 groups: tuple[frozenset[str], ...] = ()):
        self.pairs = pairs
        self.raw_words = raw_words
        # `groups`: word sets each of which must have a word in code (request sources and model
        # sinks, for the flow rules): too many combinations to list as pairs.
        self.groups = tuple(g for g in groups if g)
        words = {word for pair in pairs for word in pair} | {word for group in self.groups for word in group}
        # A word that is not one run of ASCII word characters cannot be seen by splitting on the other
        # bytes: it counts as present in every file (none is, today: the words are ASCII identifiers).
        self._always = frozenset(word.encode() for word in words if not _ASCII_WORD.fullmatch(word))
        self._words = frozenset(word.encode() for word in words)
        self._pairs = tuple(frozenset(word.encode() for word in pair) for pair in pairs)
        self._groups = tuple(frozenset(word.encode() for word in group) for group in self.groups)
        self._anywhere = tuple(word.encode() for word in (SUPPRESSION_MARKER, *sorted(raw_words)))
        self._last_groups: tuple[str | None, bool] = (None, False)
        self._last_split: tuple[bytes | None, list[bytes]] = (None, [])
        self._encoded: dict[frozenset[str], frozenset[bytes]] = {}

    def may_want(self, data: bytes) -> bool:
        """False only when `wants` is False for whatever text these bytes decode to: no word tuple, no word
        of every group, no raw word and no suppression marker in the raw bytes. Decoding and blanking are
        then skipped."""
        if not _judged_on_bytes(data) or any(word in data for word in self._anywhere):
            return True
        present = self._words.intersection(self._split(data)) | self._always
        return self._has_pair(present) or self._has_groups(present)

    def may_name(self, data: bytes, words: frozenset[str]) -> bool:
        """False only when the text these bytes decode to names none of `words` (ASCII identifiers) as a
        whole word: the same argument as may_want's, for another list of words."""
        encoded = self._encoded.get(words)
        if encoded is None:
            encoded = self._encoded[words] = frozenset(word.encode() for word in words)
        if not _judged_on_bytes(data) or any(not _ASCII_WORD.fullmatch(word) for word in words):
            return True
        return not encoded.isdisjoint(self._split(data))

    def _split(self, data: bytes) -> list[bytes]:
        """The whole words of `data`; the last file's are kept, since both tests above ask for them."""
        if self._last_split[0] is not data:
            self._last_split = (data, data.translate(_SEPARATORS).split())
        return self._last_split[1]

    def _present(self, data: bytes) -> frozenset[bytes]:
        return _words_of(data, self._words) | self._always

    def _has_pair(self, present: frozenset[bytes]) -> bool:
        return any(pair <= present for pair in self._pairs)

    def _has_groups(self, present: frozenset[bytes]) -> bool:
        return bool(self._groups) and all(not group.isdisjoint(present) for group in self._groups)

    def wants_groups(self, text: str) -> bool:
        """True when the code names a word of every group (a file the flow rules must parse in full)."""
        if self._last_groups[0] is text:
            return self._last_groups[1]
        answer = self._has_groups(self._present(_utf8(text)))  # in the raw text: a superset
        if answer:
            answer = self._has_groups(self._present(_utf8(code_only(text))))
        self._last_groups = (text, answer)  # asked again for the same text by the analyzer
        return answer

    def wants(self, text: str) -> bool:
        """True when the file may hold a finding or a suppression comment."""
        if SUPPRESSION_MARKER in text or any(word in text for word in self.raw_words):
            return True
        # Whole words of the raw text first (a superset of those in code), then of the code alone.
        present = self._present(_utf8(text))
        pair, groups = self._has_pair(present), self._has_groups(present)
        if not pair and not groups:
            return False
        if pair and any(marker in text for marker in DYNAMIC_MARKERS):
            # `getattr(pickle, "loads")`, `__import__("pickle")`: the names sit in string literals.
            return True
        in_code = self._present(_utf8(code_only(text)))  # blanked once for both tests
        in_groups = groups and self._has_groups(in_code)
        self._last_groups = (text, in_groups)  # the analyzer asks wants_groups of the same text
        return in_groups or (pair and self._has_pair(in_code))


def _utf8(text: str) -> bytes:
    # A notebook's cells may hold lone surrogates (JSON escapes); they are not words either way.
    return text.encode("utf-8", "surrogatepass")
