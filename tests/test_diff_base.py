"""`--diff-base` keeps every finding on a changed line, whatever the file names and the repository's diff settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mllint_sec.engine.runner import Options, run

IMPORT = "import pickle\n"
LOADS = "pickle.loads(blob)\n"
# Built by hand and never loaded: imports os.system and calls it; its memo index 0 (a NUL byte)
# makes git treat the file as binary.
MALICIOUS_PICKLE = b"\x80\x02cos\nsystem\nq\x00(S'echo hi'\ntR."
BENIGN_PICKLE = b"\x80\x04K\x01."


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", *args], cwd=root, check=True, capture_output=True)


def found(root: Path, **options) -> list[tuple[str, int, str]]:
    return [(f.path, f.line, f.rule_id) for f in run(Options(paths=[root], use_cache=False, **options)).findings]


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def committed(tmp_path: Path, files: dict[str, str | bytes], config: dict[str, str]) -> Path:
    """A repository whose one commit holds `files`, with `config` in its .git/config."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, files)
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    for key, value in config.items():
        git(root, "config", key, value)
    return root


# Names that git quotes in patch headers (non-ASCII, a tab, a double quote) or ends there with a
# tab (a space).
NAMES = ["plain.py", "with space.py", "café.py", "模型.py", "tab\there.py", 'quote".py', "sub dir/über.py"]
SETTINGS = {
    "defaults": {},
    "noprefix": {"diff.noprefix": "true"},
    "mnemonicPrefix": {"diff.mnemonicPrefix": "true"},
    "quotePath": {"core.quotePath": "true"},
    "colour": {"color.ui": "always"},
    "relative": {"diff.relative": "true"},
}


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_every_modified_file_keeps_the_finding_on_its_new_line(tmp_path, settings):
    root = committed(tmp_path, dict.fromkeys(NAMES, IMPORT), settings)
    write(root, dict.fromkeys(NAMES, IMPORT + LOADS))
    expected = sorted((name, 2, "LOAD001") for name in NAMES)
    assert found(root) == expected
    assert found(root, diff_base="HEAD") == expected


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_added_staged_and_untracked_files_are_new_in_full(tmp_path, settings):
    root = committed(tmp_path, {"kept.py": IMPORT}, settings)
    write(root, {"new one.py": IMPORT + LOADS, "ünstaged.py": IMPORT + LOADS})
    git(root, "add", "new one.py")
    assert found(root, diff_base="HEAD") == [("new one.py", 2, "LOAD001"), ("ünstaged.py", 2, "LOAD001")]


def test_only_changed_lines_count_even_when_the_repository_merges_nearby_hunks(tmp_path):
    # diff.interHunkContext would join the two changes into one hunk spanning the unchanged line 3.
    root = committed(tmp_path, {"m.py": IMPORT + "x = 1\n" + LOADS + "y = 2\n"}, {"diff.interHunkContext": "5"})
    write(root, {"m.py": IMPORT + "pickle.loads(first)\n" + LOADS + "pickle.loads(last)\n"})
    assert found(root, diff_base="HEAD") == [("m.py", 2, "LOAD001"), ("m.py", 4, "LOAD001")]
    assert ("m.py", 3, "LOAD001") in found(root)


def test_a_renamed_file_is_new_in_full_at_its_new_path(tmp_path):
    root = committed(tmp_path, {"old name.py": IMPORT + LOADS, "other.py": IMPORT + LOADS}, {})
    git(root, "mv", "old name.py", "néw name.py")
    write(root, {"néw name.py": IMPORT + LOADS + LOADS})
    assert found(root, diff_base="HEAD") == [("néw name.py", 2, "LOAD001"), ("néw name.py", 3, "LOAD001")]


def test_a_deleted_file_reports_nothing_and_hides_nothing(tmp_path):
    root = committed(tmp_path, {"gone.py": IMPORT + LOADS, "kept.py": IMPORT}, {})
    (root / "gone.py").unlink()
    write(root, {"kept.py": IMPORT + LOADS})
    assert found(root, diff_base="HEAD") == [("kept.py", 2, "LOAD001")]


def test_a_replaced_binary_artifact_is_reported(tmp_path):
    root = committed(tmp_path, {"model.pkl": BENIGN_PICKLE, "train.py": IMPORT}, {})
    write(root, {"model.pkl": MALICIOUS_PICKLE})
    assert "ART001" in [rule for _, _, rule in found(root, diff_base="HEAD")]
