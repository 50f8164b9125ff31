"""The real `pre-commit try-repo` runs both hooks against a fixture repository.

This installs mllint-sec into pre-commit's own virtual environment, so it needs
the package index the project's CI installs from; it takes about half a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_git_safety import hostile_repository, ran

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
pytestmark = [
    pytest.mark.skipif(not Path(PRE_COMMIT).exists(), reason="pre-commit is part of the test extra"),
    # try-repo clones ROOT: an unpacked sdist is not a git repository.
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="pre-commit try-repo needs the project's git checkout"),
]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(target: Path, hook: str | None, home: Path) -> subprocess.CompletedProcess:
    """Run one hook, or with `hook=None` every hook of .pre-commit-hooks.yaml."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(ROOT), *([hook] if hook else []), "--all-files", "--verbose"],
        cwd=target, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    git(path, "init", "-q")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", ".")
    return path


def test_files_hook_blocks_a_finding_and_passes_clean_code(tmp_path, hook_home):
    dirty = make_repo(tmp_path / "dirty", {"train.py": "import torch\nstate = torch.load('ckpt.pt')\n",
                                            "ok.py": "import json\n"})
    result = try_repo(dirty, "mllint-sec", hook_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "train.py:2:9: LOAD003" in result.stdout

    clean = make_repo(tmp_path / "clean", {"train.py": "import torch\nstate = torch.load('c.pt', weights_only=True)\n"})
    result = try_repo(clean, "mllint-sec", hook_home)
    assert result.returncode == 0, result.stdout + result.stderr


def test_repository_hook_uses_the_repository_configuration(tmp_path, hook_home):
    repo = make_repo(tmp_path / "repo", {
        "pyproject.toml": '[tool.mllint-sec]\nper-file-ignores = { "tests/**" = ["LOAD003"] }\n',
        "tests/test_model.py": "import torch\ntorch.load('fixture.pt')\n",
        "src/model.py": "import pickle\npickle.loads(blob)\n",
    })
    result = try_repo(repo, "mllint-sec-repo", hook_home)
    assert result.returncode == 1
    assert "src/model.py:2:1: LOAD001" in result.stdout
    assert "tests/test_model.py" not in result.stdout


# Built by hand and never loaded: a protocol 0 pickle that imports os.system and calls it.
MALICIOUS_PICKLE = b"cos\nsystem\n(S'echo hi'\ntR."


def test_files_hook_reports_staged_artifacts_and_manifests_and_ignores_other_files(tmp_path, hook_home):
    repo = make_repo(tmp_path / "repo", {
        "requirements.txt": "torch>=2.0\n",
        "notes.txt": "Do not import pickle here: pickle.loads runs code.\n",  # not Python: no MLS001
        "bin/train": "#!/usr/bin/env python3\nimport torch\ntorch.load('c.pt')\n",
    })
    (repo / "bin" / "train").chmod(0o755)
    (repo / "model.pkl").write_bytes(MALICIOUS_PICKLE)
    git(repo, "add", ".")
    result = try_repo(repo, "mllint-sec", hook_home)
    assert result.returncode == 1, result.stdout + result.stderr
    reported = [line.split(" [")[0] for line in result.stdout.splitlines() if " [" in line]
    assert sorted(reported) == ["bin/train:3:1: LOAD003", "model.pkl:1:1: ART001", "model.pkl:1:1: PROV001",
                                "requirements.txt:1:1: SUP006"]  # listed most severe first


def test_both_hooks_run_no_program_the_scanned_repository_names(tmp_path, hook_home):
    # pre-commit's own git calls run the repository's programs too; the markers count only the
    # runs from inside a hook, whose PATH starts with the bin directory of its `py_env-*` environment.
    markers = tmp_path / "markers"
    repo = hostile_repository(tmp_path / "repo", markers, gate="/py_env-")
    result = try_repo(repo, None, hook_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "- hook id: mllint-sec\n" in result.stdout and "- hook id: mllint-sec-repo\n" in result.stdout
    assert result.stdout.count("a.py:2:1: LOAD001") == 2
    assert "ignored.py" not in result.stdout  # git listed the files
    assert ran(markers) == []
