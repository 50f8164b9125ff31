"""Flows across modules of the scanned repository (cross_module.py): into another module's
function, and out of one through its return value; the path names each step's file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mllint_sec.analysis.cross_module import ModuleIndex
from mllint_sec.core.file_kinds import Target

REPO = Path(__file__).resolve().parent.parent
SERVING = REPO / "fixtures" / "serving-app"
SCHEMA = json.loads((REPO / "docs" / "json-schema.json").read_text())


def input_findings(report: dict) -> list[tuple[str, str, int]]:
    return sorted((f["rule_id"], f["path"], f["line"]) for f in report["findings"] if f["rule_id"].startswith("INPUT"))


def test_fixture_flows_into_and_out_of_other_modules(scan):
    report, _ = scan(SERVING, "--no-cache")
    jsonschema.validate(report, SCHEMA)
    assert input_findings(report) == [
        ("INPUT001", "app/inference.py", 12),
        ("INPUT002", "app/inference.py", 9),
        ("INPUT002", "app/main.py", 19),
    ]
    by_key = {(f["rule_id"], f["line"]): f for f in report["findings"]}
    into = by_key[("INPUT001", 12)]
    assert into["severity"] == "critical"
    assert [(s.get("path"), s["line"]) for s in into["flow"]] == [
        ("app/main.py", 14), ("app/main.py", 14), (None, 12), (None, 12),
    ]
    assert into["flow"][2]["message"] == "arrives from app/main.py as `blob`"
    out = by_key[("INPUT002", 19)]
    assert out["flow"][0] == {**out["flow"][0], "path": "app/parsing.py", "line": 4}
    assert "returned by `read_payload()` of app/parsing.py" in out["flow"][1]["message"]


def test_text_output_names_each_steps_file(cli):
    result = cli("check", SERVING, "--no-cache", "--select", "INPUT001")
    assert "    flow app/main.py:14:20: request data enters here: Flask `request.files`" in result.stdout
    assert "    flow app/inference.py:12:25: arrives from app/main.py as `blob`" in result.stdout


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="paths relative to the git top level: needs the project's git checkout, not an unpacked sdist")
def test_sarif_thread_flow_locations_point_into_both_files(cli, schema_validator):
    doc = json.loads(cli("check", SERVING, "--no-cache", "--format", "sarif").stdout)
    assert list(schema_validator.iter_errors(doc)) == []
    (result,) = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "INPUT001"]
    uris = [loc["location"]["physicalLocation"]["artifactLocation"]["uri"]
            for loc in result["codeFlows"][0]["threadFlows"][0]["locations"]]
    base = "fixtures/serving-app/app/"  # repository-relative, as code scanning wants
    assert uris == [base + "main.py", base + "main.py", base + "inference.py", base + "inference.py"]


def test_trusted_callers_validation_and_suppressions(scan, write, tmp_path):
    write(tmp_path, {
        "svc/__init__.py": "",
        "svc/api.py": (
            "from flask import request, abort\n"
            "from svc.work import score, restore, offline\n"
            "def a():\n"
            "    rows = request.get_json()['rows']\n"
            "    if len(rows) > 64:\n"
            "        abort(400)\n"
            "    return score(rows)\n"  # validated before the call: silent
            "def b():\n"
            "    return restore(request.data)\n"  # suppressed at the sink
            "def c():\n"
            "    return offline('rows.npy')\n"  # no request data passed
        ),
        "svc/work.py": (
            "import pickle\nimport numpy as np\nimport joblib\n"
            "MODEL = joblib.load('m.joblib')\n"
            "def score(rows):\n    return MODEL.predict(rows)\n"
            "def restore(blob):\n    return pickle.loads(blob)  # mllint-sec: ignore[INPUT001] -- signed upstream\n"
            "def offline(path):\n    return MODEL.predict(np.load(path))\n"
        ),
    })
    report, _ = scan(tmp_path, "--no-cache", "--select", "INPUT")
    assert input_findings(report) == [("INPUT001", "svc/work.py", 8)]
    assert report["findings"][0]["suppressed"] is True


def test_a_form_feed_line_keeps_snippets_on_their_line(scan, write, tmp_path):
    write(tmp_path, {
        "svc/__init__.py": "",
        "svc/api.py": "from flask import request\nfrom svc.work import restore\ndef b():\n    return restore(request.data)\n",
        "svc/work.py": "import pickle\n\x0c\ndef restore(blob):\n    return pickle.loads(blob)\n",
    })
    report, _ = scan(tmp_path, "--no-cache", "--select", "INPUT001")
    (finding,) = report["findings"]
    assert (finding["path"], finding["line"], finding["snippet"]) == ("svc/work.py", 4, "    return pickle.loads(blob)")


def test_reports_are_byte_identical_across_runs(cli):
    first = cli("check", SERVING, "--no-cache", "--format", "json").stdout
    assert first == cli("check", SERVING, "--no-cache", "--format", "json").stdout


def test_module_index_resolves_relative_absolute_and_unique_suffixes(tmp_path):
    targets = [Target(tmp_path / p, p) for p in ("src/app/__init__.py", "src/app/main.py", "src/app/io.py",
                                                 "tools/io.py", "src/app/models/net.py")]
    index = ModuleIndex(targets)
    assert index.function_of(".io.read", "src/app/main.py")[0].display == "src/app/io.py"
    assert index.function_of(".models.net.build", "src/app/main.py")[0].display == "src/app/models/net.py"
    assert index.function_of("app.io.read", "tools/x.py")[0].display == "src/app/io.py"
    assert index.function_of("io.read", "src/app/main.py") is None  # two files are `io`: ambiguous
    assert index.function_of("..io.read", "src/app/models/net.py")[0].display == "src/app/io.py"
    assert index.function_of("numpy.load", "src/app/main.py") is None


def test_a_failing_join_is_a_diagnostic_and_the_run_goes_on(scan, monkeypatch):
    from mllint_sec.analysis import cross_module

    def broken(self, caller, call):
        raise RuntimeError("boom")

    monkeypatch.setattr(cross_module.CrossModule, "_into", broken)
    report, _ = scan(SERVING, "--no-cache")
    assert ("INPUT002", "app/main.py", 19) in input_findings(report)  # the other direction still ran
    assert any("cross-module flows not followed: RuntimeError: boom" in p for p in report["problems"])
