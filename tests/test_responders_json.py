"""What a responder needs in JSON: each finding's taxonomy and precision, counts by severity, rule and
context, what a baseline hid, the tool version and the catalogue's digest; `rules --format json`; the
schema shipped inside the package."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from mllint_sec import __version__
from mllint_sec.catalogue.loading import catalogue_dir, load_catalogue
from mllint_sec.engine.cache import catalogue_digest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = resources.files("mllint_sec.report").joinpath("json-schema.json")
SCHEMA = json.loads(PACKAGED.read_text(encoding="utf-8"))
CATALOGUE = load_catalogue()
TAXONOMY = ("precision", "cwe", "atlas", "owasp_ml", "sdl")
# Two loaders (LOAD001, LOAD003), one of them twice, and one suppressed pickle load.
SOURCE = (
    "import pickle, torch\n"
    "torch.load(a)\n"
    "torch.load(b)\n"
    "pickle.loads(c)\n"
    "pickle.loads(d)  # mllint-sec: ignore[LOAD001] -- fixture\n"
)


@pytest.fixture
def repo(tmp_path, write):
    root = tmp_path / "repo"
    write(root, {"train.py": SOURCE})
    return root


def test_every_finding_carries_its_rules_taxonomy_and_precision(scan, repo):
    document, _ = scan(repo, "--no-cache")
    jsonschema.validate(document, SCHEMA)
    assert {f["rule_id"] for f in document["findings"]} == {"LOAD001", "LOAD003"}
    for finding in document["findings"]:
        rule = CATALOGUE.rules[finding["rule_id"]]
        assert finding["severity"] == rule.severity
        assert finding["precision"] == rule.precision
        assert (finding["cwe"], finding["atlas"], finding["owasp_ml"]) == (
            list(rule.cwe), list(rule.atlas), list(rule.owasp_ml))
        assert finding["sdl"] == rule.sdl
    assert "CWE-502" in document["findings"][0]["cwe"]


def test_engine_findings_have_empty_taxonomy_lists_and_still_validate(scan, tmp_path, write):
    # Names a loader, so the prefilter lets it through to the parser, which fails before any LOAD001.
    write(tmp_path / "repo", {"broken.py": "import pickle\npickle.loads(b)\nprint 'x'\n"})
    document, _ = scan(tmp_path / "repo", "--no-cache")
    jsonschema.validate(document, SCHEMA)
    [finding] = document["findings"]
    assert finding["rule_id"] == "MLS001"
    assert finding["cwe"] == finding["atlas"] == finding["owasp_ml"] == []
    assert finding["sdl"] and finding["precision"] == CATALOGUE.rules["MLS001"].precision


def test_schema_rejects_a_finding_without_taxonomy_or_with_a_made_up_id(scan, repo):
    document, _ = scan(repo, "--no-cache")
    for field in TAXONOMY:
        broken = json.loads(json.dumps(document))
        del broken["findings"][0][field]
        with pytest.raises(jsonschema.ValidationError, match=field):
            jsonschema.validate(broken, SCHEMA)
    for field, bad in (("cwe", ["502"]), ("atlas", ["T0011"]), ("owasp_ml", ["ML06"]), ("precision", "certain")):
        broken = json.loads(json.dumps(document))
        broken["findings"][0][field] = bad
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_counts_by_severity_rule_and_context_cover_unsuppressed_findings_only(scan, repo):
    document, _ = scan(repo, "--no-cache")
    summary = document["summary"]
    active = [f for f in document["findings"] if not f["suppressed"]]
    assert summary["by_rule"] == {"LOAD001": 1, "LOAD003": 2}  # the suppressed pickle load is not counted
    assert list(summary["by_rule"]) == sorted(summary["by_rule"])
    assert summary["by_rule"] == dict(Counter(f["rule_id"] for f in active))
    assert sum(summary["by_severity"].values()) == sum(summary["by_context"].values()) == len(active) == 3
    assert summary["suppressed"] == 1


def test_a_clean_run_counts_no_rule(scan, tmp_path, write):
    write(tmp_path / "repo", {"ok.py": "import json\njson.loads(s)\n"})
    document, _ = scan(tmp_path / "repo", "--no-cache")
    jsonschema.validate(document, SCHEMA)
    assert document["summary"]["by_rule"] == {}


def test_hidden_by_baseline_counts_what_the_baseline_dropped(cli, scan, repo, tmp_path):
    document, _ = scan(repo, "--no-cache")
    assert document["summary"]["hidden_by_baseline"] is None  # no --baseline: nothing to say
    baseline_file = tmp_path / "baseline.json"
    assert cli("baseline", baseline_file, repo).exit_code == 0
    hidden, code = scan(repo, "--no-cache", "--baseline", baseline_file)
    jsonschema.validate(hidden, SCHEMA)
    # The three unsuppressed findings; a baseline does not record the suppressed one, which stays listed.
    assert hidden["summary"]["hidden_by_baseline"] == 3
    assert [f["suppressed"] for f in hidden["findings"]] == [True] and code == 0
    assert hidden["summary"]["findings"] == 0 and hidden["summary"]["by_rule"] == {}
    (repo / "train.py").write_text(SOURCE + "torch.load(e)\n")
    new, _ = scan(repo, "--no-cache", "--baseline", baseline_file)
    assert [(f["rule_id"], f["line"]) for f in new["findings"] if not f["suppressed"]] == [("LOAD003", 6)]
    assert new["summary"]["hidden_by_baseline"] == 3
    assert new["summary"]["by_rule"] == {"LOAD003": 1}


def test_an_empty_baseline_hides_nothing(cli, scan, tmp_path, write):
    write(tmp_path / "empty", {"ok.py": "x = 1\n"})
    baseline_file = tmp_path / "baseline.json"
    assert cli("baseline", baseline_file, tmp_path / "empty").exit_code == 0
    write(tmp_path / "repo", {"train.py": SOURCE})
    document, _ = scan(tmp_path / "repo", "--no-cache", "--baseline", baseline_file)
    assert document["summary"]["hidden_by_baseline"] == 0
    assert document["summary"]["findings"] == 3


def test_tool_names_version_and_catalogue_digest(scan, cli, repo):
    document, _ = scan(repo, "--no-cache")
    tool = document["tool"]
    assert tool["name"] == "mllint-sec" and tool["version"] == __version__
    assert re.fullmatch("[0-9a-f]{64}", tool["catalogue_digest"])
    listing = json.loads(cli("rules", "--format", "json").stdout)
    assert listing["tool"] == tool  # the same rules: the same digest in both documents


def test_catalogue_digest_follows_content_not_install_location(tmp_path):
    first, second = tmp_path / "a" / "rules", tmp_path / "b" / "rules"
    shutil.copytree(catalogue_dir(), first)
    shutil.copytree(catalogue_dir(), second)

    def files(root: Path) -> list[str]:
        return [str(p) for p in sorted(root.rglob("*.toml"))]

    assert catalogue_digest(files(first), root=first) == catalogue_digest(files(second), root=second)
    assert catalogue_digest(files(first)) != catalogue_digest(files(second))  # without root, paths count
    rule = second / "deserialization" / "pickle-load.toml"
    rule.write_text(rule.read_text().replace('severity = "high"', 'severity = "medium"', 1))
    assert catalogue_digest(files(first), root=first) != catalogue_digest(files(second), root=second)


def test_rules_json_lists_every_rule_with_its_fields_in_id_order(cli):
    result = cli("rules", "--format", "json")
    assert result.exit_code == 0
    listing = json.loads(result.stdout)
    catalogue = load_catalogue()  # read now, as the command did (the module's copy could be older)
    ids = [rule["id"] for rule in listing["rules"]]
    assert ids == sorted(catalogue.rules) and len(ids) == len(catalogue.rules)
    for entry in listing["rules"]:
        rule = catalogue.rules[entry["id"]]
        assert set(entry) == {"id", "name", "family", "severity", "default_enabled", "summary", *TAXONOMY, "docs"}
        assert (entry["name"], entry["family"], entry["severity"], entry["summary"]) == (
            rule.name, rule.family, rule.severity, rule.summary)
        assert entry["default_enabled"] is rule.default_enabled
        assert entry["precision"] == rule.precision and entry["sdl"] == rule.sdl
        assert entry["cwe"] == list(rule.cwe) and entry["atlas"] == list(rule.atlas)
        assert entry["owasp_ml"] == list(rule.owasp_ml)
        assert set(entry["docs"]) == set(rule.docs) and entry["docs"]["references"]
        assert entry["docs"]["what"] == rule.docs["what"].strip()
        for kind in ("cwe", "atlas", "owasp_ml"):  # every cited id is named in the listing's taxonomy
            assert set(entry[kind]) <= set(listing["taxonomy"][kind])
    assert any(not entry["default_enabled"] for entry in listing["rules"])  # opt-in rules are listed too
    assert listing["taxonomy"]["cwe"]["CWE-502"] == "Deserialization of Untrusted Data"


def test_rules_json_is_deterministic_and_text_stays_the_default(cli):
    assert cli("rules", "--format", "json").stdout == cli("rules", "--format", "json").stdout
    text = cli("rules").stdout
    assert text == cli("rules", "--format", "text").stdout
    assert text.startswith("ART001 ") and not text.lstrip().startswith("{")


def test_rules_rejects_an_unknown_format(cli):
    result = cli("rules", "--format", "sarif")
    assert result.exit_code == 2
    assert "sarif" in result.stderr


def test_schema_ships_in_the_package_and_docs_holds_the_same_text():
    assert PACKAGED.is_file()
    assert (ROOT / "docs" / "json-schema.json").read_text(encoding="utf-8") == PACKAGED.read_text(encoding="utf-8")
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "json-schema.json" in package_data["mllint_sec.report"]
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
