"""Provenance records: what a repository says its data and model files are.

A record names a file and, usually, its digest. This module reads:

- Git LFS pointer files, and the ``.gitattributes`` patterns that route files through LFS;
- DVC: ``.dvc`` files, ``dvc.lock``, and the outputs ``dvc.yaml`` stages declare;
- checksum manifests: GNU coreutils (``<hex>  <path>``), BSD tags (``SHA256 (path) = <hex>``)
  and single-file sidecars (``model.bin.sha256``);
- the YAML front matter of Hugging Face model cards (``README.md``).

Every function takes the file's display path (POSIX, relative to the repository root)
and its content. Nothing is read from disk, imported or run, and nothing raises on
bad input: what cannot be read becomes a :class:`Problem` at its line. Paths in a
record are resolved against the record file's directory into repository-relative
POSIX paths; one that leaves the repository (``..`` too far, an absolute path, a URL
where a file is expected) is dropped with a Problem. Results are in file order.

YAML is composed by PyYAML's safe loader (libyaml's when available), which builds
nodes and no objects; scalars are then constructed by the same safe loader. Working
from nodes keeps the line of every key and item, and lets aliases be expanded under
a budget. Texts over 1 MiB, nesting deeper than 64 levels and aliases that stand for
more than 100,000 nodes are refused with a Problem.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

# Both are PyYAML's safe loader; the C one is libyaml's, present when PyYAML was built with it.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, order=True)
class Problem:
    source: str  # display path of the file
    line: int  # 1-based
    message: str


@dataclass(frozen=True)
class Output:
    """A file or directory a record vouches for."""

    path: str  # repository-relative POSIX path
    digest: str | None  # lowercase hex (a DVC directory's without `.dir`); etag / checksum as recorded
    algorithm: str | None  # md5, md5-dos2unix, sha1, sha224, sha256, sha384, sha512, etag, checksum
    is_dir: bool  # a DVC directory: the digest is that of its file listing
    source: str  # display path of the record file
    line: int  # of the record's `path:` key (DVC) or line (manifests)


@dataclass(frozen=True)
class Import:
    """Where the outputs of a `dvc import` or `dvc import-url` came from."""

    url: str  # the repository (`dvc import`), or the file's URL or path (`dvc import-url`)
    path: str | None  # the path inside that repository (`dvc import`)
    rev: str | None  # `rev_lock`: the commit a `dvc import` is pinned to
    digest: str | None
    algorithm: str | None
    source: str
    line: int


@dataclass(frozen=True)
class Records:
    outputs: tuple[Output, ...]
    problems: tuple[Problem, ...]
    imports: tuple[Import, ...] = ()


@dataclass(frozen=True)
class DeclaredOut:
    """An output a `dvc.yaml` stage declares, which its `dvc.lock` should record."""

    stage: str  # as named in dvc.yaml: a foreach / matrix group's name, without dvc.lock's `@key`
    path: str  # repository-relative; `${...}` templates are kept as written
    kind: str  # "outs", "metrics" or "plots"
    cache: bool
    persist: bool
    wdir: str  # the stage's `wdir` as written, "" when absent (see `dvc_lock`)
    line: int

    @property
    def templated(self) -> bool:
        return "${" in self.path


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # the object's SHA-256: 64 lowercase hex digits
    size: int


@dataclass(frozen=True)
class ModelCard:
    source: str
    fields: dict[str, Any]  # the front matter's top-level keys, values as written (empty ones too)
    lines: dict[str, int]  # the line of each key
    has_datasets: bool  # the field is present and not empty
    has_license: bool
    has_base_model: bool
    problems: tuple[Problem, ...]


# --------------------------------------------------------------------------------------
# Paths

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_ABSOLUTE = re.compile(r"[/\\]|[A-Za-z]:[/\\]")


def _resolve(directory: str, written: str) -> str | None:
    """`written`, relative to `directory`, as a normalised repository path ("" for the root); None outside it."""
    if _URL.match(written) or _ABSOLUTE.match(written):
        return None
    path = posixpath.normpath(posixpath.join(directory, written))
    if path == ".." or path.startswith("../"):
        return None
    return "" if path == "." else path


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------------------
# YAML with lines

_MAX_YAML_BYTES = 1 << 20
_MAX_DEPTH = 64
_MAX_REVISITS = 100_000
_MERGE = "tag:yaml.org,2002:merge"
_YAML_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")  # what YAML counts as a line break


class _Map(dict):
    """A YAML mapping that also knows the line of each key."""

    __slots__ = ("key_lines",)

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}


class _Seq(list):
    """A YAML sequence that also knows the line of each item."""

    __slots__ = ("item_lines",)

    def __init__(self, items: list, item_lines: list[int]) -> None:
        super().__init__(items)
        self.item_lines = item_lines


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Reader:
    """Plain values from composed YAML nodes, with lines; aliases are expanded under a budget."""

    def __init__(self, loader: Any, first_line: int) -> None:
        self.loader = loader
        self.first_line = first_line
        self.seen: set[int] = set()
        self.revisits = 0

    def line(self, node: yaml.Node) -> int:
        return node.start_mark.line + self.first_line

    def value(self, node: yaml.Node, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _Refused(self.line(node), f"YAML nested deeper than {_MAX_DEPTH} levels is not read")
        self._count(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            return _Seq([self.value(item, depth + 1) for item in node.value], [self.line(item) for item in node.value])
        return self._scalar(node)

    def _count(self, node: yaml.Node) -> None:
        # An alias is the node it names, met again; chained aliases can stand for
        # exponentially many nodes, so nodes met again are counted.
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return
        self.revisits += 1
        if self.revisits > _MAX_REVISITS:
            raise _Refused(self.line(node), f"YAML aliases standing for more than {_MAX_REVISITS} nodes are not read")

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            value = self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            return node.value  # a value its tag cannot hold (`2023-13-45`, bad base64, `!custom`): keep the text
        return value if isinstance(value, Hashable) else node.value  # `!!seq text` would be an empty list

    def _mapping(self, node: yaml.MappingNode, depth: int) -> _Map:
        result = _Map()
        merged: list[_Map] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self._merge_sources(value_node, depth))
            elif isinstance(key_node, yaml.ScalarNode):  # complex keys (`? [a, b]`) are skipped
                key = self._scalar(key_node)
                result[key] = self.value(value_node, depth + 1)
                result.key_lines[key] = self.line(key_node)
        # `<<: [*a, *b]`: the mapping's own keys win, then the first merged mapping with the key.
        for source in merged:
            for key, value in source.items():
                if key not in result:
                    result[key] = value
                    result.key_lines[key] = source.key_lines[key]
        return result

    def _merge_sources(self, node: yaml.Node, depth: int) -> list[_Map]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        sources = [self.value(item, depth + 1) for item in nodes]
        if not all(isinstance(source, _Map) for source in sources):
            raise _Refused(self.line(node), "malformed YAML: `<<` merges something other than mappings")
        return sources


def _yaml_error(error: Exception, text: str) -> tuple[int, str]:
    """(0-based line, message) for an error of the YAML loader."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        return (mark.line if mark else 0), f"malformed YAML: {error.problem or error.context}"
    if isinstance(error, yaml.reader.ReaderError) and isinstance(error.character, int):
        # The C reader reports a byte offset, the Python one a character index: find the character instead.
        at = max(text.find(chr(error.character)), 0)
        return len(_YAML_BREAK.findall(text, 0, at)), f"malformed YAML: unacceptable character U+{error.character:04X}"
    if isinstance(error, UnicodeEncodeError):
        return len(_YAML_BREAK.findall(text, 0, error.start)), "malformed YAML: text holds a lone surrogate"
    if isinstance(error, RecursionError):  # from the pure-Python composer; libyaml stops at depth 1000
        return 0, "YAML nested too deeply to read"
    return 0, f"malformed YAML: {error}"


