"""`[tool.mllint-sec]` configuration: discovery upward, every key, CLI precedence, strict validation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

TORCH_LOAD = 'import torch\ntorch.load(path)\n'  # where `path` comes from is unknown: the rule's own severity
TORCH_AND_PICKLE = 'import pickle\nimport torch\ntorch.load(path)\npickle.load(fh)\n'


def section(body: str) -> str:
    return "[tool.mllint-sec]\n" + body


def ids(report) -> list[str]:
    return sorted(f["rule_id"] for f in report["findings"])


def paths(report) -> list[str]:
    return sorted({f["path"] for f in report["findings"]})


def repository(root) -> None:
    """Make `root` a git work tree: the upward search for a configuration stops there."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)


# --- finding the configuration -------------------------------------------------


def test_config_in_parent_directory_applies(scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('select = ["LOAD001"]\n'), "pkg/a.py": TORCH_AND_PICKLE})
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD001"]


def test_config_applies_to_an_explicit_file_below_it(scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('select = ["LOAD001"]\n'), "pkg/a.py": TORCH_AND_PICKLE})
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj" / "pkg" / "a.py")
    assert ids(report) == ["LOAD001"]


def test_pyproject_without_the_section_is_skipped(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('select = ["LOAD001"]\n'),
        "pkg/pyproject.toml": '[project]\nname = "pkg"\n\n[tool.black]\nline-length = 100\n',
        "pkg/a.py": TORCH_AND_PICKLE,
    })
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD001"]


def test_nearest_configuration_wins(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('select = ["LOAD001"]\n'),
        "pkg/pyproject.toml": section('select = ["LOAD003"]\n'),
        "pkg/a.py": TORCH_AND_PICKLE,
    })
    repository(tmp_path / "proj")
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
    repository(tmp_path / "proj")
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
    repository(tmp_path / "proj")
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


# --- standalone files: mllint-sec.toml and .mllint-sec.toml, found like pyproject.toml ------------------------


@pytest.mark.parametrize("name", ["mllint-sec.toml", ".mllint-sec.toml"])
def test_standalone_file_found_upward_without_pyproject(scan, write, tmp_path, name):
    write(tmp_path / "proj", {name: 'select = ["LOAD001"]\n', "pkg/a.py": TORCH_AND_PICKLE})
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD001"]
    assert report["configuration"]["path"].endswith(name)


def test_standalone_file_wins_over_pyproject_in_the_same_directory(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('select = ["LOAD003"]\n'),
        "mllint-sec.toml": 'select = ["LOAD001"]\n',
        "a.py": TORCH_AND_PICKLE,
    })
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj")
    assert ids(report) == ["LOAD001"]


def test_dot_file_wins_over_plain_standalone_file(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "mllint-sec.toml": 'select = ["LOAD003"]\n',
        ".mllint-sec.toml": 'select = ["LOAD001"]\n',
        "a.py": TORCH_AND_PICKLE,
    })
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj")
    assert ids(report) == ["LOAD001"]


def test_nearer_pyproject_wins_over_standalone_file_further_up(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "mllint-sec.toml": 'select = ["LOAD003"]\n',
        "pkg/pyproject.toml": section('select = ["LOAD001"]\n'),
        "pkg/a.py": TORCH_AND_PICKLE,
    })
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD001"]


def test_standalone_file_above_the_repository_is_not_used(scan, write, tmp_path):
    write(tmp_path, {"mllint-sec.toml": 'select = ["LOAD001"]\n', "proj/a.py": TORCH_AND_PICKLE})
    repository(tmp_path / "proj")
    report, _ = scan(tmp_path / "proj")
    assert ids(report) == ["LOAD001", "LOAD003"]


def test_found_standalone_file_is_validated(cli, error_line, write, tmp_path):
    write(tmp_path / "proj", {"mllint-sec.toml": 'selct = ["LOAD003"]\n', "a.py": TORCH_LOAD})
    repository(tmp_path / "proj")
    line = error_line(cli("check", tmp_path / "proj"))
    assert "mllint-sec.toml: unknown key 'selct'" in line
    assert "[tool." not in line  # the key's place is the file itself


