"""The text styles: `text` (the default: a finding, its source line, its flow), `concise` (one line per finding),
`full` (a source frame with carets under the finding), and `--quiet` (the findings only) for all three."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.core.severity import Severity
from mllint_sec.engine.runner import RunResult
from mllint_sec.report import concise, full, text
from mllint_sec.report.formats import RenderOptions
from mllint_sec.report.text import SNIPPET_WIDTH

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo-ml-repo"
HEADLINE = re.compile(r"^\S.*?:(?:cell \d+:line )?\d+:\d+: [A-Z]+\d{3} \[(critical|high|medium|low|note)\] \S")
SUMMARY = re.compile(r"^(Found \d+ findings? |No findings in )")
PICKLE = "import pickle\nx = 1\ny = pickle.loads(b)\nz = 2\n"
STYLES = ["text", "concise", "full"]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "repo"
    root.mkdir()
    return root


def check(cli, *args):
    return cli("check", "--no-cache", *args)


def headlines(report: str) -> list[str]:
    return [line for line in report.splitlines() if HEADLINE.match(line)]


def frame(report: str) -> list[str]:
    """The numbered and caret lines of a `full` report."""
    return [line for line in report.splitlines() if re.match(r"^    [ \d]+ \|", line)]


def result_with(finding: Finding, root: Path, problems: list[str] | None = None) -> RunResult:
    return RunResult(load_catalogue(), [finding], 1, problems or [], Severity.LOW, frozenset(), root)


# --- the registry ---------------------------------------------------------------------------------


def test_the_styles_are_formats_and_text_stays_the_default(cli):
    help_text = cli("check", "--help").stdout
    assert "concise" in help_text and "full" in help_text
    assert check(cli, "--format", "text", DEMO).stdout == check(cli, DEMO).stdout


# --- concise --------------------------------------------------------------------------------------


def test_concise_is_one_line_per_finding_then_the_summary(cli):
    report = check(cli, "--format", "concise", DEMO).stdout.splitlines()
    findings = json.loads(check(cli, "--format", "json", DEMO).stdout)["findings"]
    active = [f for f in findings if not f["suppressed"]]
    assert len(headlines("\n".join(report))) == len(active)
    assert report[: len(active)] == headlines("\n".join(report))  # no snippet or flow line between them
    assert SUMMARY.match(report[len(active)])
    assert not any(line.startswith("    ") for line in report)


def test_text_shows_the_snippet_and_flow_lines_concise_leaves_out(cli):
    report = check(cli, DEMO).stdout
    assert "    flow src/demo/train.py:43:16: passed to `resume()`" in report.splitlines()
    assert "    state = torch.load(checkpoint_path, map_location=\"cpu\")" in report.splitlines()
    concise_lines = check(cli, "--format", "concise", DEMO).stdout.splitlines()
    assert not any(line.lstrip().startswith(("flow ", "state = ")) for line in concise_lines)


def test_concise_keeps_the_notebook_cell_and_the_suppression_mark(cli):
    lines = check(cli, "--format", "concise", "--show-suppressed", DEMO).stdout.splitlines()
    assert any(line.startswith("notebooks/explore.ipynb:cell 3:line 2:13: LOAD001 [low] ") for line in lines)
    assert any(line.endswith("(suppressed)") and HEADLINE.match(line) for line in lines)


@pytest.mark.skipif(sys.platform == "win32", reason="a newline in a file name")
def test_a_newline_in_a_file_name_cannot_make_a_concise_finding_two_lines(cli, repo):
    (repo / "x\ny.py").write_text(PICKLE, encoding="utf-8")
    lines = check(cli, "--format", "concise", repo).stdout.splitlines()
    assert lines[0].startswith(r"x\x0ay.py:3:5: LOAD001 [high] ") and len(lines) == 2


# --- full -----------------------------------------------------------------------------------------


def test_full_frames_the_line_with_its_neighbours_and_carets_under_the_columns(cli, repo):
    (repo / "a.py").write_text(PICKLE, encoding="utf-8")
    report = check(cli, "--format", "full", repo).stdout.splitlines()
    assert report[0].startswith("a.py:3:5: LOAD001 [high] ")
    assert report[1:6] == [
        "    2 | x = 1",
        "    3 | y = pickle.loads(b)",
        "      |     ^^^^^^^^^^^^^^^",
        "    4 | z = 2",
        "",
    ]
    assert SUMMARY.match(report[6])


def test_full_at_the_first_and_last_line_shows_no_line_that_is_not_there(cli, repo):
    (repo / "a.py").write_text("import pickle; pickle.loads(b)\n", encoding="utf-8")
    assert frame(check(cli, "--format", "full", repo).stdout) == [
        "    1 | import pickle; pickle.loads(b)",
        "      |                ^^^^^^^^^^^^^^^",
    ]


def test_full_marks_to_the_line_end_when_the_finding_spans_lines(cli, repo):
    (repo / "a.py").write_text("import pickle\nobj = pickle.loads(\n    b,\n)\n", encoding="utf-8")
    lines = frame(check(cli, "--format", "full", repo).stdout)
    assert lines[1:3] == ["    2 | obj = pickle.loads(", "      |       ^^^^^^^^^^^^^"]


def test_full_numbers_align_when_the_next_line_is_wider(cli, repo):
    (repo / "a.py").write_text("import pickle\n" + "\n" * 7 + "pickle.loads(b)\nz = 2\n", encoding="utf-8")
    assert frame(check(cli, "--format", "full", repo).stdout) == [
        "     8 |", "     9 | pickle.loads(b)", "       | ^^^^^^^^^^^^^^^", "    10 | z = 2"]


def test_full_shows_the_flow_steps_after_the_frame(cli):
    report = check(cli, "--format", "full", "--select", "LOAD003", DEMO).stdout.splitlines()
    at = report.index("    43 |         resume(args.resume, model=None)")
    assert report[at + 1] == "       |         " + "^" * len("resume(args.resume, model=None)")
    assert report[at + 3 : at + 5] == ["    flow src/demo/train.py:43:16: passed to `resume()`",
                                       "    flow src/demo/train.py:19:13: `resume()` calls `torch.load` with it"]


def test_full_cuts_a_long_line_and_keeps_the_carets_under_the_finding(tmp_path):
    # Built in memory: scanning a 200,000-character line takes seconds (tests/test_text_snippets.py does it).
    line = "x = [" + ", ".join(map(str, range(20_000))) + "]; y = pickle.loads(b); z = [" + "0, " * 20_000 + "]"
    (tmp_path / "a.py").write_text(f"import pickle\n{line}\n", encoding="utf-8")
    column = line.index("pickle.loads(b)") + 1
    finding = Finding("LOAD001", "a.py", 2, column, 2, column + 15, "m", line, Severity.HIGH)
    shown, carets = frame(full.render(result_with(finding, tmp_path)))[1:3]
    assert shown.startswith("    2 | ...") and shown.endswith("...")
    assert len(shown) <= len("    2 | ") + 3 + SNIPPET_WIDTH + 3
    at = shown.index("pickle.loads(b)")
    assert carets.index("^") == at and carets.count("^") == len("pickle.loads(b)")


def test_full_counts_escapes_tabs_and_wide_characters_as_the_terminal_shows_them(cli, repo):
    (repo / "a.py").write_text('import pickle\nif b:\n\ts = "\x1b中"; pickle.loads(b)\n', encoding="utf-8")
    shown, carets = frame(check(cli, "--format", "full", repo).stdout)[1:3]
    assert shown == '    3 | \ts = "\\x1b中"; pickle.loads(b)'
    # The tab stays a tab, the escape is four columns, the CJK character two.
    assert carets == "      | \t" + " " * len('s = "\\x1b') + "  " + " " * len('"; ') + "^" * 15


def test_full_shows_a_notebook_cell_with_the_cell_numbers(cli, repo):
    cells = [{"cell_type": "markdown", "source": ["# title\n"]},
             {"cell_type": "code", "source": ["%matplotlib inline\n", "import pickle\n",
                                              'obj = pickle.loads(b"\\"x\\"")\n', "print(obj)"]}]
    (repo / "nb.ipynb").write_text(json.dumps({"cells": cells, "nbformat": 4}, indent=1), encoding="utf-8")
    report = check(cli, "--format", "full", repo).stdout
    assert headlines(report)[0].startswith("nb.ipynb:cell 2:line 3:7: LOAD001 ")
    call = 'pickle.loads(b"\\"x\\"")'  # the file's JSON has two characters more for its escaped quotes
    assert frame(report) == ["    2 | import pickle", f'    3 | obj = {call}', "      |       " + "^" * len(call),
                             "    4 | print(obj)"]


def test_full_falls_back_to_the_quoted_line_when_the_file_changed(tmp_path):
    (tmp_path / "a.py").write_text("import pickle\n# edited since the scan\n", encoding="utf-8")
    finding = Finding("LOAD001", "a.py", 2, 1, 2, 16, "m", "pickle.loads(b)", Severity.HIGH)
    report = full.render(result_with(finding, tmp_path))
    assert report.splitlines()[1:3] == ["    pickle.loads(b)", ""]
    missing = Finding("LOAD001", "gone.py", 2, 1, 2, 16, "m", "pickle.loads(b)", Severity.HIGH)
    assert full.render(result_with(missing, tmp_path)).splitlines()[1] == "    pickle.loads(b)"


def test_full_quotes_nothing_for_a_whole_file_finding(tmp_path):
    (tmp_path / "m.pkl").write_bytes(b"\x80\x04cos\nsystem\n")
    finding = Finding("ART001", "m.pkl", 1, 1, 1, 1, "m", "", Severity.CRITICAL, whole_file=True)
    lines = full.render(result_with(finding, tmp_path)).splitlines()
    assert lines[0].startswith("m.pkl:1:1: ART001 [critical] ") and lines[1] == ""


def test_full_frames_a_flow_finding_built_in_memory(tmp_path):
    (tmp_path / "a.py").write_text("a = 1\nb = 2\nc = 3\n", encoding="utf-8")
    finding = Finding("INPUT001", "a.py", 2, 5, 2, 6, "m", "b = 2", Severity.CRITICAL,
                      flow=(FlowStep(1, 1, 1, 2, "from here"),))
    lines = full.render(result_with(finding, tmp_path)).splitlines()
    assert lines[1:6] == ["    1 | a = 1", "    2 | b = 2", "      |     ^", "    3 | c = 3",
                          "    flow a.py:1:1: from here"]


def test_full_leaves_a_notebook_it_cannot_read_to_the_quoted_line(tmp_path):
    (tmp_path / "nb.ipynb").write_text("{not json", encoding="utf-8")
    finding = Finding("LOAD001", "nb.ipynb", 5, 3, 5, 9, "m", "pickle.loads(b)", Severity.HIGH,
                      cell=NotebookCell(1, 1, 1))
    assert full.render(result_with(finding, tmp_path)).splitlines()[1] == "    pickle.loads(b)"


# --- --quiet --------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_quiet_prints_the_findings_only(cli, style):
    quiet = check(cli, "--format", style, "--quiet", "--statistics", DEMO)
    loud = check(cli, "--format", style, "--statistics", DEMO)
    assert quiet.exit_code == loud.exit_code == 1
    assert headlines(quiet.stdout) == headlines(loud.stdout)
    assert not any(SUMMARY.match(line) for line in quiet.stdout.splitlines())
    assert "Statistics" not in quiet.stdout and "Statistics" in loud.stdout
    assert any(SUMMARY.match(line) for line in loud.stdout.splitlines())


@pytest.mark.parametrize("style", STYLES)
def test_quiet_prints_nothing_for_a_clean_run(cli, repo, style):
    (repo / "a.py").write_text("x = 1\n", encoding="utf-8")
    quiet = check(cli, "-q", "--format", style, repo)
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    assert check(cli, "--format", style, repo).stdout.startswith("No findings in 1 file")


def test_quiet_keeps_the_exit_codes(cli, repo):
    (repo / "a.py").write_text(PICKLE, encoding="utf-8")
    assert check(cli, "-q", repo).exit_code == 1
    assert check(cli, "-q", "--exit-zero", repo).exit_code == 0
    assert check(cli, "-q", "--fail-on", "critical", repo).exit_code == 0


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_quiet_drops_the_warnings(cli, tmp_path, monkeypatch):
    (tmp_path / "outside.py").write_text(PICKLE, encoding="utf-8")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.py").write_text(PICKLE, encoding="utf-8")
    os.symlink(tmp_path / "outside.py", tmp_path / "tree" / "link.py")
    monkeypatch.chdir(tmp_path / "tree")
    assert "warning: link.py" in check(cli, "link.py", "a.py").stdout
    assert "warning" not in check(cli, "-q", "link.py", "a.py").stdout


def test_quiet_and_problems_through_the_renderer(tmp_path):
    finding = Finding("LOAD001", "a.py", 2, 1, 2, 16, "m", "", Severity.HIGH)
    result = result_with(finding, tmp_path, problems=["b.py: unreadable"])
    for style in (text, concise, full):
        assert "warning: b.py: unreadable" in style.render(result, RenderOptions()).splitlines()
        quiet = style.render(result, RenderOptions(quiet=True))
        assert "warning" not in quiet and headlines(quiet) == ["a.py:2:1: LOAD001 [high] m"]


def test_quiet_leaves_machine_formats_whole_and_silences_the_summary_they_print(cli, repo, tmp_path):
    (repo / "a.py").write_text(PICKLE, encoding="utf-8")
    assert json.loads(check(cli, "-q", "--format", "json", repo).stdout)["findings"]
    out = tmp_path / "r.sarif"
    assert check(cli, "--format", "sarif", "-o", out, repo).stderr.startswith("Found 1 finding")
    assert check(cli, "-q", "--format", "sarif", "-o", out, repo).stderr == ""


@pytest.mark.parametrize("style", ["concise", "full"])
def test_a_text_style_written_to_a_file_holds_the_summary_so_none_goes_to_stderr(cli, repo, tmp_path, style):
    (repo / "a.py").write_text(PICKLE, encoding="utf-8")
    out = tmp_path / "report.txt"
    result = check(cli, "--format", style, "-o", out, repo)
    assert result.stderr == ""
    assert out.read_text(encoding="utf-8").splitlines()[-1].startswith("Found 1 finding")
