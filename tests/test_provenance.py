"""Provenance in a repository scan: PROV001 (data and model files without a record),
PROV002 (DVC records without hashes), PROV004 (model cards)."""

from __future__ import annotations

import pytest

MIB = 1024 * 1024
BIG_CSV = "a,b\n" + "1,2\n" * (MIB // 4 + 1)  # just over 1 MiB
LFS = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 1234\n"
MD5 = "22a1a2931c8370d3aeedd7183606fd7f"


def found(report, rule):
    return [(f["path"], f["line"]) for f in report["findings"] if f["rule_id"] == rule and not f["suppressed"]]


@pytest.mark.parametrize(
    ("files", "reported"),
    [
        ({"data/train.csv": BIG_CSV}, True),
        ({"data/train.csv": "a,b\n1,2\n"}, False),  # below provenance-min-bytes
        ({"data/train.csv": BIG_CSV, ".gitattributes": "*.csv filter=lfs diff=lfs merge=lfs -text\n"}, False),
        ({"data/train.csv": BIG_CSV, "data/.gitattributes": "train.csv filter=lfs\n"}, False),
        ({"data/train.csv": BIG_CSV, ".gitattributes": "*.csv filter=lfs\ndata/*.csv -filter\n"}, True),
        ({"data/train.csv": BIG_CSV, "data/train.csv.dvc": f"outs:\n- md5: {MD5}\n  path: train.csv\n"}, False),
        ({"data/train.csv": BIG_CSV, "data.dvc": f"outs:\n- md5: {MD5}.dir\n  path: data\n"}, False),
        ({"data/train.csv": BIG_CSV, "data/train.csv.dvc": "outs:\n- path: train.csv\n"}, True),  # no hash, no record
        ({"data/train.csv": BIG_CSV, "SHA256SUMS": "e" * 64 + "  data/train.csv\n"}, False),
        ({"data/train.csv": LFS}, False),  # a pointer: its oid is the record
        ({"models/tiny.safetensors": "x"}, True),  # model files need a record at any size
        ({"models/clf.pkl": "(lp0\nI1\na."}, True),
        ({"docs/slides.pptx": "PK\x03\x04 a zip by content, not a model"}, False),
        ({"tests/fixture.zip": "PK\x03\x04 small"}, False),  # archives are data: size threshold
    ],
)
def test_data_and_model_files_need_a_provenance_record(scan, write, tmp_path, files, reported):
    write(tmp_path, files)
    report, _ = scan(tmp_path, "--select", "PROV001")
    assert bool(found(report, "PROV001")) is reported


def test_untracked_data_is_reported_at_the_file(scan, write, tmp_path):
    write(tmp_path, {"data/train.csv": BIG_CSV})
    report, _ = scan(tmp_path, "--select", "PROV001")
    (finding,) = report["findings"]
    assert (finding["path"], finding["line"], finding["column"]) == ("data/train.csv", 1, 1)
    assert "dvc add" in finding["message"]


def test_size_threshold_is_configurable(scan, write, tmp_path):
    write(tmp_path, {"data/sample.csv": "a\n1\n", "pyproject.toml": "[tool.mllint-sec]\nprovenance-min-bytes = 0\n"})
    report, _ = scan(tmp_path, "--select", "PROV001")
    assert found(report, "PROV001") == [("data/sample.csv", 1)]


def test_bad_threshold_is_a_configuration_error(cli, error_line, write, tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.mllint-sec]\nprovenance-min-bytes = -1\n"})
    assert "provenance-min-bytes" in error_line(cli("check", tmp_path))


def test_dvc_outputs_without_hash_are_reported_at_their_line(scan, write, tmp_path):
    write(tmp_path, {
        "data/raw.dvc": f"outs:\n- md5: {MD5}\n  path: raw\n- path: extra.csv\n",
        "dvc.lock": "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: model.pkl\n",
    })
    report, _ = scan(tmp_path, "--select", "PROV002")
    assert found(report, "PROV002") == [("data/raw.dvc", 4), ("dvc.lock", 6)]


def test_dvc_yaml_needs_its_lock(scan, write, tmp_path):
    yaml = "stages:\n  train:\n    cmd: python train.py\n    outs:\n    - model.pkl\n"
    write(tmp_path, {"pipelines/a/dvc.yaml": yaml, "pipelines/b/dvc.yaml": yaml,
                     "pipelines/b/dvc.lock": f"schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: model.pkl\n      md5: {MD5}\n"})
    report, _ = scan(tmp_path, "--select", "PROV002")
    assert found(report, "PROV002") == [("pipelines/a/dvc.yaml", 5)]


def test_dvc_findings_span_the_output_as_written(scan, write, tmp_path):
    write(tmp_path, {
        "data/raw.dvc": "outs:\n- path: raw.csv  # from the export\n",
        "pipe/dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    outs:\n    - model.pkl  # the model\n",
    })
    report, _ = scan(tmp_path, "--select", "PROV002")
    assert [(f["path"], f["line"], f["column"], f["end_line"], f["end_column"]) for f in report["findings"]] == [
        ("data/raw.dvc", 2, 3, 2, 16),  # `path: raw.csv`, without the comment
        ("pipe/dvc.yaml", 5, 7, 5, 16),  # `model.pkl`, without the indentation or the comment
    ]


def test_record_snippets_quote_the_line_yaml_numbers(scan, write, tmp_path):
    # A form feed is no line break to YAML (it is not even allowed), but str.splitlines() breaks there.
    write(tmp_path, {"dvc.lock": "schema: '2.0'\n# page\x0cbreak\nstages: {}\n"})
    report, _ = scan(tmp_path, "--select", "MLS001")
    assert [(f["line"], f["snippet"]) for f in report["findings"]] == [(2, "# page\x0cbreak")]


def test_malformed_dvc_file_is_a_diagnostic(scan, write, tmp_path):
    write(tmp_path, {"data.dvc": "outs:\n- path: [unclosed\n"})
    report, _ = scan(tmp_path, "--select", "PROV002,MLS001")
    assert [f["rule_id"] for f in report["findings"]] == ["MLS001"]


def test_suppression_comment_in_a_dvc_file(scan, write, tmp_path):
    write(tmp_path, {"data.dvc": "outs:\n- path: data.csv  # mllint-sec: ignore[PROV002] -- imported, see README\n"})
    report, _ = scan(tmp_path, "--select", "PROV002")
    assert found(report, "PROV002") == [] and report["summary"]["suppressed"] == 1


@pytest.mark.parametrize(
    ("card", "fields"),
    [
        ("---\nlicense: mit\ntags:\n- generated_from_trainer\n---\n", ["`datasets`", "`base_model`"]),
        ("---\nlibrary_name: peft\nlicense: mit\ndatasets: [org/data]\n---\n", ["`base_model`"]),
        ("---\nlicense: mit\ndatasets:\n- org/data\n---\n", []),  # not a fine-tune: base_model optional
        ("---\nlicense: ''\nbase_model: org/base\ndatasets: [org/data]\n---\n", ["`license`"]),
        ("---\ntitle: My blog post\nlayout: post\n---\n", []),  # front matter, but not a model card
        ("# Project\nNo front matter.\n", []),
    ],
)
def test_model_cards(scan, write, tmp_path, card, fields):
    write(tmp_path, {"model/README.md": card})
    report, _ = scan(tmp_path, "--select", "PROV004")
    messages = [f["message"] for f in report["findings"]]
    if not fields:
        assert messages == []
    else:
        (message,) = messages
        for field in ("`datasets`", "`license`", "`base_model`"):
            assert (field in message) is (field in fields)


@pytest.mark.parametrize(
    ("card", "fields", "what"),
    [
        ("---\nlicense: mit\n---\n", "`datasets`", "what data it learned from"),
        ("---\nlicense: mit\ntags: [peft]\n---\n", "`datasets` and `base_model`",
         "what data it learned from or which model it was fine-tuned from"),
        ("---\ntags: [lora]\n---\n", "`datasets`, `license` and `base_model`",
         "what data it learned from, under which terms it may be used or which model it was fine-tuned from"),
    ],
    ids=["one", "two", "three"],
)
def test_model_card_message_lists_the_missing_fields(scan, write, tmp_path, card, fields, what):
    write(tmp_path, {"model/README.md": card})
    report, _ = scan(tmp_path, "--select", "PROV004")
    (finding,) = report["findings"]
    assert finding["message"] == (f"this model card does not record {fields}, so users cannot tell {what}; "
                                  f"add {fields} to its front matter")


def test_fine_tuning_code_makes_base_model_required(scan, write, tmp_path):
    card = "---\nlicense: mit\ndatasets: [org/data]\n---\n"
    write(tmp_path, {"model/README.md": card, "train.py": "# Trainer is mentioned only here\nprint('Trainer')\n"})
    report, _ = scan(tmp_path, "--select", "PROV004")
    assert report["findings"] == []  # a comment and a string are not fine-tuning code
    write(tmp_path, {"train.py": "from transformers import Trainer\ntrainer = Trainer(model=model)\ntrainer.train()\n"})
    report, _ = scan(tmp_path, "--select", "PROV004")
    (finding,) = report["findings"]
    assert "`base_model`" in finding["message"] and "`datasets`" not in finding["message"]


# An alias bomb: nine levels of nine aliases stand for 9**9 nodes.
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]" for previous, name in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"


