"""The command line: version, rules, explain, and `check` exit codes, selection and output formats."""

from __future__ import annotations

import json
import os
import re

import pytest

from mllint_sec import __version__

TORCH_LOAD = 'import torch\ntorch.load(path)\n'  # where `path` comes from is unknown: the rule's own severity
TORCH_AND_PICKLE = 'import pickle\nimport torch\ntorch.load(path)\npickle.load(fh)\n'
BROKEN = "import pickle\npickle.load(\n"  # a syntax error (the loader word lets it past the prefilter)
TEXT_FINDING = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<rule>[A-Z]+\d{3}) \[(?P<sev>critical|high|medium|low|note)\] \S.*$")


def rule_ids(report) -> list[str]:
    return [f["rule_id"] for f in report["findings"]]


# --- version, rules, explain ---------------------------------------------------


def test_version_prints_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"mllint-sec, version {__version__}"


def test_rules_lists_load003_with_name_and_severity(cli):
    result = cli("rules")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert rows["LOAD003"][1:3] == ["torch-load-unsafe", "high"]
    assert list(rows) == sorted(rows)


@pytest.mark.parametrize("key", ["LOAD003", "torch-load-unsafe", "load003"])
def test_explain_prints_every_section(cli, key):
    result = cli("explain", key)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "# LOAD003 torch-load-unsafe"
    wanted = ["What it does", "Why it matters", "Unsafe example", "Use instead", "References"]
    positions = [lines.index(f"## {heading}") for heading in wanted]
    assert positions == sorted(positions)
    assert "- https://pytorch.org/docs/stable/generated/torch.load.html" in lines


def test_explain_unknown_rule_is_a_one_line_error(cli, error_line):
    result = cli("explain", "NOPE")
    line = error_line(result)
    assert "NOPE" in line
    assert result.stdout == ""


# --- check: exit codes ---------------------------------------------------------


def test_check_clean_tree_exits_0(cli, write, tmp_path):
    write(tmp_path, {"a.py": "import torch\nstate = torch.load('x.pt', weights_only=True)\n", "b.py": "x = 1\n"})
    result = cli("check", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "No findings in 2 files.\n"


def test_check_with_a_finding_exits_1(cli, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_LOAD})
    result = cli("check", tmp_path)
    assert result.exit_code == 1
    assert "LOAD003" in result.stdout


def test_exit_zero_reports_but_exits_0(cli, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_LOAD})
    result = cli("check", "--exit-zero", tmp_path)
    assert result.exit_code == 0
    assert "a.py:2:1: LOAD003 [high]" in result.stdout


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("CRITICAL", 0), ("high", 1), ("low", 1)])
def test_fail_on_threshold(cli, write, tmp_path, fail_on, code):
    write(tmp_path, {"a.py": TORCH_LOAD})  # one high finding
    result = cli("check", "--select", "LOAD003", "--fail-on", fail_on, tmp_path)
    assert result.exit_code == code
    assert "LOAD003" in result.stdout  # below the threshold it is still reported


def test_fail_on_invalid_exits_2(cli, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_LOAD})
    result = cli("check", "--fail-on", "severe", tmp_path)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "severe" in result.stderr


# --- check: rule selection -----------------------------------------------------


def test_select_rule_id_reports_only_that_rule(scan, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_AND_PICKLE})
    everything, _ = scan(tmp_path)
    assert {"LOAD001", "LOAD003"} <= set(rule_ids(everything))
    report, code = scan("--select", "LOAD003", tmp_path)
    assert rule_ids(report) == ["LOAD003"]
    assert code == 1


@pytest.mark.parametrize("token", ["deserialization", "LOAD", "load"])
def test_select_family_name_or_prefix(scan, write, tmp_path, token):
    write(tmp_path, {"a.py": TORCH_AND_PICKLE, "broken.py": BROKEN})
    everything, _ = scan(tmp_path)
    assert "MLS001" in rule_ids(everything)  # the parse error is reported by default
    report, _ = scan("--select", token, tmp_path)
    assert sorted(rule_ids(report)) == ["LOAD001", "LOAD003"]


