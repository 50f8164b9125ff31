"""Provenance records: .gitattributes, DVC files, checksum manifests, model cards."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mllint_sec.repo.records import yaml_lines
from mllint_sec.repo.records.checksums import checksum_manifest, is_checksum_manifest
from mllint_sec.repo.records.dvc import DeclaredOut, dvc_file, dvc_lock, dvc_yaml_outs
from mllint_sec.repo.records.gitattributes import LfsPatterns, gitattributes_lfs
from mllint_sec.repo.records.model_card import model_card
from mllint_sec.repo.records.record import Import, Output, Problem, Records, Span

SHA256 = "0123456789abcdef" * 4
MD5 = "a304afb96060aad90176268345e10355"


def text(source: str) -> str:
    return textwrap.dedent(source).removeprefix("\n")


def problems(found) -> list[tuple[int, str]]:
    """(line, message); the parser's own words after "malformed YAML" vary with the loader and its version."""
    return [(p.line, "malformed YAML" if p.message.startswith("malformed YAML: ") else p.message) for p in found]


def outputs(found) -> list[tuple]:
    return [(o.path, o.digest, o.algorithm, o.is_dir, o.line) for o in found.outputs]


@pytest.fixture(params=["libyaml", "python"])
def either_loader(request, monkeypatch):
    """Run a YAML test with libyaml's safe loader and with PyYAML's pure-Python one."""
    if request.param == "python":
        monkeypatch.setattr(yaml_lines, "_SafeLoader", yaml.SafeLoader)
    elif not hasattr(yaml, "CSafeLoader"):  # pragma: no cover - PyYAML built without libyaml
        pytest.skip("PyYAML has no libyaml")


# --------------------------------------------------------------------------------------
# .gitattributes

def lfs(source: str, display: str = ".gitattributes") -> LfsPatterns:
    return gitattributes_lfs(display, text(source))


def test_gitattributes_lfs_track_lines_and_their_positions():
    patterns = lfs("""
        # git lfs track output
        *.bin filter=lfs diff=lfs merge=lfs -text

        *.txt text eol=lf
        *.safetensors filter=lfs diff=lfs merge=lfs -text
    """)
    assert [(rule.pattern, rule.lfs, rule.line) for rule in patterns.rules] == [
        ("*.bin", True, 2), ("*.safetensors", True, 5)]
    assert patterns.matches("model.bin") and patterns.matches("a/b/c/model.bin")
    assert patterns.matches("weights/model.safetensors")
    assert not patterns.matches("notes.txt") and not patterns.matches("model.bin.txt")
    assert patterns.rule_for("a/model.bin").line == 2
    assert patterns.rule_for("notes.txt") is None
    assert patterns.problems == ()


# (pattern, paths it matches, paths it does not), each relative to the .gitattributes' directory
WILDMATCH = [
    ("models/*.pt", ["models/a.pt"], ["x/models/a.pt", "models/sub/a.pt", "a.pt"]),
    ("/top.bin", ["top.bin"], ["sub/top.bin"]),
    ("**/ckpt/*.pt", ["ckpt/a.pt", "x/ckpt/a.pt", "x/y/ckpt/a.pt"], ["ckpt/x/a.pt", "xckpt/a.pt"]),
    ("data/**", ["data/a", "data/x/y/z.bin"], ["data", "other/data/a"]),
    ("a/**/b.bin", ["a/b.bin", "a/x/b.bin", "a/x/y/b.bin"], ["a/xb.bin", "b.bin"]),
    ("weights/**/*.safetensors", ["weights/m.safetensors", "weights/v1/m.safetensors"], ["m.safetensors"]),
    ("a**b", ["axxb", "ab", "x/axb"], ["a/b"]),  # not between slashes: a plain `*`
    ("x/a**b", ["x/axxb"], ["x/a/b"]),
    ("**", ["a", "a/b/c"], []),
    ("model-?.bin", ["model-1.bin", "d/model-x.bin"], ["model-12.bin"]),
    ("ckpt/?", ["ckpt/a"], ["ckpt/ab"]),
    ("*.[ch]", ["x.c", "d/x.h"], ["x.o"]),
    ("*.[!ch]", ["x.o"], ["x.c"]),
    ("*.[^ch]", ["x.o"], ["x.c"]),
    ("v[0-9].bin", ["v3.bin"], ["va.bin"]),
    ("[z-a]", ["z"], ["m", "a"]),  # a reversed range matches nothing, its first end still matches
    ("[a-]", ["a", "-"], ["b"]),
    ("[]]", ["]"], ["a"]),
    ("[!]]", ["a"], ["]"]),
    ("[[:digit:]x]", ["5", "x"], ["a"]),
    ("my[[:space:]]model.bin", ["my model.bin"], ["mymodel.bin"]),  # how `git lfs track` writes a space
    ("\\#model.bin", ["#model.bin"], []),  # and a `#`
    ("\\*.bin", ["*.bin"], ["a.bin"]),
    ("[[:]x", ["[x", ":x"], ["x"]),  # no `:]`: `[` and `:` are members
    ("a[/]b", [], ["a/b", "ab"]),  # a bracket never matches a slash
    ("*.bin[", [], ["a.bin[", "a.bin"]),  # unterminated bracket: never matches
    ("[[:foo:]]", [], ["f"]),  # unknown class: never matches
    ("trailing\\", [], ["trailing", "trailing\\"]),
]


