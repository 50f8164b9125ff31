"""Compressed and archived pickles: scanned by content, found by discovery under compound names.

pandas.read_pickle infers gzip, bz2, xz, zstd, zip and tar from the file name; joblib.load and
torch.load read the bytes. Every artifact is built here from bytes and never loaded.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import io
import lzma
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import pytest

from mllint_sec.artifacts import Limits, scan_artifact
from mllint_sec.artifacts.containers import _has_zstd
from mllint_sec.core.file_kinds import FileKind, artifact_by_name
from mllint_sec.engine.config import Config
from mllint_sec.engine.discovery import Discovery


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


EVIL = pickle.dumps(Evil(), protocol=4)
BENIGN = pickle.dumps(collections.OrderedDict(weight=[0.5] * 10, bias=1.0), protocol=4)
# A zstd frame header (magic, descriptor) and a few bytes: enough to be recognised.
ZSTD_FRAME = b"\x28\xb5\x2f\xfd\x20\x05\x29\x00\x00hello"


def _tar(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _zip(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


WRAPPERS = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
    "tar": lambda data: _tar("model.pkl", data),
    "tar.gz": lambda data: gzip.compress(_tar("model.pkl", data)),
    "zip": lambda data: _zip("model.pkl", data),
}


def dangerous(report) -> set[str]:
    return {c.qualname for c in report.callables if c.verdict == "dangerous"}


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_payload_under_each_wrapper(wrapper):
    report = scan_artifact(WRAPPERS[wrapper](EVIL))
    assert dangerous(report) == {"posix.system"}


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_benign_state_under_each_wrapper_is_clean(wrapper):
    report = scan_artifact(WRAPPERS[wrapper](BENIGN))
    assert report.unscanned == ()
    assert {c.verdict for c in report.callables} == {"allowed"}


def test_compressed_plain_pickle_is_called_a_compressed_pickle():
    assert scan_artifact(gzip.compress(EVIL)).kind == "pickle-compressed"


def test_concatenated_gzip_members_are_all_read():
    # gzip readers read every member; the payload sits in the second.
    report = scan_artifact(gzip.compress(BENIGN) + gzip.compress(EVIL))
    assert dangerous(report) == {"posix.system"}


def test_nesting_limit_applies_to_streams():
    data = EVIL
    for _ in range(5):
        data = gzip.compress(data)
    report = scan_artifact(data, Limits(max_depth=3))
    assert any(u.reason.startswith("nesting too deep") for u in report.unscanned)


@pytest.mark.skipif(_has_zstd(), reason="this Python can decompress zstd")
def test_zstd_is_not_scanned_and_says_so():
    report = scan_artifact(ZSTD_FRAME)
    assert report.kind == "compressed"
    assert [u.reason.split(":")[0] for u in report.unscanned] == ["zstd content not scanned"]


def test_compound_names_are_scanned_end_to_end(scan, tmp_path):
    files = {
        "model.pkl.gz": gzip.compress(EVIL),
        "model.pkl.bz2": bz2.compress(EVIL),
        "model.pkl.xz": lzma.compress(EVIL),
        "model.joblib.gz": gzip.compress(EVIL),
        "model.pkl.tar": _tar("model.pkl", EVIL),
        "checkpoint.pth.tar": _tar("pickle", EVIL),
        "state.pkl.gz": gzip.compress(BENIGN),  # a benign control: no finding
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "model.pkl.zst").write_bytes(ZSTD_FRAME)
    report, code = scan(tmp_path, "--select", "ART")
    found = sorted((f["rule_id"], f["path"]) for f in report["findings"])
    expected = [("ART001", name) for name in files if name != "state.pkl.gz"]
    if not _has_zstd():  # never reported clean: ART003 says the zstd content was not read
        expected.append(("ART003", "model.pkl.zst"))
        (zst,) = [f for f in report["findings"] if f["path"] == "model.pkl.zst"]
        assert "zstd content not scanned" in zst["message"]
    assert code == 1
    assert found == sorted(expected)
    by_path = {f["path"]: f["message"] for f in report["findings"] if f["rule_id"] == "ART001"}
    assert "compressed pickle" in by_path["model.pkl.gz"]
    assert "PyTorch legacy tar checkpoint" not in by_path["checkpoint.pth.tar"]  # one member: not the legacy layout
    assert "`posix.system`" in by_path["model.pkl.tar"]


# --- discovery files compound names as artifacts ------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["model.pkl.gz", "model.pkl.bz2", "model.pkl.xz", "model.pkl.zst", "model.pkl.tar", "model.joblib.gz",
             "checkpoint.pth.tar", "weights.pt.tar.gz", "MODEL.PKL.GZ"],
)
def test_compound_names_are_artifacts(tmp_path, name):
    assert artifact_by_name(name)
    path = tmp_path / name
    path.write_bytes(b"not sniffed: the name decides")
    assert Discovery(Config(), tmp_path).kind_of(path) == FileKind.ARTIFACT


@pytest.mark.parametrize("name", ["data.csv.gz", "images.tar", "archive.tgz", "notes.txt.xz", "x.gz"])
def test_compressed_data_files_stay_data(tmp_path, name):
    assert not artifact_by_name(name)
    path = tmp_path / name
    path.write_bytes(b"plain bytes")
    assert Discovery(Config(), tmp_path).kind_of(Path(path)) == FileKind.DATA