def _load_yaml(source: str, text: str, first_line: int = 1) -> tuple[Any, list[Problem]]:
    """The document as plain values with lines (None when empty or unread), and what went wrong."""
    if len(text) > _MAX_YAML_BYTES or _utf8_length(text) > _MAX_YAML_BYTES:
        return None, [Problem(source, first_line, "YAML text larger than 1 MiB is not read")]
    try:
        loader = _SafeLoader(text)  # the pure-Python reader checks every character here
        try:
            node = loader.get_single_node()
            return (None if node is None else _Reader(loader, first_line).value(node)), []
        finally:
            loader.dispose()
    except _Refused as refused:
        return None, [Problem(source, refused.line, refused.message)]
    except (yaml.YAMLError, UnicodeEncodeError, RecursionError) as error:
        line, message = _yaml_error(error, text)
        return None, [Problem(source, first_line + line, message)]


def _document(value: Any, source: str, problems: list[Problem], line: int = 1) -> _Map:
    """The document's top-level mapping; an empty one when the document is empty or something else."""
    if isinstance(value, _Map):
        return value
    if value is not None:
        problems.append(Problem(source, line, "expected a YAML mapping at the top level"))
    return _Map()


def _mapping_at(mapping: _Map, key: str, source: str, problems: list[Problem]) -> _Map:
    value = mapping.get(key)
    if isinstance(value, _Map):
        return value
    if value is not None:
        problems.append(Problem(source, mapping.key_lines[key], f"`{key}` is not a mapping"))
    return _Map()