@pytest.mark.parametrize(("pattern", "matching", "not_matching"), WILDMATCH)
def test_gitattributes_patterns_follow_wildmatch(pattern, matching, not_matching):
    patterns = lfs(f"{pattern} filter=lfs\n")
    assert [path for path in matching if patterns.matches(path)] == matching
    assert [path for path in not_matching if patterns.matches(path)] == []


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_wildmatch_table_agrees_with_git_check_attr(tmp_path):
    """Each pattern in a .gitattributes of its own directory; git says which paths it routes through LFS."""
    repo, home = tmp_path / "repo", tmp_path / "home"
    home.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    files, paths = [], []
    for number, (pattern, matching, not_matching) in enumerate(WILDMATCH):
        (repo / f"t{number}").mkdir()
        (repo / f"t{number}" / ".gitattributes").write_bytes(f"{pattern} filter=lfs\n".encode())
        files.append(gitattributes_lfs(f"t{number}/.gitattributes", f"{pattern} filter=lfs\n"))
        paths += [f"t{number}/{path}" for path in matching + not_matching]
    # No user or system attributes file may take part.
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    answer = subprocess.run(["git", "check-attr", "--stdin", "-z", "filter"], cwd=repo, env=env, check=True,
                            input="\0".join(paths) + "\0", capture_output=True, text=True).stdout.split("\0")
    by_git = {answer[i]: answer[i + 2] == "lfs" for i in range(0, len(answer) - 2, 3)}
    patterns = LfsPatterns.combine(files)
    assert {path: patterns.matches(path) for path in paths} == by_git


def test_gitattributes_later_lines_win_and_unsetting():
    patterns = lfs("""
        *.bin filter=lfs
        small.bin -filter
        tiny.bin !filter
        plain.bin filter=other
        both.bin filter=lfs -filter
        again.bin -filter filter=lfs
        *.bin text
    """)
    assert patterns.matches("big.bin")
    assert not patterns.matches("small.bin") and not patterns.matches("x/tiny.bin")
    assert not patterns.matches("plain.bin") and not patterns.matches("both.bin")  # last on the line wins
    assert patterns.matches("again.bin")
    assert patterns.rule_for("big.bin").line == 1  # `*.bin text` does not touch `filter`


def test_nested_gitattributes_apply_below_their_directory_and_take_precedence():
    root = lfs("*.bin filter=lfs\nconfigs/** filter=lfs\n")
    nested = lfs("*.bin -filter\n/local.pt filter=lfs\nsub/*.ckpt filter=lfs\n", "models/.gitattributes")
    combined = LfsPatterns.combine([nested, root])
    assert combined == LfsPatterns.combine([root, nested])
    assert combined.matches("a.bin") and combined.matches("data/a.bin")
    assert not combined.matches("models/a.bin") and not combined.matches("models/deep/a.bin")
    assert combined.rule_for("models/deep/a.bin").source == "models/.gitattributes"
    assert combined.matches("models/local.pt") and not combined.matches("models/x/local.pt")
    assert not combined.matches("local.pt") and not combined.matches("other/local.pt")
    assert combined.matches("models/sub/a.ckpt") and not combined.matches("sub/a.ckpt")
    assert not combined.matches("modelsx/a.pt") and not combined.matches("models.bin/x")
    assert combined.matches("configs/x.yaml")


def test_gitattributes_quoting_comments_bom_and_line_ends():
    patterns = gitattributes_lfs(
        ".gitattributes",
        "\ufeff  # a comment\r\n"
        '"my model.bin" filter=lfs\r\n'
        '"caf\\303\\251.bin"\tfilter=lfs\r\n'
        '"tab\\there.bin" filter=lfs\r\n'
        '"unterminated.bin filter=lfs\r\n'
        "   indented.bin    filter=lfs   \r\n",
    )
    assert [(rule.pattern, rule.line) for rule in patterns.rules] == [
        ("my model.bin", 2), ("café.bin", 3), ("tab\there.bin", 4), ('"unterminated.bin', 5), ("indented.bin", 6)]
    assert patterns.matches("dir/my model.bin") and patterns.matches("café.bin") and patterns.matches("tab\there.bin")
    assert patterns.matches('"unterminated.bin') and patterns.matches("indented.bin")
    assert patterns.problems == ()


def test_gitattributes_macros_are_not_followed():
    patterns = lfs("""
        [attr]lfs filter=lfs diff=lfs merge=lfs -text
        *.bin lfs
        *.pt binary filter=lfs
    """)
    assert [rule.pattern for rule in patterns.rules] == ["*.pt"]
    assert not patterns.matches("a.bin") and patterns.matches("a.pt")


