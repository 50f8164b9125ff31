"""`# mllint-sec: ignore[RULE] -- reason` comments: what they suppress, how they are reported, MLS002."""

from __future__ import annotations

import pytest

from mllint_sec.catalogue.loading import load_catalogue


@pytest.fixture
def mls002():
    if "MLS002" not in load_catalogue().rules:
        pytest.skip("rules/engine/unused-suppression.toml (MLS002) is not in the catalogue yet")


def findings(report, rule_id):
    return [f for f in report["findings"] if f["rule_id"] == rule_id]


def one_file(write, tmp_path, text):
    write(tmp_path / "tree", {"a.py": text})
    return tmp_path / "tree"


# --- what a suppression covers -------------------------------------------------


def test_suppression_on_the_finding_line(scan, write, tmp_path):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003]\n')
    report, code = scan("--select", "LOAD003", root)
    [finding] = report["findings"]
    assert finding["suppressed"] is True
    assert finding["suppression_reason"] is None
    assert report["summary"]["findings"] == 0
    assert report["summary"]["suppressed"] == 1
    assert report["summary"]["failing"] == 0
    assert code == 0


def test_text_output_hides_suppressed_findings_unless_asked(cli, write, tmp_path):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003]\n')
    hidden = cli("check", "--select", "LOAD003", root)
    assert hidden.exit_code == 0
    assert hidden.stdout == "No findings in 1 file; 1 suppressed.\n"
    shown = cli("check", "--select", "LOAD003", "--show-suppressed", root)
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("a.py:2:1: LOAD003 [medium] ")  # a repository path: medium (flows/origins.py)
    assert lines[0].endswith(" (suppressed)")
    assert lines[-1] == "No findings in 1 file; 1 suppressed."


def test_summary_counts_active_and_suppressed(cli, write, tmp_path):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("a")  # mllint-sec: ignore[LOAD003]\ntorch.load("b")\n')
    result = cli("check", "--select", "LOAD003", root)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "Found 1 finding (1 medium) in 1 file (1 file scanned); 1 suppressed."
    assert "a.py:3:1: LOAD003" in result.stdout
    assert "a.py:2:1:" not in result.stdout


def test_reason_after_double_dash_is_kept(scan, write, tmp_path):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003] -- our own checkpoint, sha256-pinned\n')
    report, _ = scan("--select", "LOAD003", root)
    [finding] = report["findings"]
    assert finding["suppressed"] is True
    assert finding["suppression_reason"] == "our own checkpoint, sha256-pinned"


def test_first_line_of_a_multiline_statement_covers_later_lines(scan, write, tmp_path):
    root = one_file(write, tmp_path, (
        "import torch\n"
        "\n"
        "def restore(path):\n"
        "    # a leading comment is not part of the statement\n"
        "    state = merge(  # mllint-sec: ignore[LOAD003] -- trusted\n"
        "        defaults,\n"
        "        torch.load(path),\n"
        "    )\n"
        "    return state\n"
    ))
    report, code = scan("--select", "LOAD003", root)
    [finding] = report["findings"]
    assert finding["line"] == 7
    assert finding["suppressed"] is True
    assert finding["suppression_reason"] == "trusted"
    assert code == 0


def test_middle_line_of_a_multiline_statement_covers_only_its_own_line(scan, write, tmp_path):
    root = one_file(write, tmp_path, (
        "import torch\n"
        "state = merge(\n"
        "    torch.load(a),  # mllint-sec: ignore[LOAD003]\n"
        "    torch.load(b),\n"
        ")\n"
    ))
    report, _ = scan("--select", "LOAD003", root)
    assert [(f["line"], f["suppressed"]) for f in report["findings"]] == [(3, True), (4, False)]


def test_comment_on_the_line_above_does_not_suppress(scan, write, tmp_path):
    root = one_file(write, tmp_path, 'import torch\n# mllint-sec: ignore[LOAD003]\ntorch.load("x.pt")\n')
    report, code = scan("--select", "LOAD003", root)
    [finding] = report["findings"]
    assert finding["suppressed"] is False
    assert code == 1


def test_suppression_for_a_different_rule_does_not_suppress(scan, write, tmp_path):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD001]\n')
    report, code = scan("--select", "LOAD003", root)
    [finding] = report["findings"]
    assert finding["suppressed"] is False
    assert code == 1