def _items_at(mapping: _Map, key: str, source: str, problems: list[Problem]) -> list[tuple[Any, int]]:
    """The items of the sequence at `key`, each with its line."""
    value = mapping.get(key)
    if isinstance(value, _Seq):
        return list(zip(value, value.item_lines))
    if value is not None:
        problems.append(Problem(source, mapping.key_lines[key], f"`{key}` is not a list"))
    return []


# --------------------------------------------------------------------------------------
# Git LFS pointers (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)

# The released spec, then the pre-release ones git-lfs still accepts.
_LFS_VERSIONS = (
    b"https://git-lfs.github.com/spec/v1", b"https://hawser.github.com/spec/v1", b"http://git-media.io/v/2",
)
_LFS_MAX_BYTES = 1024
_LFS_EXTENSION = re.compile(rb"ext-[0-9]-\w+")
_LFS_OID = re.compile(rb"sha256:([0-9a-f]{64})")
_LFS_SIZE = re.compile(rb"[0-9]+")


def lfs_pointer(data: bytes) -> LfsPointer | None:
    """The pointer `data` is, read as git-lfs reads one; None when it is not a pointer.

    `version` comes first, then any `ext-<n>-<name>` lines in order, then `oid` and `size`;
    like git-lfs, surrounding whitespace, CRLF line ends and blank lines are tolerated.
    An empty file (which git-lfs takes for an empty object) records nothing and is None.
    """
    if not data or len(data) >= _LFS_MAX_BYTES:
        return None
    lines = [line.removesuffix(b"\r") for line in data.strip().split(b"\n")]
    pairs = [line.split(b" ", 1) for line in lines if line]
    if any(len(pair) != 2 for pair in pairs):
        return None
    keys = [key for key, _ in pairs]
    extensions = keys[1:-2]
    if keys[:1] != [b"version"] or keys[-2:] != [b"oid", b"size"] or extensions != sorted(set(extensions)):
        return None
    if not all(_LFS_EXTENSION.fullmatch(key) for key in extensions):
        return None
    values = dict(pairs)
    oid, size = _LFS_OID.fullmatch(values[b"oid"]), _LFS_SIZE.fullmatch(values[b"size"])
    if values[b"version"] not in _LFS_VERSIONS or oid is None or size is None or int(size[0]) >= 1 << 63:
        return None
    return LfsPointer(oid[1].decode("ascii"), int(size[0]))