def test_gitattributes_lines_git_ignores_are_problems():
    long_line = "a" * 2040 + ".bin filter=lfs"
    patterns = lfs(f"""
        models/ filter=lfs
        !*.bin filter=lfs
        *.pt filter=lfs --bad
        {long_line}
        # {"a" * 3000}
        *.ok filter=lfs
    """)
    assert [rule.pattern for rule in patterns.rules] == ["*.ok"]
    assert problems(patterns.problems) == [
        (1, ("`models/` matches only directories, and attributes do not apply to the files inside them; "
             "write `models/**`")),
        (2, "git ignores negative patterns in .gitattributes; write `\\!` for a literal `!`"),
        (3, "`--bad` is not a valid attribute; git ignores the line"),
        (4, "git ignores attribute lines of 2048 bytes or more"),
    ]
    assert not patterns.matches("models/a.pt") and not patterns.matches("a.bin")


# --------------------------------------------------------------------------------------
# .dvc files

def test_dvc_add_file_dvc3_and_dvc2(either_loader):
    dvc3 = dvc_file("data/data.xml.dvc", text(f"""
        outs:
        - md5: {MD5}
          size: 37891850
          hash: md5
          path: data.xml
    """))
    # The span is the `path: data.xml` entry, which findings about the output point at.
    assert dvc3 == Records((Output("data/data.xml", MD5, "md5", False, "data/data.xml.dvc", 5, Span(5, 3, 5, 17)),), ())
    # DVC 2 (no `hash: md5`) hashed text files with CRLF read as LF; a legacy file with `wdir`.
    dvc2 = dvc_file("data.xml.dvc", text(f"""
        md5: 301598c8348f8ac0c95abc6fc19da952
        wdir: data
        outs:
        - md5: {MD5.upper()}
          path: data.xml
          cache: true
    """))
    assert outputs(dvc2) == [("data/data.xml", MD5, "md5-dos2unix", False, 5)]


def test_dvc_directory_output_and_path_normalisation():
    found = dvc_file("models/v1/model.dvc", text("""
        outs:
        - md5: 20b786b6e6f80e2b3fcf17827ad18597.dir
          size: 23861319
          nfiles: 2
          hash: md5
          path: ./weights/
        - md5: 52c1fddf9b7b11dff75bffbeff7958d3
          path: ../../shared/tokenizer.json
        - md5: 52c1fddf9b7b11dff75bffbeff7958d3
          path: ../../../outside.bin
        - md5: 52c1fddf9b7b11dff75bffbeff7958d3
          path: /abs/model.bin
        - md5: 52c1fddf9b7b11dff75bffbeff7958d3
          path: s3://bucket/model.bin
    """))
    assert outputs(found) == [
        ("models/v1/weights", "20b786b6e6f80e2b3fcf17827ad18597", "md5", True, 6),
        ("shared/tokenizer.json", "52c1fddf9b7b11dff75bffbeff7958d3", "md5-dos2unix", False, 8),
    ]
    assert problems(found.problems) == [
        (10, "output `../../../outside.bin` is not a path inside the repository"),
        (12, "output `/abs/model.bin` is not a path inside the repository"),
        (14, "output `s3://bucket/model.bin` is not a path inside the repository"),
    ]


def test_dvc_import_and_import_url():
    imported = dvc_file("data/data.xml.dvc", text(f"""
        md5: 7ca2c9fc8ddeec8bb0dcd1f5d2d5e4ed
        frozen: true
        deps:
        - path: get-started/data.xml
          repo:
            url: https://github.com/iterative/dataset-registry
            rev_lock: f31f5c4cdae787b4bdeb97a717687d44667d9e62
        outs:
        - md5: {MD5}
          size: 37891850
          hash: md5
          path: data.xml
    """))
    assert imported.imports == (Import("https://github.com/iterative/dataset-registry", "get-started/data.xml",
                                       "f31f5c4cdae787b4bdeb97a717687d44667d9e62", None, None,
                                       "data/data.xml.dvc", 4),)
    assert outputs(imported) == [("data/data.xml", MD5, "md5", False, 12)]

    from_url = dvc_file("data.xml.dvc", text(f"""
        md5: 61d64b2a91b0c4a05e9bbf5f9a7d3b1c
        frozen: true
        deps:
        - etag: '"f432e270cd634c51296ecd2bc2f5e752-5"'
          size: 37891850
          path: https://data.dvc.org/get-started/data.xml
        outs:
        - md5: {MD5}
          path: data.xml
    """))
    assert from_url.imports == (Import("https://data.dvc.org/get-started/data.xml", None, None,
                                       '"f432e270cd634c51296ecd2bc2f5e752-5"', "etag", "data.xml.dvc", 6),)

    unpinned = dvc_file("x.dvc", "deps:\n- path: a\n  repo:\n    url: https://example.com/r.git\nouts:\n- path: a\n")
    assert [(i.url, i.rev) for i in unpinned.imports] == [("https://example.com/r.git", None)]
    assert outputs(unpinned) == [("a", None, None, False, 6)]


