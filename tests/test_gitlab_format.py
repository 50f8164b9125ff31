"""`check --format gitlab`: a GitLab Code Quality report (artifacts:reports:codequality).

Every report here is validated against tests/data/gitlab-codequality.schema.json (GitLab's own per-issue
validator plus its documented fields; see the schema's $comment): GitLab stops reading a report at the
first issue that fails its validator, and keeps one issue per fingerprint.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import replace
from pathlib import Path

import jsonschema
import made_results
import pytest
from made_results import finding, result_of

from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.core.severity import Severity
from mllint_sec.report import gitlab

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo-ml-repo"
SCHEMA = json.loads((Path(__file__).parent / "data" / "gitlab-codequality.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
CATALOGUE = made_results.CATALOGUE
TORCH_LOAD = "import torch\nstate = torch.load(path)\n"


def valid_report(text: str) -> list[dict]:
    """The parsed report, after checking it is what GitLab reads in full: schema-valid, unique fingerprints."""
    assert text.endswith("]\n")
    issues = json.loads(text)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(issues)]
    assert errors == []
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)
    return issues


# --- a real run -------------------------------------------------------------------------------


def test_run_outside_git_matches_the_json_report(cli, scan, outside_git, write):
    write(outside_git, {"a.py": TORCH_LOAD, "pkg/b.py": "import pickle\npickle.loads(x)\npickle.loads(y)\n"})
    result = cli("check", "--no-cache", "--format", "gitlab", outside_git)
    assert result.exit_code == 1
    issues = valid_report(result.stdout)
    report, _ = scan("--no-cache", outside_git)
    active = [f for f in report["findings"] if not f["suppressed"]]
    assert len(issues) == len(active) == 3
    # The scan root is the repository root: paths and fingerprints are the JSON report's own.
    assert sorted((i["location"]["path"], i["fingerprint"]) for i in issues) == sorted(
        (f["path"], f["fingerprint"]) for f in active)
    by_fingerprint = {f["fingerprint"]: f for f in active}
    for issue in issues:
        source = by_fingerprint[issue["fingerprint"]]
        assert issue["check_name"] == source["rule_id"]
        assert issue["severity"] == gitlab.SEVERITIES[source["severity"]]
        assert issue["description"] == f"{source['rule_id']} {source['rule_name']}: {source['message']}"
        assert issue["location"]["lines"] == {"begin": source["line"], "end": source["end_line"]}
        assert issue["categories"] == ["Security"]


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="paths relative to the git top level: needs the project's git checkout, not an unpacked sdist")
def test_demo_paths_are_relative_to_the_repository_root(cli, scan):
    issues = valid_report(cli("check", "--format", "gitlab", DEMO).stdout)
    report, _ = scan(DEMO)
    active = [f for f in report["findings"] if not f["suppressed"]]
    assert sorted(i["location"]["path"] for i in issues) == sorted(f"fixtures/demo-ml-repo/{f['path']}" for f in active)
    notebook = [i for i in issues if i["location"]["path"].endswith(".ipynb")]
    assert notebook and all("(cell " in i["description"] for i in notebook)
    parse_error = [i for i in issues if i["check_name"] == "MLS001"]
    assert parse_error and all(i["categories"] == ["Bug Risk"] for i in parse_error)


def test_subdirectory_scans_of_one_repository_get_distinct_fingerprints(cli, tmp_path, write):
    """GitLab merges the reports of a pipeline's jobs: two jobs scanning two subprojects with the same
    `train.py` must not give GitLab one fingerprint for both (the JSON fingerprints, scan-relative, agree)."""
    root = tmp_path / "mono"
    write(root, {"one/train.py": TORCH_LOAD, "two/train.py": TORCH_LOAD})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    reports = [valid_report(cli("check", "--no-cache", "--format", "gitlab", root / part).stdout) for part in ("one", "two")]
    [one], [two] = reports
    assert (one["location"]["path"], two["location"]["path"]) == ("one/train.py", "two/train.py")
    assert one["fingerprint"] != two["fingerprint"]
    json_reports = [json.loads(cli("check", "--no-cache", "--format", "json", root / part).stdout) for part in ("one", "two")]
    assert json_reports[0]["findings"][0]["fingerprint"] == json_reports[1]["findings"][0]["fingerprint"]


def test_fingerprint_survives_lines_inserted_above(cli, outside_git, write):
    write(outside_git, {"m.py": TORCH_LOAD})
    [before] = valid_report(cli("check", "--no-cache", "--format", "gitlab", outside_git).stdout)
    write(outside_git, {"m.py": "# header\nimport os\n\n" + TORCH_LOAD})
    [after] = valid_report(cli("check", "--no-cache", "--format", "gitlab", outside_git).stdout)
    assert after["location"]["lines"]["begin"] == before["location"]["lines"]["begin"] + 3
    assert after["fingerprint"] == before["fingerprint"]


# --- nothing to report -------------------------------------------------------------------------


def test_no_findings_is_an_empty_array(cli, outside_git, write):
    write(outside_git, {"m.py": "import json\njson.loads(s)\n"})
    result = cli("check", "--no-cache", "--format", "gitlab", outside_git)
    assert result.exit_code == 0
    assert result.stdout == "[]\n"
    assert valid_report(result.stdout) == []


def test_suppressed_findings_are_not_emitted(cli, outside_git, write):
    write(outside_git, {"m.py": 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003] -- ours\n',
                        "n.py": TORCH_LOAD})
    for flag in ([], ["--include-suppressed"]):  # SARIF's option does not bring them here either
        issues = valid_report(cli("check", "--no-cache", "--format", "gitlab", *flag, outside_git).stdout)
        assert [i["location"]["path"] for i in issues] == ["n.py"]


def test_problems_are_not_issues(outside_git):
    text = gitlab.render(result_of([], outside_git, problems=["build/x.py: excluded by the configuration"]))
    assert text == "[]\n"


# --- notebooks, severities, hostile text ------------------------------------------------------


def test_notebook_issue_is_on_the_ipynb_line_and_names_the_cell(outside_git):
    found = finding(path="nb.ipynb", line=31, cell=NotebookCell(3, 2, 13))
    [issue] = valid_report(gitlab.render(result_of([found], outside_git)))
    assert issue["location"] == {"path": "nb.ipynb", "lines": {"begin": 31, "end": 31}}
    assert issue["description"].endswith("(cell 3, line 2)")


def test_whole_file_finding_is_on_line_one(outside_git):
    found = replace(finding(rule_id="ART001", path="model.pkl", line=1), whole_file=True, end_line=1)
    [issue] = valid_report(gitlab.render(result_of([found], outside_git)))
    assert issue["location"]["lines"] == {"begin": 1, "end": 1}


def test_severities_map_one_to_one_in_order(outside_git):
    ours = [s.value for s in Severity]  # most severe first
    assert list(gitlab.SEVERITIES) == ours
    assert list(gitlab.SEVERITIES.values()) == ["blocker", "critical", "major", "minor", "info"]
    findings = [finding(line=n + 1, severity=s, fingerprint=f"{n:032x}") for n, s in enumerate(ours)]
    issues = valid_report(gitlab.render(result_of(findings, outside_git)))
    assert [i["severity"] for i in issues] == ["blocker", "critical", "major", "minor", "info"]


def test_hostile_text_is_shown_not_obeyed(outside_git):
    message = 'loads \x1b[2J\x1b[32mAll clear\n"quoted" ]]> \u202eevil \U0001d518 \x00'
    path = "x\x1b[31m\udcff.py"  # an ESC and an undecodable byte in the file name
    [issue] = valid_report(gitlab.render(result_of([finding(path=path, message=message)], outside_git)))
    assert issue["description"] == ('LOAD001 pickle-load: loads \\x1b[2J\\x1b[32mAll clear\\x0a"quoted" ]]> '
                                    '\\u202eevil \U0001d518 \\x00')
    assert issue["location"]["path"] == "x\\x1b[31m\\udcff.py"


def test_hostile_report_is_strict_utf8(outside_git):
    text = gitlab.render(result_of([finding(path="\udcff.py", message="\ud800 lone")], outside_git))
    assert json.loads(text.encode("utf-8").decode("utf-8", "strict"))[0]["description"].endswith("\\ud800 lone")


# --- fingerprints: unique, and stable ------------------------------------------------------------


def test_repeated_or_missing_fingerprints_are_made_unique(outside_git):
    same = [finding(line=n, fingerprint="a" * 32) for n in (2, 5)]
    missing = [finding(line=n, fingerprint="") for n in (7, 7)]  # even the same place twice
    issues = valid_report(gitlab.render(result_of(same + missing, outside_git)))
    fingerprints = [i["fingerprint"] for i in issues]
    assert fingerprints[0] == "a" * 32  # the first keeps its own
    assert len(set(fingerprints)) == 4 and all(len(f) == 32 for f in fingerprints)


def test_unique_fingerprints_keeps_distinct_ones():
    placed = [("m.py", finding(fingerprint=f"{n:032x}")) for n in range(3)]
    assert gitlab.unique_fingerprints(placed) == [f"{n:032x}" for n in range(3)]


def test_output_is_deterministic_whatever_the_findings_order(outside_git):
    findings = [finding(path=p, line=n, rule_id=r, severity=s, fingerprint=f"{p}{n}{r}".ljust(32, "0"))
                for p in ("b.py", "a.py") for n in (9, 3) for r, s in (("LOAD003", "high"), ("LOAD001", "low"))]
    first = gitlab.render(result_of(findings, outside_git))
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    assert gitlab.render(result_of(shuffled, outside_git)) == first
    assert gitlab.render(result_of(findings, outside_git)) == first
    assert [i["location"]["path"] for i in json.loads(first)] == ["a.py"] * 4 + ["b.py"] * 4


# --- the schema itself is not vacuous --------------------------------------------------------------


@pytest.mark.parametrize("broken", [
    {"severity": "high"},  # ours, not GitLab's: its per-severity count breaks
    {"fingerprint": None},
    {"location": {"path": "m.py", "lines": {"begin": "2"}}},
    {"location": {"path": "m.py"}},
    {"check_name": ""},
])
def test_schema_rejects_what_gitlab_would_drop(broken):
    issue = {"description": "d", "check_name": "LOAD001", "fingerprint": "f", "severity": "major",
             "location": {"path": "m.py", "lines": {"begin": 2}}}
    assert VALIDATOR.is_valid([issue])
    issue.update(broken)
    issue = {key: value for key, value in issue.items() if value is not None}
    assert not VALIDATOR.is_valid([issue])