# --------------------------------------------------------------------------------------
# .gitattributes (gitattributes(5); git's attr.c, dir.c and wildmatch.c)

_ATTR_BLANK = " \t\r\n"
_ATTR_TOKEN = re.compile(r"[^ \t\r\n]+")
_ATTR_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")
_ATTR_MAX_LINE = 2048  # git ignores longer lines (ATTR_MAX_LINE_LENGTH)
_MACRO = "[attr]"
_C_QUOTED = re.compile(r'"((?:[^"\\]|\\(?:[abfnrtv\\"]|[0-3][0-7]{2}))*)"')
_C_ESCAPE = re.compile(r"((?:\\[0-3][0-7]{2})+)|\\(.)")
_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
# wildmatch's POSIX classes, as the ASCII sets its ctype tests mean.
_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": r" \t", "cntrl": r"\x00-\x1f\x7f", "digit": "0-9",
    "graph": r"!-\~", "lower": "a-z", "print": r" -\~", "punct": r"!-/:-@\[-`{-\~", "space": r" \t\n\r\x0b\x0c",
    "upper": "A-Z", "xdigit": "0-9A-Fa-f",
}


@dataclass(frozen=True)
class LfsRule:
    """One `.gitattributes` line that sets the `filter` attribute."""

    pattern: str  # as written, unquoted
    lfs: bool  # `filter=lfs`; False for another filter, `-filter` or `!filter`
    source: str  # display path of the .gitattributes file
    line: int
    base: str  # the directory of that file, "" at the root
    basename_only: bool  # no slash: matches a file's name at any depth below `base`
    regex: re.Pattern[str] | None = field(repr=False)  # None: can never match (as wildmatch aborts)

    def matches(self, path: str) -> bool:
        if self.base:
            if not path.startswith(self.base + "/"):
                return False
            path = path[len(self.base) + 1:]
        subject = path.rpartition("/")[2] if self.basename_only else path
        return self.regex is not None and self.regex.fullmatch(subject) is not None


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
        pattern = _ATTR_TOKEN.match(line)[0]
        rest = line[len(pattern):]
    return pattern, _ATTR_TOKEN.findall(rest)


def _attribute_name(state: str) -> str:
    return (state[1:] if state[0] in "-!" else state).partition("=")[0]


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


def _wildmatch(pattern: str) -> re.Pattern[str] | None:
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
                   _wildmatch(pattern.removeprefix("/")))


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
        if _utf8_length(line) >= _ATTR_MAX_LINE:
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


# --------------------------------------------------------------------------------------
# DVC

_DVC_DIGEST = {"md5": re.compile(r"([0-9a-fA-F]{32})(\.dir)?"), "sha256": re.compile(r"([0-9a-fA-F]{64})(\.dir)?")}
_DVC_HASH_KEYS = ("md5", "sha256", "etag", "checksum")  # preferred first


def _dvc_hash(entry: _Map, source: str, problems: list[Problem]) -> tuple[str | None, str | None, bool]:
    """(digest, algorithm, is_dir) recorded in a DVC output or dependency entry."""
    key = next((key for key in _DVC_HASH_KEYS if entry.get(key) not in (None, "")), None)
    if key is None:
        return None, None, False
    value = str(entry[key])
    if key not in _DVC_DIGEST:  # an etag or checksum is whatever the remote reported
        return value, key, False
    match = _DVC_DIGEST[key].fullmatch(value)
    if match is None:
        problems.append(Problem(source, entry.key_lines[key], f"`{key}: {value}` is not a {key} digest"))
        return None, None, False
    # DVC 3 marks a plain MD5 with `hash: md5`; before that, text files were hashed with CRLF read as LF.
    algorithm = "md5-dos2unix" if key == "md5" and entry.get("hash") != "md5" else key
    return match[1].lower(), algorithm, match[2] is not None