def test_dvc1_stage_file_dependencies_are_not_imports():
    found = dvc_file("prepare.dvc", text("""
        md5: 645d5baf13fb4404e17d77a2cf7461c4
        cmd: python src/prepare.py data/data.xml
        wdir: .
        deps:
        - md5: 1a18704abffac804adf2d5c4549f00f7
          path: src/prepare.py
        outs:
        - md5: 6836f797f3924fb46fcfd6b9f6aa6416.dir
          path: data/prepared
          cache: true
          metric: false
          persist: false
    """))
    assert found.imports == ()
    assert outputs(found) == [("data/prepared", "6836f797f3924fb46fcfd6b9f6aa6416", "md5-dos2unix", True, 9)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("outs:\n- md5: 123\n  path: a.bin\n", [(2, "`md5: 123` is not a md5 digest")]),
        ("outs:\n- cache: false\n", [(2, "an output entry without a `path`")]),
        ("outs: data.xml\n", [(1, "`outs` is not a list")]),
        ("frozen: true\n", [(1, "no `outs`: not a DVC file")]),
        ("", [(1, "no `outs`: not a DVC file")]),
        ("- a\n- b\n", [(1, "expected a YAML mapping at the top level")]),
        ("wdir: ../..\nouts:\n- path: a\n", [(1, "`wdir: ../..` is not a directory inside the repository")]),
        ("outs:\n- path: a\n  md5: x\n\tsize: 1\n", [(4, "malformed YAML")]),
        ("outs:\n- path: a\ndeps:\n- {path: \n", [(4, "malformed YAML")]),  # at the end: on the last line
    ],
    ids=["bad-md5", "no-path", "outs-not-list", "no-outs", "empty", "not-mapping", "wdir-escapes", "tab", "flow"],
)
def test_dvc_file_problems(source, expected):
    found = dvc_file("x.dvc", source)
    assert problems(found.problems) == expected


def test_dvc_file_bad_md5_keeps_the_output_without_a_digest():
    assert outputs(dvc_file("x.dvc", "outs:\n- md5: nothex\n  path: a.bin\n")) == [("a.bin", None, None, False, 3)]


def test_malformed_yaml_lines_agree_across_loaders(either_loader):
    found = dvc_file("x.dvc", "outs:\n- path: a\n  md5: b\n bad: [\n")
    assert [problem.line for problem in found.problems] == [4]


# --------------------------------------------------------------------------------------
# dvc.lock

LOCK = text(f"""
    schema: '2.0'
    stages:
      prepare:
        cmd: python src/prepare.py data/data.xml
        deps:
        - path: data/data.xml
          hash: md5
          md5: {MD5}
          size: 37891850
        params:
          params.yaml:
            prepare.seed: 20170428
        outs:
        - path: data/prepared
          hash: md5
          md5: 20b786b6e6f80e2b3fcf17827ad18597.dir
          size: 23861319
          nfiles: 2
      train@uk:
        cmd: python train.py uk
        outs:
        - path: model-uk.pkl
          hash: md5
          md5: 484fab565aec49c5f704a3783235d237
      evaluate:
        cmd: python src/evaluate.py
        outs:
        - path: eval/metrics.json
          md5: 8f7ae54edbbe9a222b693bce8985cb80
""")


def test_dvc_lock_schema_2(either_loader):
    found = dvc_lock("pipelines/dvc.lock", LOCK)
    assert outputs(found) == [
        ("pipelines/data/prepared", "20b786b6e6f80e2b3fcf17827ad18597", "md5", True, 14),
        ("pipelines/model-uk.pkl", "484fab565aec49c5f704a3783235d237", "md5", False, 22),
        ("pipelines/eval/metrics.json", "8f7ae54edbbe9a222b693bce8985cb80", "md5-dos2unix", False, 28),
    ]
    assert {o.source for o in found.outputs} == {"pipelines/dvc.lock"}
    assert found.problems == ()


def test_dvc_lock_paths_follow_the_stages_wdir():
    found = dvc_lock("dvc.lock", LOCK, wdirs={"train": "src", "evaluate": "..", "prepare": ""})
    assert [o.path for o in found.outputs] == ["data/prepared", "src/model-uk.pkl"]
    assert problems(found.problems) == [(25, "`wdir: ..` is not a directory inside the repository")]


def test_dvc_lock_legacy_format():
    found = dvc_lock("dvc.lock", text(f"""
        train:
          cmd: python train.py
          deps:
          - path: train.py
            md5: 9ab95496b29b6ea3418bbf20b9fe3473
          outs:
          - path: model.pkl
            md5: {MD5}
    """))
    assert outputs(found) == [("model.pkl", MD5, "md5-dos2unix", False, 7)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("schema: '3.0'\nstages: {}\n", [(1, "unsupported dvc.lock schema `3.0`")]),
        ("schema: '2.0'\nstages: [a]\n", [(2, "`stages` is not a mapping")]),
        ("schema: '2.0'\nstages:\n  a: 1\n", [(3, "stage `a` is not a mapping")]),
        ("schema: '2.0'\nstages:\n  a:\n    outs:\n    - md5: x\n", [(5, "an output entry without a `path`")]),
        ("", []),
    ],
)
def test_dvc_lock_problems(source, expected):
    assert problems(dvc_lock("dvc.lock", source).problems) == expected


# --------------------------------------------------------------------------------------
# dvc.yaml