def test_yaml_refused_in_a_model_card_is_a_diagnostic_as_in_dvc_lock(scan, write, tmp_path):
    """A front matter the YAML reader refuses may be a card that is never checked: it is reported
    like a refused dvc.lock, and the scan goes on to the next card."""
    write(tmp_path, {"dvc.lock": ALIAS_BOMB, "model/README.md": f"---\n{ALIAS_BOMB}---\n",
                     "other/README.md": "---\nlicense: mit\ndatasets: []\n---\n"})
    report, _ = scan(tmp_path, "--no-cache", "--select", "PROV004,MLS001")
    refused = "YAML aliases standing for more than 100000 nodes are not read"
    diagnostics = [(f["path"], f["line"], f["message"]) for f in report["findings"] if f["rule_id"] == "MLS001"]
    assert diagnostics == [("dvc.lock", 1, refused), ("model/README.md", 2, refused)]
    assert found(report, "PROV004") == [("other/README.md", 1)]


def test_a_readme_whose_dashes_are_not_front_matter_is_not_a_diagnostic(scan, write, tmp_path):
    """A README may open with a Markdown rule: YAML that does not parse there says nothing."""
    write(tmp_path, {"README.md": "---\n# Title\n\nSome text: with a colon\n- and a list\n---\n"})
    report, _ = scan(tmp_path, "--no-cache", "--select", "PROV004,MLS001")
    assert report["findings"] == []