def _stage_directory(directory: str, wdir: Any, source: str, line: int, problems: list[Problem]) -> str | None:
    """The directory a stage's paths are relative to: the record file's, moved by `wdir`."""
    if wdir is None:
        return directory
    resolved = _resolve(directory, wdir) if isinstance(wdir, str) else None
    if resolved is None:
        problems.append(Problem(source, line, f"`wdir: {wdir}` is not a directory inside the repository"))
    return resolved


def _recorded_output(entry: Any, line: int, directory: str, source: str, problems: list[Problem]) -> Output | None:
    if not isinstance(entry, _Map) or not isinstance(entry.get("path"), str):
        problems.append(Problem(source, line, "an output entry without a `path`"))
        return None
    line = entry.key_lines["path"]
    path = _resolve(directory, entry["path"])
    if not path:
        problems.append(Problem(source, line, f"output `{entry['path']}` is not a path inside the repository"))
        return None
    digest, algorithm, is_dir = _dvc_hash(entry, source, problems)
    return Output(path, digest, algorithm, is_dir, source, line)


def _import(entry: Any, line: int, source: str, problems: list[Problem]) -> Import | None:
    if not isinstance(entry, _Map) or not isinstance(entry.get("path"), str):
        problems.append(Problem(source, line, "a dependency entry without a `path`"))
        return None
    line = entry.key_lines["path"]
    digest, algorithm, _ = _dvc_hash(entry, source, problems)
    if "repo" not in entry:  # dvc import-url: the path is the source
        return Import(entry["path"], None, None, digest, algorithm, source, line)
    repo = entry["repo"]
    if not isinstance(repo, _Map) or not isinstance(repo.get("url"), str):
        problems.append(Problem(source, entry.key_lines["repo"], "`repo` without a `url`"))
        return None
    rev = repo.get("rev_lock")
    return Import(repo["url"], entry["path"], None if rev is None else str(rev), digest, algorithm, source, line)


def _records(outputs: Iterable[Output | None], problems: Iterable[Problem],
             imports: Iterable[Import | None] = ()) -> Records:
    return Records(
        tuple(sorted((o for o in outputs if o), key=lambda o: (o.line, o.path))),
        tuple(sorted(problems)),
        tuple(sorted((i for i in imports if i), key=lambda i: (i.line, i.url))),
    )


def dvc_file(display: str, text: str) -> Records:
    """The outputs a `.dvc` file records (`dvc add`, `dvc import`, `dvc import-url`, DVC 1 stage files).

    Paths are relative to the file's directory and its `wdir`. The dependencies of a
    file without a `cmd` (what `dvc import` and `dvc import-url` write) are `imports`.
    """
    value, problems = _load_yaml(display, text)
    root = _document(value, display, problems)
    if "outs" not in root and not problems:
        problems.append(Problem(display, 1, "no `outs`: not a DVC file"))
    directory = _stage_directory(posixpath.dirname(display), root.get("wdir"), display,
                                 root.key_lines.get("wdir", 1), problems)
    if directory is None:
        return _records((), problems)
    outputs = [_recorded_output(entry, line, directory, display, problems)
               for entry, line in _items_at(root, "outs", display, problems)]
    deps = _items_at(root, "deps", display, problems) if "cmd" not in root else []
    return _records(outputs, problems, [_import(entry, line, display, problems) for entry, line in deps])


def _lock_stages(root: _Map, source: str, problems: list[Problem]) -> _Map:
    if "schema" not in root:  # DVC 1: the stages are the top-level keys
        return root
    if str(root["schema"]) != "2.0":
        problems.append(Problem(source, root.key_lines["schema"], f"unsupported dvc.lock schema `{root['schema']}`"))
        return _Map()
    return _mapping_at(root, "stages", source, problems)


