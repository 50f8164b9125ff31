"""A scanned repository cannot forge the report: control characters in its text are shown, not obeyed.

Issue 13 item 6. A comment on a finding's line, a string a message quotes, or a file name
can hold escape sequences (clear the screen, print a green "All clear", set the window
title) or a newline that splits a finding in two. Text and GitHub output show them as
`\\xHH` (mllint_sec/report/escape.py), on a terminal, through a pipe and in `--output`
files; JSON and SARIF are structured and escape them as JSON does.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from click.testing import CliRunner

from mllint_sec.cli import main
from mllint_sec.report.escape import visible

# Everything a terminal could interpret, apart from the line feeds that end the report's own lines.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORGERY = "\x1b[2J\x1b[H\x1b[32mAll clear"
SHOWN = r"\x1b[2J\x1b[H\x1b[32mAll clear"
COMMENT_FILE = f"import pickle\npickle.loads(b)  # {FORGERY}\n"
EVIL_NAME = "x\n\x1b[31mevil.py"
EVIL_SHOWN = r"x\x0a\x1b[31mevil.py"
FINDING = re.compile(r"^\S.*:\d+:\d+: [A-Z]+\d{3} \[(critical|high|medium|low|note)\] ")
needs_posix_names = pytest.mark.skipif(sys.platform == "win32", reason="newline and ESC in a file name")


def invoke(*args, tty: bool = False):
    """`tty=True` is what a terminal gets: click then passes ANSI sequences through instead of stripping them."""
    return CliRunner().invoke(main, [str(arg) for arg in args], color=tty, catch_exceptions=False)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A directory outside any git work tree (discovery walks it)."""
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return root


def assert_no_raw_control(report: str, where: str = "") -> None:
    found = RAW_CONTROL.search(report)
    assert found is None, f"{where}: raw {found.group()!r} at {found.start()}: {report!r}"


def text_reports(root, tmp_path, *args) -> dict[str, str]:
    """The text report as a terminal, a pipe and an `--output` file receive it."""
    out = tmp_path / "report.txt"
    written = invoke("check", "--no-cache", "-o", out, *args, root)
    assert written.exit_code == 1, written.output
    return {
        "tty": invoke("check", "--no-cache", *args, root, tty=True).stdout,
        "pipe": invoke("check", "--no-cache", *args, root).stdout,
        "file": out.read_text(encoding="utf-8"),
    }


# --- the escaping itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", r"\x1b[2J"),
        ("a\nb\rc", r"a\x0ab\x0dc"),
        ("\x00\x07\x08\x0b\x0c\x1f", r"\x00\x07\x08\x0b\x0c\x1f"),
        ("del\x7f", r"del\x7f"),
        ("c1 \x85 \x9b31m \x9d0;t\x9c", r"c1 \x85 \x9b31m \x9d0;t\x9c"),
        ("name\udcff.py", r"name\udcff.py"),  # an undecodable byte kept by os.fsdecode
        ("a\u2028b\u2029", r"a\u2028b\u2029"),
        ("admin\u202e\u2066 ", r"admin\u202e\u2066 "),  # Trojan Source bidi controls
    ],
    ids=["csi", "newline-cr", "c0", "del", "c1", "surrogate", "line-separators", "bidi"],
)
def test_control_characters_are_shown_as_escapes(raw, shown):
    assert visible(raw) == shown
    assert_no_raw_control(visible(raw))
    visible(raw).encode("utf-8")  # always encodable, even from a lone surrogate


def test_ordinary_text_is_unchanged():
    text = "\tx = torch.load(p)  # é 中文 ✓ emoji 🙂 back\\slash \\x1b [not code]"
    assert visible(text) == text


# --- text output ----------------------------------------------------------------------------


def test_a_comment_cannot_erase_the_report_or_print_all_clear(repo, tmp_path):
    (repo / "a.py").write_text(COMMENT_FILE, encoding="utf-8")
    for where, report in text_reports(repo, tmp_path).items():
        assert_no_raw_control(report, where)
        lines = report.splitlines()
        assert FINDING.match(lines[0]) and "LOAD001" in lines[0], (where, lines)
        assert lines[1] == f"    pickle.loads(b)  # {SHOWN}", where
        assert lines[-1].startswith("Found 1 finding"), where


def test_backspaces_and_c1_controls_cannot_overwrite_a_finding(repo, tmp_path):
    # Through a pipe click strips ANSI sequences itself, but not these.
    (repo / "a.py").write_text("import pickle\npickle.loads(b)  #" + "\x08" * 40 + "\x7f ok \x9b2J\n", encoding="utf-8")
    report = invoke("check", "--no-cache", repo).stdout
    assert_no_raw_control(report)
    assert "    pickle.loads(b)  #" + r"\x08" * 40 + r"\x7f ok \x9b2J" in report.splitlines()


@needs_posix_names
def test_a_file_name_cannot_split_a_finding(repo, tmp_path):
    (repo / EVIL_NAME).write_text("import pickle\npickle.loads(b)\n", encoding="utf-8")
    for where, report in text_reports(repo, tmp_path).items():
        assert_no_raw_control(report, where)
        lines = report.splitlines()
        assert len(lines) == 3, (where, lines)  # the finding, its source line, the summary
        assert lines[0].startswith(f"{EVIL_SHOWN}:2:1: LOAD001 [high] "), (where, lines[0])
        assert lines[1] == "    pickle.loads(b)"


