"""Checks of README.md's fenced blocks, one per language, used by tests/test_readme_blocks.py.

Each check returns a list of problems (empty: the block works), so the tests can also show that a check
catches a broken block. A block in a language no check covers is itself a problem.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import tomli
import yaml

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.cli import main as cli_main
from mllint_sec.engine.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
CI_RUN = ROOT / ".ci" / "run"
PROJECT = "mllint-sec"
COMMIT_ID = re.compile(r"[0-9a-f]{40}")
THIS_CHECKOUT = re.compile(r"\.(\[[a-z,-]+\])?")  # `pip install .` / `pip install -e '.[test]'`

# The newest major version of each action the workflow may use, as the actions' releases stood in December
# 2026: checkout v7 (June 2026) and setup-python v7 (July 2026) followed v6; codeql-action v3 is deprecated
# and v4 current. An action missing here is a problem, so a new one is added deliberately.
CURRENT_ACTIONS = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "github/codeql-action/upload-sarif": "v4",
}

# What the README says each command does, as its exit code in the fixture workspace (the project's fixtures,
# committed, with origin/main at that commit): 1 when it reports findings, 0 when it reports none. A README
# command missing here is a problem: add what the README says it does.
EXPECTED_EXIT = {
    "mllint-sec check fixtures/demo-ml-repo": 1,  # "the demo has findings, so the command exits with 1"
    "mllint-sec check --format full --select LOAD003 fixtures/demo-ml-repo": 1,  # shows LOAD003 findings
    "mllint-sec check --show-files .": 0,  # lists paths; scans nothing
    "mllint-sec baseline .mllint-sec-baseline.json": 0,  # records today's findings
    "mllint-sec check --baseline .mllint-sec-baseline.json": 0,  # "report only new findings": none yet
    "mllint-sec check --diff-base origin/main": 0,  # nothing changed since origin/main
    "mllint-sec check --format sarif --output mllint-sec.sarif --exit-zero .": 0,  # the workflow's scan
    'mllint-sec check --format github --diff-base "origin/$BASE_REF" .': 0,  # its gate, on a no-change PR
}

# Commands of the README's shell blocks that are not run, and why.
NOT_RUN = {
    "python -m pytest": "the test suite itself; .ci/run runs the README's line verbatim (checked)",
}

# Values for the GitHub expressions in the workflow's `env:`, as a pull request into main has them.
GITHUB_CONTEXT = {"github.base_ref": "main"}

LANGUAGES = {
    **dict.fromkeys(("yaml", "yml"), "yaml"),
    **dict.fromkeys(("bash", "sh", "shell", "console"), "shell"),
    "toml": "toml",
    "python": "python",
    "text": "text",
}


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int  # of the opening fence, 1-based

    @property
    def name(self) -> str:
        return f"README.md:{self.line} {self.language or '(no language)'}"


def fenced_blocks(markdown: str) -> list[Block]:
    """The fenced (```) blocks of a Markdown text; the language is the info string's first word."""
    blocks: list[Block] = []
    opened: tuple[str, int, list[str]] | None = None
    for number, line in enumerate(markdown.splitlines(), start=1):
        if opened is None:
            if line.startswith("```"):
                info = line[3:].split()
                opened = (info[0] if info else "", number, [])
        elif line.rstrip() == "```":
            blocks.append(Block(opened[0], "".join(f"{text}\n" for text in opened[2]), opened[1]))
            opened = None
        else:
            opened[2].append(line)
    if opened is not None:
        raise ValueError(f"line {opened[1]}: a fenced block is never closed")
    return blocks


def readme_blocks(*languages: str) -> list[Block]:
    blocks = fenced_blocks(README.read_text(encoding="utf-8"))
    return [block for block in blocks if block.language in languages] if languages else blocks


def yaml_block(first_line: str) -> Block:
    """The one YAML block whose first line (a comment naming its file) starts with `first_line`."""
    [block] = [block for block in readme_blocks("yaml", "yml") if block.text.startswith(first_line)]
    return block


def pre_commit_pin() -> tuple[str, str]:
    """The repository URL and `rev` of the README's pre-commit snippet: every install from git must match."""
    [repo] = yaml.safe_load(yaml_block("# .pre-commit-config.yaml").text)["repos"]
    return str(repo["repo"]), str(repo["rev"])


# --- shell ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    line: str  # the README line holding it (continuations joined)
    text: str  # the command as the README writes it, quotes included
    argv: list[str]


def commands(block: Block) -> list[Command]:
    """The simple commands of a shell block (split at `&&`, `||`, `;`, `|`), without comments.

    A console block's commands are its `$ ` lines; its other lines are their output."""
    lines = block.text.splitlines()
    if block.language == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    found: list[Command] = []
    for line in _joined(lines):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        groups: list[list[str]] = [[]]
        for token in lexer:
            if token in ("&&", "||", ";", "|"):
                groups.append([])
            else:
                groups[-1].append(token)
        found += [Command(line.split(" #")[0].strip(), _written(line, argv), argv) for argv in groups if argv]
    return found


def _joined(lines: list[str]) -> list[str]:
    """The lines with backslash continuations joined."""
    out: list[str] = []
    pending = ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1] + " "
        else:
            out.append(pending + line)
            pending = ""
    return [*out, pending] if pending else out


