"""Where code runs (engine/code_contexts.py): path conventions, configuration globs, per-context policy, and what a
run does with them (severity before --fail-on, ignored findings counted, fingerprints unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mllint_sec.core.code_context import DEFAULT_POLICY, CodeContext, ContextPolicy, downgraded
from mllint_sec.core.finding import Finding
from mllint_sec.core.severity import Severity
from mllint_sec.engine.code_contexts import CodeContexts, conventional_context
from mllint_sec.engine.config import Config

# yaml.load with FullLoader of a function's parameter: high in library code, whatever its origin.
YAML_LOAD = "import yaml\n\ndef read(text):\n    return yaml.load(text, Loader=yaml.FullLoader)\n"


def section(body: str) -> str:
    return f"[tool.mllint-sec]\n{body}"


# --- path conventions ------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "tests/a.py", "test/a.py", "testing/a.py", "pkg/tests/deep/a.py", "Tests/a.py", "pkg/TESTING/a.py",
    "test_model.py", "pkg/test_model.py", "model_test.py", "pkg/conftest.py", "conftest.py",
    "examples/tests/a.py",  # the most specific wins: a test inside an example
    "benchmarks/test_speed.py", "src/demo/tests/test_train.py", "src/tests/a.py",
])
def test_test_code(path):
    assert conventional_context(path) == CodeContext.TEST


@pytest.mark.parametrize("path", [
    "examples/a.py", "example/a.py", "tutorials/a.py", "tutorial/a.py", "docs/a.py", "doc/conf.py",
    "notebooks/a.ipynb", "docs/notebooks/explore.ipynb", "demo/a.py", "demos/a.py", "samples/a.py",
    "cookbook/a.py", "Examples/a.py", "pkg/docs/source/a.py", "examples/scripts/a.py",
])
def test_example_code(path):
    assert conventional_context(path) == CodeContext.EXAMPLE


@pytest.mark.parametrize("path", ["benchmarks/a.py", "benchmark/a.py", "bench/a.py", "benchmarks/examples/a.py",
                                  "benchmarks/scripts/run.py"])
def test_benchmark_code(path):
    assert conventional_context(path) == CodeContext.BENCHMARK


@pytest.mark.parametrize("path", ["scripts/a.py", "script/a.py", "tools/a.py", "dev/a.py", "pkg/Scripts/a.py"])
def test_script_code(path):
    assert conventional_context(path) == CodeContext.SCRIPT


@pytest.mark.parametrize("path", [
    "a.py", "pkg/model.py", "explore.ipynb",  # a top-level notebook is not automatically an example
    "pkg/testing_utils.py", "pkg/contest.py", "pkg/test.py", "pkg/tests.py", "latest/a.py", "testsuite/a.py",
    "pkg/mytest_x.py", "pkg/test_x.pyi", "requirements.txt", "pyproject.toml",
    "src/demo/serve.py",  # the package right under src/ is named after the project, not a convention
    "src/tools/a.py", "docs",  # a file named like a directory is not one
    "/home/me/dev/project/a.py",  # outside the scan root: only the file name counts
])
def test_library_code(path):
    assert conventional_context(path) == CodeContext.LIBRARY


def test_an_absolute_path_still_has_a_test_file_name():
    assert conventional_context("/elsewhere/examples/test_x.py") == CodeContext.TEST


def test_manifests_and_artifacts_have_the_context_of_their_place():
    assert conventional_context("examples/requirements.txt") == CodeContext.EXAMPLE
    assert conventional_context("tests/fixtures/model.pkl") == CodeContext.TEST


# --- the policy ------------------------------------------------------------------


def test_default_policy():
    assert DEFAULT_POLICY == {
        CodeContext.LIBRARY: ContextPolicy.REPORT, CodeContext.TEST: ContextPolicy.DOWNGRADE,
        CodeContext.EXAMPLE: ContextPolicy.DOWNGRADE, CodeContext.BENCHMARK: ContextPolicy.DOWNGRADE,
        CodeContext.SCRIPT: ContextPolicy.REPORT,
    }


@pytest.mark.parametrize(("severity", "test", "other"), [
    (Severity.CRITICAL, Severity.LOW, Severity.HIGH),
    (Severity.HIGH, Severity.LOW, Severity.MEDIUM),
    (Severity.MEDIUM, Severity.LOW, Severity.LOW),
    (Severity.LOW, Severity.LOW, Severity.LOW),
    (Severity.NOTE, Severity.NOTE, Severity.NOTE),  # never raised to low
])
def test_downgrade_levels(severity, test, other):
    assert downgraded(severity, CodeContext.TEST) == test
    assert downgraded(severity, CodeContext.EXAMPLE) == downgraded(severity, CodeContext.BENCHMARK) == other


def finding(path: str, severity: Severity = Severity.HIGH) -> Finding:
    return Finding("LOAD001", path, 2, 1, 2, 9, "`pickle.loads` unpickles its input", "pickle.loads(b)", severity)


def contexts(config: Config, root: Path = Path("/scan")) -> CodeContexts:
    return CodeContexts(config, root, lambda path: path.relative_to(root).as_posix())


def test_apply_downgrades_marks_and_keeps_the_rest():
    found = [finding("pkg/a.py"), finding("tests/a.py"), finding("examples/a.py"), finding("bench/a.py"),
             finding("scripts/a.py", Severity.CRITICAL)]
    kept, ignored = contexts(Config()).apply(found)
    assert ignored == []
    assert [(f.context, f.severity, f.message.removeprefix("`pickle.loads` unpickles its input")) for f in kept] == [
        (CodeContext.LIBRARY, Severity.HIGH, ""),
        (CodeContext.TEST, Severity.LOW, " (in test code)"),
        (CodeContext.EXAMPLE, Severity.MEDIUM, " (in example code)"),
        (CodeContext.BENCHMARK, Severity.MEDIUM, " (in benchmark code)"),
        (CodeContext.SCRIPT, Severity.CRITICAL, ""),  # scripts are reported as the rule says
    ]


def test_apply_ignore_drops_and_report_keeps():
    config = Config()
    config.context_policy.update({CodeContext.TEST: ContextPolicy.IGNORE, CodeContext.EXAMPLE: ContextPolicy.REPORT,
                                  CodeContext.LIBRARY: ContextPolicy.DOWNGRADE})
    kept, ignored = contexts(config).apply([finding("tests/a.py"), finding("examples/a.py"), finding("a.py")])
    assert [(f.path, f.context) for f in ignored] == [("tests/a.py", CodeContext.TEST)]
    assert [(f.path, f.severity, f.message.endswith(")")) for f in kept] == [
        ("examples/a.py", Severity.HIGH, False), ("a.py", Severity.MEDIUM, True)]
    assert kept[1].message.endswith(" (in library code)")


def test_globs_override_conventions_most_specific_first():
    config = Config()
    config.contexts = {CodeContext.LIBRARY: ["tests/fixtures/**"], CodeContext.EXAMPLE: ["recipes/**"],
                       CodeContext.TEST: ["tests/fixtures/check_*.py"]}
    chosen = contexts(config)
    assert chosen.context_of("tests/fixtures/build.py") == CodeContext.LIBRARY
    assert chosen.context_of("tests/fixtures/check_x.py") == CodeContext.TEST  # both match: test wins
    assert chosen.context_of("recipes/train.py") == CodeContext.EXAMPLE
    assert chosen.context_of("tests/a.py") == CodeContext.TEST  # no glob: the convention
    assert chosen.context_of("pkg/a.py") == CodeContext.LIBRARY


def test_globs_are_relative_to_the_configuration_and_miss_outside_it():
    config = Config()
    config.contexts = {CodeContext.EXAMPLE: ["sub/**"]}
    chosen = CodeContexts(config, Path("/scan"), lambda path: None)  # every path outside the configuration's tree
    assert chosen.context_of("sub/a.py") == CodeContext.LIBRARY


# --- configuration -----------------------------------------------------------------


def test_configured_contexts_and_policy_apply(scan, write, tmp_path):
    write(tmp_path, {
        "pyproject.toml": section('select = ["LOAD008"]\n[tool.mllint-sec.contexts]\nexample = ["recipes/**"]\n'
                                  'library = ["tests/helpers/**"]\n[tool.mllint-sec.context-policy]\n'
                                  'test = "ignore"\nexample = "report"\n'),
        "recipes/train.py": YAML_LOAD, "tests/test_a.py": YAML_LOAD, "tests/helpers/h.py": YAML_LOAD,
        "examples/e.py": YAML_LOAD,
    })
    report, _ = scan(tmp_path)
    by_path = {f["path"]: f for f in report["findings"]}
    assert sorted(by_path) == ["examples/e.py", "recipes/train.py", "tests/helpers/h.py"]
    assert by_path["recipes/train.py"]["context"] == by_path["examples/e.py"]["context"] == "example"
    assert by_path["tests/helpers/h.py"]["context"] == "library"
    assert len({f["severity"] for f in report["findings"]}) == 1  # example is reported as the rule says
    assert not any(f["message"].endswith("code)") for f in report["findings"])
    assert report["summary"]["ignored_by_context_policy"] == 1
    assert report["summary"]["context_policy"]["test"] == "ignore"
    assert report["configuration"]["context_policy"] == {"test": "ignore"}  # the lenient one is named
    assert report["configuration"]["contexts"] == {}  # example is no more lenient than library here


def test_configuration_names_globs_into_a_lenient_context(scan, write, tmp_path):
    write(tmp_path, {"pyproject.toml": section('[tool.mllint-sec.contexts]\ntest = ["pkg/**"]\n'),
                     "pkg/a.py": YAML_LOAD})
    report, _ = scan(tmp_path)
    assert report["configuration"]["contexts"] == {"test": ["pkg/**"]}
    assert report["findings"][0]["context"] == "test"


@pytest.mark.parametrize(("body", "needle"), [
    ("contexts = 3\n", "'contexts' must be a table"),
    ("[tool.mllint-sec.contexts]\nlibraries = ['src/**']\n", "unknown context 'libraries'"),
    ("[tool.mllint-sec.contexts]\ntest = 'tests/**'\n", "'contexts.test' must be a list of path patterns"),
    ("[tool.mllint-sec.contexts]\ntest = ['[a']\n", "'contexts.test': '[a' is not a valid pattern"),
    ("context-policy = ['test']\n", "'context-policy' must be a table"),
    ("[tool.mllint-sec.context-policy]\ntests = 'ignore'\n", "unknown context 'tests'"),
    ("[tool.mllint-sec.context-policy]\ntest = 'hide'\n", "'context-policy.test' must be one of report, downgrade"),
    ("[tool.mllint-sec.context-policy]\ntest = 1\n", "'context-policy.test' must be one of"),
])
def test_invalid_context_configuration(cli, write, tmp_path, error_line, body, needle):
    write(tmp_path, {"pyproject.toml": section(body), "a.py": "x = 1\n"})
    assert needle in error_line(cli("check", tmp_path))


def test_context_keys_in_a_standalone_configuration_file(scan, write, tmp_path):
    write(tmp_path, {"mllint-sec.toml": '[context-policy]\nexample = "ignore"\n', "examples/e.py": YAML_LOAD})
    report, _ = scan("--config", tmp_path / "mllint-sec.toml", tmp_path)
    assert report["findings"] == [] and report["summary"]["ignored_by_context_policy"] == 1


# --- a run ---------------------------------------------------------------------------


def test_severity_is_lowered_before_fail_on(cli, write, tmp_path):
    write(tmp_path, {"tests/test_a.py": YAML_LOAD, "pkg/a.py": YAML_LOAD})
    assert cli("check", "--select", "LOAD008", "--fail-on", "medium", tmp_path / "tests").exit_code == 0
    assert cli("check", "--select", "LOAD008", "--fail-on", "medium", tmp_path / "pkg").exit_code == 1


def test_test_findings_are_low_and_marked(scan, write, tmp_path):
    write(tmp_path, {"tests/test_a.py": YAML_LOAD, "pkg/a.py": YAML_LOAD})
    report, _ = scan("--select", "LOAD008", tmp_path)
    library, test = sorted(report["findings"], key=lambda f: f["path"])
    assert library["context"] == "library" and test["context"] == "test"
    assert library["severity"] in ("critical", "high")
    assert test["severity"] == "low"
    assert test["message"] == library["message"] + " (in test code)"


def test_fingerprints_do_not_depend_on_context_or_policy(scan, write, tmp_path):
    write(tmp_path, {"tests/test_a.py": YAML_LOAD + YAML_LOAD.replace("read", "read2")})
    downgraded_report, _ = scan(tmp_path)
    write(tmp_path, {"pyproject.toml": section('[tool.mllint-sec.context-policy]\ntest = "report"\n')})
    reported, _ = scan(tmp_path)
    assert [f["fingerprint"] for f in downgraded_report["findings"]] == [f["fingerprint"] for f in reported["findings"]]
    assert [f["severity"] for f in downgraded_report["findings"]] != [f["severity"] for f in reported["findings"]]


def test_contexts_are_not_taken_from_the_cache(cli, write, tmp_path):
    """The same bytes under another policy: a cached result must not carry the old context or severity."""
    write(tmp_path, {"tests/test_a.py": YAML_LOAD})
    first = json.loads(cli("check", "--format", "json", tmp_path).stdout)
    write(tmp_path, {"pyproject.toml": section('[tool.mllint-sec.context-policy]\ntest = "report"\n')})
    second = json.loads(cli("check", "--format", "json", tmp_path).stdout)
    assert first["findings"][0]["severity"] == "low"
    assert second["findings"][0]["severity"] != "low"
    assert not second["findings"][0]["message"].endswith("(in test code)")


def test_repository_findings_get_the_context_of_their_file(scan, write, tmp_path):
    write(tmp_path, {"examples/requirements.txt": "torch>=2.0\n", "requirements.txt": "torch>=2.0\n"})
    report, _ = scan("--select", "SUP006", tmp_path)
    contexts_by_path = {f["path"]: f["context"] for f in report["findings"]}
    assert contexts_by_path == {"examples/requirements.txt": "example", "requirements.txt": "library"}


def test_baseline_records_ignored_findings(cli, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('[tool.mllint-sec.context-policy]\ntest = "ignore"\n'),
                              "tests/test_a.py": YAML_LOAD})
    baseline = tmp_path / "baseline.json"
    assert "Recorded 1 finding" in cli("baseline", baseline, tmp_path / "proj").stdout
    (tmp_path / "proj" / "pyproject.toml").unlink()  # the default policy reports test code again...
    result = cli("check", "--baseline", baseline, tmp_path / "proj")
    assert "No findings" in result.stdout  # ...but nothing in it is new


def test_diff_base_and_baseline_filter_the_ignored_count(cli, write, tmp_path):
    write(tmp_path / "proj", {"pyproject.toml": section('[tool.mllint-sec.context-policy]\ntest = "ignore"\n'),
                              "tests/test_a.py": YAML_LOAD})
    baseline = tmp_path / "baseline.json"
    cli("baseline", baseline, tmp_path / "proj")
    report = json.loads(cli("check", "--format", "json", "--baseline", baseline, tmp_path / "proj").stdout)
    assert report["summary"]["ignored_by_context_policy"] == 0
    report = json.loads(cli("check", "--format", "json", tmp_path / "proj").stdout)
    assert report["summary"]["ignored_by_context_policy"] == 1
