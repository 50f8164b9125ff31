"""`check --color auto|always|never`: colour by severity on a terminal (no-color.org's NO_COLOR, FORCE_COLOR),
never in a file, and always added after escaping, so scanned text cannot bring escape sequences of its own."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.cli import main
from mllint_sec.core.finding import Finding
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult
from mllint_sec.report import concise, full, terminal, text
from mllint_sec.report.formats import RenderOptions
from mllint_sec.report.terminal import Painter, wants_colour

PICKLE = "import pickle\npickle.loads(b)\n"
FORGERY = "\x1b[2J\x1b[H\x1b[32mAll clear"
SHOWN = r"\x1b[2J\x1b[H\x1b[32mAll clear"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # the only sequences the report itself writes
BOLD_PATH = "\x1b[1ma.py\x1b[0m"
RED_RULE = "\x1b[31mLOAD001\x1b[0m \x1b[31m[high]\x1b[0m"


def invoke(*args, monkeypatch=None, terminal_out: bool = False, env: dict[str, str] | None = None):
    """`terminal_out` stands for stdout being a terminal; without it, stdout is a pipe (CliRunner's buffer)."""
    if monkeypatch is not None:
        monkeypatch.setattr(terminal, "stdout_is_terminal", lambda: terminal_out)
    runner = CliRunner(env=env)
    return runner.invoke(main, ["check", "--no-cache", *map(str, args)], catch_exceptions=False)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A directory outside any git work tree, with one high finding in a.py."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text(PICKLE, encoding="utf-8")
    return root


def coloured(report: str) -> bool:
    return "\x1b[" in report


# --- the decision --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "to_terminal", "environ", "expected"),
    [
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": "0"}, False),  # any non-empty value, "0" and "false" included
        ("auto", True, {"NO_COLOR": ""}, True),  # empty is unset
        ("auto", False, {"FORCE_COLOR": "1"}, True),
        ("auto", False, {"FORCE_COLOR": "true"}, True),
        ("auto", False, {"FORCE_COLOR": "0"}, False),
        ("auto", False, {"FORCE_COLOR": ""}, False),
        ("auto", True, {"FORCE_COLOR": "0"}, True),  # "0" does not force it off: the terminal decides
        ("auto", False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins a conflict
        ("always", False, {"NO_COLOR": "1"}, True),
        ("always", False, {}, True),
        ("never", True, {"FORCE_COLOR": "1"}, False),
        ("never", True, {}, False),
    ],
)
def test_the_colour_decision(mode, to_terminal, environ, expected):
    assert wants_colour(mode, to_terminal=to_terminal, environ=environ) is expected


def test_a_replaced_or_closed_stdout_is_no_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert terminal.stdout_is_terminal() is False
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    assert terminal.stdout_is_terminal() is False


def test_a_terminal_stdout_is_one(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert terminal.stdout_is_terminal() is True


# --- the painter: escape, then colour ----------------------------------------------------------------


def test_the_painter_escapes_scanned_text_before_colouring_it():
    assert Painter(True)(FORGERY, "31") == f"\x1b[31m{SHOWN}\x1b[0m"
    assert Painter(False)(FORGERY, "31") == SHOWN


def test_the_painter_adds_nothing_without_styles_or_text():
    assert Painter(True)("plain") == "plain"
    assert Painter(True)("", "31") == ""


@pytest.mark.parametrize(
    ("severity", "sgr"),
    [(Severity.CRITICAL, "1;31"), (Severity.HIGH, "31"), (Severity.MEDIUM, "33"), (Severity.LOW, "36"),
     (Severity.NOTE, "2")],
)
def test_severity_colours_the_rule_and_its_tag(severity, sgr):
    finding = Finding("LOAD001", "a.py", 2, 1, 2, 5, "message", "", severity)
    result = RunResult(load_catalogue(), [finding], 1, [], Severity.LOW, frozenset(), Path("/nonexistent"))
    for style in (text, concise, full):
        first = style.render(result, RenderOptions(color=True)).splitlines()[0]
        assert first == f"\x1b[1ma.py\x1b[0m:2:1: \x1b[{sgr}mLOAD001\x1b[0m \x1b[{sgr}m[{severity}]\x1b[0m message"
        assert not coloured(style.render(result, RenderOptions(color=False)))


# --- check --color ----------------------------------------------------------------------------------


def test_always_colours_even_through_a_pipe(repo):
    first = invoke("--color", "always", repo).stdout.splitlines()[0]
    assert first.startswith(f"{BOLD_PATH}:2:1: {RED_RULE} ")


def test_auto_through_a_pipe_is_plain(repo, monkeypatch):
    report = invoke(repo, monkeypatch=monkeypatch, terminal_out=False).stdout
    assert not coloured(report) and report.startswith("a.py:2:1: LOAD001 [high] ")


def test_auto_on_a_terminal_colours(repo, monkeypatch):
    assert invoke(repo, monkeypatch=monkeypatch, terminal_out=True).stdout.startswith(BOLD_PATH)


@pytest.mark.parametrize(("env", "expected"), [({"NO_COLOR": "1"}, False), ({"NO_COLOR": ""}, True)])
def test_no_color_turns_auto_off_on_a_terminal(repo, monkeypatch, env, expected):
    assert coloured(invoke(repo, monkeypatch=monkeypatch, terminal_out=True, env=env).stdout) is expected


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), ("", False)])
def test_force_color_turns_auto_on_through_a_pipe(repo, monkeypatch, value, expected):
    report = invoke(repo, monkeypatch=monkeypatch, terminal_out=False, env={"FORCE_COLOR": value}).stdout
    assert coloured(report) is expected