def test_quoted_code_in_a_message_is_escaped(repo, tmp_path):
    # The hub id is a string literal whose value (after Python's escapes) sets the terminal title.
    (repo / "h.py").write_text('import torch\ntorch.hub.load("a/b\\x1b]0;pwned\\x07", "m")\n', encoding="utf-8")
    for where, report in text_reports(repo, tmp_path).items():
        assert_no_raw_control(report, where)
        assert r'"a/b\x1b]0;pwned\x07"' in report.splitlines()[0], where


def test_problems_are_escaped(repo):
    # Problems quote paths and file contents; whichever step raises them, the renderers show them escaped.
    from mllint_sec.engine.runner import Options, run
    from mllint_sec.report import github, text

    (repo / "ok.py").write_text("import json\n", encoding="utf-8")
    result = run(Options(paths=[repo], use_cache=False))
    result.problems.append(f"{repo / 'gone'}\x1b[2J\x1b[32m.py: no such file or directory\nAll clear")
    for report in (text.render(result), github.render(result)):
        assert_no_raw_control(report)
        assert r"gone\x1b[2J\x1b[32m.py: no such file or directory\x0aAll clear" in report
        assert len(report.splitlines()) == (2 if report.startswith("warning") else 1)


def test_flow_steps_are_escaped():
    # A flow step names another file and quotes code; its text goes through the same escaping.
    import dataclasses
    from pathlib import Path

    from mllint_sec.engine.runner import Options, run
    from mllint_sec.report import text

    app = Path(__file__).resolve().parent.parent / "fixtures" / "serving-app"
    result = run(Options(paths=[app], use_cache=False))
    flowing = next(f for f in result.findings if f.flow)
    flowing.flow = tuple(dataclasses.replace(step, path="m\n\x1b[2J.py", message=step.message + "\x1b[32m ok") for step in flowing.flow)
    report = text.render(result)
    assert_no_raw_control(report)
    flow_lines = [line for line in report.splitlines() if line.startswith("    flow m\\x0a\\x1b[2J.py:")]
    assert len(flow_lines) == len(flowing.flow) and all(line.endswith(r"\x1b[32m ok") for line in flow_lines)


# --- GitHub annotations ---------------------------------------------------------------------


def github_reports(root, tmp_path) -> dict[str, str]:
    out = tmp_path / "report.github"
    assert invoke("check", "--no-cache", "--format", "github", "-o", out, root).exit_code == 1
    return {
        "tty": invoke("check", "--no-cache", "--format", "github", root, tty=True).stdout,
        "file": out.read_text(encoding="utf-8"),
    }


@needs_posix_names
def test_github_annotations_show_control_characters(repo, tmp_path):
    (repo / "a.py").write_text(COMMENT_FILE, encoding="utf-8")
    (repo / EVIL_NAME).write_text("import pickle\npickle.loads(b)\n", encoding="utf-8")
    (repo / "h.py").write_text('import torch\ntorch.hub.load("a/b\\x1b]0;pwned\\x07", "m")\n', encoding="utf-8")
    for where, report in github_reports(repo, tmp_path).items():
        assert_no_raw_control(report, where)
        lines = report.splitlines()
        assert len(lines) == 3 and all(line.startswith("::error ") for line in lines), (where, lines)
        files = sorted(re.search(r"file=([^,]*),", line)[1] for line in lines)
        # The file property is visible-escaped, then percent-encoded as the actions toolkit does (none needed here).
        assert files == ["a.py", "h.py", EVIL_SHOWN], where
        assert any(r"a/b\x1b]0;pwned\x07" in line for line in lines), where


# --- JSON and SARIF are structured: the characters are escaped by JSON itself, losslessly ------


@needs_posix_names
@pytest.mark.parametrize("output_format", ["json", "sarif"])
def test_structured_formats_escape_control_characters(repo, tmp_path, output_format, schema_validator):
    (repo / "a.py").write_text(COMMENT_FILE, encoding="utf-8")
    (repo / EVIL_NAME).write_text("import pickle\npickle.loads(b)\n", encoding="utf-8")
    out = tmp_path / f"report.{output_format}"
    for report in (
        invoke("check", "--no-cache", "--format", output_format, repo, tty=True).stdout,
        (invoke("check", "--no-cache", "--format", output_format, "-o", out, repo), out.read_text(encoding="utf-8"))[1],
    ):
        assert_no_raw_control(report.rstrip("\n").replace("\n", " "))  # pretty-printing newlines only
        document = json.loads(report)
        if output_format == "json":
            by_path = {f["path"]: f for f in document["findings"]}
            assert set(by_path) == {"a.py", EVIL_NAME}  # lossless: the real name, not a display form
            assert by_path["a.py"]["snippet"] == f"pickle.loads(b)  # {FORGERY}"
        else:
            from test_sarif import schema_errors

            assert schema_errors(schema_validator, document) == []
            results = document["runs"][0]["results"]
            uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
            assert uris == {"a.py", "x%0A%1B%5B31mevil.py"}  # percent-encoded, as a URI must be


# --- errors about a scanned repository's own configuration ------------------------------------


def test_configuration_errors_quoting_the_repository_are_escaped(repo):
    # The scanned repository's pyproject.toml is read; its error quotes the value back on stderr.
    (repo / "pyproject.toml").write_text('[tool.mllint-sec]\nselect = ["\\u001b]0;pwned\\u0007\\u001b[2J"]\n', encoding="utf-8")
    (repo / "a.py").write_text("import json\n", encoding="utf-8")
    result = invoke("check", "--no-cache", repo, tty=True)
    assert result.exit_code == 2
    assert_no_raw_control(result.stderr.rstrip("\n"))
    assert r"\x1b]0;pwned\x07\x1b[2J" in result.stderr