def test_select_accepts_comma_separated_and_repeated_values(scan, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_AND_PICKLE, "broken.py": BROKEN})
    report, _ = scan("--select", "LOAD001,LOAD003", tmp_path)
    assert sorted(rule_ids(report)) == ["LOAD001", "LOAD003"]
    report, _ = scan("--select", "LOAD001", "--select", "MLS001", tmp_path)
    assert sorted(rule_ids(report)) == ["LOAD001", "MLS001"]


def test_ignore_removes_a_rule(scan, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_AND_PICKLE})
    report, _ = scan("--ignore", "LOAD003", tmp_path)
    assert "LOAD003" not in rule_ids(report)
    assert "LOAD001" in rule_ids(report)


def test_ignore_by_rule_name(scan, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_AND_PICKLE})
    report, _ = scan("--select", "LOAD", "--ignore", "torch-load-unsafe", tmp_path)
    assert rule_ids(report) == ["LOAD001"]


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_rule_token_is_a_one_line_error(cli, error_line, write, tmp_path, option):
    write(tmp_path, {"a.py": TORCH_LOAD})
    result = cli("check", option, "NOPE999", tmp_path)
    assert "NOPE999" in error_line(result)
    assert result.stdout == ""


# --- check: JSON ---------------------------------------------------------------


def test_json_report_schema(scan, write, tmp_path):
    write(tmp_path, {"pkg/sub/model.py": TORCH_LOAD})
    report, code = scan("--select", "LOAD003", tmp_path)
    assert code == 1
    assert report["schema_version"] == 1
    assert {"name": "mllint-sec", "version": __version__}.items() <= report["tool"].items()
    [finding] = report["findings"]
    assert {
        "rule_id", "rule_name", "severity", "path", "line", "column", "end_line", "end_column",
        "message", "snippet", "fingerprint", "suppressed",
    } <= set(finding)
    assert finding["rule_id"] == "LOAD003"
    assert finding["rule_name"] == "torch-load-unsafe"
    assert finding["severity"] == "high"
    assert finding["path"] == "pkg/sub/model.py"  # relative to the scan root, POSIX separators
    assert (finding["line"], finding["column"], finding["end_line"], finding["end_column"]) == (2, 1, 2, 17)
    assert "weights_only=True" in finding["message"]
    assert finding["snippet"] == 'torch.load(path)'
    assert re.fullmatch(r"[0-9a-f]{32}", finding["fingerprint"])
    assert finding["suppressed"] is False
    summary = report["summary"]
    assert summary["files_scanned"] == 1
    assert summary["findings"] == 1
    assert summary["suppressed"] == 0
    assert summary["by_severity"]["high"] == 1
    assert summary["fail_on"] == "low"
    assert summary["failing"] == 1
    assert report["problems"] == []


def test_json_output_is_deterministic(cli, write, tmp_path):
    write(tmp_path, {
        "z.py": TORCH_AND_PICKLE,
        "a/b.py": TORCH_LOAD * 2,
        "a.py": "import joblib\nm = joblib.load('m.pkl')\n" + TORCH_LOAD,
    })
    first = cli("check", "--format", "json", tmp_path)
    second = cli("check", "--format", "json", tmp_path)
    assert first.stdout_bytes == second.stdout_bytes
    paths = [f["path"] for f in json.loads(first.stdout)["findings"]]
    assert paths == sorted(paths)
    assert cli("check", tmp_path).stdout_bytes == cli("check", tmp_path).stdout_bytes


# --- check: output file, default path, missing path -----------------------------


def test_output_file_gets_the_text_report(cli, write, tmp_path):
    write(tmp_path / "src", {"a.py": TORCH_LOAD})
    out = tmp_path / "report.txt"
    result = cli("check", "--output", out, tmp_path / "src")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == cli("check", tmp_path / "src").stdout


def test_output_file_gets_the_json_report(cli, write, tmp_path):
    write(tmp_path / "src", {"a.py": TORCH_LOAD})
    out = tmp_path / "report.json"
    result = cli("check", "--format", "json", "-o", out, tmp_path / "src")
    assert result.exit_code == 1
    assert result.stdout == ""
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [f["path"] for f in report["findings"]] == ["a.py"]
    assert result.stderr.startswith("Found 1 finding")  # the summary still goes to the terminal


