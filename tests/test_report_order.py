"""The first screen is the worst first: text and GitHub output sorted by severity (`--sort path` for path order),
JSON and SARIF in path order; the summary's files-with-findings count and split by context; `--statistics`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.code_context import CodeContext, ContextPolicy
from mllint_sec.core.finding import Finding
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult
from mllint_sec.report import text
from mllint_sec.report.formats import RenderOptions
from mllint_sec.report.order import ordered

YAML_LOAD = "import yaml\n\ndef read(text):\n    return yaml.load(text, Loader=yaml.FullLoader)\n"
BROKEN = "import yaml\nyaml.load(\n"  # MLS001, low: a severity no analysis of the loaded bytes changes
FINDING_LINE = re.compile(r"^(?P<path>\S+?):(?P<line>\d+):\d+: (?P<rule>[A-Z]+\d{3}) \[(?P<sev>[a-z]+)\]")
RANK = [s.value for s in Severity]


def finding(rule: str, path: str, line: int, severity: Severity, context: CodeContext | None = None,
            suppressed: bool = False) -> Finding:
    return Finding(rule, path, line, 1, line, 5, "message", "", severity, suppressed=suppressed, context=context)


def result_of(findings: list[Finding], ignored: list[Finding] | None = None, files: int = 10,
              policy: dict[CodeContext, ContextPolicy] | None = None) -> RunResult:
    made = RunResult(load_catalogue(), findings, files, [], Severity.LOW, frozenset(), Path("/nonexistent"),
                     ignored=ignored or [])
    if policy is not None:
        made.context_policy.update(policy)
    return made


def shown(output: str) -> list[tuple[str, str, str]]:
    return [(m["path"], m["rule"], m["sev"]) for m in map(FINDING_LINE.match, output.splitlines()) if m]


# --- ordering ------------------------------------------------------------------------


def test_severity_first_then_path_line_column_rule():
    findings = [finding("LOAD007", "a.py", 9, Severity.MEDIUM), finding("LOAD001", "z.py", 1, Severity.HIGH),
                finding("LOAD002", "b.py", 3, Severity.HIGH), finding("LOAD001", "b.py", 3, Severity.HIGH),
                finding("MLS001", "a.py", 1, Severity.LOW), finding("ART001", "m.pkl", 1, Severity.CRITICAL)]
    assert [(f.rule_id, f.path) for f in ordered(findings, "severity")] == [
        ("ART001", "m.pkl"), ("LOAD001", "b.py"), ("LOAD002", "b.py"), ("LOAD001", "z.py"), ("LOAD007", "a.py"),
        ("MLS001", "a.py")]
    assert [(f.rule_id, f.path) for f in ordered(findings, "path")] == [
        ("MLS001", "a.py"), ("LOAD007", "a.py"), ("LOAD001", "b.py"), ("LOAD002", "b.py"), ("ART001", "m.pkl"),
        ("LOAD001", "z.py")]


def test_text_is_most_severe_first_by_default_and_by_path_on_request(cli, write, tmp_path):
    write(tmp_path, {"a.py": BROKEN, "b.py": YAML_LOAD, "tests/test_c.py": YAML_LOAD})
    default = shown(cli("check", "--select", "MLS001,LOAD008", tmp_path).stdout)
    assert [RANK.index(sev) for _, _, sev in default] == sorted(RANK.index(sev) for _, _, sev in default)
    assert default[0][0] == "b.py"  # library code's high finding leads; the test's is low
    assert [path for path, _, _ in default[1:]] == ["a.py", "tests/test_c.py"]  # equally low: by path
    by_path = shown(cli("check", "--select", "MLS001,LOAD008", "--sort", "path", tmp_path).stdout)
    assert [path for path, _, _ in by_path] == ["a.py", "b.py", "tests/test_c.py"]
    assert sorted(by_path) == sorted(default)


def test_sort_option_is_validated(cli, tmp_path, error_line):
    assert "--sort" in error_line(cli("check", "--sort", "rule", tmp_path))


def test_json_and_sarif_keep_path_order(cli, write, tmp_path):
    write(tmp_path, {"a.py": BROKEN, "b.py": YAML_LOAD})
    report = json.loads(cli("check", "--format", "json", "--select", "MLS001,LOAD008", tmp_path).stdout)
    assert [f["path"] for f in report["findings"]] == ["a.py", "b.py"]
    sarif = json.loads(cli("check", "--format", "sarif", "--select", "MLS001,LOAD008", tmp_path).stdout)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]]
    assert [uri.rsplit("/", 1)[-1] for uri in uris] == ["a.py", "b.py"]


def test_github_annotations_are_most_severe_first(cli, write, tmp_path):
    write(tmp_path, {"a.py": BROKEN, "b.py": YAML_LOAD})
    default = cli("check", "--format", "github", "--select", "MLS001,LOAD008", tmp_path).stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in default] == ["::error", "::notice"]
    by_path = cli("check", "--format", "github", "--select", "MLS001,LOAD008", "--sort", "path",
                  tmp_path).stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in by_path] == ["::notice", "::error"]


def test_suppressed_findings_shown_take_their_place_in_the_order():
    findings = [finding("LOAD007", "a.py", 1, Severity.MEDIUM), finding("LOAD001", "b.py", 1, Severity.HIGH, suppressed=True)]
    lines = text.render(result_of(findings), RenderOptions(show_suppressed=True)).splitlines()
    assert lines[0].startswith("b.py:1:1: LOAD001 [high]") and lines[0].endswith("(suppressed)")
    assert lines[1].startswith("a.py:1:1: LOAD007 [medium]")


# --- the summary ---------------------------------------------------------------------


def test_summary_counts_files_with_findings_and_files_scanned():
    findings = [finding("LOAD001", "a.py", 1, Severity.HIGH), finding("LOAD001", "a.py", 5, Severity.HIGH),
                finding("LOAD007", "b.py", 1, Severity.MEDIUM)]
    assert text.summary(result_of(findings, files=1234)) == (
        "Found 3 findings (2 high, 1 medium) in 2 files (1,234 files scanned).")


def test_summary_without_findings_counts_files_scanned():
    assert text.summary(result_of([], files=1)) == "No findings in 1 file."


def test_summary_splits_by_context():
    findings = [finding("LOAD001", "a.py", 1, Severity.HIGH, CodeContext.LIBRARY)] * 23
    findings += [finding("LOAD001", f"tests/t{n}.py", 1, Severity.LOW, CodeContext.TEST) for n in range(1032)]
    findings += [finding("LOAD001", "scripts/s.py", 1, Severity.HIGH, CodeContext.SCRIPT)]
    ignored = [finding("LOAD001", "examples/e.py", n, Severity.HIGH, CodeContext.EXAMPLE) for n in range(1, 13)]
    ignored.append(finding("LOAD001", "examples/e.py", 99, Severity.HIGH, CodeContext.EXAMPLE, suppressed=True))
    lines = text.summary(result_of(findings, ignored, policy={CodeContext.EXAMPLE: ContextPolicy.IGNORE}))
    first, split = lines.splitlines()
    assert first == "Found 1,056 findings (24 high, 1,032 low) in 1,034 files (10 files scanned)."
    assert split == "23 in library code; 1,032 in test code (downgraded); 1 in script code; 12 ignored by context policy"


def test_no_split_when_everything_is_library_code():
    summary = text.summary(result_of([finding("LOAD001", "a.py", 1, Severity.HIGH, CodeContext.LIBRARY)]))
    assert "\n" not in summary and "library" not in summary


def test_split_says_ignored_even_without_findings():
    ignored = [finding("LOAD001", "tests/t.py", 1, Severity.HIGH, CodeContext.TEST)]
    summary = text.summary(result_of([], ignored, policy={CodeContext.TEST: ContextPolicy.IGNORE}))
    assert summary.splitlines() == ["No findings in 10 files.", "1 ignored by context policy"]


def test_summary_is_the_last_text_lines(cli, write, tmp_path):
    write(tmp_path, {"tests/test_a.py": YAML_LOAD, "a.py": YAML_LOAD})
    lines = cli("check", "--select", "LOAD008", tmp_path).stdout.splitlines()
    assert lines[-2].startswith("Found 2 findings (1 high, 1 low) in 2 files (2 files scanned)")
    assert lines[-1] == "1 in library code; 1 in test code (downgraded)"


def test_summary_on_stderr_with_an_output_file(cli, write, tmp_path):
    write(tmp_path, {"proj/tests/test_a.py": YAML_LOAD})
    result = cli("check", "--format", "json", "-o", tmp_path / "out.json", tmp_path / "proj")
    assert result.stderr.splitlines() == ["Found 1 finding (1 low) in 1 file (1 file scanned).",
                                          "1 in test code (downgraded)"]


# --- statistics ----------------------------------------------------------------------


def test_statistics_count_per_rule_and_context():
    findings = [finding("LOAD001", "a.py", n, Severity.HIGH, CodeContext.LIBRARY) for n in range(1, 3)]
    findings += [finding("LOAD001", "tests/t.py", n, Severity.LOW, CodeContext.TEST) for n in range(1, 4)]
    findings += [finding("LOAD007", "a.py", 9, Severity.MEDIUM, CodeContext.LIBRARY)]
    findings += [finding("LOAD007", "a.py", 10, Severity.MEDIUM, CodeContext.LIBRARY, suppressed=True)]
    ignored = [finding("LOAD001", "examples/e.py", 1, Severity.HIGH, CodeContext.EXAMPLE)]
    table = text.statistics(result_of(findings, ignored, policy={CodeContext.EXAMPLE: ContextPolicy.IGNORE}))
    assert table == [
        "Statistics (findings per rule and context):",
        "  3  LOAD001  pickle-load   test (downgraded)",  # most first; the name column as wide as the longest name
        "  2  LOAD001  pickle-load   library",
        "  1  LOAD001  pickle-load   example (ignored)",
        "  1  LOAD007  marshal-load  library",  # the suppressed one is not counted
    ]


def test_statistics_without_findings():
    assert text.statistics(result_of([])) == ["Statistics: no findings."]


def test_statistics_option_prints_the_table_after_the_findings(cli, write, tmp_path):
    write(tmp_path, {"tests/test_a.py": YAML_LOAD, "a.py": YAML_LOAD})
    lines = cli("check", "--select", "LOAD008", "--statistics", tmp_path).stdout.splitlines()
    start = lines.index("Statistics (findings per rule and context):")
    assert all(FINDING_LINE.match(line) is None for line in lines[start:])
    assert sum(FINDING_LINE.match(line) is not None for line in lines[:start]) == 2
    assert [line.split()[:2] + line.split()[3:] for line in lines[start + 1:start + 3]] == [
        ["1", "LOAD008", "library"], ["1", "LOAD008", "test", "(downgraded)"]]
    assert lines[-2].startswith("Found 2 findings")


def test_no_statistics_without_the_option(cli, write, tmp_path):
    write(tmp_path, {"a.py": YAML_LOAD})
    assert "Statistics" not in cli("check", "--select", "LOAD008", tmp_path).stdout