def test_dvc_yaml_declared_outputs(either_loader):
    declared, found = dvc_yaml_outs("ml/dvc.yaml", text("""
        vars:
          - params.yaml
        stages:
          prepare:
            cmd: python src/prepare.py data/data.xml
            deps:
            - data/data.xml
            outs:
            - data/prepared
          train:
            cmd: python src/train.py
            wdir: src
            outs:
            - ../model.pkl:
                persist: true
                desc: the model
            metrics:
            - ../eval/metrics.json:
                cache: false
            plots:
            - ../eval/plots/roc.json:
                cache: false
                x: fpr
                y: tpr
            - ../eval/plots/images
        metrics:
        - eval/metrics.json
        plots:
        - eval/plots/images
        artifacts:
          classifier:
            path: model.pkl
            type: model
    """))
    assert found == []
    # Each span is the path as written: the item, or the key that holds its options.
    assert declared == [
        DeclaredOut("prepare", "ml/data/prepared", "outs", True, False, "", Span(9, 7, 9, 20)),
        DeclaredOut("train", "ml/model.pkl", "outs", True, True, "src", Span(14, 7, 14, 19)),
        DeclaredOut("train", "ml/eval/metrics.json", "metrics", False, False, "src", Span(18, 7, 18, 27)),
        DeclaredOut("train", "ml/eval/plots/roc.json", "plots", False, False, "src", Span(21, 7, 21, 29)),
        DeclaredOut("train", "ml/eval/plots/images", "plots", True, False, "src", Span(25, 7, 25, 27)),
    ]


def test_dvc_yaml_templates_foreach_and_matrix_are_kept_unresolved():
    declared, found = dvc_yaml_outs("dvc.yaml", text("""
        stages:
          build:
            foreach: ${countries}
            do:
              cmd: python train.py '${key}' ${item.epochs}
              outs:
              - model-${key}.hdfs
          sweep:
            matrix:
              model: [cnn, xgb]
              feature: [f1, f2]
            cmd: python train.py ${item.model} ${item.feature}
            outs:
            - ${item.model}-${item.feature}.pkl
          plain:
            cmd: ${cmd}
            wdir: ${dir}
            outs:
            - out.bin
    """))
    assert found == []
    assert [(d.stage, d.path, d.templated, d.line) for d in declared] == [
        ("build", "model-${key}.hdfs", True, 7),
        ("sweep", "${item.model}-${item.feature}.pkl", True, 14),
        ("plain", "${dir}/out.bin", True, 19),
    ]


def test_dvc_yaml_and_dvc_lock_line_up():
    declared, _ = dvc_yaml_outs("dvc.yaml",
                                "stages:\n  train:\n    cmd: t\n    wdir: src\n    outs:\n    - model.pkl\n")
    lock = dvc_lock("dvc.lock", f"schema: '2.0'\nstages:\n  train:\n    cmd: t\n    outs:\n    - path: model.pkl\n"
                                f"      md5: {MD5}\n", wdirs={d.stage: d.wdir for d in declared})
    assert [d.path for d in declared] == [o.path for o in lock.outputs] == ["src/model.pkl"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("stages:\n  a:\n    outs:\n    - x: {}\n      y: {}\n",
         [(4, "an output must be a path, or a mapping of one path to its options")]),
        ("stages:\n  a:\n    outs:\n    - 7\n",
         [(4, "an output must be a path, or a mapping of one path to its options")]),
        ("stages:\n  a:\n    outs:\n    - ../../x\n", [(4, "output `../../x` is not a path inside the repository")]),
        ("stages:\n  a:\n    foreach: [1, 2]\n", [(2, "foreach stage `a` has no `do` mapping")]),
        ("stages:\n  a: python run.py\n", [(2, "stage `a` is not a mapping")]),
        ("stages:\n  a:\n    outs: model.pkl\n", [(3, "`outs` is not a list")]),
        ("stages: [a]\n", [(1, "`stages` is not a mapping")]),
    ],
    ids=["two-keys", "number", "escapes", "foreach-no-do", "stage-string", "outs-string", "stages-list"],
)
def test_dvc_yaml_problems(source, expected):
    declared, found = dvc_yaml_outs("sub/dvc.yaml", source)
    assert declared == [] and problems(found) == expected


@pytest.mark.parametrize(
    ("source", "line"),
    [("[", 1), ("[\n", 1), ("[\r\n", 1), ("outs:\n- path: a\n- {path: ", 3), ("outs: [\n\n\n", 3), ("a:\n b\n c: [\n", 3)],
    ids=["no-final-newline", "final-newline", "crlf", "flow-no-final-newline", "blank-lines", "last-line"],
)
def test_a_yaml_error_at_the_end_is_on_the_last_line(either_loader, source, line):
    # The loader marks the end of the stream on the line after the last one when the text does
    # not end with a line break; no report can place (or hash) a line the file does not have.
    assert problems(dvc_lock("dvc.lock", source).problems) == [(line, "malformed YAML")]


# --------------------------------------------------------------------------------------
# YAML limits and features

def test_yaml_larger_than_1_mib_is_refused():
    big = "outs:\n" + f"- path: a.bin\n  md5: {MD5}\n" * 30_000
    assert len(big) > 1 << 20
    assert problems(dvc_file("x.dvc", big).problems) == [(1, "YAML text larger than 1 MiB is not read")]


