"""`check --format junit`: JUnit XML for CI test-report viewers (artifacts:reports:junit, Jenkins, Azure).

Every report here is parsed by ElementTree (a strict XML 1.0 parser: a forbidden character or broken
markup is an error) and validated with xmlschema against the Jenkins xunit plugin's junit-10.xsd
(tests/data, as pytest ships it); the counts in the attributes are checked against the elements.
"""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import made_results
import pytest
import xmlschema
from made_results import finding

from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.report import junit

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo-ml-repo"
XSD = xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit-10.xsd")
CATALOGUE = made_results.CATALOGUE
TORCH_LOAD = "import torch\nstate = torch.load(path)\n"
# What XML 1.0 forbids outright, and what a terminal or log viewer would interpret.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
                         "\ufffe\uffff]")


def valid_report(text: str) -> ET.Element:
    """The parsed report, after checking it against the XSD and checking every count it states."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n') and text.endswith("</testsuites>\n")
    assert RAW_CONTROL.search(text) is None
    root = ET.fromstring(text.encode("utf-8"))
    XSD.validate(text)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites[0].get("name") == "mllint-sec"
    keys = set()
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(case.find("failure") is not None for case in cases)
        assert (suite.get("errors"), suite.get("skipped")) == ("0", "0")
        for case in cases:
            keys.add((suite.get("name"), case.get("classname"), case.get("name")))
            assert len(case.findall("failure")) <= 1
    # GitLab keys a test case by suite, class and name; a repeated key would be counted once.
    assert len(keys) == sum(len(suite.findall("testcase")) for suite in suites)
    assert int(root.get("tests")) == len(keys)
    assert int(root.get("failures")) == len(root.findall("testsuite/testcase/failure"))
    assert root.get("errors") == "0"
    return root


def failures(root: ET.Element) -> list[tuple[str, ET.Element, ET.Element]]:
    """(suite name, testcase, failure) for every failed case."""
    return [(suite.get("name"), case, case.find("failure")) for suite in root.findall("testsuite")
            for case in suite.findall("testcase") if case.find("failure") is not None]


def result_of(findings, scan_root, problems=None):
    return made_results.result_of(findings, scan_root, problems, files_scanned=3)


# --- a real run -------------------------------------------------------------------------------


def test_run_gives_one_suite_per_file_and_one_failure_per_finding(cli, scan, outside_git, write):
    write(outside_git, {"a.py": TORCH_LOAD, "pkg/b.py": "import pickle\npickle.loads(x)\npickle.loads(y)\n"})
    result = cli("check", "--no-cache", "--format", "junit", outside_git)
    assert result.exit_code == 1
    root = valid_report(result.stdout)
    report, _ = scan("--no-cache", outside_git)
    active = [f for f in report["findings"] if not f["suppressed"]]
    assert [s.get("name") for s in root.findall("testsuite")] == ["mllint-sec", "a.py", "pkg/b.py"]
    assert (root.get("tests"), root.get("failures")) == ("4", "3")
    failed = failures(root)
    assert len(failed) == len(active) == 3
    for (suite, case, failure), source in zip(failed, active, strict=True):  # both in path and line order
        assert suite == source["path"]
        assert case.get("classname") == {"a.py": "a", "pkg/b.py": "pkg.b"}[source["path"]]
        assert case.get("name") == f"{source['rule_id']} {source['rule_name']} [{source['fingerprint'][:12]}]"
        assert failure.get("message") == source["message"]
        assert failure.get("type") == source["severity"]
        lines = failure.text.splitlines()
        assert lines[0] == f"{source['path']}:{source['line']}:{source['column']}"
        assert lines[1] == f"{source['rule_id']} {source['rule_name']} [{source['severity']}] {source['message']}"
        assert lines[2] == "    " + source["snippet"].strip()
        assert f"fingerprint: {source['fingerprint']}" in lines
        assert lines[-1] == f"details: mllint-sec explain {source['rule_id']}"
    [scan_case] = root.find("testsuite").findall("testcase")
    assert scan_case.find("system-out").text.startswith("Found 3 findings")


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="paths relative to the git top level: needs the project's git checkout, not an unpacked sdist")
def test_demo_report(cli, scan):
    root = valid_report(cli("check", "--format", "junit", DEMO).stdout)
    report, _ = scan(DEMO)
    active = [f for f in report["findings"] if not f["suppressed"]]
    assert int(root.get("failures")) == len(active)
    assert {s.get("name") for s in root.findall("testsuite")[1:]} == {f"fixtures/demo-ml-repo/{f['path']}" for f in active}
    notebook = [failure for suite, _, failure in failures(root) if suite.endswith(".ipynb")]
    assert notebook and all(re.match(r"\S+\.ipynb:cell \d+:line \d+:\d+ \(file line \d+\)$", f.text.splitlines()[0])
                            for f in notebook)


# --- nothing to report: a passing run ---------------------------------------------------------------


def test_clean_run_is_one_passing_test(cli, outside_git, write):
    write(outside_git, {"m.py": "import json\njson.loads(s)\n"})
    result = cli("check", "--no-cache", "--format", "junit", outside_git)
    assert result.exit_code == 0
    root = valid_report(result.stdout)
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    [suite] = root.findall("testsuite")
    [case] = suite.findall("testcase")
    assert (case.get("classname"), case.get("name")) == ("mllint-sec", "scan")
    assert list(case) == [case.find("system-out")]  # no failure, no error, no skipped: passed
    assert case.find("system-out").text == "No findings in 1 file."


def test_suppressed_findings_are_not_emitted(cli, outside_git, write):
    write(outside_git, {"m.py": 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003] -- ours\n'})
    result = cli("check", "--no-cache", "--format", "junit", "--include-suppressed", outside_git)
    assert result.exit_code == 0
    root = valid_report(result.stdout)
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    assert "1 suppressed" in root.find("testsuite/testcase/system-out").text


def test_problems_are_the_scan_cases_error_output(outside_git):
    root = valid_report(junit.render(result_of([], outside_git, problems=["build/x.py: excluded", "second"])))
    assert root.find("testsuite/testcase/system-err").text == "build/x.py: excluded\nsecond"
    assert root.get("failures") == "0"


def test_no_problems_no_error_output(outside_git):
    root = valid_report(junit.render(result_of([], outside_git)))
    assert root.find("testsuite/testcase/system-err") is None


# --- notebooks, flows, names --------------------------------------------------------------------------


def test_notebook_failure_names_cell_and_file_line(outside_git):
    found = finding(path="nb.ipynb", line=31, cell=NotebookCell(3, 2, 13))
    [(suite, case, failure)] = failures(valid_report(junit.render(result_of([found], outside_git))))
    assert (suite, case.get("classname")) == ("nb.ipynb", "nb")
    assert failure.text.splitlines()[0] == "nb.ipynb:cell 3:line 2:13 (file line 31)"


def test_flow_steps_name_their_file(outside_git):
    steps = (FlowStep(3, 5, 3, 9, "request data read"), FlowStep(8, 1, 8, 4, "passed on", path="lib/other.py"))
    found = finding(rule_id="INPUT001", flow=steps)
    [(_, _, failure)] = failures(valid_report(junit.render(result_of([found], outside_git))))
    assert "    flow m.py:3:5: request data read" in failure.text.splitlines()
    assert "    flow lib/other.py:8:1: passed on" in failure.text.splitlines()


def test_names_are_unique_in_a_suite_even_without_fingerprints(outside_git):
    findings = [finding(line=2, fingerprint=""), finding(line=2, fingerprint=""), finding(line=4, fingerprint="")]
    root = valid_report(junit.render(result_of(findings, outside_git)))
    assert [case.get("name") for _, case, _ in failures(root)] == [
        "LOAD001 pickle-load", "LOAD001 pickle-load #2", "LOAD001 pickle-load #3"]


def test_a_long_source_line_is_cut(outside_git):
    found = replace(finding(), snippet="x = " + "a" * 10_000)
    [(_, _, failure)] = failures(valid_report(junit.render(result_of([found], outside_git))))
    quoted = failure.text.splitlines()[2]
    assert quoted.endswith("...") and len(quoted) == 4 + junit.SNIPPET_WIDTH + 3


@pytest.mark.parametrize(("path", "dotted"), [
    ("src/app.py", "src.app"), ("app.py", "app"), ("Makefile", "Makefile"), ("a/.hidden", "a..hidden"),
    ("v1.2/model.pkl", "v1.2.model"), ("nb.ipynb", "nb"),
])
def test_classname_is_the_path_as_a_dotted_module(path, dotted):
    assert junit.dotted(path) == dotted


# --- hostile text -------------------------------------------------------------------------------------


HOSTILE = 'pickle \x1b[2J\x1b[32mAll clear\n"quoted" \'single\' <tag> & ]]> \u202eevil \U0001d518 \x00\x0b\ufffe\uffff\ud800'


def test_hostile_text_is_well_formed_and_shown(outside_git):
    found = replace(finding(path="x\x1b[31m\udcff]]>.py", message=HOSTILE), snippet=HOSTILE,
                    flow=(FlowStep(1, 1, 1, 2, HOSTILE),))
    text = junit.render(result_of([found], outside_git, problems=[HOSTILE]))
    root = valid_report(text)
    [(suite, case, failure)] = failures(root)
    shown = ('pickle \\x1b[2J\\x1b[32mAll clear\\x0a"quoted" \'single\' <tag> & ]]> \\u202eevil \U0001d518 '
             '\\x00\\x0b\\ufffe\\uffff\\ud800')
    assert failure.get("message") == shown  # quotes, markup and ]]> are text; the non-BMP character survives
    assert suite == "x\\x1b[31m\\udcff]]>.py"
    assert case.get("classname") == "x\\x1b[31m\\udcff]]>"
    assert f"[critical] {shown}" in failure.text
    assert root.find("testsuite/testcase/system-err").text == shown
    assert "]]>" not in text.replace("]]&gt;", "")  # never raw in the document
    assert "<tag>" not in text


def test_xml_text_shows_what_xml_forbids():
    assert junit.xml_text("a\x00b\ufffe\uffffc\U0001f600") == "a\\x00b\\ufffe\\uffffc\U0001f600"
    assert junit.xml_text("tab\tkept") == "tab\tkept"


# --- determinism and the schema ---------------------------------------------------------------------


def test_output_is_deterministic_whatever_the_findings_order(outside_git):
    findings = [finding(path=p, line=n, rule_id=r, severity=s, fingerprint=f"{p}{n}{r}".ljust(32, "0"))
                for p in ("b.py", "a.py") for n in (9, 3) for r, s in (("LOAD003", "high"), ("LOAD001", "low"))]
    first = junit.render(result_of(findings, outside_git))
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    assert junit.render(result_of(shuffled, outside_git)) == first
    assert junit.render(result_of(findings, outside_git)) == first
    root = valid_report(first)
    assert [s.get("name") for s in root.findall("testsuite")] == ["mllint-sec", "a.py", "b.py"]
    assert [failure.text.splitlines()[0] for _, _, failure in failures(root)] == [
        "a.py:3:1", "a.py:3:1", "a.py:9:1", "a.py:9:1", "b.py:3:1", "b.py:3:1", "b.py:9:1", "b.py:9:1"]


def test_the_schema_rejects_a_file_attribute_on_a_test_case():
    """Why the report has no `file` attribute (GitLab reads one): the xunit plugin's schema forbids it."""
    case = '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t"{}/></testsuite></testsuites>'
    assert XSD.is_valid(case.format(""))
    assert not XSD.is_valid(case.format(' file="m.py"'))


def test_json_and_junit_agree_on_counts(cli, outside_git, write):
    write(outside_git, {"a.py": TORCH_LOAD, "b.py": TORCH_LOAD + TORCH_LOAD.replace("import torch\n", "")})
    root = valid_report(cli("check", "--no-cache", "--format", "junit", outside_git).stdout)
    summary = json.loads(cli("check", "--no-cache", "--format", "json", outside_git).stdout)["summary"]
    assert int(root.get("failures")) == summary["findings"] == 3
    assert len(root.findall("testsuite")) == 1 + summary["files_with_findings"]
