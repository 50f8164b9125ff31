"""Which files `check` scans: git-aware listing, default excludes, symlinks, order, explicit files."""

from __future__ import annotations

import os
import subprocess

import pytest

TORCH_LOAD = 'import torch\ntorch.load(path)\n'  # where `path` comes from is unknown: the rule's own severity
DEFAULT_EXCLUDED = [".venv", "venv", "node_modules", "build", "dist", "__pycache__", "site-packages", ".tox"]


def scanned_paths(report) -> list[str]:
    """Display paths of scanned files (every test file holds one LOAD003 finding)."""
    return [f["path"] for f in report["findings"]]


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, write):
    """A git work tree: tracked, untracked, and .gitignore'd files (ignored at top level and nested)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "tests@example.invalid")
    git(root, "config", "user.name", "tests")
    write(root, {
        ".gitignore": "ignored_dir/\nsecret_*.py\n",
        "tracked.py": TORCH_LOAD,
        "src/untracked.py": TORCH_LOAD,
        "src/secret_key.py": TORCH_LOAD,
        "ignored_dir/x.py": TORCH_LOAD,
        "nested/.gitignore": "local.py\n",
        "nested/local.py": TORCH_LOAD,
        "nested/kept.py": TORCH_LOAD,
    })
    git(root, "add", ".gitignore", "tracked.py")
    git(root, "commit", "-q", "-m", "initial")
    return root


# --- inside git ----------------------------------------------------------------


def test_git_ignored_files_are_not_scanned(scan, repo):
    report, _ = scan("--select", "LOAD003", repo)
    assert scanned_paths(report) == ["nested/kept.py", "src/untracked.py", "tracked.py"]
    assert report["summary"]["files_scanned"] == 3


def test_git_default_excludes_still_apply(scan, repo, write):
    write(repo, {"venv/lib/v.py": TORCH_LOAD, "build/b.py": TORCH_LOAD})  # untracked, not ignored by git
    git(repo, "add", "-f", "build/b.py")
    report, _ = scan("--select", "LOAD003", repo)
    assert scanned_paths(report) == ["nested/kept.py", "src/untracked.py", "tracked.py"]


def embedded_repository(root, name, files):
    """A repository of its own inside `root`, recorded in the outer index as a gitlink (mode 160000)."""
    inner = root / name
    inner.mkdir(parents=True)
    git(inner, "init", "-q")
    for relative, text in files.items():
        (inner / relative).write_text(text)
    git(inner, "add", ".")
    git(inner, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", "inner")
    git(root, "add", name)


def test_submodules_are_counted_and_named_as_not_scanned(cli, scan, repo):
    embedded_repository(repo, "third_party/b", {"loader.py": TORCH_LOAD})
    embedded_repository(repo, "a", {"loader.py": TORCH_LOAD})
    report, _ = scan("--select", "LOAD003", repo)
    assert scanned_paths(report) == ["nested/kept.py", "src/untracked.py", "tracked.py"]
    reason = "git submodule: its files are not scanned; scan its checkout on its own"
    assert report["not_scanned"] == [{"path": "a", "reason": reason}, {"path": "third_party/b", "reason": reason}]
    summary = cli("check", "--select", "LOAD003", repo).stdout.splitlines()[-1]
    assert summary == "Found 3 findings (3 high) in 3 files (3 files scanned); 2 submodules not scanned: a, third_party/b."


def test_an_untracked_file_named_like_a_staged_submodule_entry_is_scanned(scan, repo, write):
    name = "160000 " + "0" * 40 + " 0\tfake.py"  # what `ls-files --stage` prints for a gitlink
    write(repo, {name: TORCH_LOAD})
    report, _ = scan("--select", "LOAD003", repo)
    assert name in scanned_paths(report)
    assert report["not_scanned"] == []


def test_git_subdirectory_by_absolute_path(scan, repo):
    report, _ = scan("--select", "LOAD003", repo / "src")
    assert scanned_paths(report) == ["untracked.py"]


def test_git_repo_by_relative_path_from_outside(scan, repo, monkeypatch):
    monkeypatch.chdir(repo.parent)
    report, _ = scan("--select", "LOAD003", "repo")
    assert scanned_paths(report) == ["nested/kept.py", "src/untracked.py", "tracked.py"]


def test_git_current_subdirectory(scan, repo, monkeypatch):
    monkeypatch.chdir(repo / "src")
    report, _ = scan("--select", "LOAD003", ".")
    assert scanned_paths(report) == ["untracked.py"]


# --- outside git ---------------------------------------------------------------


def test_default_excludes_are_skipped(scan, write, tmp_path):
    root = tmp_path / "tree"
    files = {f"{name}/m.py": TORCH_LOAD for name in DEFAULT_EXCLUDED}
    files.update({"pkg/__pycache__/c.py": TORCH_LOAD, "lib/python3.11/site-packages/d.py": TORCH_LOAD})
    files.update({"keep.py": TORCH_LOAD, "pkg/mod.py": TORCH_LOAD, "builder/ok.py": TORCH_LOAD})
    write(root, files)
    report, _ = scan("--select", "LOAD003", root)
    assert scanned_paths(report) == ["builder/ok.py", "keep.py", "pkg/mod.py"]
    assert report["summary"]["files_scanned"] == 3


def test_only_python_files_are_scanned(scan, write, tmp_path):
    write(tmp_path / "tree", {"a.py": TORCH_LOAD, "notes.txt": TORCH_LOAD, "script": TORCH_LOAD, "b.pyc.txt": TORCH_LOAD})
    report, _ = scan("--select", "LOAD003", tmp_path / "tree")
    assert scanned_paths(report) == ["a.py"]


def test_file_symlink_outside_the_root_is_not_followed(scan, write, tmp_path):
    write(tmp_path, {"outside/o.py": TORCH_LOAD, "tree/a.py": TORCH_LOAD})
    os.symlink(tmp_path / "outside" / "o.py", tmp_path / "tree" / "link.py")
    report, _ = scan("--select", "LOAD003", tmp_path / "tree")
    assert scanned_paths(report) == ["a.py"]


def test_dir_symlink_outside_the_root_is_not_followed(scan, write, tmp_path):
    write(tmp_path, {"outside/o.py": TORCH_LOAD, "tree/a.py": TORCH_LOAD})
    os.symlink(tmp_path / "outside", tmp_path / "tree" / "linkdir", target_is_directory=True)
    report, _ = scan("--select", "LOAD003", tmp_path / "tree")
    assert scanned_paths(report) == ["a.py"]


def test_symlinks_outside_the_root_are_not_followed_in_git(scan, repo, write, tmp_path):
    write(tmp_path, {"outside/o.py": TORCH_LOAD})
    os.symlink(tmp_path / "outside" / "o.py", repo / "link.py")
    os.symlink(tmp_path / "outside", repo / "linkdir", target_is_directory=True)
    git(repo, "add", "link.py", "linkdir")
    report, _ = scan("--select", "LOAD003", repo)
    assert scanned_paths(report) == ["nested/kept.py", "src/untracked.py", "tracked.py"]


def test_symlink_inside_the_root_is_scanned_once_where_its_target_lives(scan, write, tmp_path):
    write(tmp_path / "tree", {"pkg/a.py": TORCH_LOAD})
    os.symlink(tmp_path / "tree" / "pkg" / "a.py", tmp_path / "tree" / "alias.py")
    os.symlink(tmp_path / "tree" / "pkg", tmp_path / "tree" / "pkgalias", target_is_directory=True)
    report, _ = scan("--select", "LOAD003", tmp_path / "tree")
    assert scanned_paths(report) == ["pkg/a.py"]


def test_explicit_symlink_outside_the_root_warns(cli, write, tmp_path, monkeypatch):
    write(tmp_path, {"outside/o.py": TORCH_LOAD, "tree/a.py": "x = 1\n"})
    os.symlink(tmp_path / "outside" / "o.py", tmp_path / "tree" / "link.py")
    monkeypatch.chdir(tmp_path / "tree")
    result = cli("check", "link.py", "a.py")
    assert result.exit_code == 0
    assert "LOAD003" not in result.stdout
    assert "warning: link.py: symlink outside the scanned tree; not followed" in result.stdout.splitlines()


def test_order_is_sorted_by_display_path(scan, write, tmp_path):
    names = ["zeta.py", "b/c.py", "a.py", "B.py", "b.py", "a_b.py", "a/z.py", "b/a/b.py"]
    write(tmp_path / "tree", dict.fromkeys(names, TORCH_LOAD))
    report, _ = scan("--select", "LOAD003", tmp_path / "tree")
    assert scanned_paths(report) == sorted(names)


def test_explicit_file_is_scanned(scan, write, tmp_path):
    write(tmp_path / "tree", {"a.py": TORCH_LOAD, "b.py": TORCH_LOAD})
    report, _ = scan("--select", "LOAD003", tmp_path / "tree" / "b.py")
    assert report["summary"]["files_scanned"] == 1
    [finding] = report["findings"]
    assert finding["path"].endswith("tree/b.py")


def test_explicit_file_relative_to_cwd(scan, write, tmp_path, monkeypatch):
    write(tmp_path / "tree", {"pkg/a.py": TORCH_LOAD, "pkg/b.py": TORCH_LOAD})
    monkeypatch.chdir(tmp_path / "tree")
    report, _ = scan("--select", "LOAD003", "pkg/b.py")
    assert scanned_paths(report) == ["pkg/b.py"]


def test_explicit_file_matching_config_exclude_is_not_scanned_with_a_notice(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": '[tool.mllint-sec]\nexclude = ["legacy"]\n',
        "legacy/old.py": TORCH_LOAD,
        "new.py": TORCH_LOAD,
    })
    # The configuration of a named file is searched for up to its repository's root.
    git(tmp_path / "proj", "init", "-q")
    named = tmp_path / "proj" / "legacy" / "old.py"
    report, code = scan("--select", "LOAD003", named)
    assert report["findings"] == []
    assert report["summary"]["files_scanned"] == 0
    assert code == 0
    assert report["problems"] == [f"{named}: matches an exclude pattern; not scanned"]
