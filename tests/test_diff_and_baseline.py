"""--diff-base reports only changed lines; a baseline hides known findings, even after lines move."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mllint_sec.engine import baseline
from mllint_sec.engine.config import ConfigError
from mllint_sec.engine.runner import Options, run

OLD = "import pickle, torch\n\ndef a(p):\n    return torch.load(p)\n"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "old.py").write_text(OLD)
    (root / "other.py").write_text("import pickle\npickle.loads(b)\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    return root


def found(root: Path, **options) -> list[tuple[str, int, str]]:
    return [(f.path, f.line, f.rule_id) for f in run(Options(paths=[root], use_cache=False, **options)).findings]


def test_diff_base_reports_only_changed_lines_staged_unstaged_and_untracked(repo):
    (repo / "old.py").write_text(OLD + "\ndef b(p):\n    return pickle.loads(p)\n")  # unstaged
    (repo / "staged.py").write_text("import joblib\njoblib.load(p)\n")
    git(repo, "add", "staged.py")  # staged
    (repo / "new.py").write_text("import yaml\nyaml.unsafe_load(s)\n")  # untracked
    assert found(repo, diff_base="HEAD") == [("new.py", 2, "LOAD008"), ("old.py", 7, "LOAD001"), ("staged.py", 2, "LOAD002")]
    assert ("old.py", 4, "LOAD003") in found(repo)  # without --diff-base, the old finding is there


def test_diff_base_errors_are_configuration_errors(repo, tmp_path):
    with pytest.raises(ConfigError, match="not a commit"):
        found(repo, diff_base="no-such-ref")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ConfigError, match="not inside a git repository"):
        found(plain, diff_base="HEAD")


def test_baseline_hides_known_findings_even_when_lines_move(repo, tmp_path):
    path = tmp_path / "baseline.json"
    assert baseline.write(path, run(Options(paths=[repo], use_cache=False)).findings) == 2
    assert found(repo, baseline=path) == []
    (repo / "old.py").write_text("# a comment\n\n\n" + OLD + "\ndef c(p):\n    return torch.load(p, weights_only=False)\n")
    assert found(repo, baseline=path) == [("old.py", 10, "LOAD003")]


@pytest.mark.parametrize("text", ["{", '{"format": 99, "findings": []}', '{"format": 1}', "[]"])
def test_malformed_baseline_is_a_configuration_error(tmp_path, text):
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="baseline"):
        baseline.read(path)


def test_files_added_since_base_are_new_in_full_even_when_binary(repo):
    from mllint_sec.engine import gitdiff

    (repo / "model.pkl").write_bytes(b"\x80\x04\x95\x00binary\x00")
    git(repo, "add", "model.pkl")
    changed = gitdiff.changed_lines(repo, "HEAD")
    assert changed[(repo / "model.pkl")] is gitdiff.ALL_LINES
    assert changed.get(repo / "old.py") is None  # unchanged files are absent