def dvc_lock(display: str, text: str, wdirs: Mapping[str, str] | None = None) -> Records:
    """The outputs `dvc.lock` records for each stage (schema 2.0, and DVC 1's top-level stages).

    Its paths are relative to each stage's `wdir`, which only dvc.yaml holds: pass
    `{stage: wdir}` (`DeclaredOut.wdir`); a foreach / matrix stage `name@key` uses `name`'s.
    The stages' dependencies are inputs, not records of outputs, and are not read.
    """
    value, problems = _load_yaml(display, text)
    stages = _lock_stages(_document(value, display, problems), display, problems)
    wdirs = wdirs or {}
    outputs: list[Output | None] = []
    for name, stage in stages.items():
        line = stages.key_lines[name]
        if not isinstance(stage, _Map):
            problems.append(Problem(display, line, f"stage `{name}` is not a mapping"))
            continue
        wdir = wdirs.get(str(name), wdirs.get(str(name).partition("@")[0])) or None
        directory = _stage_directory(posixpath.dirname(display), wdir, display, line, problems)
        if directory is not None:
            outputs += [_recorded_output(entry, entry_line, directory, display, problems)
                        for entry, entry_line in _items_at(stage, "outs", display, problems)]
    return _records(outputs, problems)


def _stage_body(name: Any, stage: Any, line: int, source: str, problems: list[Problem]) -> _Map | None:
    """What declares a stage's outputs: the stage itself, or a foreach stage's `do` template."""
    if not isinstance(stage, _Map):
        problems.append(Problem(source, line, f"stage `{name}` is not a mapping"))
        return None
    if "foreach" not in stage:
        return stage
    if not isinstance(stage.get("do"), _Map):
        problems.append(Problem(source, line, f"foreach stage `{name}` has no `do` mapping"))
        return None
    return stage["do"]


def _declared_entry(entry: Any, line: int, source: str, problems: list[Problem]) -> tuple[str, Mapping, int] | None:
    """(path, options, line) of `- path` or `- path: {cache: false, ...}`."""
    if isinstance(entry, str):
        return entry, {}, line
    if isinstance(entry, _Map) and len(entry) == 1:
        [(path, options)] = entry.items()
        if isinstance(path, str) and (options is None or isinstance(options, _Map)):
            return path, options or {}, entry.key_lines[path]
    problems.append(Problem(source, line, "an output must be a path, or a mapping of one path to its options"))
    return None


def dvc_yaml_outs(display: str, text: str) -> tuple[list[DeclaredOut], list[Problem]]:
    """The outputs (`outs`, `metrics`, `plots`) that `dvc.yaml` stages declare.

    Templates (`${...}`) are not resolved; a foreach stage's `do` and a matrix stage
    declare once, under the group's name.
    """
    value, problems = _load_yaml(display, text)
    stages = _mapping_at(_document(value, display, problems), "stages", display, problems)
    declared: list[DeclaredOut] = []
    for name, stage in stages.items():
        line = stages.key_lines[name]
        body = _stage_body(name, stage, line, display, problems)
        if body is None:
            continue
        wdir = body.get("wdir")
        directory = _stage_directory(posixpath.dirname(display), wdir, display, body.key_lines.get("wdir", line),
                                     problems)
        if directory is None:
            continue
        for kind in ("outs", "metrics", "plots"):
            for entry, entry_line in _items_at(body, kind, display, problems):
                found = _declared_entry(entry, entry_line, display, problems)
                if found is None:
                    continue
                written, options, where = found
                path = _resolve(directory, written)
                if not path:
                    problems.append(Problem(display, where, f"output `{written}` is not a path inside the repository"))
                    continue
                declared.append(DeclaredOut(str(name), path, kind, options.get("cache") is not False,
                                            options.get("persist") is True, wdir or "", where))
    return sorted(declared, key=lambda out: (out.line, out.path)), sorted(problems)


# --------------------------------------------------------------------------------------
# Checksum manifests

