"""Several reports from one scan: `--output-format FORMAT[:FILE]`, each rendered once from the same result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mllint_sec.report.outputs import Output, OutputError, parse_output, plan_outputs

DIRTY = {"train.py": "import torch\nstate = torch.load('ckpt.pt')\n"}
CLEAN = {"train.py": "import torch\nstate = torch.load('ckpt.pt', weights_only=True)\n"}


def test_sarif_to_a_file_and_text_to_stdout_in_one_run(cli, write, tmp_path):
    write(tmp_path / "repo", DIRTY)
    sarif = tmp_path / "results.sarif"
    result = cli("check", tmp_path / "repo", "--output-format", f"sarif:{sarif}", "--output-format", "text")
    assert result.exit_code == 1
    assert "train.py:2:9: LOAD003" in result.stdout  # the text report, on stdout
    log = json.loads(sarif.read_text(encoding="utf-8"))
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["LOAD003"]


def test_each_output_equals_the_single_format_run(cli, write, tmp_path):
    write(tmp_path / "repo", DIRTY)
    json_file, sarif_file = tmp_path / "r.json", tmp_path / "r.sarif"
    cli("check", tmp_path / "repo", "--output-format", f"json:{json_file}", "--output-format", f"sarif:{sarif_file}")
    alone_json = cli("check", tmp_path / "repo", "--format", "json").stdout
    alone_sarif = cli("check", tmp_path / "repo", "--format", "sarif").stdout
    assert json_file.read_text(encoding="utf-8") == alone_json
    assert sarif_file.read_text(encoding="utf-8") == alone_sarif


def test_only_file_outputs_print_the_counts_on_stderr(cli, write, tmp_path):
    write(tmp_path / "repo", DIRTY)
    result = cli("check", tmp_path / "repo", "--output-format", f"json:{tmp_path / 'r.json'}")
    assert result.stdout == ""
    assert result.stderr.startswith("Found 1 finding")
    assert result.exit_code == 1


def test_clean_run_writes_every_output_and_exits_zero(cli, write, tmp_path):
    write(tmp_path / "repo", CLEAN)
    result = cli("check", tmp_path / "repo", "--output-format", f"sarif:{tmp_path / 'r.sarif'}",
                 "--output-format", f"text:{tmp_path / 'r.txt'}")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))["runs"][0]["results"] == []
    assert (tmp_path / "r.txt").read_text(encoding="utf-8").startswith("No findings")


def test_a_file_name_may_hold_a_colon(tmp_path):
    assert parse_output("sarif:out:v1.sarif") == Output("sarif", Path("out:v1.sarif"))
    assert parse_output("text") == Output("text", None)


@pytest.mark.parametrize(("specs", "message"), [
    (["xml:r.xml"], "unknown format 'xml'"),
    (["sarif:"], "no file name after ':'"),
    (["text", "json"], "only one output can go to stdout, not text and json"),
    (["json:r.json", "sarif:r.json"], "r.json is named twice"),
])
def test_bad_output_specs_are_usage_errors(specs, message):
    with pytest.raises(OutputError, match=message):
        plan_outputs(specs, "text", None)


def test_bad_spec_fails_before_the_scan(cli, error_line, write, tmp_path):
    write(tmp_path / "repo", DIRTY)
    line = error_line(cli("check", tmp_path / "repo", "--output-format", "text", "--output-format", "github"))
    assert "only one output can go to stdout" in line


@pytest.mark.parametrize("single", [["--format", "json"], ["-o", "r.txt"]])
def test_output_format_does_not_mix_with_format_or_output(cli, error_line, write, tmp_path, single):
    write(tmp_path / "repo", DIRTY)
    line = error_line(cli("check", tmp_path / "repo", "--output-format", "sarif", *single))
    assert "replaces --format and --output" in line


def test_without_output_format_the_single_output_options_apply():
    assert plan_outputs([], "json", None) == [Output("json", None)]
    assert plan_outputs([], "sarif", Path("r.sarif")) == [Output("sarif", Path("r.sarif"))]


def test_unwritable_output_file_is_one_error_line(cli, error_line, write, tmp_path):
    write(tmp_path / "repo", DIRTY)
    target = tmp_path / "missing-dir" / "r.sarif"
    line = error_line(cli("check", tmp_path / "repo", "--output-format", f"sarif:{target}"))
    assert f"cannot write {target}" in line
