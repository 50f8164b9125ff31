"""Git LFS pointers: one recogniser, following git-lfs's spec, that every reader agrees with.

The artifact scanner, the run's "not scanned" list and the provenance checks all ask
`core.lfs_pointer`; a pointer is a pointer to all of them or to none.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mllint_sec.artifacts import scan_artifact
from mllint_sec.core.lfs_pointer import LfsPointer, is_lfs_pointer_file, lfs_pointer

SHA256 = "0123456789abcdef" * 4
POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{SHA256}\nsize 12345\n".encode()
NOT_CHECKED_OUT = "Git LFS pointer: the artifact's content is not checked out"

ACCEPTED = [
    POINTER,
    POINTER.replace(b"\n", b"\r\n"),  # a checkout with CRLF line ends
    POINTER.rstrip(b"\n"),  # no final newline
    POINTER.replace(b"oid", b"ext-0-foo sha256:" + SHA256.encode() + b"\noid"),  # an extension
    POINTER.replace(b"git-lfs.github.com/spec/v1", b"hawser.github.com/spec/v1"),  # pre-release spec
]
ACCEPTED_IDS = ["lf", "crlf", "no-final-newline", "extension", "hawser"]

REJECTED = [
    b"",
    POINTER.replace(b"spec/v1", b"spec/v2"),
    POINTER.replace(b"version https", b"version  https"),
    POINTER.replace(SHA256.encode(), SHA256[:-1].encode()),
    POINTER.replace(SHA256.encode(), SHA256.upper().encode()),
    POINTER.replace(b"sha256:", b"sha1:"),
    POINTER.replace(b"size 12345", b"size -1"),
    POINTER.replace(b"\nsize", b" \nsize"),  # git-lfs trims the whole text, not each line
    POINTER.replace(b"size 12345", b"size 99999999999999999999"),
    POINTER.replace(b"size 12345\n", b""),
    POINTER + b"x-extra 1\n",
    f"version https://git-lfs.github.com/spec/v1\nsize 12345\noid sha256:{SHA256}\n".encode(),
    POINTER.replace(b"oid", b"ext-1-b sha256:x\next-0-a sha256:x\noid"),
    POINTER + b"\n" * (1024 - len(POINTER)),  # 1024 bytes: too long to be a pointer
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
]
REJECTED_IDS = ["empty", "wrong-version", "double-space", "short-oid", "uppercase-oid", "sha1-oid", "negative-size",
                "trailing-space", "size-overflow", "no-size", "extra-key", "unsorted", "unsorted-extensions",
                "too-long", "binary"]


@pytest.mark.parametrize("data", ACCEPTED, ids=ACCEPTED_IDS)
def test_what_git_lfs_accepts_is_a_pointer_to_the_artifact_scanner_too(data):
    assert lfs_pointer(data) == LfsPointer(SHA256, 12345)
    assert scan_artifact(data).kind == "lfs-pointer"


@pytest.mark.parametrize("data", REJECTED, ids=REJECTED_IDS)
def test_what_git_lfs_rejects_is_a_pointer_to_no_one(data):
    assert lfs_pointer(data) is None
    assert scan_artifact(data).kind != "lfs-pointer"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1100), st.integers(0, len(POINTER)))
def test_random_and_spliced_bytes_give_valid_pointers_or_none(data, at):
    for blob in (data, POINTER[:at] + data[:20] + POINTER[at:]):
        pointer = lfs_pointer(blob)
        assert pointer is None or (len(blob) < 1024 and re.fullmatch("[0-9a-f]{64}", pointer.oid) and pointer.size >= 0)
        assert (scan_artifact(blob).kind == "lfs-pointer") is (pointer is not None)


def test_only_small_regular_files_are_read(tmp_path):
    (tmp_path / "model.pkl").write_bytes(POINTER.replace(b"\n", b"\r\n"))
    (tmp_path / "big.pkl").write_bytes(POINTER + b"\n" * 1024)
    os.mkfifo(tmp_path / "fifo.pkl")  # opening it would wait for a writer
    assert is_lfs_pointer_file(tmp_path / "model.pkl")
    assert not is_lfs_pointer_file(tmp_path / "big.pkl")
    assert not is_lfs_pointer_file(tmp_path / "fifo.pkl")
    assert not is_lfs_pointer_file(tmp_path / "missing.pkl")


def test_a_crlf_pointer_is_not_scanned_rather_than_clean(cli, scan, tmp_path):
    """A pointer checked out with CRLF line ends is listed as not scanned, by every output, and
    its oid is the artifact's provenance record (no PROV001)."""
    (tmp_path / "model.pkl").write_bytes(POINTER.replace(b"\n", b"\r\n"))
    report, code = scan(tmp_path, "--no-cache", "--extend-select", "ART,PROV")
    assert report["findings"] == [] and code == 0
    assert report["not_scanned"] == [{"path": "model.pkl", "reason": NOT_CHECKED_OUT}]
    assert "1 Git LFS pointer not scanned" in cli("check", "--no-cache", tmp_path).stdout
