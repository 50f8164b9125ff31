"""A scanned file is stat-ed before it is read: a huge file is reported, never read whole; a FIFO,
socket or device is named in a notice and never opened (opening a FIFO would block the run)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mllint_sec.core.bounded_read import NotRegular, TooLarge, read_head, read_limited
from mllint_sec.core.file_kinds import MAX_NOTEBOOK_BYTES, MAX_SOURCE_BYTES
from mllint_sec.engine.runner import Options, run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, sparse files and rlimits are POSIX")

LOADS = "import pickle\npickle.loads(b)\n"


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space (and no time to make)."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def mllint_sec(*args: str, timeout: float = 120, memory: int | None = None) -> subprocess.CompletedProcess:
    """The installed entry point in a child process: a hang is a timeout, not a stuck suite."""
    def limit_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    executable = shutil.which("mllint-sec", path=str(Path(sys.executable).parent)) or shutil.which("mllint-sec")
    return subprocess.run([executable, *args], capture_output=True, text=True, timeout=timeout, check=False,
                          preexec_fn=limit_memory if memory else None)


# --- the reader ------------------------------------------------------------------------


class Blocked(Exception):  # not an OSError, which the reader would take for a refusal
    pass


@pytest.fixture
def no_hang():
    """Fail (SIGALRM) rather than block forever on a FIFO the code under test should not have opened."""
    def expired(*_):
        raise Blocked("blocked opening a FIFO")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_fifo_a_socket_and_a_device_are_refused_unopened(tmp_path, no_hang):
    fifo = tmp_path / "model.pkl"
    os.mkfifo(fifo)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "train.py"))
    try:
        assert read_limited(fifo, 100) == NotRegular("FIFO")
        assert read_head(fifo, 100) == NotRegular("FIFO")
        assert read_limited(tmp_path / "train.py", 100) == NotRegular("socket")
        assert read_limited(os.devnull, 100) == NotRegular("character device")
        assert read_limited(tmp_path, 100) == NotRegular("directory")
    finally:
        server.close()


def test_a_regular_file_swapped_for_a_fifo_after_the_stat_does_not_block(tmp_path, monkeypatch, no_hang):
    regular = os.stat(sparse(tmp_path / "a.py", 10))
    fifo = tmp_path / "train.py"
    os.mkfifo(fifo)
    system_stat = os.stat

    def stat_before_the_swap(path, *args, **kwargs):
        return regular if os.fspath(path) == str(fifo) else system_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_before_the_swap)
    assert read_limited(fifo, 100) == NotRegular("FIFO")


def test_sizes_at_and_over_the_limit(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"x" * 100)
    assert read_limited(path, 100) == b"x" * 100
    assert read_limited(path, 99) == TooLarge(100, 99)
    assert read_head(path, 10) == b"x" * 10
    assert read_limited(sparse(tmp_path / "big.py", 1 << 40), 100) == TooLarge(1 << 40, 100)


# --- a run ---------------------------------------------------------------------------------


def test_source_and_notebook_over_their_limits_are_mls001_too_large(tmp_path):
    sparse(tmp_path / "big.py", MAX_SOURCE_BYTES + 1)
    sparse(tmp_path / "big.ipynb", MAX_NOTEBOOK_BYTES + 1)
    result = run(Options(paths=[tmp_path], jobs=1))
    assert [(f.path, f.rule_id, f.message) for f in result.findings] == [
        ("big.ipynb", "MLS001", "file is larger than 64 MiB; not analysed"),
        ("big.py", "MLS001", "file is larger than 5 MiB; not analysed"),
    ]


@pytest.mark.parametrize("output_format", ["text", "sarif"])
def test_huge_sparse_files_are_reported_without_being_read(tmp_path, output_format):
    """A 4 GiB .py and a 3 GiB .ipynb (sparse), scanned with 2 GiB of address space: read whole,
    either would not fit (a MemoryError traceback); stat-ed first, they cost nothing."""
    (tmp_path / "ok.py").write_text(LOADS)
    sparse(tmp_path / "huge.py", 4 << 30)
    sparse(tmp_path / "huge.ipynb", 3 << 30)
    result = mllint_sec("check", "--format", output_format, str(tmp_path), memory=2 << 30)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    if output_format == "text":
        assert "huge.py:1:1: MLS001 [low] file is larger than 5 MiB; not analysed" in result.stdout
        assert "huge.ipynb:1:1: MLS001 [low] file is larger than 64 MiB; not analysed" in result.stdout
        assert result.stdout.endswith("Found 3 findings (1 high, 2 low) in 3 files (3 files scanned).\n")
    else:
        assert len(json.loads(result.stdout)["runs"][0]["results"]) == 3


def fifo_tree(root: Path) -> Path:
    root.mkdir()
    (root / "ok.py").write_text(LOADS)
    for name in ("model.pkl", "train.py", "requirements.txt"):
        os.mkfifo(root / name)
    return root


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args], cwd=root,
                   check=True, capture_output=True)


NOTICES = [
    "model.pkl: FIFO, not a regular file; not read",
    "requirements.txt: FIFO, not a regular file; not read",
    "train.py: FIFO, not a regular file; not read",
]


def test_fifos_in_the_tree_are_skipped_with_a_notice(tmp_path):
    root = fifo_tree(tmp_path / "tree")
    result = mllint_sec("check", "--format", "json", str(root), timeout=60)
    report = json.loads(result.stdout)
    assert [f["path"] for f in report["findings"]] == ["ok.py"]
    assert sorted(report["problems"]) == NOTICES
    assert report["summary"]["files_scanned"] == 1


def test_tracked_files_replaced_by_fifos_are_skipped_with_a_notice(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for name in ("ok.py", "model.pkl", "train.py", "requirements.txt"):
        (root / name).write_text(LOADS if name == "ok.py" else "")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "files")
    for name in ("model.pkl", "train.py", "requirements.txt"):
        (root / name).unlink()
        os.mkfifo(root / name)
    result = mllint_sec("check", "--format", "json", str(root), timeout=60)
    report = json.loads(result.stdout)
    assert [f["path"] for f in report["findings"]] == ["ok.py"]
    assert sorted(report["problems"]) == NOTICES
