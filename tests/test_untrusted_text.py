"""Repository-controlled patterns and lines cannot make a scan super-linear (issue 13, item 2).

Each case took minutes with a backtracking regex (a configuration glob with twelve `*a`s, the same
in .gitattributes, a requirements line of 100,000 blanks) and milliseconds now. A watchdog
far above the new time and far below the old one tells them apart without timing anything
finely; bench/hostile.py shows the growth with size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WATCHDOG_SECONDS = 20
HOSTILE_GLOB = "*a" * 12 + "*b"
LONG_NAME = "a" * 40  # against HOSTILE_GLOB: about 9 minutes for a backtracking regex


def _check(directory: Path, *args: str) -> dict:
    """The JSON report of `mllint-sec check` (the installed entry point, run from the scanned tree)."""
    beside = Path(sys.executable).with_name("mllint-sec")
    program = str(beside) if beside.exists() else shutil.which("mllint-sec")
    if program is None:
        pytest.skip("the mllint-sec entry point is not installed")
    completed = subprocess.run([program, "check", "--no-cache", "--format", "json", *args, "."], cwd=directory,
                               capture_output=True, text=True, timeout=WATCHDOG_SECONDS, check=False)
    assert completed.returncode in (0, 1), completed.stderr
    return json.loads(completed.stdout)


def _rules_by_path(report: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["path"], []).append(finding["rule_id"])
    return found


def test_hostile_exclude_pattern(tmp_path):
    (tmp_path / "pyproject.toml").write_text(f'[tool.mllint-sec]\nexclude = ["{HOSTILE_GLOB}"]\n')
    (tmp_path / f"{LONG_NAME}.py").write_text("import pickle\npickle.loads(blob)\n")
    assert _rules_by_path(_check(tmp_path)) == {f"{LONG_NAME}.py": ["LOAD001"]}


def test_hostile_per_file_ignores_pattern(tmp_path):
    (tmp_path / "pyproject.toml").write_text(f'[tool.mllint-sec]\nper-file-ignores = {{ "{HOSTILE_GLOB}" = ["LOAD001"] }}\n')
    (tmp_path / f"{LONG_NAME}.py").write_text("import pickle\npickle.loads(blob)\n")
    assert _rules_by_path(_check(tmp_path)) == {f"{LONG_NAME}.py": ["LOAD001"]}


def test_hostile_gitattributes_pattern(tmp_path):
    """Content, not configuration: `--isolated` could not avoid it."""
    (tmp_path / ".gitattributes").write_text(f"{HOSTILE_GLOB} filter=lfs\n")
    (tmp_path / f"{LONG_NAME}.safetensors").write_bytes(b"{}")
    report = _check(tmp_path)
    assert _rules_by_path(report) == {f"{LONG_NAME}.safetensors": ["PROV001"]}  # the pattern does not cover it


def test_requirements_line_of_blanks(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch>=2\n" + " " * 100_000 + "\nnumpy  # pinned later\n")
    report = _check(tmp_path)
    assert _rules_by_path(report) == {"requirements.txt": ["SUP006"]}  # one finding for the manifest
    assert "2 ML packages are not pinned to an exact version: torch, numpy;" in report["findings"][0]["message"]


def test_poetry_constraint_of_blanks(tmp_path):
    """Two adjacent `\\s*` in the constraint reader were cubic: 2,000 blanks took 39 s."""
    (tmp_path / "pyproject.toml").write_text('[tool.poetry.dependencies]\ntorch = "' + " " * 5_000 + '"\n')
    assert _rules_by_path(_check(tmp_path)) == {"pyproject.toml": ["SUP006"]}


def test_checksum_line_of_closing_parentheses(tmp_path):
    """`SHA256 (` and 100,000 `)=`: a regex with the name's `(.*)` in the middle was quadratic (minutes)."""
    (tmp_path / "SHA256SUMS").write_text("SHA256 (" + ")=" * 100_000 + "  \n"
                                         f"SHA256 (model.safetensors) = {'a' * 64}\n")
    (tmp_path / "model.safetensors").write_bytes(b"{}")
    report = _check(tmp_path)
    assert report["findings"] == []  # the manifest was read to its end: the model has a record (no PROV001)


def test_suppression_comment_of_unclosed_markers(tmp_path):
    """A comment of 30,000 `# mllint-sec: ignore[`: one regex per marker scanned the rest of the line (minutes)."""
    (tmp_path / "a.py").write_text("import pickle\npickle.loads(blob)  " + "# mllint-sec: ignore[" * 30_000 + "\n")
    assert sorted(_rules_by_path(_check(tmp_path))["a.py"]) == ["LOAD001", "MLS002"]  # malformed: suppresses nothing


def test_unclosed_strings_on_one_line_do_not_rescan_it(tmp_path):
    # Each `"` of an unclosed one-line string used to rescan the rest of its line in the prefilter's
    # blanking regex: quadratic, minutes for this line, inside one regex call no budget can stop.
    (tmp_path / "junk.py").write_text('import pickle\nx = "fx\\' * 40_000 + "\npickle.loads(blob)\n")
    (tmp_path / "load.py").write_text("import pickle\npickle.loads(blob)\n")
    assert _rules_by_path(_check(tmp_path)) == {"load.py": ["LOAD001"]}


def test_percent_template_with_a_run_of_zeros(tmp_path):
    # `%` then zeros: flags and width both took `0`, so the template regex tried every split.
    template = "%" + "0" * 100_000
    (tmp_path / "hub.py").write_text(f'import torch\ntorch.hub.load("{template}" % x, "m")\n')
    assert _check(tmp_path)["summary"]["files_scanned"] == 1
