"""`check --show-files`: every path discovery met, scanned as what or not scanned and why, without analysing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mllint_sec.engine.config import Config
from mllint_sec.engine.discovery import Discovery

TORCH_LOAD = "import torch\ntorch.load(path)\n"  # a finding in any analysed file: a scan would exit 1
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 12\n"


def git(repo, *args):
    subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c",
                    "protocol.file.allow=always", *args], cwd=repo, check=True, capture_output=True)


def verdicts(result) -> dict[str, str]:
    """{path: verdict} from the listing (the last line is the count)."""
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    found = {}
    for line in lines[:-1]:
        path, _, verdict = line.partition("  ")
        found[path.strip()] = verdict.strip()
    return found


@pytest.fixture
def repo(tmp_path, write):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, {
        ".gitignore": "ignored_dir/\nsecret_*.py\n",
        "pyproject.toml": '[tool.mllint-sec]\nextend-exclude = ["legacy/**"]\n',
        "src/model.py": TORCH_LOAD,
        "src/secret_key.py": TORCH_LOAD,
        "ignored_dir/x.py": TORCH_LOAD,
        "legacy/old.py": TORCH_LOAD,
        "venv/lib/v.py": TORCH_LOAD,  # untracked and not gitignored: the default exclude drops it
        "nb/eda.ipynb": '{"cells": []}',
        "requirements.txt": "torch\n",
        "weights/model.pt": LFS_POINTER,
        "data/table.csv": "a,b\n",
        "model.dvc": "outs: []\n",
        "notes.txt": "hello\n",
    })
    (root / "weights" / "real.pkl").write_bytes(b"\x80\x04N.")
    git(root, "add", ".gitignore", "src/model.py")
    git(root, "commit", "-q", "-m", "initial")
    return root


def test_every_verdict_of_a_git_work_tree(cli, repo):
    found = verdicts(cli("check", "--show-files", repo))
    assert found == {
        ".gitignore": "not scanned: no rule reads this kind of file",
        "data/table.csv": "scanned as data (its provenance is checked)",
        "ignored_dir/": "not scanned: gitignored",
        "legacy/old.py": "not scanned: excluded by configuration extend-exclude 'legacy/**'",
        "model.dvc": "scanned as provenance record",
        "nb/eda.ipynb": "scanned as notebook",
        "notes.txt": "not scanned: no rule reads this kind of file",
        "pyproject.toml": "scanned as manifest",
        "requirements.txt": "scanned as manifest",
        "src/model.py": "scanned as source",
        "src/secret_key.py": "not scanned: gitignored",
        "venv/lib/v.py": "not scanned: default-excluded 'venv'",
        "weights/model.pt": "not scanned: Git LFS pointer: the artifact itself is not in the work tree",
        "weights/real.pkl": "scanned as artifact",
    }


def test_the_listing_is_sorted_counted_and_nothing_is_analysed(cli, repo):
    result = cli("check", "--show-files", repo)
    assert result.exit_code == 0  # a scan would find the torch.load calls and exit 1
    lines = result.stdout.splitlines()
    paths = [line.split("  ")[0].strip() for line in lines[:-1]]
    assert paths == sorted(paths)
    assert lines[-1] == "14 paths: 7 scanned, 7 not scanned"
    assert "Found" not in result.output
    assert cli("check", "--show-files", repo).stdout == result.stdout  # deterministic


def test_a_scanned_file_has_the_verdict_a_run_gives_it(cli, scan, repo):
    report, _ = scan("--select", "LOAD003", repo)
    analysed = {finding["path"] for finding in report["findings"]}
    listed = {path for path, verdict in verdicts(cli("check", "--show-files", repo)).items()
              if verdict == "scanned as source"}
    assert analysed == listed == {"src/model.py"}


def test_submodule_nested_repository_and_missing_file(cli, repo):
    inner = repo / "inner"
    inner.mkdir()
    git(inner, "init", "-q")
    (inner / "a.py").write_text(TORCH_LOAD)
    git(inner, "add", "a.py")
    git(inner, "commit", "-q", "-m", "inner")
    git(repo, "submodule", "add", "-q", "./inner", "third_party/lib")
    (repo / "src" / "model.py").unlink()  # tracked, deleted from the work tree
    found = verdicts(cli("check", "--show-files", repo))
    assert found["third_party/lib/"] == "not scanned: git submodule; not entered (scan its checkout on its own)"
    assert found["inner/"] == (
        "not scanned: a directory git lists whole (a nested repository, not a submodule); not entered")
    assert found["src/model.py"] == "not scanned: listed by git but missing from the work tree"


def test_symlinks_are_not_followed(cli, repo, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text(TORCH_LOAD)
    (repo / "out.py").symlink_to(outside)
    (repo / "in.py").symlink_to(repo / "src" / "model.py")
    found = verdicts(cli("check", "--show-files", repo))
    assert found["out.py"] == "not scanned: symlink outside the scanned tree; not followed"
    assert found["in.py"] == (
        "not scanned: symlink; not followed (its target inside the scanned tree is scanned where it lives)")
    assert found["src/model.py"] == "scanned as source"


def test_files_over_the_size_limits(cli, tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    with open(root / "big.py", "wb") as handle:  # sparse: costs nothing to make, and is never read
        handle.truncate(5 * 1024 * 1024 + 1)
    with open(root / "small.py", "wb") as handle:
        handle.truncate(5 * 1024 * 1024)  # at the limit: read
    found = verdicts(cli("check", "--show-files", root))
    assert found["big.py"] == "not scanned: larger than 5 MiB (5242881 bytes); reported as MLS001, not read"
    assert found["small.py"] == "scanned as source"


def test_walk_prunes_default_and_configured_directories_and_names_special_files(cli, tmp_path, write):
    root = write(tmp_path / "tree", {
        "pyproject.toml": '[tool.mllint-sec]\nexclude = ["generated", "!generated/keep.py"]\n',
        "node_modules/pkg/a.py": TORCH_LOAD,  # `exclude` replaces the defaults: scanned
        "generated/a.py": TORCH_LOAD,
        "keep.py": TORCH_LOAD,
    })
    os.mkfifo(root / "pipe.py")
    found = verdicts(cli("check", "--show-files", root))
    assert found["generated/"] == "not scanned: excluded by configuration exclude 'generated'"
    assert found["node_modules/pkg/a.py"] == "scanned as source"
    assert found["pipe.py"] == "not scanned: FIFO, not a regular file; never opened"
    assert found["keep.py"] == "scanned as source"


def test_walk_names_a_default_excluded_directory_once(cli, tmp_path, write):
    root = write(tmp_path / "tree", {"node_modules/a/b.py": TORCH_LOAD, ".tox/c.py": TORCH_LOAD, "m.py": TORCH_LOAD})
    found = verdicts(cli("check", "--show-files", root))
    assert found == {
        ".tox/": "not scanned: default-excluded '.tox'",
        "m.py": "scanned as source",
        "node_modules/": "not scanned: default-excluded 'node_modules'",
    }


def test_named_files(cli, repo, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere.py"
    outside.write_text(TORCH_LOAD)
    (repo / "link.py").symlink_to(outside)
    monkeypatch.chdir(repo)
    found = verdicts(cli("check", "--show-files", "legacy/old.py", "notes.txt", "src/model.py", "link.py"))
    assert found == {
        "legacy/old.py": "not scanned: excluded by configuration extend-exclude 'legacy/**'",
        "link.py": "not scanned: symlink outside the scanned tree; not followed",
        "notes.txt": "not scanned: no rule reads this kind of file",
        "src/model.py": "scanned as source",
    }


def test_paths_are_escaped(cli, tmp_path, write):
    root = write(tmp_path / "tree", {"evil\x1b[2J.py": TORCH_LOAD})
    result = cli("check", "--show-files", root)
    assert "\x1b" not in result.stdout
    assert "evil\\x1b[2J.py  scanned as source" in result.stdout


def test_a_missing_path_is_a_usage_error(cli, tmp_path):
    result = cli("check", "--show-files", tmp_path / "absent")
    assert result.exit_code == 2
    assert "no such file or directory" in result.stderr


def test_a_normal_discovery_records_nothing(repo):
    discovery = Discovery(Config(), repo)
    discovery.targets([repo])
    assert discovery.met is None
    recording = Discovery(Config(), repo, record=True)
    recording.targets([repo])
    assert recording.met is not None
    assert "ignored_dir/" in recording.met


def test_gitignored_listing_runs_only_when_recording(repo, monkeypatch):
    from mllint_sec.engine import discovery as module

    calls: list[Path] = []
    monkeypatch.setattr(module, "_git_ignored", lambda directory: calls.append(directory) or [])
    Discovery(Config(), repo).targets([repo])
    assert calls == []
    Discovery(Config(), repo, record=True).targets([repo])
    assert calls == [repo]