_HEX_DIGITS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
_BY_DIGITS = {digits: name for name, digits in _HEX_DIGITS.items()}
_ALGORITHM = "|".join(_HEX_DIGITS)
# SHA256SUMS, sha256sum.txt, MD5SUMS, checksums.txt, CHECKSUMS
_MANIFEST_NAME = re.compile(rf"(?:(?P<named>{_ALGORITHM})sums?|checksums?)(?:\.txt)?", re.IGNORECASE)
# model.bin.sha256, model.bin.sha256sum, data.tar.md5: about one file, unless its lines say otherwise
_SIDECAR_NAME = re.compile(rf"(?P<subject>.+)\.(?P<named>{_ALGORITHM})(?:sums?)?", re.IGNORECASE)
# BSD and `--tag` lines, and OpenSSL's `SHA2-256(path)= <hex>`
_TAGGED = re.compile(r"(?P<tag>[A-Za-z0-9-]+) ?\((?P<name>.*)\) ?= ?(?P<digest>\S+)")
_TAGS = {**{name: name for name in _HEX_DIGITS}, **{f"sha2-{bits}": f"sha{bits}" for bits in (224, 256, 384, 512)}}
# `<hex>  path` (text mode), `<hex> *path` (binary mode), `<hex> path` (BSD `-r`), or a bare digest
_UNTAGGED = re.compile(r"(?P<digest>[0-9A-Fa-f]+)(?:[ \t][ *]?(?P<name>.*))?")
_HEX = re.compile(r"[0-9A-Fa-f]+")
_ESCAPED_NAME = re.compile(r"(?:[^\\]|\\[\\nr])*")
_NAME_ESCAPE = re.compile(r"\\([\\nr])")


def is_checksum_manifest(name: str) -> bool:
    """Whether a file name (or path) is a checksum manifest `checksum_manifest` reads.

    `<alg>SUMS`, `<alg>SUM(S).txt`, `checksum(s)(.txt)` and `CHECKSUMS`, in any case, for
    md5 and sha1/224/256/384/512; and sidecars `<file>.<alg>` / `<file>.<alg>sum(s)`.
    """
    base = name.rpartition("/")[2]
    return bool(_MANIFEST_NAME.fullmatch(base) or _SIDECAR_NAME.fullmatch(base))


def _manifest_naming(name: str) -> tuple[str | None, str | None]:
    """(the algorithm a manifest's name gives, the file a sidecar is about)."""
    match = _MANIFEST_NAME.fullmatch(name) or _SIDECAR_NAME.fullmatch(name)
    if match is None:
        return None, None
    named = match["named"]
    return (named.lower() if named else None), match.groupdict().get("subject")


@dataclass(frozen=True)
class _ManifestLine:
    digest: str
    name: str | None  # None: a bare digest
    algorithm: str | None  # from a BSD tag


def _unescape_name(name: str) -> str | None:
    """A name from a line starting with `\\`: coreutils escapes `\\`, newline and CR."""
    if not _ESCAPED_NAME.fullmatch(name):
        return None
    return _NAME_ESCAPE.sub(lambda match: {"\\": "\\", "n": "\n", "r": "\r"}[match[1]], name)


def _named(name: str | None) -> str | None:
    """A line's file name; None for a bare digest (trailing blanks name nothing)."""
    return name if name and not name.isspace() else None


def _manifest_line(text: str, source: str, number: int) -> _ManifestLine | Problem | None:
    text = text.lstrip(" \t\v\f\r")
    if not text or text.startswith("#"):
        return None
    escaped = text.startswith("\\")
    text = text[escaped:]
    tagged = _TAGGED.fullmatch(text)
    if tagged:
        algorithm = _TAGS.get(tagged["tag"].lower())
        if algorithm is None:
            return Problem(source, number, f"unsupported checksum algorithm `{tagged['tag']}`")
        if not _HEX.fullmatch(tagged["digest"]):
            return Problem(source, number, f"`{tagged['digest']}` is not a hex digest")
        entry = _ManifestLine(tagged["digest"], _named(tagged["name"]), algorithm)
    else:
        untagged = _UNTAGGED.fullmatch(text)
        if untagged is None:
            return Problem(source, number, "not a checksum line")
        entry = _ManifestLine(untagged["digest"], _named(untagged["name"]), None)
    if escaped and entry.name is not None:
        name = _unescape_name(entry.name)
        if name is None:
            return Problem(source, number, "malformed escape in a file name")
        entry = _ManifestLine(entry.digest, name, entry.algorithm)
    return entry


