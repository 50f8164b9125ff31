"""`check --show-settings`: the resolved settings, printed instead of a scan."""

from __future__ import annotations

import os
import subprocess

import pytest

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.engine.discovery import DEFAULT_EXCLUDES

TORCH_LOAD = "import torch\ntorch.load(path)\n"  # a scan would report it and exit 1

CONFIG = """\
[tool.mllint-sec]
ignore = ["SUP"]
extend-select = []
extend-exclude = ["legacy/**", "*.tmp.py"]
per-file-ignores = { "tests/**" = ["pickle-load", "LOAD003"], "a/**" = ["LOAD005"] }
contexts = { test = ["qa/**"] }
context-policy = { example = "ignore" }
artifact-allow = ["numpy.dtype", "collections.OrderedDict"]
require-suppression-reason = true
fail-on = "high"
file-timeout = 7.5
"""


def settings(result) -> dict[str, list[str]]:
    """{key: [its value on the key's line, then each indented line below it]}."""
    assert result.exit_code == 0, result.output
    found: dict[str, list[str]] = {}
    key = ""
    for line in result.stdout.splitlines():
        if line.startswith("  "):
            found[key].append(line.strip())
        elif line.endswith(":"):  # a list follows, one item a line
            key = line[:-1]
            found[key] = []
        else:
            key, _, value = line.partition(": ")
            found[key] = [value]
    return found


@pytest.fixture
def project(tmp_path, write):
    root = write(tmp_path / "project", {"pyproject.toml": CONFIG, "model.py": TORCH_LOAD})
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def test_defaults_without_a_configuration_file(cli, tmp_path, write):
    root = write(tmp_path / "tree", {"model.py": TORCH_LOAD})
    result = cli("check", "--show-settings", root)
    shown = settings(result)
    catalogue = load_catalogue()
    assert shown["configuration file"] == ["none found (defaults)"]
    assert shown["scan root"] == [root.resolve().as_posix()]
    defaults = sorted(catalogue.defaults())
    assert shown[f"enabled rules ({len(defaults)})"] == [
        f"{rule:<{max(map(len, defaults))}}  {catalogue.rules[rule].name}".strip() for rule in defaults
    ]
    assert shown["fail-on"] == ["low"]
    assert shown["exclude"] == [f"the defaults ({', '.join(DEFAULT_EXCLUDES)})"]
    assert shown["extend-exclude"] == ["(none)"]
    assert shown["per-file-ignores"] == ["(none)"]
    assert shown["contexts"] == ["library: report", "test: downgrade", "example: downgrade", "script: report",
                                 "benchmark: downgrade"]
    assert shown["suppressions"] == ["require-suppression-reason: false", "forbid-blanket-suppression: false"]
    assert shown["artifact-allow"] == ["(none)"]
    assert shown["file-timeout"] == ["20 s"]
    assert shown["cache"] == [f"{os.environ['XDG_CACHE_HOME']}/mllint-sec"]  # conftest points it at a temporary one
    assert int(shown["jobs"][0]) >= 1
    assert "Found" not in result.output  # nothing was scanned


def test_a_configuration_file_is_named_and_its_settings_shown(cli, project):
    shown = settings(cli("check", "--show-settings", project))
    assert shown["configuration file"] == [(project / "pyproject.toml").resolve().as_posix()]
    enabled = next(key for key in shown if key.startswith("enabled rules"))
    assert not any(line.startswith("SUP") for line in shown[enabled])
    assert any(line.startswith("LOAD003 ") for line in shown[enabled])
    assert shown["fail-on"] == ["high"]
    assert shown["extend-exclude"] == ["legacy/**", "*.tmp.py"]  # in order: the last matching pattern decides
    assert shown["per-file-ignores"] == ["a/**: LOAD005", "tests/**: LOAD001, LOAD003"]  # names resolved, sorted
    assert shown["contexts"] == ["library: report", "test: downgrade; also paths matching qa/**",
                                 "example: ignore (default: downgrade)", "script: report", "benchmark: downgrade"]
    assert shown["suppressions"] == ["require-suppression-reason: true", "forbid-blanket-suppression: false"]
    assert shown["artifact-allow"] == ["collections.OrderedDict", "numpy.dtype"]
    assert shown["file-timeout"] == ["7.5 s"]


def test_command_line_options_override_the_file(cli, project, tmp_path):
    cache = tmp_path / "my-cache"
    shown = settings(cli("check", "--show-settings", "--fail-on", "critical", "--file-timeout", "0", "--select",
                         "LOAD003", "--cache-dir", cache, "-j", "1", project))
    assert shown["fail-on"] == ["critical"]
    assert shown["file-timeout"] == ["none"]
    assert shown["enabled rules (1)"] == ["LOAD003  torch-load-unsafe"]
    assert shown["cache"] == [cache.as_posix()]
    assert shown["jobs"] == ["1"]
    assert settings(cli("check", "--show-settings", "--no-cache", project))["cache"] == ["off (--no-cache)"]


def test_isolated_ignores_the_configuration_file(cli, project):
    shown = settings(cli("check", "--show-settings", "--isolated", project))
    assert shown["configuration file"] == ["none (--isolated)"]
    assert shown["fail-on"] == ["low"]
    assert shown["extend-exclude"] == ["(none)"]
    assert shown["per-file-ignores"] == ["(none)"]
    enabled = next(key for key in shown if key.startswith("enabled rules"))
    assert any(line.startswith("SUP001 ") for line in shown[enabled])


def test_an_invalid_configuration_is_a_usage_error(cli, tmp_path, write):
    root = write(tmp_path / "tree", {"pyproject.toml": '[tool.mllint-sec]\nfail-on = "never"\n'})
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    result = cli("check", "--show-settings", root)
    assert result.exit_code == 2
    assert result.stderr.startswith("mllint-sec: error:")
    assert result.stdout == ""


def test_configuration_text_is_escaped(cli, tmp_path, write):
    osc = "a\\u001b]2;title\\u0007b"  # an OSC sequence: would set the terminal's title
    root = write(tmp_path / "tree", {"pyproject.toml": f'[tool.mllint-sec]\nextend-exclude = ["{osc}"]\n'})
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    result = cli("check", "--show-settings", root)
    assert "\x1b" not in result.stdout
    assert settings(result)["extend-exclude"] == ["a\\x1b]2;title\\x07b"]


def test_the_output_is_stable(cli, project):
    first = cli("check", "--show-settings", project).stdout
    assert first == cli("check", "--show-settings", project).stdout
    assert first.endswith("\n")


def test_settings_and_files_together(cli, project):
    result = cli("check", "--show-settings", "--show-files", project)
    assert result.exit_code == 0
    settings_part, files_part = result.stdout.split("\n\n")
    assert settings_part.startswith("configuration file: ")
    assert files_part.startswith("model.py ")


def test_relative_paths_resolve_from_the_working_directory(cli, project, monkeypatch):
    monkeypatch.chdir(project)
    shown = settings(cli("check", "--show-settings"))
    assert shown["scan root"] == [os.path.realpath(project).replace(os.sep, "/")]
    assert shown["configuration file"] == [(project / "pyproject.toml").resolve().as_posix()]
