"""Artifacts in a repository scan: ART001 (dangerous callables), ART002 (outside the
allow-list), ART003 (not fully read), Git LFS pointers, limits and configuration.

Every hostile artifact is built here with pickle.dumps and never loaded.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

from mllint_sec.artifacts import artifact_findings as artifact_analysis


class Payload:
    """Pickles as a call to os.system (dumped only: loading it would run the command)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# A pickled estimator, written by hand (sklearn is not installed): GLOBAL, (), REDUCE.
ESTIMATOR = b"\x80\x02csklearn.tree._classes\nDecisionTreeClassifier\n)R."


def torch_like_zip(pickled: bytes, member: str = "archive/data.pkl") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/version", "3\n")
        archive.writestr(member, pickled)
        archive.writestr("archive/data/0", b"\x00" * 64)
    return buffer.getvalue()


def found(report, rule=None):
    return [(f["rule_id"], f["path"]) for f in report["findings"] if rule is None or f["rule_id"] == rule]


@pytest.fixture
def marker(tmp_path_factory):
    path = tmp_path_factory.mktemp("marker") / "executed"
    yield path
    assert not path.exists(), "an artifact was loaded: its payload ran"


def test_payload_in_every_container_is_reported_with_the_callable(scan, tmp_path, marker):
    payload = pickle.dumps(Payload(marker), protocol=4)
    files = {
        "model.pkl": pickle.dumps(Payload(marker), protocol=0),
        "ckpt.pt": torch_like_zip(payload),
        "other.pt": torch_like_zip(payload, member="archive/extra/state.bin"),
        "assets/logo.png": payload,  # a pickle under another name
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    report, code = scan(tmp_path, "--select", "ART")
    assert code == 1
    assert sorted(found(report, "ART001")) == sorted(("ART001", name) for name in files)
    by_path = {f["path"]: f for f in report["findings"] if f["rule_id"] == "ART001"}
    assert "`posix.system`" in by_path["model.pkl"]["message"] or "`os.system`" in by_path["model.pkl"]["message"]
    assert "archive/extra/state.bin" in by_path["other.pt"]["message"]
    assert by_path["ckpt.pt"]["severity"] == "critical" and by_path["ckpt.pt"]["line"] == 1


def test_object_array_in_npy_is_scanned(scan, tmp_path, marker):
    array = np.empty(1, dtype=object)
    array[0] = Payload(marker)
    np.save(tmp_path / "features.npy", array, allow_pickle=True)
    np.save(tmp_path / "plain.npy", np.arange(10.0))
    report, _ = scan(tmp_path, "--select", "ART")
    assert found(report) == [("ART001", "features.npy")]


def test_benign_artifacts_are_silent(scan, tmp_path):
    (tmp_path / "state.pkl").write_bytes(pickle.dumps(OrderedDict(w=[1.0, 2.0]), protocol=2))
    (tmp_path / "table.pkl").write_bytes(pickle.dumps({"a": [1, 2], "b": "text"}))
    np.save(tmp_path / "weights.npy", np.ones((3, 3)))
    (tmp_path / "notes.p").write_text("plain notes, not a pickle\n")
    report, code = scan(tmp_path, "--select", "ART")
    assert report["findings"] == [] and code == 0


def test_callables_outside_the_allow_list_and_the_project_allow_list(scan, write, tmp_path):
    (tmp_path / "model.joblib").write_bytes(ESTIMATOR)
    report, _ = scan(tmp_path, "--select", "ART")
    (finding,) = report["findings"]
    assert finding["rule_id"] == "ART002" and "`sklearn.tree._classes.DecisionTreeClassifier`" in finding["message"]
    write(tmp_path, {"pyproject.toml": '[tool.mllint-sec]\nartifact-allow = ["sklearn.*"]\n'})
    report, _ = scan(tmp_path, "--select", "ART")
    assert report["findings"] == []


def test_malformed_allow_entry_is_a_configuration_error(cli, error_line, write, tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.mllint-sec]\nartifact-allow = ["not a name"]\n'})
    assert "artifact-allow" in error_line(cli("check", tmp_path))


def test_truncated_pickle_is_not_scanned_never_clean(scan, tmp_path, marker):
    data = pickle.dumps({"weights": list(range(100))}, protocol=4)
    (tmp_path / "model.pkl").write_bytes(data[: len(data) // 2])
    report, code = scan(tmp_path, "--select", "ART")
    assert found(report) == [("ART003", "model.pkl")] and code == 1
    assert "truncated pickle" in report["findings"][0]["message"]


def test_corrupt_zip_is_not_scanned(scan, tmp_path, marker):
    data = torch_like_zip(pickle.dumps(Payload(marker), protocol=4))
    (tmp_path / "ckpt.pt").write_bytes(data[:-30])  # the central directory is cut off
    report, _ = scan(tmp_path, "--select", "ART")
    assert ("ART003", "ckpt.pt") in found(report)


def test_an_artifact_over_the_size_limit_is_reported_unread(scan, tmp_path, monkeypatch):
    small = artifact_analysis.Limits(max_file_bytes=100)
    monkeypatch.setattr(artifact_analysis, "LIMITS", small)
    (tmp_path / "big.pkl").write_bytes(pickle.dumps(list(range(1000))))
    report, _ = scan(tmp_path, "--select", "ART", "--jobs", "1")
    (finding,) = report["findings"]
    assert finding["rule_id"] == "ART003" and "size limit" in finding["message"]


def test_an_unreadable_artifact_is_reported_unread_not_as_a_parse_error(scan, tmp_path, monkeypatch):
    """A read error leaves the artifact as unread as a size limit does: ART003, never a low MLS001.
    Tests run as root, which reads any file, so the read itself is made to fail."""
    (tmp_path / "model.pkl").write_bytes(ESTIMATOR)
    system_open = os.open

    def denied(path, flags, *args, **kwargs):
        if os.fspath(path).endswith("model.pkl"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return system_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    report, _ = scan(tmp_path, "--no-cache", "--jobs", "1", "--select", "ART,MLS001")
    assert [(f["rule_id"], f["path"]) for f in report["findings"]] == [("ART003", "model.pkl")]
    assert "(cannot read: Permission denied)" in report["findings"][0]["message"]
    assert report["problems"] == ["model.pkl: cannot read: Permission denied"]


LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 1234\n"


def test_lfs_pointer_is_not_a_finding_but_is_counted(cli, scan, tmp_path):
    (tmp_path / "model.pt").write_bytes(LFS)
    report, code = scan(tmp_path, "--select", "ART")
    assert report["findings"] == [] and code == 0
    assert report["not_scanned"] == [{"path": "model.pt", "reason": "Git LFS pointer: the artifact's content is not checked out"}]
    text = cli("check", "--select", "ART", tmp_path).stdout
    assert "1 Git LFS pointer not scanned" in text
    sarif = json.loads(cli("check", "--select", "ART", "--format", "sarif", tmp_path).stdout)
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("model.pt: not scanned: Git LFS pointer" in n["message"]["text"] for n in notes)


def test_cached_results_are_keyed_by_kind_and_allow_list(scan, write, tmp_path):
    (tmp_path / "model.joblib").write_bytes(ESTIMATOR)
    first, _ = scan(tmp_path, "--select", "ART")
    write(tmp_path, {"pyproject.toml": '[tool.mllint-sec]\nartifact-allow = ["sklearn.*"]\n'})
    second, _ = scan(tmp_path, "--select", "ART")  # same bytes, another allow-list: not the cached answer
    assert len(first["findings"]) == 1 and second["findings"] == []


def test_sarif_locates_an_artifact_without_quoting_its_bytes(cli, tmp_path, marker):
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Payload(marker), protocol=4))
    sarif = json.loads(cli("check", "--select", "ART001", "--format", "sarif", tmp_path).stdout)
    (result,) = sarif["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["region"] == {"startLine": 1} and "contextRegion" not in location
    assert result["level"] == "error" and location["artifactLocation"]["uri"].endswith("model.pkl")


def _zip_of_truncated_pickles(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(count):
            archive.writestr(f"part{n}.pkl", b"\x80\x02(I1\n")  # no STOP: truncated
    return buffer.getvalue()


@pytest.mark.parametrize(("parts", "unread"), [(2, "; 1 more part unread)"), (3, "; 2 more parts unread)")])
def test_unread_parts_are_counted_in_words(scan, tmp_path, parts, unread):
    (tmp_path / "bundle.zip").write_bytes(_zip_of_truncated_pickles(parts))
    report, _ = scan(tmp_path, "--no-cache", "--select", "ART003")
    (finding,) = report["findings"]
    assert f"(in part0.pkl){unread}" in finding["message"]