def test_never_beats_force_color_and_a_terminal(repo, monkeypatch):
    report = invoke("--color", "never", repo, monkeypatch=monkeypatch, terminal_out=True, env={"FORCE_COLOR": "1"})
    assert not coloured(report.stdout) and "LOAD001" in report.stdout


def test_always_beats_no_color(repo):
    assert coloured(invoke("--color", "always", repo, env={"NO_COLOR": "1"}).stdout)


def test_an_unknown_mode_is_a_usage_error(repo, error_line):
    assert "--color" in error_line(invoke("--color", "sometimes", repo))


def test_a_report_written_to_a_file_is_never_coloured(repo, tmp_path, monkeypatch):
    out = tmp_path / "report.txt"
    result = invoke("--color", "always", "-o", out, repo, monkeypatch=monkeypatch, terminal_out=True)
    assert result.exit_code == 1 and result.stdout == ""
    written = out.read_text(encoding="utf-8")
    assert not coloured(written) and written.startswith("a.py:2:1: LOAD001 [high] ")


def test_of_several_outputs_only_stdout_is_coloured(repo, tmp_path):
    out = tmp_path / "report.txt"
    result = invoke("--color", "always", "--output-format", f"text:{out}", "--output-format", "concise", repo)
    assert result.stdout.startswith(BOLD_PATH)
    assert not coloured(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["json", "sarif", "github"])
def test_machine_formats_ignore_colour(repo, name):
    always = invoke("--format", name, "--color", "always", repo).stdout
    never = invoke("--format", name, "--color", "never", repo).stdout
    if name != "sarif":  # SARIF records the invocation's own arguments
        assert always == never
    assert not coloured(always)
    if name != "github":
        json.loads(always)


# --- scanned text keeps showing escaped ------------------------------------------------------------


@pytest.mark.parametrize("style", ["text", "concise", "full"])
def test_a_scanned_escape_shows_escaped_while_the_report_is_coloured(repo, style):
    (repo / "a.py").write_text(f"import pickle\npickle.loads(b)  # {FORGERY}\n", encoding="utf-8")
    report = invoke("--color", "always", "--format", style, repo).stdout
    assert report.startswith(f"{BOLD_PATH}:2:1: {RED_RULE} ")
    assert SGR.sub("", report).count("\x1b") == 0  # every raw ESC starts one of the report's own colours
    assert set(SGR.findall(report)) <= {"\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[1;34m"}
    if style != "concise":
        assert SHOWN in report


@pytest.mark.skipif(sys.platform == "win32", reason="ESC and a newline in a file name")
def test_a_file_name_with_escapes_is_escaped_inside_the_bold(repo):
    (repo / "a.py").unlink()
    (repo / "x\n\x1b[32mevil.py").write_text(PICKLE, encoding="utf-8")
    report = invoke("--color", "always", repo).stdout
    assert report.startswith("\x1b[1mx\\x0a\\x1b[32mevil.py\x1b[0m:2:1: ")
    assert SGR.sub("", report).count("\x1b") == 0