def _written(line: str, argv: list[str]) -> str:
    """The part of `line` that is the command `argv`, as written (for messages and EXPECTED_EXIT)."""
    for piece in re.split(r"&&|\|\||;|\|", line):
        part = piece.split(" #")[0].strip()
        try:
            if shlex.split(part) == argv:
                return part
        except ValueError:  # an operator inside quotes split this part: not a whole command
            continue
    return shlex.join(argv)


def bash_syntax_problems(script: str, where: str) -> list[str]:
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    return [] if done.returncode == 0 else [f"{where}: bash -n: {done.stderr.strip()}"]


def is_pip_install(argv: list[str]) -> bool:
    return argv[:2] == ["pip", "install"] or (argv[0].startswith("python") and argv[1:4] == ["-m", "pip", "install"])


def pip_problems(argv: list[str], where: str, pin: tuple[str, str]) -> list[str]:
    """A `pip install` names this project: this checkout (`.`, `.[extra]`) or its repository at the pinned commit."""
    url, rev = pin
    targets = [token for token in argv[argv.index("install") + 1:] if not token.startswith("-")]
    problems = [] if targets else [f"{where}: `{shlex.join(argv)}` installs nothing"]
    for target in targets:
        if THIS_CHECKOUT.fullmatch(target):
            continue
        match = re.fullmatch(rf"{PROJECT} @ git\+(?P<url>[^@\s]+)(?:@(?P<ref>\S+))?", target)
        if match is None:
            problems.append(f"{where}: `{target}` is not this project ({PROJECT}, from this checkout or from git)")
        elif match["url"] != url:
            problems.append(f"{where}: `{target}` installs from {match['url']}, not {url}")
        elif match["ref"] != rev:
            problems.append(f"{where}: `{target}` is not pinned to the pre-commit rev {rev}")
    return problems


def command_problems(command: Command, where: str, pin: tuple[str, str], ci_run: str) -> list[str]:
    """Whether a command has a check: a pip install names this project, an mllint-sec command an exit code."""
    if is_pip_install(command.argv):
        problems = pip_problems(command.argv, where, pin)
        # A line installing this checkout is CI's to prove: .ci/run runs it as written, in a fresh venv.
        if any(THIS_CHECKOUT.fullmatch(token) for token in command.argv) and command.line not in ci_run:
            problems.append(f"{where}: `{command.line}` installs this checkout but .ci/run does not run it verbatim")
        return problems
    if command.argv[0] == PROJECT:
        if command.text not in EXPECTED_EXIT:
            return [f"{where}: `{command.text}` has no expected exit code in EXPECTED_EXIT"]
        return []
    return [] if command.text in NOT_RUN else [f"{where}: no check for `{command.text}`"]


def shell_problems(block: Block, pin: tuple[str, str], ci_run: str) -> list[str]:
    """Everything about a shell block that needs no run: its syntax, and a check for each command."""
    lines = block.text.splitlines(keepends=True)
    script = block.text if block.language != "console" else "".join(line[2:] for line in lines if line[:2] == "$ ")
    problems = bash_syntax_problems(script, block.name)
    if problems:
        return problems  # its commands cannot be told apart
    for command in commands(block):
        problems += command_problems(command, block.name, pin, ci_run)
    return problems


def mllint_sec_argv() -> list[str]:
    """The installed entry point (as users run it), or the module when the scripts directory lacks it."""
    script = Path(sys.executable).parent / PROJECT
    return [str(script)] if script.exists() else [sys.executable, "-m", "mllint_sec"]