def test_default_path_is_the_current_directory(cli, write, tmp_path, monkeypatch):
    write(tmp_path, {"pkg/a.py": TORCH_LOAD})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--select", "LOAD003")
    assert result.exit_code == 1
    assert result.stdout.startswith("pkg/a.py:2:1: LOAD003 [high] ")
    assert result.stdout.endswith("in 1 file (1 file scanned).\n")


@pytest.mark.parametrize("command", ["check", "baseline"])
def test_a_missing_path_is_a_usage_error(cli, write, tmp_path, error_line, command):
    write(tmp_path, {"a.py": TORCH_LOAD})
    missing = tmp_path / "nope"
    arguments = [tmp_path / "a.py", missing] if command == "check" else [tmp_path / "base.json", tmp_path / "a.py", missing]
    line = error_line(cli(command, *arguments))
    assert line == f"mllint-sec: error: {missing}: no such file or directory"


def test_a_path_that_is_neither_a_file_nor_a_directory_is_a_usage_error(cli, tmp_path, error_line):
    fifo = tmp_path / "train.py"
    os.mkfifo(fifo)
    line = error_line(cli("check", fifo))
    assert line == f"mllint-sec: error: {fifo}: not a regular file or directory (FIFO)"


# --- check: text format --------------------------------------------------------


def test_text_format_line_shape_and_summary(cli, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_LOAD, "sub/b.py": "import torch\n\ndef f(p):\n    return torch.load(p)\n"})
    result = cli("check", "--select", "LOAD003", "--sort", "path", tmp_path)
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    first, second = TEXT_FINDING.match(lines[0]), TEXT_FINDING.match(lines[2])
    assert first and second
    assert first.group("path", "line", "col", "rule", "sev") == ("a.py", "2", "1", "LOAD003", "high")
    assert second.group("path", "line", "col", "rule", "sev") == ("sub/b.py", "4", "12", "LOAD003", "high")
    assert lines[1] == '    torch.load(path)'
    assert lines[3] == "    return torch.load(p)"
    assert lines[4] == "Found 2 findings (2 high) in 2 files (2 files scanned)."


def test_text_summary_singular_and_mixed_severities(cli, write, tmp_path):
    write(tmp_path, {"a.py": TORCH_LOAD})
    assert cli("check", "--select", "LOAD003", tmp_path).stdout.splitlines()[-1] == "Found 1 finding (1 high) in 1 file (1 file scanned)."
    write(tmp_path, {"b.py": "import marshal\nmarshal.loads(blob)\n"})
    result = cli("check", "--select", "LOAD003,LOAD007", tmp_path)
    assert result.stdout.splitlines()[-1] == "Found 2 findings (1 high, 1 medium) in 2 files (2 files scanned)."


# --- check: files that cannot be analysed (MLS001) ------------------------------


def test_unparsable_file_is_reported_as_mls001(scan, write, tmp_path):
    write(tmp_path, {"broken.py": BROKEN, "binary.py": "x = 1\n\x00\n"})
    report, code = scan(tmp_path)
    assert [(f["path"], f["rule_id"]) for f in report["findings"]] == [("binary.py", "MLS001"), ("broken.py", "MLS001")]
    assert "NUL" in report["findings"][0]["message"]
    assert "syntax error" in report["findings"][1]["message"]
    assert code == 1


def test_syntax_error_in_a_file_that_cannot_hold_a_finding_is_not_parsed(scan, write, tmp_path):
    # Documented design (MLS001 docs, docs/design.md): the text prefilter skips files
    # that name nothing an enabled rule looks for; such a file cannot hide a finding.
    write(tmp_path, {"legacy.py": 'print "hello"\n', "loader.py": 'import pickle\nprint "x"\npickle.loads(b)\n'})
    report, _ = scan(tmp_path)
    assert [(f["path"], f["rule_id"]) for f in report["findings"]] == [("loader.py", "MLS001")]
    assert "Python 2" in report["findings"][0]["message"]
