"""Dependency manifests in a repository scan: SUP006 (unpinned ML dependencies), SUP007
(loader advisories settled against declared versions) and malformed requirement lines."""

from __future__ import annotations

import pytest

TORCH_SAFE = 'import torch\nstate = torch.load("ckpt.pt", weights_only=True)\n'


def found(report, rule=None):
    return [
        (f["rule_id"], f["path"], f["line"]) for f in report["findings"]
        if (rule is None or f["rule_id"] == rule) and not f["suppressed"]
    ]


@pytest.mark.parametrize(
    ("files", "reported"),
    [
        ({"requirements.txt": "torch>=2.0\n"}, True),
        ({"requirements.txt": "torch>=2.0\n", "uv.lock": "version = 1\n"}, False),
        ({"app/requirements.txt": "torch>=2.0\n", "poetry.lock": ""}, False),  # a lock above covers it
        ({"app/requirements.txt": "torch>=2.0\n", "other/uv.lock": ""}, True),  # a sibling's lock does not
        ({"requirements.txt": "torch==2.6.0 --hash=sha256:" + "a" * 64 + "\n"}, False),
        ({"requirements.txt": "-c constraints.txt\ntorch\n", "constraints.txt": "torch==2.6.0\n"}, False),
        ({"requirements.txt": "-c constraints.txt\ntorch\n", "constraints.txt": "torch>=2.6\n"}, True),
        ({"requirements.txt": "torch @ https://download.pytorch.org/whl/cpu/torch-2.6.0%2Bcpu-cp311-cp311-linux_x86_64.whl\n"}, False),
        ({"requirements.txt": "torch @ git+https://github.com/pytorch/pytorch@main\n"}, True),
        ({"requirements.txt": "requests>=2\n"}, False),  # not an ML-stack package
    ],
)
def test_unpinned_ml_dependency(scan, write, tmp_path, files, reported):
    write(tmp_path, files)
    report, _ = scan(tmp_path, "--select", "SUP006")
    assert bool(found(report, "SUP006")) is reported


def test_included_requirements_are_read(scan, write, tmp_path):
    write(tmp_path, {"requirements.txt": "-r base.in\nnumpy==1.26.4\n", "base.in": "-r ml/core.in\n", "ml/core.in": "torch\n"})
    report, _ = scan(tmp_path, "--select", "SUP006")
    assert found(report) == [("SUP006", "ml/core.in", 1)]


def test_finding_points_at_the_requirement_line(scan, write, tmp_path):
    write(tmp_path, {"requirements.txt": "# ML stack\n\nnumpy==1.26.4\n  torch >= 2.0  # training\n"})
    report, _ = scan(tmp_path, "--select", "SUP006")
    (finding,) = report["findings"]
    assert (finding["line"], finding["column"], finding["snippet"]) == (4, 3, "  torch >= 2.0  # training")
    assert "1 ML package is not pinned to an exact version: torch;" in finding["message"]
    assert "pin it with `==`" in finding["message"]


def test_pyproject_advice_is_a_lock_file(scan, write, tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndependencies = [\n  "transformers>=4",\n]\n'})
    report, _ = scan(tmp_path, "--select", "SUP006")
    (finding,) = report["findings"]
    assert finding["line"] == 4 and "commit a lock file" in finding["message"]


def test_malformed_requirement_is_a_diagnostic_and_reading_goes_on(scan, write, tmp_path):
    write(tmp_path, {"requirements.txt": "torch>=\ntransformers\n"})
    report, _ = scan(tmp_path, "--select", "SUP006,MLS001")
    assert found(report) == [("MLS001", "requirements.txt", 1), ("SUP006", "requirements.txt", 2)]
    assert "malformed requirement 'torch>='" in report["findings"][0]["message"]


def test_malformed_pyproject_is_a_diagnostic(scan, write, tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["torch"\n', "a.py": TORCH_SAFE})
    report, _ = scan(tmp_path, "--select", "SUP006,SUP007,MLS001")
    assert [f[:2] for f in found(report)] == [("MLS001", "pyproject.toml")]
    assert "Unclosed array" in report["findings"][0]["message"]


def test_suppression_comment_on_a_requirement(scan, write, tmp_path):
    """The suppressed requirement leaves the manifest's finding and stays, suppressed, as one of its own."""
    write(tmp_path, {"requirements.txt": "torch>=2.0  # mllint-sec: ignore[SUP006] -- tracked in #12\ntimm\n"})
    report, _ = scan(tmp_path, "--select", "SUP006")
    assert found(report) == [("SUP006", "requirements.txt", 2)]
    assert report["summary"]["suppressed"] == 1
    active = [f for f in report["findings"] if not f["suppressed"]]
    assert "1 ML package is not pinned to an exact version: timm;" in active[0]["message"]


def test_per_file_ignores_apply_to_manifests(scan, write, tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "x"\ndependencies = ["torch"]\n'
                          '[tool.mllint-sec]\nper-file-ignores = { "docs/**" = ["SUP006"] }\n',
        "docs/requirements.txt": "torch\n",
    })
    report, _ = scan(tmp_path, "--select", "SUP006")
    assert found(report) == [("SUP006", "pyproject.toml", 3)]


@pytest.mark.parametrize(
    ("files", "reported"),
    [
        ({}, False),  # torch not declared: nothing says which version runs
        ({"requirements.txt": "torch>=2.0\n"}, True),
        ({"requirements.txt": "torch\n"}, True),
        ({"requirements.txt": "torch>=2.10\n"}, False),
        ({"requirements.txt": "torch==2.5.1\n"}, True),
        ({"requirements.txt": "torch>=2.0\n", "uv.lock": 'version = 1\n[[package]]\nname = "torch"\nversion = "2.10.0"\n'}, False),
        ({"requirements.txt": "torch>=2.10\n", "uv.lock": 'version = 1\n[[package]]\nname = "torch"\nversion = "2.5.1"\n'}, True),
        ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["torch~=2.4"]\n'}, True),
    ],
)
def test_loader_advisory_follows_declared_versions(scan, write, tmp_path, files, reported):
    write(tmp_path, {"load.py": TORCH_SAFE, **files})
    report, _ = scan(tmp_path, "--select", "SUP007")
    assert bool(found(report, "SUP007")) is reported


def test_advisory_message_names_ids_versions_and_the_fix(scan, write, tmp_path):
    write(tmp_path, {"load.py": TORCH_SAFE, "requirements.txt": "numpy\ntorch>=2.0,<2.8\n"})
    report, _ = scan(tmp_path, "--select", "SUP007")
    (finding,) = report["findings"]
    assert finding["line"] == 2
    message = finding["message"]
    assert "CVE-2025-32434" in message and "CVE-2026-24747" in message
    assert "requirements.txt:2" in message and "torch>=2.10.0" in message


def test_advisory_sees_declarations_when_one_file_is_scanned(cli, write, tmp_path, monkeypatch):
    """pre-commit passes single files; the repository's manifests still decide."""
    write(tmp_path, {"src/load.py": TORCH_SAFE, "requirements.txt": "torch>=2.0\n"})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--select", "SUP007", "--no-cache", "src/load.py")
    assert result.exit_code == 1 and "SUP007" in result.stdout


def test_unreadable_or_binary_manifest_does_not_crash(scan, write, tmp_path):
    (tmp_path / "requirements.txt").write_bytes(b"\xff\xfe\x00torch\x00>=\x00")
    write(tmp_path, {"load.py": TORCH_SAFE})
    report, _ = scan(tmp_path, "--select", "SUP006,SUP007,MLS001")
    assert all(f["path"] in ("requirements.txt", "load.py") for f in report["findings"])