def run_mllint_sec(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*mllint_sec_argv(), *argv[1:]], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false", *args],
                          cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def fixture_workspace(path: Path) -> Path:
    """The project's fixtures, committed in a new repository whose origin/main is that commit."""
    shutil.copytree(ROOT / "fixtures", path / "fixtures")
    git(path, "init", "-q")
    git(path, "add", ".")
    git(path, "commit", "-qm", "fixtures")
    git(path, "update-ref", "refs/remotes/origin/main", "HEAD")
    return path


def _line_matches(pattern: str, line: str) -> bool:
    """`line` is `pattern`, where each `...` in the pattern stands for any text."""
    parts = pattern.split("...")
    if len(parts) == 1:
        return line == pattern
    if not (line.startswith(parts[0]) and line.endswith(parts[-1])) or len(line) < len(parts[0]) + len(parts[-1]):
        return False
    at = len(parts[0])
    for part in parts[1:-1]:
        found = line.find(part, at)
        if found < 0:
            return False
        at = found + len(part)
    return at <= len(line) - len(parts[-1])


def output_problems(expected: list[str], actual: list[str], where: str) -> list[str]:
    """`actual` starts as `expected` shows it, where a line `...` stands for any lines and `...` in a line for
    any text; the lines shown may stop before the output does."""
    position = 0
    skipping = False
    for pattern in expected:
        if pattern == "...":
            skipping = True
            continue
        while skipping and position < len(actual) and not _line_matches(pattern, actual[position]):
            position += 1
        if position >= len(actual) or not _line_matches(pattern, actual[position]):
            shown = actual[position] if position < len(actual) else "(end of output)"
            return [f"{where}: expected the output line `{pattern}`, got `{shown}`"]
        position += 1
        skipping = False
    return []


def console_outputs(block: Block) -> dict[str, list[str]]:
    """A console block's commands, each with the output lines the README shows after it."""
    shown: dict[str, list[str]] = {}
    last = None
    for line in block.text.splitlines():
        if line.startswith("$ "):
            last = line[2:].strip()
            shown[last] = []
        elif last is not None:
            shown[last].append(line)
    return shown


def run_problems(block: Block, workspace: Path) -> list[str]:
    """Run the block's `mllint-sec` commands in order in the workspace and check their exit codes; a console
    block's output is checked for a command that names a fixture (one on `.` may show any repository)."""
    shown = console_outputs(block) if block.language == "console" else {}
    shown = {text: lines for text, lines in shown.items() if "fixtures/" in text}
    problems = []
    for command in commands(block):
        if command.argv[0] != PROJECT:
            continue
        done = run_mllint_sec(command.argv, workspace)
        expected = EXPECTED_EXIT.get(command.text)
        if done.returncode != expected:
            problems.append(f"{block.name}: `{command.text}` exited {done.returncode}, the README implies "
                            f"{expected}\n{done.stdout}{done.stderr}")
        if command.text in shown:
            problems += output_problems(shown[command.text], done.stdout.splitlines(), f"{block.name} output")
    return problems


# --- yaml: the pre-commit snippet and the workflow --------------------------------------------------------


def hook_ids(text: str) -> set[str]:
    return {str(hook["id"]) for hook in yaml.safe_load(text)}


def history_unavailable() -> str | None:
    """Why ROOT's history cannot be asked (not a git checkout, or a shallow clone), or None."""
    if not (ROOT / ".git").exists():
        return "not a git checkout (an unpacked sdist)"
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True,
                             text=True, check=False)
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        return "a shallow clone, which may lack the commit"
    return None


def _git_succeeds(*args: str) -> bool:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=False).returncode == 0