def test_standalone_file_in_pyproject_form_is_named(cli, error_line, write, tmp_path):
    write(tmp_path / "proj", {"mllint-sec.toml": section('select = ["LOAD003"]\n'), "a.py": TORCH_LOAD})
    repository(tmp_path / "proj")
    assert "without [tool.mllint-sec]" in error_line(cli("check", tmp_path / "proj"))


def test_isolated_ignores_a_standalone_file(scan, write, tmp_path):
    write(tmp_path / "proj", {"mllint-sec.toml": 'select = ["LOAD001"]\n', "a.py": TORCH_AND_PICKLE})
    repository(tmp_path / "proj")
    report, _ = scan("--isolated", tmp_path / "proj")
    assert ids(report) == ["LOAD001", "LOAD003"]


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


# --- patterns: gitignore semantics, git's wildmatch ------------------------------


def test_a_negated_pattern_takes_a_path_back(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section('extend-exclude = ["gen_*.py", "!gen_keep.py", "!build"]\n'),
        "gen_a.py": TORCH_LOAD,
        "gen_keep.py": TORCH_LOAD,
        "build/b.py": TORCH_LOAD,  # excluded by default, taken back by `!build`
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert paths(report) == ["build/b.py", "gen_keep.py"]


def test_nothing_is_taken_back_from_an_excluded_directory(scan, write, tmp_path):
    """As in .gitignore: `!vendor/keep.py` cannot undo `vendor`, but can undo `vendor/*`."""
    write(tmp_path / "proj", {
        "pyproject.toml": section('extend-exclude = ["vendor", "!vendor/keep.py", "third/*", "!third/keep.py"]\n'),
        "vendor/keep.py": TORCH_LOAD,
        "third/drop.py": TORCH_LOAD,
        "third/keep.py": TORCH_LOAD,
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert paths(report) == ["third/keep.py"]


def test_brackets_and_escapes_in_patterns(scan, write, tmp_path):
    write(tmp_path / "proj", {
        "pyproject.toml": section("extend-exclude = ['legacy_[0-9].py', '\\!odd.py', 'star\\*.py']\n"),
        "legacy_1.py": TORCH_LOAD,
        "legacy_x.py": TORCH_LOAD,
        "!odd.py": TORCH_LOAD,
        "star*.py": TORCH_LOAD,
        "starry.py": TORCH_LOAD,
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert paths(report) == ["legacy_x.py", "starry.py"]


def test_a_negated_per_file_ignores_pattern_means_the_other_files(scan, write, tmp_path):
    """As in Ruff: `"!src/**" = [...]` turns the rules off everywhere but under src/."""
    write(tmp_path / "proj", {
        "pyproject.toml": section('per-file-ignores = { "!src/**" = ["LOAD003"] }\n'),
        "src/a.py": TORCH_LOAD,
        "tools/b.py": TORCH_LOAD,
    })
    report, _ = scan("--select", "LOAD003", tmp_path / "proj")
    assert paths(report) == ["src/a.py"]


@pytest.mark.parametrize("body", ['exclude = ["data/[ab"]\n', 'extend-exclude = ["x\\\\"]\n',
                                  'per-file-ignores = { "[[:nope:]]" = ["LOAD003"] }\n'])
def test_a_pattern_git_could_never_match_is_an_error(cli, error_line, write, tmp_path, body):
    write(tmp_path / "proj", {"pyproject.toml": section(body), "a.py": TORCH_LOAD})
    assert "not a valid pattern" in error_line(cli("check", tmp_path / "proj"))


# --- a scanned repository's configuration is not trusted blindly -----------------


SILENCING = section(
    'select = ["deserialization"]\n'
    'ignore = ["LOAD001"]\n'
    'exclude = ["vendor"]\n'
    'extend-exclude = ["scratch"]\n'
    'per-file-ignores = { "tests/**" = ["LOAD003"] }\n'
    'fail-on = "critical"\n'
    'artifact-allow = ["sklearn.*"]\n'
    "provenance-min-bytes = 10485760\n"
)


@pytest.mark.parametrize("marker", ["directory", "file"])  # a work tree, or a submodule's `.git` file
def test_the_search_stops_at_the_repository_root(scan, write, tmp_path, marker):
    write(tmp_path, {"pyproject.toml": section('ignore = ["LOAD003"]\n'), "proj/pkg/a.py": TORCH_LOAD})
    if marker == "directory":
        repository(tmp_path / "proj")
    else:
        (tmp_path / "proj" / ".git").write_text("gitdir: ../.git/modules/proj\n")
    report, _ = scan(tmp_path / "proj" / "pkg")
    assert ids(report) == ["LOAD003"]
    assert "configuration" not in report


def test_outside_a_repository_only_the_scanned_directory_holds_the_configuration(scan, write, tmp_path):
    write(tmp_path, {"pyproject.toml": section('ignore = ["LOAD003"]\n'), "proj/a.py": TORCH_LOAD})
    report, _ = scan(tmp_path / "proj")
    assert ids(report) == ["LOAD003"]
    write(tmp_path, {"proj/pyproject.toml": section('ignore = ["LOAD003"]\n')})
    report, _ = scan(tmp_path / "proj")
    assert ids(report) == []


def test_isolated_ignores_a_silencing_configuration(cli, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('exclude = ["*"]\nignore = ["LOAD"]\n'), "a.py": TORCH_LOAD})
    silenced = cli("check", tmp_path / "proj")
    assert silenced.exit_code == 0
    assert "configuration pyproject.toml turns off " in silenced.stdout
    assert " rules, replaces the default excludes with 1 pattern." in silenced.stdout
    isolated = cli("check", "--isolated", tmp_path / "proj")
    assert isolated.exit_code == 1
    assert "LOAD003" in isolated.stdout and "configuration" not in isolated.stdout


def test_isolated_baseline_records_what_the_configuration_hides(cli, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('ignore = ["LOAD"]\n'), "a.py": TORCH_AND_PICKLE})
    assert "Recorded 0 findings" in cli("baseline", tmp_path / "base.json", tmp_path / "proj").stdout
    assert "Recorded 2 findings" in cli("baseline", "--isolated", tmp_path / "base.json", tmp_path / "proj").stdout


@pytest.mark.parametrize("command", ["check", "baseline"])
def test_isolated_with_config_is_a_usage_error(cli, error_line, write, tmp_path, command):
    write(tmp_path, {"cfg.toml": 'select = ["LOAD003"]\n', "proj/a.py": TORCH_LOAD})
    args = ["--isolated", "--config", tmp_path / "cfg.toml", tmp_path / "proj"]
    if command == "baseline":
        args.insert(0, tmp_path / "base.json")
    assert "cannot be combined with --config" in error_line(cli(command, *args))


def test_json_names_the_file_and_what_it_turned_off(scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": SILENCING, "a.py": TORCH_AND_PICKLE})
    report, _ = scan(tmp_path / "proj")
    configuration = report["configuration"]
    assert configuration["path"] == "pyproject.toml"
    assert "LOAD001" in configuration["disabled_rules"] and "SUP001" in configuration["disabled_rules"]
    assert "LOAD003" not in configuration["disabled_rules"]
    assert configuration["exclude"] == ["vendor"] and configuration["extend_exclude"] == ["scratch"]
    assert configuration["per_file_ignores"] == {"tests/**": ["LOAD003"]}
    assert configuration["fail_on"] == "critical"
    assert configuration["artifact_allow"] == ["sklearn.*"]
    assert configuration["provenance_min_bytes"] == 10485760
    jsonschema.validate(report, json.loads((Path(__file__).parent.parent / "docs" / "json-schema.json").read_text()))


def test_what_the_command_line_overrides_is_not_reported_as_the_files(scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('select = ["LOAD001"]\nfail-on = "high"\n'),
                              "a.py": TORCH_AND_PICKLE})
    report, _ = scan("--select", "LOAD", "--fail-on", "low", tmp_path / "proj")
    assert report["configuration"]["disabled_rules"] == []
    assert report["configuration"]["fail_on"] is None


def test_a_configuration_that_turns_nothing_off_is_named_but_not_in_the_summary(cli, scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('extend-select = ["SUP008"]\n'), "a.py": TORCH_LOAD})
    report, _ = scan(tmp_path / "proj")
    assert report["configuration"]["path"] == "pyproject.toml"
    assert report["configuration"]["disabled_rules"] == []
    assert "configuration" not in cli("check", tmp_path / "proj").stdout.splitlines()[-1]


def test_text_summary_says_what_the_configuration_turned_off(cli, scan, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": SILENCING, "a.py": TORCH_AND_PICKLE})
    disabled = len(scan(tmp_path / "proj")[0]["configuration"]["disabled_rules"])
    summary = cli("check", tmp_path / "proj").stdout.splitlines()[-1]
    assert summary.endswith(
        f"; configuration pyproject.toml turns off {disabled} rules, replaces the default excludes with 1 pattern, "
        "excludes 1 more pattern, turns rules off in 1 per-file-ignores pattern, fails only at critical or above, "
        "trusts 1 artifact callable, needs provenance only from 10485760 bytes."
    )


def test_sarif_names_the_file_and_what_it_turned_off(cli, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": SILENCING, "a.py": TORCH_AND_PICKLE})
    run = json.loads(cli("check", "--format", "sarif", tmp_path / "proj").stdout)["runs"][0]
    recorded = run["properties"]["configuration"]
    assert recorded["path"] == "pyproject.toml" and recorded["exclude"] == ["vendor"]
    notes = [note["message"]["text"] for note in run["invocations"][0]["toolConfigurationNotifications"]]
    assert "configuration pyproject.toml turns rules off in 1 per-file-ignores pattern: tests/**: LOAD003" in notes
    assert "configuration pyproject.toml fails only at critical or above: fail-on = critical" in notes
    assert len(notes) == 7


def test_without_a_configuration_file_the_reports_have_no_record(cli, scan, write, tmp_path):
    write(tmp_path / "proj", {"a.py": TORCH_LOAD})
    report, _ = scan(tmp_path / "proj")
    assert "configuration" not in report
    run = json.loads(cli("check", "--format", "sarif", tmp_path / "proj").stdout)["runs"][0]
    assert "properties" not in run and "toolConfigurationNotifications" not in run["invocations"][0]


# --- configuration files that cannot be read -----------------------------------


@pytest.mark.parametrize(("content", "needle"), [
    (b"[tool.mllint-sec]\nselect = [\"LOAD003\"]\n# caf\xe9\n", "not UTF-8"),
    (b"[tool.mllint-sec]\nselect = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
])
def test_an_unreadable_configuration_is_a_one_line_error(cli, error_line, tmp_path, content, needle):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_bytes(content)
    (tmp_path / "proj" / "a.py").write_text(TORCH_LOAD)
    assert needle in error_line(cli("check", tmp_path / "proj"))
    assert needle in error_line(cli("check", "--config", tmp_path / "proj" / "pyproject.toml", tmp_path / "proj"))


def test_a_pyproject_that_is_not_utf8_and_not_ours_is_scanned_past(cli, tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_bytes(b'[project]\nname = "caf\xe9"\n')
    (tmp_path / "proj" / "a.py").write_text(TORCH_LOAD)
    result = cli("check", tmp_path / "proj")
    assert result.exit_code == 1
    assert "LOAD003" in result.stdout and "Traceback" not in result.output
