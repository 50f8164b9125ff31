"""`check --format sarif`: schema validity, GitHub code scanning's own requirements, fingerprints, URIs."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import attr
import pytest
import sarif_om as om

from mllint_sec import __version__
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.engine.runner import Options, run
from mllint_sec.report import line_hashes, repository_facts, sarif, sarif_serialization

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "fixtures" / "demo-ml-repo"
TORCH_LOAD = 'import torch\nstate = torch.load("x.pt")\n'
BROKEN = "import pickle\npickle.load(\n"
SEVERITY_RANGES = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}


# --- helpers -----------------------------------------------------------------------


def schema_errors(validator, document) -> list[str]:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def assert_github_ready(doc: dict) -> None:
    """What GitHub code scanning requires beyond the schema (sarif-support docs + upload-lib.ts)."""
    assert doc["$schema"] and doc["version"] == "2.1.0"
    assert list(doc)[:2] == ["$schema", "version"]
    assert len(doc["runs"]) == 1  # several runs of one category are rejected
    run_ = doc["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "mllint-sec"
    assert driver["version"] == driver["semanticVersion"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert isinstance(run_["results"], list)
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert 0 < len(rule["shortDescription"]["text"]) < 1024
        assert 0 < len(rule["fullDescription"]["text"]) < 1024
        assert rule["help"]["text"].strip() and rule["help"]["markdown"].strip()
        assert rule["helpUri"].startswith("https://")
        assert len(rule["name"]) <= 255
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        props = rule["properties"]
        assert 0 < len(props.get("tags", ["x"])) <= 10
        assert props["precision"] in ("very-high", "high", "medium", "low")
        if "security-severity" in props:
            value = props["security-severity"]
            assert isinstance(value, str)
            assert "security" in props["tags"]
            assert 0.0 < float(value) <= 10.0
            assert float(value) not in (0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)
    bases = run_.get("originalUriBaseIds", {})
    if run_["results"]:
        assert run_["columnKind"] in ("unicodeCodePoints", "utf16CodeUnits")
    assert len(run_["results"]) <= 5000
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"].strip()
        assert len(result["locations"]) == 1
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert "://" not in uri and not uri.startswith("/"), uri
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert bases["%SRCROOT%"]["uri"].endswith("/")
        region = physical["region"]
        for key in ("startLine", "startColumn", "endLine", "endColumn"):
            assert isinstance(region[key], int) and region[key] >= 1, (key, region)
        assert (region["endLine"], region["endColumn"]) > (region["startLine"], region["startColumn"])
        fingerprints = result["partialFingerprints"]
        assert fingerprints["mllint-sec/v1"]
        assert ":" in fingerprints["primaryLocationLineHash"]


def sarif_of(cli, *args) -> dict:
    result = cli("check", "--format", "sarif", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def results_of(doc) -> list[dict]:
    return doc["runs"][0]["results"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def git_repo(tmp_path, write):
    root = tmp_path / "repo"
    write(root, {"src/model.py": TORCH_LOAD, "README.md": "demo\n"})
    git(root, "init", "-q", "-b", "trunk")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    git(root, "remote", "add", "origin", "https://user:s3cret@github.com/acme/models.git")
    return root


# --- GitHub's primaryLocationLineHash: codeql-action src/fingerprints.test.ts vectors -------

CODEQL_VECTORS = [
    ("", ["c129715d7a2bc9a3:1"]),
    (" a\nb\n  \t\tc\n d", ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"]),
    (
        " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
        ["8b7cf3e952e7aeb2:1", "b1ae1287ec4718d9:1", "bff680108adb0fcc:1", "c6805c5e1288b612:1",
         "b86d3392aea1be30:1", "e6ceba753e1a442:1"],
    ),
]
_SEVEN = ["e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1",
          "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1"]
CODEQL_VECTORS += [
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n", _SEVEN),
    (" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r", _SEVEN),
    (" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n", _SEVEN),
    (" hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n", _SEVEN),
    (
        "Lorem ipsum dolor sit amet.\n" * 10,
        ["a7f2ff13bc495cf2:1", "a7f2ff13bc495cf2:2", "a7f2ff13bc495cf2:3", "a7f2ff13bc495cf2:4",
         "a7f2ff13bc495cf2:5", "a7f2ff13bc495cf2:6", "a7f2ff1481e87703:1", "a9cf91f7bbf1862b:1",
         "55ec222b86bcae53:1", "cc97dc7b1d7d8f7b:1", "c129715d7a2bc9a3:1"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CODEQL_VECTORS)
def test_line_hashes_match_codeql_action_vectors(text, expected):
    assert line_hashes.line_hashes(text) == expected


def test_line_hash_counts_utf16_code_units_and_ignores_indentation():
    # An astral character is two UTF-16 code units in codeql-action's loop.
    astral = line_hashes.line_hashes("x = '\U0001F600'\n")
    assert astral != line_hashes.line_hashes("x = '\u00e9'\n")
    assert line_hashes.line_hashes("    a = 1\n")[0] == line_hashes.line_hashes("a=1\n")[0]


# --- the serializer ------------------------------------------------------------------


def test_serializer_names_levels_nulls_and_suppression_status():
    result = om.Result(
        message=om.Message(text="m"),
        rule_id="R1",
        rule_index=0,
        level="warning",  # equal to sarif-om's default, still written
        locations=[],
        suppressions=[om.Suppression(kind="inSource", state="accepted", justification=None)],
        partial_fingerprints={"a": "1", "b": None},
    )
    log = om.SarifLog(
        version="2.1.0",
        schema_uri=sarif.SCHEMA_URI,
        runs=[om.Run(tool=om.Tool(driver=om.ToolComponent(name="t", rules=[])), results=[result])],
    )
    doc = sarif_serialization.to_sarif_dict(log)
    assert list(doc)[:2] == ["$schema", "version"]
    out = doc["runs"][0]["results"][0]
    assert out == {
        "message": {"text": "m"},
        "level": "warning",
        "partialFingerprints": {"a": "1"},
        "ruleId": "R1",
        "ruleIndex": 0,
        "suppressions": [{"kind": "inSource", "status": "accepted"}],
    }
    assert "kind" not in out and "rank" not in out  # generated defaults dropped
    assert doc["runs"][0]["results"] and doc["runs"][0]["tool"]["driver"]["rules"] == []
    assert "null" not in sarif_serialization.dumps(log)
    empty = sarif_serialization.to_sarif_dict(om.Run(tool=om.Tool(driver=om.ToolComponent(name="t")), results=[]))
    assert empty["results"] == []
    assert "language" not in empty and "newlineSequences" not in empty


def test_serializer_knows_every_sarif_om_field_name():
    """Only Suppression.state differs from the final schema; everything else maps by metadata."""
    for cls in (om.Result, om.Run, om.ReportingDescriptor, om.Region, om.Notification, om.Invocation):
        for field in attr.fields(cls):
            assert field.metadata.get("schema_property_name"), (cls, field.name)


# --- whole documents -----------------------------------------------------------------


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="paths relative to the git top level: needs the project's git checkout, not an unpacked sdist")
def test_demo_fixture_is_schema_valid_and_github_ready(cli, scan, schema_validator):
    doc = sarif_of(cli, DEMO)
    assert schema_errors(schema_validator, doc) == []
    assert_github_ready(doc)
    run_ = doc["runs"][0]
    catalogue = load_catalogue()
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == sorted(catalogue.defaults())  # every rule that ran
    ids = [r["ruleId"] for r in run_["results"]]
    assert "LOAD003" in ids and "MLS001" in ids
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run_["results"]}
    assert "fixtures/demo-ml-repo/src/demo/train.py" in uris  # relative to the git top level
    # suppressed findings (the ignore[LOAD003] comment in serve.py) are left out by default
    report, _ = scan(DEMO)
    suppressed = {(f["path"], f["line"]) for f in report["findings"] if f["suppressed"]}
    assert suppressed
    located = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].removeprefix("fixtures/demo-ml-repo/"),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run_["results"]}
    assert not located & suppressed
    assert len(run_["results"]) == len([f for f in report["findings"] if not f["suppressed"]])
    assert all("suppressions" not in r for r in run_["results"])


def test_rule_metadata_for_github(cli):
    doc = sarif_of(cli, "--select", "LOAD003,MLS001", DEMO)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert list(rules) == ["LOAD003", "MLS001"]
    load = rules["LOAD003"]
    assert load["name"] == "torch-load-unsafe"
    assert load["defaultConfiguration"]["level"] == "error"
    assert load["properties"]["security-severity"] == "8.0"
    assert load["properties"]["precision"] == "high"
    tags = load["properties"]["tags"]
    assert tags[:3] == ["security", "external/cwe/cwe-502", "external/cwe/cwe-94"]
    assert "ML06:2023" in tags and "AML.T0011.000" in tags
    assert load["help"]["markdown"].startswith("# LOAD003 torch-load-unsafe")
    assert "\n" not in load["fullDescription"]["text"].split("\n\n")[0]  # hard wraps undone
    engine = rules["MLS001"]
    assert "security-severity" not in engine["properties"]
    assert "security" not in engine["properties"].get("tags", [])
    assert engine["defaultConfiguration"]["level"] == "note"
    assert engine["properties"]["problem.severity"] == "recommendation"


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [("critical", "error", "9.5"), ("high", "error", "8.0"), ("medium", "warning", "5.5"), ("low", "note", "3.0")],
)
def test_severity_mapping_is_inside_githubs_bands(severity, level, score):
    assert sarif.LEVELS[severity] == level
    assert sarif.SECURITY_SEVERITY[severity] == score
    low, high = SEVERITY_RANGES[severity]
    assert low < float(score) < high or (severity == "critical" and float(score) > low)


def test_long_descriptions_are_trimmed_under_1024():
    text = "A sentence that goes on. " * 80
    trimmed = sarif.trim(text)
    assert len(trimmed) < 1024 and trimmed.endswith(".")
    assert len(sarif.trim("x" * 3000)) < 1024


def test_zero_findings_still_has_results_and_rules(cli, tmp_path, write, schema_validator):
    write(tmp_path, {"clean.py": "import json\njson.loads('{}')\n"})
    doc = sarif_of(cli, tmp_path)
    assert results_of(doc) == []
    assert '"results": []' in cli("check", "--format", "sarif", tmp_path).stdout
    assert doc["runs"][0]["tool"]["driver"]["rules"]
    assert schema_errors(schema_validator, doc) == []
    assert_github_ready(doc)


def test_parse_error_is_a_result_and_a_notification(cli, tmp_path, write, schema_validator):
    write(tmp_path, {"broken.py": BROKEN})
    doc = sarif_of(cli, tmp_path)
    assert schema_errors(schema_validator, doc) == []
    assert_github_ready(doc)
    [result] = results_of(doc)
    assert result["ruleId"] == "MLS001"
    invocation = doc["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    [note] = invocation["toolExecutionNotifications"]
    assert note["associatedRule"]["id"] == "MLS001"
    assert note["message"]["text"].startswith("broken.py: not analysed")
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"


def test_problems_become_notifications(cli, tmp_path, write, monkeypatch):
    write(tmp_path, {"a.py": TORCH_LOAD, "build/b.py": TORCH_LOAD})
    monkeypatch.chdir(tmp_path)
    doc = sarif_of(cli, "a.py", "build/b.py")  # build/ is excluded by default
    texts = [n["message"]["text"] for n in doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    assert "build/b.py: matches an exclude pattern; not scanned" in texts


SUPPRESSED = 'import torch\na = torch.load("x.pt")  # mllint-sec: ignore[LOAD003] -- built by our CI\nb = torch.load("y.pt")\n'


def test_suppressed_findings_are_omitted_by_default(cli, tmp_path, write):
    write(tmp_path, {"m.py": SUPPRESSED})
    doc = sarif_of(cli, tmp_path)
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results_of(doc)] == [3]
    assert "suppressions" not in results_of(doc)[0]


def test_include_suppressed_marks_them_accepted_in_source(cli, tmp_path, write, schema_validator):
    write(tmp_path, {"m.py": SUPPRESSED})
    doc = sarif_of(cli, "--include-suppressed", tmp_path)
    assert schema_errors(schema_validator, doc) == []
    by_line = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r for r in results_of(doc)}
    assert by_line[2]["suppressions"] == [{"kind": "inSource", "status": "accepted", "justification": "built by our CI"}]
    assert by_line[3]["suppressions"] == []


def test_category_sets_automation_details(cli, tmp_path, write):
    write(tmp_path, {"m.py": TORCH_LOAD})
    assert sarif_of(cli, "--category", "mllint-sec", tmp_path)["runs"][0]["automationDetails"]["id"] == "mllint-sec/"
    assert sarif_of(cli, "--category", "ml/sec/", tmp_path)["runs"][0]["automationDetails"]["id"] == "ml/sec/"
    assert "automationDetails" not in sarif_of(cli, tmp_path)["runs"][0]


def test_outside_git_uris_are_relative_to_the_scan_root(cli, tmp_path, write, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    write(tmp_path, {"proj/pkg/m.py": TORCH_LOAD})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    doc = sarif_of(cli, tmp_path / "proj")
    [result] = results_of(doc)
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/m.py"
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (tmp_path / "proj").resolve().as_uri() + "/"
    assert "versionControlProvenance" not in doc["runs"][0]


def test_git_repo_uris_provenance_from_another_cwd(cli, git_repo, tmp_path, monkeypatch, schema_validator):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for target in (git_repo / "src", git_repo):
        doc = sarif_of(cli, target)
        assert schema_errors(schema_validator, doc) == []
        assert_github_ready(doc)
        [result] = results_of(doc)
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/model.py"
        [vcs] = doc["runs"][0]["versionControlProvenance"]
        assert vcs["repositoryUri"] == "https://github.com/acme/models.git"  # credentials stripped
        assert vcs["revisionId"] == git(git_repo, "rev-parse", "HEAD")
        assert vcs["branch"] == "trunk"
        assert "s3cret" not in json.dumps(doc)
    monkeypatch.chdir(git_repo / "src")
    [result] = results_of(sarif_of(cli, "model.py"))  # a single file: the scan root is the cwd
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/model.py"


def test_fingerprints_survive_lines_inserted_above(cli, tmp_path, write):
    write(tmp_path, {"m.py": "import torch\n\ndef f(p):\n    return torch.load(p)\n"})
    before = results_of(sarif_of(cli, tmp_path))[0]
    write(tmp_path, {"m.py": "# header\nimport os\nimport torch\n\n\n\ndef f(p):\n    return torch.load(p)\n"})
    after = results_of(sarif_of(cli, tmp_path))[0]
    line = lambda r: r["locations"][0]["physicalLocation"]["region"]["startLine"]  # noqa: E731
    assert (line(before), line(after)) == (4, 8)
    assert after["partialFingerprints"] == before["partialFingerprints"]


def test_line_hash_is_the_one_of_the_flagged_line(cli, tmp_path, write):
    text = "import torch\nx = 1\nstate = torch.load('a')\n"
    write(tmp_path, {"m.py": text})
    [result] = results_of(sarif_of(cli, tmp_path))
    assert result["partialFingerprints"]["primaryLocationLineHash"] == line_hashes.line_hashes(text)[2]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["snippet"]["text"] == "torch.load('a')"
    assert result["locations"][0]["physicalLocation"]["contextRegion"]["snippet"]["text"] == "state = torch.load('a')"


def test_too_many_results_keeps_the_most_severe_and_says_so(tmp_path, write):
    write(tmp_path, {"m.py": "import torch, yaml\nyaml.load(s)\ntorch.load(p)\nyaml.load(t)\n", "bad.py": BROKEN})
    result = run(Options(paths=[tmp_path]))
    assert len(result.active) >= 3
    doc = sarif_serialization.to_sarif_dict(sarif.build_log(result, max_results=2))
    kept = results_of(doc)
    assert len(kept) == 2
    assert all(r["level"] == "error" for r in kept)
    notes = [n["message"]["text"] for n in doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    assert any(t.startswith(f"{len(result.active) - 2} of {len(result.active)} results were dropped") for t in notes)


def test_tags_are_capped_at_ten():
    catalogue = load_catalogue()
    rule = catalogue.rules["LOAD003"]
    import dataclasses

    crowded = dataclasses.replace(rule, atlas=tuple(catalogue.taxonomy["atlas"]))
    tags = sarif.rule_tags(crowded)
    assert len(tags) == 10 and tags[0] == "security"
    assert tags.index("external/cwe/cwe-502") < tags.index("ML06:2023")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/models.git", "https://github.com/acme/models.git"),
        ("https://x-access-token:ghs_abc@github.com/acme/models", "https://github.com/acme/models"),
        ("git@github.com:acme/models.git", "https://github.com/acme/models.git"),
        ("ssh://git@github.com:22/acme/models.git", "ssh://github.com:22/acme/models.git"),
        ("/srv/git/models.git", None),
        ("file:///srv/git/models.git", None),
    ],
)
def test_remote_urls_lose_credentials(url, expected):
    assert repository_facts.clean_remote_url(url) == expected


def test_output_file_and_sarif_tools_reads_it(cli, tmp_path):
    out = tmp_path / "mllint-sec.sarif"
    result = cli("check", "--format", "sarif", "--output", out, "--exit-zero", DEMO)
    assert result.exit_code == 0
    assert result.stdout == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    pytest.importorskip("sarif.loader", reason="sarif-tools (test extra) not installed")
    from sarif import loader

    parsed = loader.load_sarif_file(str(out))
    assert parsed.get_distinct_tool_names() == ["mllint-sec"]
    assert parsed.get_result_count() == len(results_of(doc))
    summary = subprocess.run(
        [sys.executable, "-m", "sarif", "summary", str(out)], capture_output=True, text=True, check=True
    ).stdout
    assert "error:" in summary and "MLS001" in summary


def test_upload_size_limit_keeps_the_most_severe_and_says_so(tmp_path, monkeypatch):
    from mllint_sec.engine.runner import Options, run
    from mllint_sec.report import sarif as sarif_module

    for i in range(30):
        (tmp_path / f"m{i}.py").write_text("import marshal, pickle\nmarshal.loads(b)\npickle.loads(b)\n")
    result = run(Options(paths=[tmp_path], use_cache=False))
    full = json.loads(sarif_module.render(result))
    assert len(full["runs"][0]["results"]) == 60
    full_size = len(gzip.compress(sarif_module.render(result).encode(), compresslevel=6))
    monkeypatch.setattr(sarif_module, "MAX_GZIP_BYTES", full_size - 1)
    reduced = json.loads(sarif_module.render(result))
    results = reduced["runs"][0]["results"]
    assert 0 < len(results) < 60
    assert all(r["ruleId"] == "LOAD001" for r in results)  # high kept before medium (marshal)
    notes = [n["message"]["text"] for n in reduced["runs"][0]["invocations"][0]["toolExecutionNotifications"]]
    assert any("10 MB per compressed upload" in note for note in notes)
