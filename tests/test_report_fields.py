"""A finding's context, origin, guard and related places in each report: JSON (schema-valid), SARIF (schema-valid:
tags, rank, properties, relatedLocations) and text (the marker in the message, nothing more)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.code_context import CodeContext, ContextPolicy
from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.origin import Origin, OriginKind
from mllint_sec.core.severity import Severity
from mllint_sec.engine.config import AppliedConfig
from mllint_sec.engine.runner import RunResult
from mllint_sec.report import github, json_report, sarif, text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "json-schema.json").read_text())
SOURCE = ("import pickle\nfrom huggingface_hub import hf_hub_download\np = hf_hub_download('org/m', 'm.pkl')\n"
          "if ALLOW:\n    pickle.load(open(p, 'rb'))\n")
DOWNLOAD = FlowStep(3, 5, 3, 39, "downloaded here by `hf_hub_download`")


def loaded(path: str = "pkg/load.py", context: CodeContext | None = CodeContext.LIBRARY, **fields) -> Finding:
    return Finding("LOAD001", path, 5, 5, 5, 31, "`pickle.load` unpickles its input", "pickle.load(open(p, 'rb'))",
                   Severity.HIGH, statement_text="pickle.load(open(p,'rb'))", fingerprint="0" * 32, context=context,
                   **fields)


def result_of(tmp_path: Path, findings: list[Finding], **fields) -> RunResult:
    for finding in findings:
        (tmp_path / finding.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / finding.path).write_text(SOURCE)
    return RunResult(load_catalogue(), findings, len(findings), [], Severity.LOW, frozenset({"LOAD001"}), tmp_path,
                     **fields)


def rich() -> Finding:
    return loaded(
        origin=Origin(OriginKind.NETWORK, "the file `hf_hub_download` fetched at line 3", DOWNLOAD),
        guard="guarded by `ALLOW` (line 4)",
        related=(FlowStep(4, 1, 4, 9, "the opt-in gate"), FlowStep(2, 1, 2, 5, "declared here", "requirements.txt")),
    )


# --- JSON ------------------------------------------------------------------------------


def test_json_carries_context_origin_guard_and_related(tmp_path):
    document = json.loads(json_report.render(result_of(tmp_path, [rich()])))
    jsonschema.validate(document, SCHEMA)
    [entry] = document["findings"]
    assert entry["context"] == "library"
    assert entry["origin"] == {
        "kind": "network", "description": "the file `hf_hub_download` fetched at line 3",
        "location": {"line": 3, "column": 5, "end_line": 3, "end_column": 39,
                     "message": "downloaded here by `hf_hub_download`"},
    }
    assert entry["guard"] == "guarded by `ALLOW` (line 4)"
    assert entry["related"] == [
        {"line": 4, "column": 1, "end_line": 4, "end_column": 9, "message": "the opt-in gate"},
        {"line": 2, "column": 1, "end_line": 2, "end_column": 5, "message": "declared here", "path": "requirements.txt"},
    ]


def test_json_leaves_out_what_a_finding_does_not_have(tmp_path):
    document = json.loads(json_report.render(result_of(tmp_path, [loaded(context=CodeContext.TEST)])))
    jsonschema.validate(document, SCHEMA)
    [entry] = document["findings"]
    assert entry["context"] == "test"
    assert not {"origin", "guard", "related"} & set(entry)


def test_json_origin_without_a_place(tmp_path):
    finding = loaded(origin=Origin(OriginKind.USER, "a command-line option"))
    document = json.loads(json_report.render(result_of(tmp_path, [finding])))
    jsonschema.validate(document, SCHEMA)
    assert document["findings"][0]["origin"] == {"kind": "user-chosen", "description": "a command-line option"}


def test_json_summary_counts_by_context(tmp_path):
    findings = [loaded(), loaded("tests/test_a.py", CodeContext.TEST), loaded("tests/test_b.py", CodeContext.TEST)]
    ignored = [loaded("examples/e.py", CodeContext.EXAMPLE)]
    result = result_of(tmp_path, findings, ignored=ignored)
    result.context_policy[CodeContext.EXAMPLE] = ContextPolicy.IGNORE
    document = json.loads(json_report.render(result))
    jsonschema.validate(document, SCHEMA)
    summary = document["summary"]
    assert summary["by_context"] == {"library": 1, "test": 2, "example": 0, "script": 0, "benchmark": 0}
    assert summary["files_with_findings"] == 3
    assert summary["ignored_by_context_policy"] == 1
    assert summary["context_policy"] == {"library": "report", "test": "downgrade", "example": "ignore",
                                         "script": "report", "benchmark": "downgrade"}
    assert [f["path"] for f in document["findings"]] == ["pkg/load.py", "tests/test_a.py", "tests/test_b.py"]


def test_json_schema_rejects_an_unknown_context(tmp_path):
    document = json.loads(json_report.render(result_of(tmp_path, [loaded()])))
    document["findings"][0]["context"] = "vendored"
    try:
        jsonschema.validate(document, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("an unknown context must be rejected")


def test_json_configuration_names_context_settings(tmp_path):
    applied = AppliedConfig(tmp_path / "pyproject.toml", (), (), (), (), None, (), None,
                            contexts=((CodeContext.TEST, ("pkg/**",)),),
                            context_policy=((CodeContext.EXAMPLE, ContextPolicy.IGNORE),))
    result = result_of(tmp_path, [loaded()], configuration=applied)
    document = json.loads(json_report.render(result))
    jsonschema.validate(document, SCHEMA)
    assert document["configuration"]["contexts"] == {"test": ["pkg/**"]}
    assert document["configuration"]["context_policy"] == {"example": "ignore"}
    assert text.summary(result).endswith(
        "; configuration pyproject.toml sets the context of 1 pattern, ignores findings in example code.")


# --- SARIF -------------------------------------------------------------------------------


def sarif_results(tmp_path: Path, findings: list[Finding], validator) -> list[dict]:
    document = json.loads(sarif.render(result_of(tmp_path, findings)))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert [e.message for e in errors] == []
    results: list[dict] = document["runs"][0]["results"]
    return results


def test_sarif_result_tags_origin_guard_and_related_locations(tmp_path, schema_validator):
    [result] = sarif_results(tmp_path, [rich()], schema_validator)
    assert result["properties"]["tags"] == ["context:library"]
    assert result["properties"]["origin"] == {"kind": "network",
                                              "description": "the file `hf_hub_download` fetched at line 3"}
    assert result["properties"]["guard"] == "guarded by `ALLOW` (line 4)"
    related = result["relatedLocations"]
    assert [location["id"] for location in related] == [0, 1, 2]  # unique within the result
    assert [location["message"]["text"] for location in related] == [
        "downloaded here by `hf_hub_download`", "the opt-in gate", "declared here"]
    places = [location["physicalLocation"] for location in related]
    assert places[0]["region"] == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 39}
    assert places[0]["artifactLocation"]["uri"] == "pkg/load.py"
    assert places[2]["artifactLocation"]["uri"] == "requirements.txt"  # another file's place


def test_sarif_origin_place_without_a_message_takes_the_description(tmp_path, schema_validator):
    finding = loaded(origin=Origin(OriginKind.NETWORK, "the file fetched at line 3", FlowStep(3, 5, 3, 39, "")))
    [result] = sarif_results(tmp_path, [finding], schema_validator)
    assert result["relatedLocations"][0]["message"]["text"] == "the file fetched at line 3"


def test_sarif_plain_result_has_only_the_context_tag(tmp_path, schema_validator):
    [result] = sarif_results(tmp_path, [loaded(context=None)], schema_validator)
    assert result["properties"] == {"tags": ["context:library"]}  # no context yet: library, as the JSON says
    assert "relatedLocations" not in result


def test_sarif_rank_follows_the_context_lowered_severity(tmp_path, schema_validator):
    library = loaded()
    test = loaded("tests/test_a.py", CodeContext.TEST)
    test.severity = Severity.LOW  # as the test context's downgrade leaves it
    results = sarif_results(tmp_path, [library, test], schema_validator)
    ranks = {r["properties"]["tags"][0]: r["rank"] for r in results}
    assert ranks == {"context:library": 80.0, "context:test": 30.0}
    assert [r["level"] for r in results] == ["error", "note"]


# --- text and GitHub -------------------------------------------------------------------


def test_text_shows_the_marker_and_no_related_lines(tmp_path):
    finding = rich()
    finding.message += " (in test code)"
    lines = text.render(result_of(tmp_path, [finding])).splitlines()
    assert lines[0] == "pkg/load.py:5:5: LOAD001 [high] `pickle.load` unpickles its input (in test code)"
    assert lines[1] == "    pickle.load(open(p, 'rb'))"
    assert lines[2].startswith("Found 1 finding")  # no line for the origin, the guard or related places


def test_github_annotation_is_the_message(tmp_path):
    output = github.render(result_of(tmp_path, [rich()]))
    assert output.count("\n") == 1 and output.endswith("::`pickle.load` unpickles its input\n")
