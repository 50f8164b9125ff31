"""Python dependency manifests and lock files, parsed with exact positions.

A manifest is what a repository declares: pip requirements files (`requirements_txt.py`),
`pyproject.toml` (`pyproject.py`: PEP 621 `[project]`, PEP 735 `[dependency-groups]`,
Poetry), `setup.cfg` (`setup_cfg.py`), `setup.py` (`setup_py.py`, read with libcst) and
conda environment files (`environment_yml.py`), each parsed into the `Manifest` of
`manifest.py`. A lock file is what a resolver produced (`lock_files.py`). `pinning.py`
says whether a requirement names one artefact; `version_ranges.py` whether two version
ranges overlap. Parsing never imports, runs or fetches anything, and never raises on
bad input: what cannot be read becomes a `Problem` at its line, and parsing carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from mllint_sec.repo.manifests.manifest import Manifest
from mllint_sec.repo.manifests.pyproject import parse_pyproject
from mllint_sec.repo.manifests.requirements_txt import parse_requirements
from mllint_sec.repo.manifests.setup_cfg import parse_setup_cfg


def _setup_py(text: str) -> Manifest:
    from mllint_sec.repo.manifests.setup_py import parse_setup_py  # libcst, only when a repository has one

    return parse_setup_py(text)


def _environment_yml(text: str) -> Manifest:
    from mllint_sec.repo.manifests.environment_yml import parse_environment_yml  # PyYAML, likewise

    return parse_environment_yml(text)


_PARSERS: dict[str, Callable[[str], Manifest]] = {
    "requirements": parse_requirements, "pyproject": parse_pyproject, "setup.cfg": parse_setup_cfg,
    "setup.py": _setup_py, "conda": _environment_yml,
}
# Conda environment files: `environment.yml`, `environment-gpu.yaml`, MLflow's `conda.yaml`.
_CONDA_STEMS = ("environment", "conda", "conda-env", "conda_env")
_CONDA_SUFFIXES = (".yml", ".yaml")


def manifest_kind(relative_path: str) -> str | None:
    """The manifest kind of a file, by its name.

    Requirements files: `.txt` and `.in` files whose name mentions "requirement" or
    "constraint" (`requirements.txt`, `requirements-dev.txt`, `dev-requirements.txt`,
    `constraints.txt`, `requirements.in`), and any `.txt`/`.in` file under a directory
    named `requirements` (`requirements/base.txt`). `setup.py`; conda environment files
    (`environment.yml`, `environment-<name>.yml`, `conda.yaml`, also as `.yaml`).
    """
    parts = PurePosixPath(relative_path.replace("\\", "/")).parts
    name = parts[-1].lower() if parts else ""
    if name == "pyproject.toml":
        return "pyproject"
    if name == "setup.cfg":
        return "setup.cfg"
    if name == "setup.py":
        return "setup.py"
    if name.endswith(_CONDA_SUFFIXES):
        stem = name.rpartition(".")[0]
        if stem in _CONDA_STEMS or stem.startswith(("environment-", "environment_")):
            return "conda"
        return None
    if name.endswith((".txt", ".in")) and (
        "requirement" in name or "constraint" in name or "requirements" in (part.lower() for part in parts[:-1])
    ):
        return "requirements"
    return None


def parse_manifest(kind: str, text: str) -> Manifest:
    """Parse `text` as a manifest of `kind` (a value manifest_kind returns)."""
    if kind not in _PARSERS:
        raise ValueError(f"unknown manifest kind {kind!r}")
    return _PARSERS[kind](text)
