"""The JSON report matches the schema documented in docs/json-schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from mllint_sec.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "json-schema.json").read_text())


def report(*args: str) -> dict:
    result = CliRunner().invoke(main, ["check", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def test_demo_report_validates_and_counts_agree():
    document = report(str(ROOT / "fixtures" / "demo-ml-repo"))
    jsonschema.validate(document, SCHEMA)
    findings = document["findings"]
    active = [f for f in findings if not f["suppressed"]]
    assert document["summary"]["findings"] == len(active) > 0
    assert document["summary"]["suppressed"] == len(findings) - len(active) == 2  # serve.py and the notebook
    assert sum(document["summary"]["by_severity"].values()) == len(active)


def test_empty_report_validates(tmp_path):
    (tmp_path / "ok.py").write_text("import json\njson.load(open('x'))\n")
    document = report(str(tmp_path))
    jsonschema.validate(document, SCHEMA)
    assert document["findings"] == [] and document["summary"]["files_scanned"] == 1


def test_schema_rejects_a_malformed_report():
    document = report(str(ROOT / "fixtures" / "demo-ml-repo"))
    document["findings"][0]["line"] = 0
    try:
        jsonschema.validate(document, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("line 0 must be rejected")