def pre_commit_problems(text: str, where: str, history: bool) -> list[str]:
    """The snippet's hooks exist; its rev is a full commit id that, in this repository's history, has them."""
    repos = [repo for repo in yaml.safe_load(text).get("repos", []) if repo.get("repo") not in ("local", "meta")]
    if len(repos) != 1:
        return [f"{where}: expected one repository entry, got {len(repos)}"]
    rev, wanted = repos[0].get("rev", ""), {str(hook["id"]) for hook in repos[0].get("hooks", [])}
    problems = [] if wanted else [f"{where}: no hooks"]
    if not isinstance(rev, str):  # YAML reads an unquoted all-digit id as a number, which pre-commit refuses
        return [*problems, f"{where}: rev {rev!r} is not a string (quote it)"]
    unknown = wanted - hook_ids(HOOKS.read_text(encoding="utf-8"))
    if unknown:
        problems.append(f"{where}: hooks not in .pre-commit-hooks.yaml: {sorted(unknown)}")
    if not COMMIT_ID.fullmatch(rev):
        return [*problems, f"{where}: rev {rev!r} is not a full commit id (the project has no release tags)"]
    if not history:
        return problems
    if not _git_succeeds("cat-file", "-e", f"{rev}^{{commit}}"):
        return [*problems, f"{where}: rev {rev} is not a commit of this repository"]
    if not _git_succeeds("merge-base", "--is-ancestor", rev, "HEAD"):
        problems.append(f"{where}: rev {rev} is not in the history of HEAD")
    shown = subprocess.run(["git", "show", f"{rev}:.pre-commit-hooks.yaml"], cwd=ROOT, capture_output=True,
                           text=True, check=False)
    if shown.returncode != 0:
        problems.append(f"{where}: rev {rev} has no .pre-commit-hooks.yaml")
    elif wanted - hook_ids(shown.stdout):
        problems.append(f"{where}: rev {rev} lacks the hooks {sorted(wanted - hook_ids(shown.stdout))}")
    return problems


def workflow_steps(text: str) -> list[dict[str, Any]]:
    return [step for job in yaml.safe_load(text)["jobs"].values() for step in job["steps"]]


def _writes_sarif(argv: list[str]) -> bool:
    return any((option == "--format" and value == "sarif")
               or (option == "--output-format" and value.startswith("sarif"))
               for option, value in itertools.pairwise(argv))


def _action_problems(step: dict[str, Any], where: str, diff_base: bool) -> list[str]:
    action, _, version = str(step["uses"]).partition("@")
    if action not in CURRENT_ACTIONS:
        return [f"{where}: `{step['uses']}` is not a known action (add it to CURRENT_ACTIONS)"]
    problems = []
    if version != CURRENT_ACTIONS[action]:
        problems.append(f"{where}: `{step['uses']}`: the current version is {CURRENT_ACTIONS[action]}")
    if action == "actions/checkout":
        depth = (step.get("with") or {}).get("fetch-depth")
        if diff_base and depth != 0:
            problems.append(f"{where}: --diff-base needs `fetch-depth: 0` on checkout")
        if not diff_base and depth == 0:
            problems.append(f"{where}: `fetch-depth: 0` without --diff-base fetches the whole history for nothing")
    return problems


def workflow_problems(text: str, where: str, pin: tuple[str, str]) -> list[str]:
    """Current actions; `fetch-depth: 0` exactly where --diff-base is used; pinned installs; checked commands;
    no filtered SARIF in a job that uploads to code scanning."""
    workflow = yaml.safe_load(text)
    # PyYAML reads the key `on` as the boolean true (YAML 1.1); GitHub reads it as "on".
    problems = [] if workflow.get("on") or workflow.get(True) else [f"{where}: no `on:` triggers"]
    for job_id, job in workflow["jobs"].items():
        at = f"{where}: job {job_id}"
        runs = [str(step["run"]) for step in job["steps"] if "run" in step]
        diff_base = any("--diff-base" in run for run in runs)
        uploads = any(str(step.get("uses", "")).startswith("github/codeql-action/upload-sarif")
                      for step in job["steps"])
        for step in job["steps"]:
            if "uses" in step:
                problems += _action_problems(step, at, diff_base)
        for run in runs:
            syntax = bash_syntax_problems(run, f"{at}: `{run}`")
            problems += syntax
            for command in [] if syntax else commands(Block("bash", run, 0)):
                problems += command_problems(command, at, pin, ci_run="")
                if uploads and _writes_sarif(command.argv) and {"--diff-base", "--baseline"} & set(command.argv):
                    problems.append(f"{at}: `{command.text}` writes a filtered SARIF: uploaded, it closes every "
                                    f"alert it leaves out")
    return problems


def step_environment(step: dict[str, Any]) -> dict[str, str]:
    """The step's `env:`, its GitHub expressions replaced by GITHUB_CONTEXT's values."""
    def expression(match: re.Match[str]) -> str:
        name = match[1].strip()
        if name not in GITHUB_CONTEXT:
            raise KeyError(f"no test value for the expression `{name}`: add one to GITHUB_CONTEXT")
        return GITHUB_CONTEXT[name]

    return {key: re.sub(r"\$\{\{([^}]*)\}\}", expression, str(value)) for key, value in (step.get("env") or {}).items()}