def test_alias_bombs_are_refused(either_loader):
    levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    bomb = "\n".join(levels) + "\n"
    assert problems(dvc_lock("dvc.lock", bomb).problems) == [
        (1, "YAML aliases standing for more than 100000 nodes are not read")]
    card = model_card("README.md", "---\n" + bomb.replace("i: &i", "datasets: &i") + "---\n")
    assert not card.has_datasets and len(card.problems) == 1


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("a: &a [*a]\n", 1, "YAML nested deeper than 64 levels is not read"),
        ("x:\n  y: " + "[" * 70 + "]" * 70 + "\n", 2, "YAML nested deeper than 64 levels is not read"),
    ],
    ids=["recursive-alias", "deep"],
)
def test_cycles_and_deep_nesting_are_refused(either_loader, source, line, message):
    assert problems(dvc_lock("dvc.lock", source).problems) == [(line, message)]


def test_very_deep_nesting_never_overflows(either_loader):
    assert len(dvc_lock("dvc.lock", "[" * 1200).problems) == 1


@pytest.mark.parametrize(
    "source",
    ["a: &a [*a]\n", "x: " + "[" * 1200 + "]" * 1200 + "\n", "outs:\n" + f"- path: a.bin\n  md5: {MD5}\n" * 30_000],
    ids=["recursive-alias", "deeper-than-libyaml-reads", "larger-than-1-mib"],
)
def test_yaml_refused_at_a_limit_is_told_apart_from_malformed_yaml(either_loader, source):
    (problem,) = dvc_lock("dvc.lock", source).problems
    assert problem.refused and not problem.message.startswith("malformed")
    for malformed in ("a: [unclosed\n", "a:\n  <<: 1\n", "a: 1\nb: é\x01\n"):
        assert not any(problem.refused for problem in dvc_lock("dvc.lock", malformed).problems)


def test_yaml_nested_too_deeply_for_either_loader_reads_alike(either_loader):
    assert [(p.line, p.message) for p in dvc_lock("dvc.lock", "[" * 1200 + "]" * 1200).problems] == [
        (1, "YAML nested too deeply to read")]


def test_unreadable_characters_are_located(either_loader):
    assert [(p.line, p.message) for p in dvc_lock("dvc.lock", "a: 1\nb: é\x01\n").problems] == [
        (2, "malformed YAML: unacceptable character U+0001")]
    assert [p.line for p in dvc_lock("dvc.lock", "a: 1\n\nb: \ud800\n").problems] == [3]


def test_yaml_merge_keys_and_aliases(either_loader):
    found = dvc_lock("dvc.lock", text(f"""
        schema: '2.0'
        stages:
          a:
            cmd: x
            outs:
            - &out
              path: model.pkl
              md5: {MD5}
          b:
            cmd: y
            outs:
            - <<: *out
              path: other.pkl
    """))
    assert outputs(found) == [
        ("model.pkl", MD5, "md5-dos2unix", False, 7), ("other.pkl", MD5, "md5-dos2unix", False, 13)]
    bad_merge = dvc_lock("dvc.lock", "a:\n  <<: 1\n")
    assert [(p.line, p.message) for p in bad_merge.problems] == [
        (2, "malformed YAML: `<<` merges something other than mappings")]


def test_values_their_tag_cannot_hold_are_kept_as_text(either_loader):
    card = model_card("README.md", "---\ndate: 2023-13-45\nblob: !!binary zz\ncustom: !thing 1\n!!seq key: !!map x\n"
                                   "license: mit\n---\n")
    assert card.fields == {"date": "2023-13-45", "blob": "zz", "custom": "1", "key": "x", "license": "mit"}
    assert card.problems == ()


# --------------------------------------------------------------------------------------
# Checksum manifests

@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SHA256SUMS", True), ("SHA512SUMS", True), ("MD5SUMS", True), ("SHA1SUMS", True),
        ("sha256sums.txt", True), ("sha256sum.txt", True), ("SHA256SUMS.txt", True), ("checksums.txt", True),
        ("CHECKSUMS", True), ("checksum.txt", True), ("dist/SHA256SUMS", True),
        ("model.bin.sha256", True), ("model.bin.SHA512", True), ("data.tar.md5", True), ("m.sha256sum", True),
        ("m.sha1", True), ("weights.sha384sums", True),
        ("sha256.py", False), ("checksums.py", False), ("README.md", False), (".sha256", False),
        ("SHA256SUMS.asc", False), ("model.bin.sha3", False), ("b2sums.txt", False),
    ],
)
def test_is_checksum_manifest(name, expected):
    assert is_checksum_manifest(name) is expected


def test_gnu_and_bsd_formats():
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    found = checksum_manifest("release/SHA256SUMS", text(f"""
        # generated by sha256sum
        {SHA256}  model.bin
        {SHA256.upper()} *weights/tokenizer.json
        {SHA256} reversed.bin
        SHA256 (tagged.bin) = {SHA256}
        MD5 (old (1).bin) = {md5}
        SHA2-256(openssl.bin)= {SHA256}
        \\{SHA256}  new\\nline\\\\back.bin

        {SHA256}  ./sub/../a b.bin  
    """))  # noqa: W291 - the trailing blanks are part of the name under test
    assert outputs(found) == [
        ("release/model.bin", SHA256, "sha256", False, 2),
        ("release/weights/tokenizer.json", SHA256, "sha256", False, 3),
        ("release/reversed.bin", SHA256, "sha256", False, 4),
        ("release/tagged.bin", SHA256, "sha256", False, 5),
        ("release/old (1).bin", md5, "md5", False, 6),
        ("release/openssl.bin", SHA256, "sha256", False, 7),
        ("release/new\nline\\back.bin", SHA256, "sha256", False, 8),
        ("release/a b.bin  ", SHA256, "sha256", False, 10),  # coreutils keeps trailing blanks in names
    ]
    assert found.problems == ()


