"""`check - --stdin-filename PATH`: an editor's unsaved buffer, analysed as the file at PATH."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from mllint_sec.cli import main

UNSAFE = b"import torch\nstate = torch.load('ckpt.pt')\n"
SAFE = b"import torch\nstate = torch.load('ckpt.pt', weights_only=True)\n"


def check(*args, source: bytes):
    return CliRunner().invoke(main, ["check", *map(str, args)], input=source, catch_exceptions=False)


def test_source_from_stdin_is_reported_under_the_given_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = check("-", "--stdin-filename", "src/train.py", source=UNSAFE)
    assert result.exit_code == 1
    assert "src/train.py:2:9: LOAD003" in result.stdout
    assert "Found 1 finding" in result.stdout


def test_clean_source_from_stdin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = check("--stdin-filename", "train.py", source=SAFE)  # no PATHS: stdin as well
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("No findings in 1 file")


def test_stdin_wins_over_the_file_on_disk(tmp_path, monkeypatch):
    (tmp_path / "train.py").write_bytes(SAFE)
    monkeypatch.chdir(tmp_path)
    assert check("-", "--stdin-filename", "train.py", source=UNSAFE).exit_code == 1
    (tmp_path / "train.py").write_bytes(UNSAFE)
    assert check("-", "--stdin-filename", "train.py", source=SAFE).exit_code == 0


def test_the_files_configuration_and_context_apply(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "mllint-sec.toml").write_text('per-file-ignores = { "legacy/**" = ["LOAD003"] }\n')
    monkeypatch.chdir(tmp_path)
    assert check("-", "--stdin-filename", "legacy/old.py", source=UNSAFE).exit_code == 0
    result = check("-", "--stdin-filename", "tests/test_model.py", "--format", "json", source=UNSAFE)
    finding, = json.loads(result.stdout)["findings"]
    assert finding["context"] == "test" and finding["severity"] == "low"


def test_a_later_run_in_the_same_process_reads_the_disk_again(tmp_path, monkeypatch):
    (tmp_path / "train.py").write_bytes(SAFE)
    monkeypatch.chdir(tmp_path)
    check("-", "--stdin-filename", "train.py", source=UNSAFE)
    assert check("train.py", source=b"").exit_code == 0


def test_dash_without_a_file_name_is_a_usage_error(cli, error_line):
    assert "--stdin-filename" in error_line(cli("check", "-"))


def test_stdin_filename_with_other_paths_is_a_usage_error(cli, error_line, tmp_path):
    assert "give `-` or no PATHS" in error_line(cli("check", tmp_path, "--stdin-filename", "a.py"))


def test_stdin_with_diff_base_is_a_usage_error(cli, error_line):
    assert "--diff-base" in error_line(cli("check", "-", "--stdin-filename", "a.py", "--diff-base", "HEAD"))


def test_only_python_or_notebooks_from_stdin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = check("-", "--stdin-filename", "requirements.txt", source=b"torch\n")
    assert result.exit_code == 2
    assert "only Python source or a notebook" in result.stderr


def test_oversized_stdin_is_refused_without_reading_it_all():
    from mllint_sec.core.file_kinds import MAX_SOURCE_BYTES

    result = check("-", "--stdin-filename", "big.py", source=b"#" * (MAX_SOURCE_BYTES + 10))
    assert result.exit_code == 2
    assert "stdin: more than" in result.stderr


def test_real_process_reads_stdin(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mllint_sec", "check", "-", "--stdin-filename", "train.py"],
                          input=UNSAFE, cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode == 1
    assert b"train.py:2:9: LOAD003" in done.stdout