def run_step(step: dict[str, Any], workspace: Path) -> subprocess.CompletedProcess[str]:
    """The step's `run:` script under `bash -e` (as GitHub runs it), with the step's environment and this
    environment's `mllint-sec` first on PATH."""
    scripts = Path(mllint_sec_argv()[0]).parent
    env = {**os.environ, **step_environment(step), "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "-e", "-c", str(step["run"])], cwd=workspace, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


# --- toml, python, text -----------------------------------------------------------------------------------


def toml_problems(block: Block, directory: Path) -> list[str]:
    """The block parses, and its configuration (a `[tool.mllint-sec]` table, or a standalone file named in
    its first line) loads through the project's loader, so an unknown key or rule is a problem."""
    try:
        data = tomli.loads(block.text)
    except tomli.TOMLDecodeError as exc:
        return [f"{block.name}: not TOML: {exc}"]
    named = re.fullmatch(r"#\s*(\S+\.toml)\s*", block.text.splitlines()[0] if block.text else "")
    if PROJECT in data.get("tool", {}):
        path = directory / "pyproject.toml"
    elif named and Path(named[1]).name != "pyproject.toml":
        path = directory / Path(named[1]).name
    else:
        return [f"{block.name}: no check for this TOML (neither [tool.{PROJECT}] nor a `# FILE.toml` first line)"]
    path.write_text(block.text, encoding="utf-8")
    try:
        load_config(path, load_catalogue(), explicit=True)
    except ConfigError as exc:
        return [f"{block.name}: {exc}"]
    return []


def called_modules(tree: ast.AST) -> list[str]:
    """Names whose attribute the code calls (`torch` in `torch.load(...)`): the imports a snippet leaves out."""
    return sorted({node.func.value.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)})


def python_problems(block: Block, directory: Path) -> list[str]:
    """The block parses; a suppression example, given the imports it leaves out, suppresses a finding and
    leaves none (an unused suppression would be MLS002)."""
    try:
        tree = ast.parse(block.text)
    except SyntaxError as exc:
        return [f"{block.name}: not Python: {exc}"]
    if "mllint-sec: ignore" not in block.text:
        return []
    (directory / "example.py").write_text("".join(f"import {name}\n" for name in called_modules(tree)) + block.text,
                                          encoding="utf-8")
    done = run_mllint_sec([PROJECT, "check", "--isolated", "--format", "json", "example.py"], directory)
    findings = json.loads(done.stdout)["findings"]
    left = [f"{f['rule_id']}: {f['message']}" for f in findings if not f["suppressed"]]
    problems = [] if any(f["suppressed"] for f in findings) else [f"{block.name}: the comment suppresses nothing"]
    if left or done.returncode != 0:
        problems.append(f"{block.name}: findings left (exit {done.returncode}): {left}")
    return problems


def _options(command: click.Command) -> set[str]:
    return {"--help", *(name for param in command.params for name in (*param.opts, *param.secondary_opts))}


def synopsis_problems(text: str, where: str) -> list[str]:
    """Each `mllint-sec SUBCOMMAND` line names a subcommand, and each --option one that subcommand has."""
    assert isinstance(cli_main, click.Group)
    problems = []
    current: click.Command | None = None
    for line in text.splitlines():
        if line.startswith(f"{PROJECT} "):
            name = line.split()[1]
            current = cli_main if name.startswith("-") else cli_main.commands.get(name)
            if current is None:
                problems.append(f"{where}: `{PROJECT} {name}` is not a subcommand")
                continue
            named = line.split("#")[0]  # a synopsis line's comment describes it
        elif current is None:
            problems.append(f"{where}: `{line.strip()}` follows no `{PROJECT} SUBCOMMAND` line")
            continue
        else:
            named = line
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", named):
            if option not in _options(current):
                problems.append(f"{where}: `{current.name}` has no option {option}")
    return problems


def text_problems(block: Block) -> list[str]:
    if block.text.startswith(f"{PROJECT} "):
        return synopsis_problems(block.text, block.name)
    return [f"{block.name}: no check for this text block (only the `{PROJECT} ...` usage synopsis has one)"]
