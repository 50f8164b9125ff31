"""A file name need not be UTF-8: a finding in `\\xff.py` is reported in every format without
losing the name's bytes, and its fingerprint, computed from those bytes, is stable."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from mllint_sec.core.finding import Finding, assign_fingerprints
from mllint_sec.core.severity import Severity

LOADS = b"import pickle\npickle.loads(b)\n"
NAME = b"model\xff\xfe.py"  # Latin-1 bytes, not UTF-8
SHOWN = "model\\udcff\\udcfe.py"  # how text and GitHub output show those bytes (report/escape.py)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    try:
        with open(os.path.join(os.fsencode(root), NAME), "wb") as handle:  # a name of bytes
            handle.write(LOADS)
    except (OSError, UnicodeError):
        pytest.skip("this file system only takes UTF-8 names")
    (root / "ok.py").write_bytes(LOADS)
    return root


def check(cli, root: Path, *args) -> str:
    result = cli("check", "--select", "LOAD001", *args, root)
    assert result.exit_code == 1, result.output
    return result.stdout


def test_text_shows_the_undecodable_bytes_as_escapes(cli, tree):
    lines = check(cli, tree).splitlines()
    assert f"{SHOWN}:2:1: LOAD001 [high] " in lines[0]
    assert lines[-1] == "Found 2 findings (2 high) in 2 files (2 files scanned)."


def test_json_keeps_the_name_s_bytes(cli, tree):
    output = check(cli, tree, "--format", "json")
    assert '"path": "model\\udcff\\udcfe.py"' in output  # a JSON escape, so the output is UTF-8
    output.encode("utf-8")
    [finding, _] = json.loads(output)["findings"]
    assert os.fsencode(finding["path"]) == NAME


def test_sarif_percent_encodes_the_name_s_bytes(cli, tree, schema_validator):
    document = json.loads(check(cli, tree, "--format", "sarif"))
    schema_validator.validate(document)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in document["runs"][0]["results"]]
    assert uris == ["model%FF%FE.py", "ok.py"]


def test_github_annotates_the_escaped_name(cli, tree):
    first = check(cli, tree, "--format", "github").splitlines()[0]
    assert first.startswith(f"::error file={SHOWN},line=2,col=1,")


def test_fingerprints_come_from_the_bytes_and_survive_a_baseline(cli, tree, tmp_path):
    fingerprints = [f["fingerprint"] for f in json.loads(check(cli, tree, "--format", "json"))["findings"]]
    assert fingerprints == [f["fingerprint"] for f in json.loads(check(cli, tree, "--format", "json"))["findings"]]
    assert len(set(fingerprints)) == 2
    baseline = tmp_path / "baseline.json"
    recorded = cli("baseline", "--select", "LOAD001", baseline, tree)
    assert recorded.exit_code == 0, recorded.output
    assert recorded.stdout == f"Recorded 2 findings in {baseline}.\n"
    result = cli("check", "--select", "LOAD001", "--baseline", baseline, tree)
    assert result.exit_code == 0, result.output
    assert result.stdout == "No findings in 2 files.\n"


def test_names_that_differ_only_in_undecodable_bytes_have_different_fingerprints():
    findings = [Finding("LOAD001", os.fsdecode(name), 2, 1, 2, 16, "m", "s", Severity.HIGH, statement_text="pickle.loads(b)")
                for name in (b"a\xff.py", b"a\xfe.py")]
    assign_fingerprints(findings)
    assert findings[0].fingerprint != findings[1].fingerprint


def test_a_utf8_name_keeps_the_fingerprint_baselines_already_record():
    finding = Finding("LOAD001", "pkg/modèle.py", 2, 1, 2, 16, "m", "s", Severity.HIGH, statement_text="pickle.loads(b)")
    assign_fingerprints([finding])
    recorded = hashlib.sha256("LOAD001\x1fpkg/modèle.py\x1fpickle.loads(b)\x1f1".encode())  # as fingerprints were
    assert finding.fingerprint == recorded.hexdigest()[:32]


def test_a_lone_surrogate_in_a_statement_is_fingerprinted():
    """A notebook is JSON, and JSON can spell a lone surrogate ("\\ud800") in a cell's code."""
    finding = Finding("LOAD001", "nb.ipynb", 2, 1, 2, 16, "m", "s", Severity.HIGH, statement_text="pickle.loads('\ud800')")
    assign_fingerprints([finding])
    assert len(finding.fingerprint) == 32
