"""Manifests scoped to their project: the nearest enclosing project's manifests decide SUP007 and are
named in its message; SUP006 is one finding per manifest, its unpinned requirements as related
locations (JSON, SARIF), low when each is a series pin, and its fingerprint stable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mllint_sec.repo.dependencies import Declarations

TORCH_SAFE = 'import torch\nstate = torch.load("ckpt.pt", weights_only=True)\n'
SETUP = 'from setuptools import setup\nsetup(name="lib", install_requires=["{}"])\n'


def advisories(report) -> dict[str, str]:
    return {f["path"]: f["message"] for f in report["findings"] if f["rule_id"] == "SUP007"}


def declarations(tmp_path: Path, files: dict[str, str]) -> Declarations:
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    return Declarations.read([(relative, tmp_path / relative) for relative in sorted(files)])


# --- which project governs a file -------------------------------------------------------------

def test_projects_are_the_directories_holding_manifests_nearest_first(tmp_path):
    found = declarations(tmp_path, {
        "setup.py": SETUP.format("torch"), "apps/demo/requirements.txt": "torch\n",
        "requirements/ci/gpu.txt": "torch\n", "base.in": "torch\n", "tools/uv.lock": "version = 1\n",
    })
    assert [str(d) for d in found.projects_of("apps/demo/sub/run.py")] == ["apps/demo", "."]
    assert [str(d) for d in found.projects_of("src/lib/load.py")] == ["."]
    assert [str(d) for d in found.projects_of("tools/x.py")] == ["tools", "."]  # a lock file marks one too
    assert [str(d) for d in found.projects_of("requirements/ci/x.py")] == ["."]  # a requirements/ folder is its parent's


def test_a_file_no_project_encloses_gets_the_repository_wide_answer(tmp_path):
    found = declarations(tmp_path, {"app/requirements.txt": "torch>=2.0\n", "svc/requirements.txt": "torch==2.5\n"})
    assert found.projects_of("load.py") == []
    assert found.allowed_for("torch", "load.py") == [(">=2.0", "app/requirements.txt:1"), ("==2.5", "svc/requirements.txt:1")]


def test_nearest_declaring_project_decides_and_locks_win(tmp_path):
    found = declarations(tmp_path, {
        "pyproject.toml": '[project]\nname = "x"\ndependencies = ["torch>=2.10", "keras>=3"]\n',
        "apps/a/requirements.txt": "torch>=2.0\n",
        "apps/b/requirements.txt": "gradio\n",  # declares no torch: the root's declaration counts
        "apps/c/requirements.txt": "keras\n",
        "apps/c/uv.lock": 'version = 1\n[[package]]\nname = "keras"\nversion = "3.8.0"\n',
    })
    assert found.allowed_for("torch", "apps/a/run.py") == [(">=2.0", "apps/a/requirements.txt:1")]
    assert found.allowed_for("torch", "apps/b/run.py") == [(">=2.10", "pyproject.toml:3")]
    assert found.allowed_for("keras", "apps/c/run.py") == [("==3.8.0", "apps/c/uv.lock")]
    assert found.allowed_for("keras", "src/lib.py") == [(">=3", "pyproject.toml:3")]
    assert found.allowed_for("jax", "src/lib.py") == []  # declared by no enclosing project


def test_requirements_a_project_includes_count_for_it(tmp_path):
    found = declarations(tmp_path, {"requirements.txt": "-r ml/core.in\n", "ml/core.in": "torch>=2.0\n"})
    assert found.allowed_for("torch", "src/x.py") == [(">=2.0", "ml/core.in:1")]
    assert [str(d) for d in found.projects_of("ml/x.py")] == ["."]  # a file reached only through `-r` marks none


# --- SUP007 through a scan --------------------------------------------------------------------

def test_library_code_is_governed_by_the_root_setup_py(scan, write, tmp_path):
    """The diffusion-library case: an example sub-project's requirements are not the library's."""
    write(tmp_path, {
        "setup.py": SETUP.format("torch>=2.0"), "src/lib/load.py": TORCH_SAFE,
        "apps/demo/requirements.txt": "torch==2.10.0\n", "apps/demo/run.py": TORCH_SAFE,
    })
    report, _ = scan(tmp_path, "--select", "SUP007")
    found = advisories(report)
    assert list(found) == ["src/lib/load.py"]
    assert "torch>=2.0 is allowed by setup.py:2" in found["src/lib/load.py"]


def test_example_sub_project_is_governed_by_its_own_requirements(scan, write, tmp_path):
    write(tmp_path, {
        "setup.py": SETUP.format("torch==2.10.0"), "src/lib/load.py": TORCH_SAFE,
        "apps/demo/requirements.txt": "numpy\ntorch>=2.0\n", "apps/demo/run.py": TORCH_SAFE,
    })
    report, _ = scan(tmp_path, "--select", "SUP007")
    found = advisories(report)
    assert list(found) == ["apps/demo/run.py"]
    assert "torch>=2.0 is allowed by apps/demo/requirements.txt:2" in found["apps/demo/run.py"]


def test_conda_environment_governs_its_project(scan, write, tmp_path):
    write(tmp_path, {"train/environment.yml": "dependencies:\n  - conda-forge::pytorch=2.5\n",
                     "train/fit.py": TORCH_SAFE, "pyproject.toml": '[project]\nname = "x"\ndependencies = ["torch>=2.10"]\n',
                     "src/x.py": TORCH_SAFE})
    report, _ = scan(tmp_path, "--select", "SUP007")
    found = advisories(report)
    assert list(found) == ["train/fit.py"]
    assert "torch==2.5.* is allowed by train/environment.yml:2" in found["train/fit.py"]


# --- SUP006: one finding per manifest ----------------------------------------------------------

def test_one_finding_per_manifest_with_related_locations(scan, write, tmp_path):
    write(tmp_path, {
        "requirements.txt": "requests>=2\ntorch>=2.0\ntransformers\nnumpy~=1.26\nscipy==1.13.0\n",
        "requirements-gpu.txt": "torch>=2.0\n",
    })
    report, _ = scan(tmp_path, "--select", "SUP006")
    by_path = {f["path"]: f for f in report["findings"]}
    assert sorted(by_path) == ["requirements-gpu.txt", "requirements.txt"]
    finding = by_path["requirements.txt"]
    assert (finding["line"], finding["column"], finding["severity"]) == (2, 1, "medium")
    assert finding["message"].startswith("3 ML packages are not pinned to an exact version: torch, transformers, numpy;")
    assert [(r["line"], r["column"], r["end_column"], r["message"]) for r in finding["related"]] == [
        (2, 1, 11, "`torch>=2.0` not pinned"), (3, 1, 13, "`transformers` not pinned"),
        (4, 1, 12, "`numpy~=1.26` not pinned")]
    assert all("path" not in r for r in finding["related"])  # the manifest itself


def test_related_locations_in_sarif(cli, write, tmp_path):
    write(tmp_path, {"environment.yml": "dependencies:\n  - pytorch>=2\n  - pip:\n    - transformers\n"})
    result = cli("check", "--format", "sarif", "--select", "SUP006", "--no-cache", tmp_path)
    (sarif_result,) = json.loads(result.stdout)["runs"][0]["results"]
    related = sarif_result["relatedLocations"]
    assert [(r["physicalLocation"]["region"]["startLine"], r["message"]["text"]) for r in related] == [
        (2, "`pytorch>=2` not pinned"), (4, "`transformers` not pinned")]
    assert {r["physicalLocation"]["artifactLocation"]["uri"] for r in related} == {"environment.yml"}


@pytest.mark.parametrize(("requirements", "severity"), [
    ("torch==2.6.*\nnumpy~=1.26.0\n", "low"),  # every one a series pin
    ("torch==2.6.*\nnumpy>=1.26\n", "medium"),
    ("torch==2.*\n", "medium"),  # a major series is no series pin
    ("torch~=2.6\n", "medium"),  # ~=2.6 allows every 2.x from 2.6
])
def test_series_pins_alone_are_low(scan, write, tmp_path, requirements, severity):
    write(tmp_path, {"requirements.txt": requirements})
    report, _ = scan(tmp_path, "--select", "SUP006")
    (finding,) = report["findings"]
    assert finding["severity"] == severity


def test_fingerprint_holds_when_unrelated_lines_move(scan, write, tmp_path):
    write(tmp_path, {"requirements.txt": "torch>=2\nnumpy\n"})
    before = scan(tmp_path, "--select", "SUP006")[0]["findings"][0]["fingerprint"]
    write(tmp_path, {"requirements.txt": "# ML stack\nrequests\n\nnumpy\ntorch>=2.1\n"})
    after = scan(tmp_path, "--select", "SUP006")[0]["findings"][0]["fingerprint"]
    write(tmp_path, {"requirements.txt": "torch>=2\nnumpy\ntimm\n"})
    grown = scan(tmp_path, "--select", "SUP006")[0]["findings"][0]["fingerprint"]
    assert before == after != grown  # same unpinned packages, same fingerprint; another package, another


def test_setup_py_is_a_manifest_for_sup006(scan, write, tmp_path):
    write(tmp_path, {"setup.py": 'import setuptools\nsetuptools.setup(\n    install_requires=["numpy", "torch>=2"],\n)\n'})
    report, _ = scan(tmp_path, "--select", "SUP006")
    (finding,) = report["findings"]
    assert (finding["path"], finding["line"], finding["column"]) == ("setup.py", 3, 24)
    assert "keep the ranges here" in finding["message"] and len(finding["related"]) == 2


def test_setup_py_syntax_error_is_reported_once(scan, write, tmp_path):
    """The per-file stage parses this setup.py (it names a loader) and reports the error; the manifest reader
    does not report it again."""
    write(tmp_path, {"setup.py": "import pickle\npickle.loads(b)\nsetup(install_requires=[\n"})
    report, _ = scan(tmp_path, "--select", "MLS001,SUP006")
    assert [(f["rule_id"], f["line"]) for f in report["findings"]] == [("MLS001", 3)]


def test_setup_py_syntax_error_alone_is_a_diagnostic(scan, write, tmp_path):
    write(tmp_path, {"setup.py": "from setuptools import setup\nsetup(install_requires=[\n"})
    report, _ = scan(tmp_path, "--select", "MLS001,SUP006")
    (finding,) = report["findings"]
    assert finding["rule_id"] == "MLS001" and "setup.py not read for its dependencies" in finding["message"]


def test_conda_file_is_discovered_and_yaml_errors_are_diagnostics(scan, write, tmp_path):
    write(tmp_path, {"envs/environment-gpu.yaml": "dependencies: [\n", "conda.yaml": "dependencies:\n  - keras\n"})
    report, _ = scan(tmp_path, "--select", "MLS001,SUP006")
    assert sorted((f["rule_id"], f["path"]) for f in report["findings"]) == [
        ("MLS001", "envs/environment-gpu.yaml"), ("SUP006", "conda.yaml")]


def test_conda_pip_includes_are_read(scan, write, tmp_path):
    write(tmp_path, {"environment.yml": "dependencies:\n  - pip:\n    - -r extra/reqs.in\n", "extra/reqs.in": "timm\n"})
    report, _ = scan(tmp_path, "--select", "SUP006")
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("extra/reqs.in", 1)]


@pytest.mark.parametrize(("path", "text"), [
    ("setup.py", ('from setuptools import setup\nsetup(install_requires=[\n'
                  '    "torch>=2",  # mllint-sec: ignore[SUP006] -- the library publishes ranges\n    "numpy",\n])\n')),
    ("environment.yml", ("dependencies:\n  - pytorch>=2  # mllint-sec: ignore[SUP006] -- the library publishes ranges\n"
                         "  - numpy\n")),
])
def test_suppression_takes_one_requirement_out(scan, write, tmp_path, path, text):
    """Also in a setup.py, which the per-file stage reads too: its SUP006 comment is not an unused suppression."""
    write(tmp_path, {path: text})
    report, _ = scan(tmp_path, "--select", "SUP006,MLS002")
    active = [(f["rule_id"], f["message"].partition(";")[0]) for f in report["findings"] if not f["suppressed"]]
    assert active == [("SUP006", "1 ML package is not pinned to an exact version: numpy")]
    assert report["summary"]["suppressed"] == 1
