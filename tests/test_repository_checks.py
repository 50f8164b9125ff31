"""Repository-level checks register by name and run once per run, after the per-file stage."""

from __future__ import annotations

from pathlib import Path

from mllint_sec.core.finding import Finding
from mllint_sec.core.severity import Severity
from mllint_sec.engine.repository_checks import REPOSITORY_CHECKS, CheckResult, RepositoryScan
from mllint_sec.engine.runner import Options, run


def test_the_registered_checks():
    assert list(REPOSITORY_CHECKS) == ["dependencies", "provenance", "cross-module-flows", "cross-module-wrappers",
                                       "cross-module-origins"]


def test_a_registered_check_sees_the_targets_and_earlier_findings_and_reports(tmp_path: Path, monkeypatch):
    (tmp_path / "load.py").write_text("import pickle\npickle.loads(b)\n")
    (tmp_path / "requirements.txt").write_text("torch\n")
    seen = {}

    def whole_repository(scan: RepositoryScan, known: list[Finding]) -> CheckResult:
        seen["targets"] = sorted(target.display for target, _ in scan.targets)
        seen["known"] = sorted(f.rule_id for f in known)
        finding = Finding("LOAD001", "load.py", 1, 1, 1, 1, "about the repository", "", Severity.HIGH)
        return CheckResult([finding], ["one problem"])

    monkeypatch.setitem(REPOSITORY_CHECKS, "whole-repository", whole_repository)
    result = run(Options(paths=[tmp_path], use_cache=False, jobs=1))
    assert seen == {"targets": ["load.py", "requirements.txt"], "known": ["LOAD001", "SUP006"]}
    assert "about the repository" in [f.message for f in result.findings]
    assert result.problems == ["one problem"]