def test_manifest_paths_are_normalised_inside_the_repository():
    found = checksum_manifest("a/b/SHA256SUMS", "\r\n".join([
        f"{SHA256}  ../x.bin", f"{SHA256}  ../../y.bin", f"{SHA256}  ../../../z.bin", f"{SHA256}  /etc/passwd",
        f"{SHA256}  C:\\models\\m.bin", f"{SHA256}  -", SHA256,
    ]) + "\r\n")
    assert [(o.path, o.line) for o in found.outputs] == [("a/x.bin", 1), ("y.bin", 2)]
    assert problems(found.problems) == [
        (3, "`../../../z.bin` is not a path inside the repository"),
        (4, "`/etc/passwd` is not a path inside the repository"),
        (5, "`C:\\models\\m.bin` is not a path inside the repository"),
        (6, "a digest of standard input (`-`), not of a file"),
        (7, "a digest without a file name"),
    ]


def test_digest_lengths_are_checked_per_algorithm():
    sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    named = checksum_manifest("SHA256SUMS", f"{sha1}  a.bin\nSHA1 (b.bin) = {sha1}\nSHA256 (c.bin) = {sha1}\n")
    assert outputs(named) == [("b.bin", sha1, "sha1", False, 2)]
    assert problems(named.problems) == [(1, "a sha256 digest has 64 hex digits, not 40"),
                                        (3, "a sha256 digest has 64 hex digits, not 40")]
    # `checksums.txt` names no algorithm: each digest's length decides.
    generic = checksum_manifest("checksums.txt",
                                f"{sha1}  a.bin\n{SHA256}  b.bin\n{'ab' * 64}  c.bin\n{'a' * 33}  d.bin\n")
    assert [(o.path, o.algorithm) for o in generic.outputs] == [
        ("a.bin", "sha1"), ("b.bin", "sha256"), ("c.bin", "sha512")]
    assert problems(generic.problems) == [(4, "a digest of 33 hex digits fits no supported algorithm")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("SHA256 () = " + SHA256, "a digest without a file name"),
        ("BLAKE2b (a.bin) = " + "ab" * 64, "unsupported checksum algorithm `BLAKE2b`"),
        ("SHA256 (a.bin) = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",  # `cksum --base64`
         "`47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=` is not a hex digest"),
        ("not a checksum", "not a checksum line"),
        (f"{SHA256}x  a.bin", "not a checksum line"),
        (f"\\{SHA256}  bad\\escape", "malformed escape in a file name"),
    ],
)
def test_malformed_manifest_lines(line, message):
    assert problems(checksum_manifest("SHA256SUMS", line + "\n").problems) == [(1, message)]


def test_sidecar_digest_files():
    assert outputs(checksum_manifest("models/model.bin.sha256", SHA256 + "\n")) == [
        ("models/model.bin", SHA256, "sha256", False, 1)]
    assert outputs(checksum_manifest("model.bin.sha256", f"{SHA256} \n")) == [("model.bin", SHA256, "sha256", False, 1)]
    assert outputs(checksum_manifest("models/model.bin.sha256sum", f"{SHA256}  -\n")) == [
        ("models/model.bin", SHA256, "sha256", False, 1)]
    # A name on the line is the file meant, relative to the sidecar.
    assert outputs(checksum_manifest("models/m.md5", "d41d8cd98f00b204e9800998ecf8427e *v2/model.bin\n")) == [
        ("models/v2/model.bin", "d41d8cd98f00b204e9800998ecf8427e", "md5", False, 1)]
    assert problems(checksum_manifest("model.bin.sha512", SHA256).problems) == [
        (1, "a sha512 digest has 128 hex digits, not 64")]


# --------------------------------------------------------------------------------------
# Model cards

CARD = text("""
    ---
    language:
    - en
    license: apache-2.0
    library_name: transformers
    base_model: google-bert/bert-base-uncased
    datasets:
    - imdb
    metrics:
    - accuracy
    model-index:
    - name: bert-imdb
      results:
      - task:
          type: text-classification
        metrics:
        - type: accuracy
          value: 0.93
    ---

    # bert-imdb

    ---

    A fine-tuned model.
""")


