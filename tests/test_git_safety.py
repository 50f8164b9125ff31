"""Scanning a repository never runs a program that the repository's git configuration names.

The hostile repository below names a program for every hook git offers a reader: an fsmonitor,
a clean filter and a long-running filter process, a diff driver's command and textconv, an
external diff, a pager and a post-index-change hook. Each program leaves a marker file when it
runs. Every way mllint-sec reads git must leave no marker and still get git's answer (so a test
cannot pass because git was silently not used).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

IMPORT = "import pickle\n"
LOADS = "pickle.loads(blob)\n"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", *args], cwd=root, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def program(script: Path, markers: Path, behaviour: str, gate: str = "") -> str:
    """Write `script`, which leaves `markers/<its name>` when it runs with `gate` in PATH; its config value."""
    marker = shlex.quote(str(markers / script.name))
    script.write_text(f'#!/bin/sh\ncase "$PATH" in *{shlex.quote(gate)}*) : > {marker} ;; esac\n{behaviour}\n')
    script.chmod(0o755)
    return shlex.quote(str(script))


def hostile_repository(root: Path, markers: Path, gate: str = "") -> Path:
    """A repository whose a.py has a finding on line 2 (committed) and line 3 (not yet committed).

    `ignored.py` has a finding too but is git-ignored: it is reported only when git was not used.
    """
    programs = markers.parent / "programs"
    programs.mkdir(parents=True)
    markers.mkdir()
    root.mkdir()
    git(root, "init", "-q", "-b", "trunk")
    (root / ".gitattributes").write_text("*.py filter=evil diff=evil\n*.txt filter=streaming\n")
    (root / ".gitignore").write_text("ignored.py\n")
    (root / "a.py").write_text(IMPORT + LOADS)
    (root / "notes.txt").write_text("first\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    (root / "ignored.py").write_text(IMPORT + LOADS)
    (root / "a.py").write_text(IMPORT + LOADS + LOADS)
    (root / "notes.txt").write_text("second\n")
    settings = {
        "core.fsmonitor": program(programs / "fsmonitor", markers, "exit 1", gate),
        "core.pager": program(programs / "pager", markers, "exec cat", gate),
        "diff.external": program(programs / "external-diff", markers, "exit 0", gate),
        "diff.evil.command": program(programs / "diff-driver", markers, "exit 0", gate),
        "diff.evil.textconv": program(programs / "textconv", markers, 'exec cat "$1"', gate),
        "filter.evil.clean": program(programs / "clean-filter", markers, "exec cat", gate),
        "filter.evil.required": "true",
        "filter.streaming.process": program(programs / "filter-process", markers, "exit 1", gate),
        "remote.origin.url": "https://example.com/owner/repo.git",
    }
    for key, value in settings.items():
        git(root, "config", key, value)
    program(root / ".git" / "hooks" / "post-index-change", markers, "exit 0", gate)
    return root


def ran(markers: Path) -> list[str]:
    return sorted(marker.name for marker in markers.iterdir())


@pytest.fixture
def hostile(tmp_path) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    return hostile_repository(tmp_path / "repo", markers), markers


def test_check_lists_files_through_git_and_runs_nothing(cli, hostile):
    root, markers = hostile
    result = cli("check", "--no-cache", "--format", "json", root)
    assert [(f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]] == [("a.py", 2), ("a.py", 3)]
    assert ran(markers) == []


def test_diff_base_reads_the_diff_and_runs_nothing(cli, hostile):
    root, markers = hostile
    result = cli("check", "--no-cache", "--format", "json", "--diff-base", "HEAD", root)
    assert [(f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]] == [("a.py", 3)]
    assert ran(markers) == []


def test_baseline_runs_nothing(cli, hostile, tmp_path):
    root, markers = hostile
    result = cli("baseline", tmp_path / "baseline.json", root)
    assert result.exit_code == 0, result.output
    assert [f["path"] for f in json.loads((tmp_path / "baseline.json").read_text())["findings"]] == ["a.py", "a.py"]
    assert ran(markers) == []


def test_sarif_reads_the_repository_facts_and_runs_nothing(cli, hostile):
    root, markers = hostile
    result = cli("check", "--no-cache", "--format", "sarif", root)
    [provenance] = json.loads(result.stdout)["runs"][0]["versionControlProvenance"]
    assert provenance["repositoryUri"] == "https://example.com/owner/repo.git"
    assert provenance["revisionId"] == git(root, "rev-parse", "HEAD")
    assert provenance["branch"] == "trunk"
    assert ran(markers) == []


def test_a_git_in_the_scanned_directory_is_never_run(cli, hostile, monkeypatch):
    root, markers = hostile
    program(root / "git", markers, "exit 1")
    monkeypatch.setenv("PATH", os.pathsep.join([".", os.environ["PATH"]]))  # `.` is the directory git runs in
    result = cli("check", "--no-cache", "--format", "json", root)
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["a.py", "a.py"]
    assert ran(markers) == []


def test_a_lazy_fetch_cannot_reach_a_remote_helper(cli, tmp_path):
    # A partial clone fetches missing objects on demand from its promisor remote; this one's remote
    # is a command (`ext::`), allowed by the repository's own protocol.ext.allow.
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q")
    (source / "a.py").write_text(IMPORT)
    git(source, "add", ".")
    git(source, "commit", "-qm", "one")
    (source / "a.py").write_text(IMPORT + "x = 1\n")
    git(source, "commit", "-qam", "two")
    git(source, "config", "uploadpack.allowFilter", "true")
    git(tmp_path, "clone", "-q", "--filter=blob:none", source.as_uri(), "clone")
    clone, markers = tmp_path / "clone", tmp_path / "markers"
    markers.mkdir()
    git(clone, "config", "remote.origin.url", "ext::" + program(tmp_path / "remote-helper", markers, "exit 1"))
    git(clone, "config", "protocol.ext.allow", "always")
    (clone / "a.py").write_text(IMPORT + "x = 1\n" + LOADS)
    result = cli("check", "--no-cache", "--diff-base", "HEAD~1", clone)
    assert result.exit_code == 2  # the base's a.py is not in the clone and may not be fetched
    assert "--diff-base" in result.stderr
    assert ran(markers) == []


def test_a_filter_git_cannot_be_told_to_switch_off_stops_git(cli, tmp_path):
    # `-c filter.a=b.clean=` would set `filter.a`, leaving the driver `a=b` on: git is not run at all.
    markers = tmp_path / "markers"
    markers.mkdir()
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitattributes").write_text("*.py filter=a=b\n")
    (root / "a.py").write_text(IMPORT)
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    git(root, "config", "filter.a=b.clean", program(tmp_path / "clean-filter", markers, "exec cat"))
    (root / "a.py").write_text(IMPORT + LOADS)
    result = cli("check", "--no-cache", "--diff-base", "HEAD", root)
    assert result.exit_code == 2
    assert "cannot be switched off" in result.stderr
    assert ran(markers) == []