def test_several_rules_lowercase_ids_and_bare_ignore(scan, write, tmp_path):
    root = one_file(write, tmp_path, (
        "import pickle, torch\n"
        "a = torch.load(p), pickle.load(f)  # mllint-sec: ignore[LOAD001, LOAD003]\n"
        "b = torch.load(p)  # mllint-sec: ignore[load003]\n"
        "c = torch.load(p), pickle.load(f)  # mllint-sec: ignore\n"
    ))
    report, code = scan("--select", "LOAD001,LOAD003", root)
    assert len(report["findings"]) == 5
    assert all(f["suppressed"] for f in report["findings"])
    assert code == 0


@pytest.mark.parametrize("text", [
    'import torch\ns = "# mllint-sec: ignore[LOAD003]"; torch.load("x.pt")\n',
    'import torch\nx = f("""  # mllint-sec: ignore[LOAD003]\n""", torch.load("x.pt"))\n',
    'import torch\ntorch.load("# mllint-sec: ignore[LOAD003]")\n',
])
def test_marker_inside_a_string_literal_is_not_a_suppression(scan, write, tmp_path, text):
    root = one_file(write, tmp_path, text)
    report, code = scan("--select", "LOAD003", root)
    [finding] = report["findings"]
    assert finding["suppressed"] is False
    assert code == 1


@pytest.mark.parametrize("fail_on", ["low", "note"])
def test_suppressed_findings_never_fail_the_run(cli, write, tmp_path, fail_on):
    root = one_file(write, tmp_path, (
        "import pickle, torch\n"
        'torch.load("x.pt")  # mllint-sec: ignore[LOAD003]\n'
        "pickle.loads(b)  # mllint-sec: ignore[LOAD001] -- fixture data\n"
    ))
    result = cli("check", "--select", "LOAD001,LOAD003,MLS", "--fail-on", fail_on, root)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "No findings in 1 file; 2 suppressed.\n"


# --- MLS002: suppressions that suppress nothing --------------------------------


def test_unused_suppression_is_reported(scan, write, tmp_path, mls002):
    root = one_file(write, tmp_path, "x = 1  # mllint-sec: ignore[LOAD003]\n")
    report, code = scan(root)
    [finding] = report["findings"]
    assert finding["rule_id"] == "MLS002"
    assert finding["line"] == 1
    assert finding["column"] == 8
    assert "LOAD003" in finding["message"]
    assert finding["suppressed"] is False
    assert code == 1  # MLS002 is low, and the default fail-on is low


def test_used_suppression_is_not_reported(scan, write, tmp_path, mls002):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003]\n')
    report, _ = scan(root)
    assert findings(report, "MLS002") == []


def test_partly_unused_suppression_names_only_the_unused_rule(scan, write, tmp_path, mls002):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003, LOAD001]\n')
    report, _ = scan(root)
    [unused] = findings(report, "MLS002")
    assert "LOAD001" in unused["message"] and "LOAD003" not in unused["message"]
    assert findings(report, "LOAD003")[0]["suppressed"] is True


def test_unused_bare_suppression_is_reported(scan, write, tmp_path, mls002):
    root = one_file(write, tmp_path, "x = 1  # mllint-sec: ignore\n")
    report, _ = scan(root)
    assert len(findings(report, "MLS002")) == 1


def test_unknown_rule_in_a_suppression_is_reported(scan, write, tmp_path, mls002):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[NOPE123]\n')
    report, code = scan(root)
    [unused] = findings(report, "MLS002")
    assert "unknown rule" in unused["message"]
    assert "NOPE123" in unused["message"]
    assert findings(report, "LOAD003")[0]["suppressed"] is False
    assert code == 1


def test_suppression_for_a_deselected_rule_is_not_reported(scan, write, tmp_path, mls002):
    root = one_file(write, tmp_path, 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003]\n')
    report, code = scan("--select", "LOAD001,MLS002", root)
    assert report["findings"] == []
    assert code == 0


def test_unused_suppression_not_reported_when_mls002_is_ignored(scan, write, tmp_path, mls002):
    root = one_file(write, tmp_path, "x = 1  # mllint-sec: ignore[LOAD003]\n")
    report, code = scan("--ignore", "MLS002", root)
    assert report["findings"] == []
    assert code == 0
