"""DVC records: `.dvc` files, `dvc.lock`, and the outputs `dvc.yaml` stages declare.

Paths are resolved against the record file's directory and a stage's `wdir`. Results
are in file order; what cannot be read becomes a Problem at its line.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mllint_sec.repo.records.record import (
    Import,
    Output,
    Problem,
    Records,
    Span,
    repository_path,
)
from mllint_sec.repo.records.yaml_lines import (
    YamlMap,
    document,
    items_at,
    load_yaml,
    mapping_at,
)


@dataclass(frozen=True)
class DeclaredOut:
    """An output a `dvc.yaml` stage declares, which its `dvc.lock` should record."""

    stage: str  # as named in dvc.yaml: a foreach / matrix group's name, without dvc.lock's `@key`
    path: str  # repository-relative; `${...}` templates are kept as written
    kind: str  # "outs", "metrics" or "plots"
    cache: bool
    persist: bool
    wdir: str  # the stage's `wdir` as written, "" when absent (see `dvc_lock`)
    span: Span  # the path as written: the list item, or the key of `- path: {options}`

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def templated(self) -> bool:
        return "${" in self.path


_DVC_DIGEST = {"md5": re.compile(r"([0-9a-fA-F]{32})(\.dir)?"), "sha256": re.compile(r"([0-9a-fA-F]{64})(\.dir)?")}
_DVC_HASH_KEYS = ("md5", "sha256", "etag", "checksum")  # preferred first


def _dvc_hash(entry: YamlMap, source: str, problems: list[Problem]) -> tuple[str | None, str | None, bool]:
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
    resolved = repository_path(directory, wdir) if isinstance(wdir, str) else None
    if resolved is None:
        problems.append(Problem(source, line, f"`wdir: {wdir}` is not a directory inside the repository"))
    return resolved


def _recorded_output(entry: Any, item: Span, directory: str, source: str, problems: list[Problem]) -> Output | None:
    if not isinstance(entry, YamlMap) or not isinstance(entry.get("path"), str):
        problems.append(Problem(source, item.line, "an output entry without a `path`"))
        return None
    span = entry.key_spans["path"]
    path = repository_path(directory, entry["path"])
    if not path:
        problems.append(Problem(source, span.line, f"output `{entry['path']}` is not a path inside the repository"))
        return None
    digest, algorithm, is_dir = _dvc_hash(entry, source, problems)
    return Output(path, digest, algorithm, is_dir, source, span.line, span)


def _import(entry: Any, item: Span, source: str, problems: list[Problem]) -> Import | None:
    if not isinstance(entry, YamlMap) or not isinstance(entry.get("path"), str):
        problems.append(Problem(source, item.line, "a dependency entry without a `path`"))
        return None
    line = entry.key_lines["path"]
    digest, algorithm, _ = _dvc_hash(entry, source, problems)
    if "repo" not in entry:  # dvc import-url: the path is the source
        return Import(entry["path"], None, None, digest, algorithm, source, line)
    repo = entry["repo"]
    if not isinstance(repo, YamlMap) or not isinstance(repo.get("url"), str):
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
    value, problems = load_yaml(display, text)
    root = document(value, display, problems)
    if "outs" not in root and not problems:
        problems.append(Problem(display, 1, "no `outs`: not a DVC file"))
    directory = _stage_directory(posixpath.dirname(display), root.get("wdir"), display,
                                 root.key_lines.get("wdir", 1), problems)
    if directory is None:
        return _records((), problems)
    outputs = [_recorded_output(entry, item, directory, display, problems)
               for entry, item in items_at(root, "outs", display, problems)]
    deps = items_at(root, "deps", display, problems) if "cmd" not in root else []
    return _records(outputs, problems, [_import(entry, item, display, problems) for entry, item in deps])


def _lock_stages(root: YamlMap, source: str, problems: list[Problem]) -> YamlMap:
    if "schema" not in root:  # DVC 1: the stages are the top-level keys
        return root
    if str(root["schema"]) != "2.0":
        problems.append(Problem(source, root.key_lines["schema"], f"unsupported dvc.lock schema `{root['schema']}`"))
        return YamlMap()
    return mapping_at(root, "stages", source, problems)


def dvc_lock(display: str, text: str, wdirs: Mapping[str, str] | None = None) -> Records:
    """The outputs `dvc.lock` records for each stage (schema 2.0, and DVC 1's top-level stages).

    Its paths are relative to each stage's `wdir`, which only dvc.yaml holds: pass
    `{stage: wdir}` (`DeclaredOut.wdir`); a foreach / matrix stage `name@key` uses `name`'s.
    The stages' dependencies are inputs, not records of outputs, and are not read.
    """
    value, problems = load_yaml(display, text)
    stages = _lock_stages(document(value, display, problems), display, problems)
    wdirs = wdirs or {}
    outputs: list[Output | None] = []
    for name, stage in stages.items():
        line = stages.key_lines[name]
        if not isinstance(stage, YamlMap):
            problems.append(Problem(display, line, f"stage `{name}` is not a mapping"))
            continue
        wdir = wdirs.get(str(name), wdirs.get(str(name).partition("@")[0])) or None
        directory = _stage_directory(posixpath.dirname(display), wdir, display, line, problems)
        if directory is not None:
            outputs += [_recorded_output(entry, item, directory, display, problems)
                        for entry, item in items_at(stage, "outs", display, problems)]
    return _records(outputs, problems)


def _stage_body(name: Any, stage: Any, line: int, source: str, problems: list[Problem]) -> YamlMap | None:
    """What declares a stage's outputs: the stage itself, or a foreach stage's `do` template."""
    if not isinstance(stage, YamlMap):
        problems.append(Problem(source, line, f"stage `{name}` is not a mapping"))
        return None
    if "foreach" not in stage:
        return stage
    body = stage.get("do")
    if not isinstance(body, YamlMap):
        problems.append(Problem(source, line, f"foreach stage `{name}` has no `do` mapping"))
        return None
    return body


def _declared_entry(
    entry: Any, item: Span, source: str, problems: list[Problem]
) -> tuple[str, Mapping[Any, Any], Span] | None:
    """(path, options, where the path is written) of `- path` or `- path: {cache: false, ...}`."""
    if isinstance(entry, str):
        return entry, {}, item
    if isinstance(entry, YamlMap) and len(entry) == 1:
        [(path, options)] = entry.items()
        if isinstance(path, str) and (options is None or isinstance(options, YamlMap)):
            return path, options or {}, entry.key_spans[path]
    problems.append(Problem(source, item.line, "an output must be a path, or a mapping of one path to its options"))
    return None


def dvc_yaml_outs(display: str, text: str) -> tuple[list[DeclaredOut], list[Problem]]:
    """The outputs (`outs`, `metrics`, `plots`) that `dvc.yaml` stages declare.

    Templates (`${...}`) are not resolved; a foreach stage's `do` and a matrix stage
    declare once, under the group's name.
    """
    value, problems = load_yaml(display, text)
    stages = mapping_at(document(value, display, problems), "stages", display, problems)
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
            for entry, item in items_at(body, kind, display, problems):
                found = _declared_entry(entry, item, display, problems)
                if found is None:
                    continue
                written, options, where = found
                path = repository_path(directory, written)
                if not path:
                    problems.append(Problem(display, where.line,
                                            f"output `{written}` is not a path inside the repository"))
                    continue
                declared.append(DeclaredOut(str(name), path, kind, options.get("cache") is not False,
                                            options.get("persist") is True, wdir or "", where))
    return sorted(declared, key=lambda out: (out.line, out.path)), sorted(problems)