def test_model_card_front_matter(either_loader):
    card = model_card("models/bert/README.md", CARD)
    assert card.source == "models/bert/README.md"
    assert card.lines == {"language": 2, "license": 4, "library_name": 5, "base_model": 6, "datasets": 7,
                          "metrics": 9, "model-index": 11}
    assert card.fields["datasets"] == ["imdb"] and card.fields["license"] == "apache-2.0"
    assert card.fields["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.93
    assert (card.has_datasets, card.has_license, card.has_base_model) == (True, True, True)
    assert card.problems == ()


@pytest.mark.parametrize(
    ("front_matter", "flags"),
    [
        ("license: ''\ndatasets: []\nbase_model:\n", (False, False, False)),
        ("license: '  '\ndatasets: ['']\nbase_model: [null]\n", (False, False, False)),
        ("license: other\nlicense_name: custom\ndatasets: [a, '']\nbase_model: [a/b, c/d]\n", (True, True, True)),
        ("tags: [x]\n", (False, False, False)),
        ("datasets: {}\n", (False, False, False)),
    ],
    ids=["empty", "blank", "present", "absent", "empty-mapping"],
)
def test_model_card_empty_values_are_missing(front_matter, flags):
    card = model_card("README.md", f"---\n{front_matter}---\n")
    assert (card.has_datasets, card.has_license, card.has_base_model) == flags


def test_model_card_keeps_empty_fields_with_their_lines():
    card = model_card("README.md", "---\nlicense:\ndatasets: []\n---\n")
    assert card.fields == {"license": None, "datasets": []} and card.lines == {"license": 2, "datasets": 3}


@pytest.mark.parametrize(
    "source",
    ["# Model\n\nNo metadata.\n", "\n---\nlicense: mit\n---\n", "---license: mit\n---\n", "", "---"],
    ids=["plain", "not-first-line", "not-alone", "empty", "only-dashes"],
)
def test_model_card_without_front_matter(source):
    assert model_card("README.md", source) is None


def test_model_card_line_ends_bom_and_empty_front_matter():
    card = model_card("README.md", "\ufeff---\r\nlicense: mit\r\n\r\ndatasets: [x]\r\n---  \r\nbody\r\n")
    assert card.lines == {"license": 2, "datasets": 4} and card.has_license and card.has_datasets
    empty = model_card("README.md", "---\n---\n")
    assert (empty.fields, empty.problems) == ({}, ())
    at_end = model_card("README.md", "---\nlicense: mit\n---")
    assert at_end.has_license


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("---\nlicense: mit\n", [(1, "front matter not closed by a `---` line")]),
        ("---\nlicense: mit\ndatasets:\n  - a\n - b\n---\n", [(5, "malformed YAML")]),
        ("---\nlicense: mit\n\tdatasets: x\n---\n", [(3, "malformed YAML")]),
        ("---\njust some text\n---\n", [(2, "expected a YAML mapping at the top level")]),
    ],
    ids=["unclosed", "indentation", "tab", "not-mapping"],
)
def test_model_card_problems(source, expected):
    card = model_card("README.md", source)
    assert problems(card.problems) == expected and card.fields == {} and not card.has_license


def test_malformed_model_card_lines_agree_across_loaders(either_loader):
    card = model_card("README.md", "---\nlicense: mit\ndatasets:\n  - a\n - b\n---\n")
    assert [problem.line for problem in card.problems] == [5]


# --------------------------------------------------------------------------------------
# Nothing raises

_TOKENS = [*"ab:-_ \n\t{}[],&*!<>|'\"#%@`.?/\\$\x00é\ud800\r", "path", "md5", "outs", "stages", "schema", "'2.0'",
           "deps", "repo", "url", "wdir", "foreach", "do", "<<", "---", MD5, "filter=lfs", "-filter", "**", "[:alpha:]",
           SHA256, "SHA256 ("]
_YAMLISH = st.lists(st.sampled_from(_TOKENS), max_size=120).map("".join)
_TEXTS = st.one_of(st.text(max_size=300), _YAMLISH, _YAMLISH.map(lambda body: f"---\n{body}\n---\n"))
_NAMES = st.sampled_from(["x.dvc", "a/b/x.dvc", "dvc.lock", "sub/dvc.yaml", "SHA256SUMS", "d/m.bin.sha256",
                          "checksums.txt", "README.md", ".gitattributes", "a/.gitattributes"])


def _sound(path: str) -> bool:
    return bool(path) and not path.startswith(("/", "../")) and path != ".." and "//" not in path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NAMES, _TEXTS, st.text(max_size=40))
def test_random_text_never_raises(name, source, path):
    for found in (dvc_file(name, source), dvc_lock(name, source), checksum_manifest(name, source)):
        assert all(_sound(o.path) and o.line >= 1 for o in found.outputs)
        assert all(p.line >= 1 for p in found.problems)
    declared, found = dvc_yaml_outs(name, source)
    assert all(_sound(d.path) for d in declared) and all(p.line >= 1 for p in found)
    card = model_card(name, source)
    assert card is None or all(p.line >= 1 for p in card.problems)
    patterns = LfsPatterns.combine([gitattributes_lfs(name, source), gitattributes_lfs(".gitattributes", source)])
    patterns.matches(path)
    patterns.matches(f"a/{path}")
    is_checksum_manifest(source)


def test_problem_orders_by_file_then_line():
    assert sorted([Problem("b", 1, "x"), Problem("a", 2, "y"), Problem("a", 1, "z")]) == [
        Problem("a", 1, "z"), Problem("a", 2, "y"), Problem("b", 1, "x")]
