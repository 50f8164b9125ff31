"""`[tool.mllint-sec]` configuration: discovery upward, every key, CLI precedence, strict validation."""

from __future__ import annotations

import pytest

TORCH_LOAD = 'import torch\ntorch.load("x.pt")\n'
TORCH_AND_PICKLE = 'import pickle\nimport torch\ntorch.load("x.pt")\npickle.load(fh)\n'


def section(body: str) -> str:
    return "[tool.mllint-sec]\n" + body


def ids(report) -> list[str]:
    return sorted(f["rule_id"] for f in report["findings"])


def paths(report) -> list[str]:
    return sorted({f["path"] for f in report["findings"]})


# --- finding the configuration -------------------------------------------------


def test_config_in_parent_directory_applies(scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('select = ["LOAD001"]\n'), "pkg/a.py": TORCH_AND_PICKLE})
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD001"]


def test_config_applies_to_an_explicit_file_below_it(scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('select = ["LOAD001"]\n'), "pkg/a.py": TORCH_AND_PICKLE})
    report, _ = scan(tmp_path / "proj" / "pkg" / "a.py")
    assert ids(report) == ["LOAD001"]


def test_pyproject_without_the_section_is_skipped(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('select = ["LOAD001"]\n'),
        "pkg/pyproject.toml": '[project]\nname = "pkg"\n\n[tool.black]\nline-length = 100\n',
        "pkg/a.py": TORCH_AND_PICKLE,
    })
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD001"]


def test_nearest_configuration_wins(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('select = ["LOAD001"]\n'),
        "pkg/pyproject.toml": section('select = ["LOAD003"]\n'),
        "pkg/a.py": TORCH_AND_PICKLE,
    })
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD003"]


def test_no_configuration_means_every_rule(scan, write, tmp_path):
    write(tmp_path / "proj", {"a.py": TORCH_AND_PICKLE})
    report, code = scan(tmp_path / "proj")
    assert {"LOAD001", "LOAD003"} <= set(ids(report))
    assert report["summary"]["fail_on"] == "low"
    assert code == 1


# --- each key ------------------------------------------------------------------


def test_select_and_ignore(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('select = ["deserialization"]\nignore = ["LOAD001"]\n'),
        "a.py": TORCH_AND_PICKLE,
    })
    report, _ = scan(tmp_path / "proj")
    assert ids(report) == ["LOAD003"]


def test_exclude_skips_matching_paths(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('exclude = ["legacy", "pkg/generated/*.py"]\n'),
        "a.py": TORCH_LOAD,
        "legacy/old.py": TORCH_LOAD,
        "pkg/legacy/old.py": TORCH_LOAD,
        "pkg/generated/gen.py": TORCH_LOAD,
        "generated/gen.py": TORCH_LOAD,  # the pattern with '/' is anchored at the config dir
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert paths(report) == ["a.py", "generated/gen.py"]
    assert report["summary"]["files_scanned"] == 3  # and pyproject.toml, a dependency manifest


def test_exclude_patterns_are_relative_to_the_config_directory(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('exclude = ["pkg/legacy"]\n'),
        "pkg/a.py": TORCH_LOAD,
        "pkg/legacy/old.py": TORCH_LOAD,
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj" / "pkg")
    assert paths(report) == ["a.py"]


def test_extend_exclude_adds_to_the_defaults(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('extend-exclude = ["scratch"]\n'),
        "a.py": TORCH_LOAD,
        "scratch/s.py": TORCH_LOAD,
        "venv/lib/v.py": TORCH_LOAD,  # still excluded by default
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert paths(report) == ["a.py"]


def test_per_file_ignores_relative_to_the_config_directory(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('[tool.mllint-sec.per-file-ignores]\n"tests/**" = ["LOAD003"]\n'),
        "a.py": TORCH_AND_PICKLE,
        "tests/test_a.py": TORCH_AND_PICKLE,
        "pkg/tests/test_b.py": TORCH_AND_PICKLE,  # not under <config dir>/tests
    })
    report, _ = scan("--select", "LOAD001,LOAD003", tmp_path / "proj")
    by_path = {}
    for finding in report["findings"]:
        by_path.setdefault(finding["path"], []).append(finding["rule_id"])
    assert sorted(by_path["a.py"]) == ["LOAD001", "LOAD003"]
    assert by_path["tests/test_a.py"] == ["LOAD001"]
    assert sorted(by_path["pkg/tests/test_b.py"]) == ["LOAD001", "LOAD003"]


def test_per_file_ignores_when_scanning_a_subdirectory(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('per-file-ignores = { "pkg/tests/**" = ["LOAD003"] }\n'),
        "pkg/a.py": TORCH_LOAD,
        "pkg/tests/test_b.py": TORCH_LOAD,
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj" / "pkg")
    assert paths(report) == ["a.py"]


def test_per_file_ignores_basename_pattern(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('per-file-ignores = { "conftest.py" = ["deserialization"] }\n'),
        "a/conftest.py": TORCH_LOAD,
        "a/model.py": TORCH_LOAD,
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert paths(report) == ["a/model.py"]


@pytest.mark.parametrize(("fail_on", "code"), [("critical", 0), ("high", 1)])
def test_fail_on(cli, write, tmp_path, fail_on, code):
    write(tmp_path / "proj", {"pyproject.toml": section(f'fail-on = "{fail_on}"\nselect = ["LOAD003"]\n'), "a.py": TORCH_LOAD})
    result = cli("check", tmp_path / "proj")
    assert result.exit_code == code
    assert "LOAD003" in result.stdout


# --- command-line flags override the file --------------------------------------


def test_cli_select_overrides_config_select(scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('select = ["LOAD001"]\n'), "a.py": TORCH_AND_PICKLE})
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert ids(report) == ["LOAD003"]


def test_cli_ignore_adds_to_config_ignore(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('select = ["LOAD001", "LOAD003", "LOAD007"]\nignore = ["LOAD001"]\n'),
        "a.py": TORCH_AND_PICKLE + "import marshal\nmarshal.loads(b)\n",
    })
    report, _ = scan("--ignore", "LOAD007", tmp_path / "proj")
    assert ids(report) == ["LOAD003"]


def test_cli_fail_on_overrides_config_fail_on(cli, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('fail-on = "critical"\n'), "a.py": TORCH_LOAD})
    assert cli("check", tmp_path / "proj").exit_code == 0
    assert cli("check", "--fail-on", "high", tmp_path / "proj").exit_code == 1
    write(tmp_path / "proj", {"pyproject.toml": section('fail-on = "low"\n')})
    assert cli("check", "--fail-on", "critical", tmp_path / "proj").exit_code == 0


# --- strict validation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('selct = ["LOAD003"]\n', "selct"),
        ('select = "LOAD003"\n', "select"),
        ("ignore = [3]\n", "ignore"),
        ('exclude = "build"\n', "exclude"),
        ('per-file-ignores = ["tests/**"]\n', "per-file-ignores"),
        ('per-file-ignores = { "tests/**" = "LOAD003" }\n', "tests/**"),
        ('fail-on = "severe"\n', "fail-on"),
        ("fail-on = 3\n", "fail-on"),
        ('select = ["NOPE999"]\n', "NOPE999"),
        ('ignore = ["NOPE999"]\n', "NOPE999"),
        ('per-file-ignores = { "tests/**" = ["NOPE999"] }\n', "NOPE999"),
    ],
)
def test_invalid_configuration_is_a_one_line_error(cli, error_line, write, tmp_path, body, needle):
    write(tmp_path / "proj", {"pyproject.toml": section(body), "a.py": TORCH_LOAD})
    result = cli("check", tmp_path / "proj")
    line = error_line(result)
    assert needle in line
    assert "pyproject.toml" in line
    assert result.stdout == ""