def _manifest_output(entry: _ManifestLine, named: str | None, subject: str | None, source: str,
                     number: int) -> Output | Problem:
    algorithm = entry.algorithm or named or _BY_DIGITS.get(len(entry.digest))
    if algorithm is None:
        return Problem(source, number, f"a digest of {len(entry.digest)} hex digits fits no supported algorithm")
    if len(entry.digest) != _HEX_DIGITS[algorithm]:
        return Problem(source, number, f"a {algorithm} digest has {_HEX_DIGITS[algorithm]} hex digits, "
                                       f"not {len(entry.digest)}")
    name = entry.name
    if subject is not None and name in (None, "-"):  # `sha256sum < f > f.sha256` writes `-`
        name = subject
    if name is None:
        return Problem(source, number, "a digest without a file name")
    if name == "-":
        return Problem(source, number, "a digest of standard input (`-`), not of a file")
    path = _resolve(posixpath.dirname(source), name)
    if not path:
        return Problem(source, number, f"`{name}` is not a path inside the repository")
    return Output(path, entry.digest.lower(), algorithm, False, source, number)


def checksum_manifest(display: str, text: str) -> Records:
    """The digests a checksum manifest records, for paths relative to its directory.

    The algorithm is a line's BSD tag, else the file name's (`SHA256SUMS`), else the
    one the digest's length fits (`checksums.txt`). In a sidecar `<file>.<alg>`, a
    bare digest (or one for `-`) is `<file>`'s. Comment lines (`#`) and blank lines are skipped.
    """
    named, subject = _manifest_naming(posixpath.basename(display))
    outputs: list[Output] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        entry = _manifest_line(line.removesuffix("\r"), display, number)
        if isinstance(entry, _ManifestLine):
            entry = _manifest_output(entry, named, subject, display, number)
        if isinstance(entry, Output):
            outputs.append(entry)
        elif isinstance(entry, Problem):
            problems.append(entry)
    return Records(tuple(outputs), tuple(problems))


# --------------------------------------------------------------------------------------
# Model cards (Hugging Face: YAML front matter between `---` lines)

_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*(?:\r\n|[\n\r\x85\u2028\u2029])")
_FRONT_MATTER_CLOSE = re.compile(r"(?<=[\n\r\x85\u2028\u2029])---[ \t]*(?=[\n\r\x85\u2028\u2029]|\Z)")


def _filled(value: Any) -> bool:
    """Whether a card field says something: blank strings and empty lists or mappings do not."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(_filled(item) for item in value)
    if isinstance(value, dict):
        return any(_filled(item) for item in value.values())
    return value is not None


def model_card(display: str, text: str) -> ModelCard | None:
    """The front matter of a Markdown model card; None when the first line is not `---`."""
    text = text.removeprefix("\ufeff")
    opening = _FRONT_MATTER_OPEN.match(text)
    if opening is None:
        return None
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end())
    if closing is None:
        return ModelCard(display, {}, {}, False, False, False,
                         (Problem(display, 1, "front matter not closed by a `---` line"),))
    value, problems = _load_yaml(display, text[opening.end():closing.start()], first_line=2)
    root = _document(value, display, problems, line=2)
    fields = {str(key): item for key, item in root.items()}
    return ModelCard(
        display, fields, {str(key): line for key, line in root.key_lines.items()},
        has_datasets=_filled(fields.get("datasets")), has_license=_filled(fields.get("license")),
        has_base_model=_filled(fields.get("base_model")), problems=tuple(problems),
    )