def test_section_that_is_not_a_table_is_an_error(cli, error_line, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": '[tool]\n"mllint-sec" = ["LOAD003"]\n', "a.py": TORCH_LOAD})
    assert "must be a table" in error_line(cli("check", tmp_path / "proj"))


def test_malformed_toml_is_a_one_line_error(cli, error_line, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": '[tool.mllint-sec\nselect = ["LOAD003"\n', "a.py": TORCH_LOAD})
    line = error_line(cli("check", tmp_path / "proj"))
    assert "invalid TOML" in line


# --- --config ------------------------------------------------------------------


def test_explicit_config_pyproject_elsewhere(scan, write, tmp_path):
    write(tmp_path, {
        "settings/pyproject.toml": section('select = ["LOAD001"]\n'),
        "proj/pyproject.toml": section('select = ["LOAD003"]\n'),  # found upward, but --config wins
        "proj/a.py": TORCH_AND_PICKLE,
    })
    report, _ = scan("--config", tmp_path / "settings" / "pyproject.toml", tmp_path / "proj")
    assert ids(report) == ["LOAD001"]


def test_explicit_standalone_toml_with_top_level_keys(cli, write, tmp_path):
    write(tmp_path, {
        "mllint-sec.toml": 'select = ["LOAD003"]\nfail-on = "critical"\n',
        "proj/a.py": TORCH_AND_PICKLE,
    })
    result = cli("check", "--format", "json", "--config", tmp_path / "mllint-sec.toml", tmp_path / "proj")
    assert result.exit_code == 0  # fail-on critical from the file
    assert '"rule_id": "LOAD003"' in result.stdout
    assert '"rule_id": "LOAD001"' not in result.stdout


def test_explicit_standalone_toml_is_validated(cli, error_line, write, tmp_path):
    write(tmp_path, {"mllint-sec.toml": 'selct = ["LOAD003"]\n', "proj/a.py": TORCH_LOAD})
    assert "selct" in error_line(cli("check", "--config", tmp_path / "mllint-sec.toml", tmp_path / "proj"))


def test_explicit_config_per_file_ignores_relative_to_its_directory(scan, write, tmp_path):
    write(tmp_path, {
        "cfg.toml": 'per-file-ignores = { "proj/tests/**" = ["LOAD003"] }\n',
        "proj/a.py": TORCH_LOAD,
        "proj/tests/t.py": TORCH_LOAD,
    })
    report, _ = scan("--select", "LOAD003", "--config", tmp_path / "cfg.toml", tmp_path / "proj")
    assert paths(report) == ["a.py"]


def test_explicit_config_missing_file(cli, error_line, write, tmp_path):
    write(tmp_path, {"proj/a.py": TORCH_LOAD})
    line = error_line(cli("check", "--config", tmp_path / "nope.toml", tmp_path / "proj"))
    assert "nope.toml" in line


def test_explicit_pyproject_without_section_is_an_error(cli, error_line, write, tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n', "proj/a.py": TORCH_LOAD})
    line = error_line(cli("check", "--config", tmp_path / "pyproject.toml", tmp_path / "proj"))
    assert "tool.mllint-sec" in line
