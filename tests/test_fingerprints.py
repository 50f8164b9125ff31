"""Finding fingerprints: stable across unrelated edits, distinct for distinct findings."""

from __future__ import annotations

TORCH_LOAD = 'import torch\ntorch.load("x.pt")\n'


def fingerprints(scan, root) -> list[str]:
    report, _ = scan("--select", "LOAD003", root)
    return [f["fingerprint"] for f in report["findings"]]


def test_stable_when_unrelated_lines_are_inserted_above(scan, write, tmp_path):
    root = write(tmp_path / "tree", {"a.py": TORCH_LOAD})
    [before] = fingerprints(scan, root)
    write(root, {"a.py": '"""Docstring."""\nimport os\nimport torch\n\nX = 1\n\n\ntorch.load("x.pt")\n'})
    report, _ = scan("--select", "LOAD003", root)
    [finding] = report["findings"]
    assert finding["line"] == 8
    assert finding["fingerprint"] == before


def test_stable_under_whitespace_and_comment_changes(scan, write, tmp_path):
    root = write(tmp_path / "tree", {"a.py": 'import torch\nstate = torch.load("x.pt")\n'})
    [before] = fingerprints(scan, root)
    write(root, {"a.py": 'import torch\nstate = torch.load(\n    "x.pt"\n)  # a comment\n'})
    assert fingerprints(scan, root) == [before]
    write(root, {"a.py": 'import torch\nstate = torch.load("x.pt")  # mllint-sec: ignore[LOAD003]\n'})
    assert fingerprints(scan, root) == [before]


def test_identical_statements_in_one_file_differ(scan, write, tmp_path):
    root = write(tmp_path / "tree", {"a.py": TORCH_LOAD + 'torch.load("x.pt")\n'})
    first, second = fingerprints(scan, root)
    assert first != second


def test_identical_statements_keep_their_fingerprints_when_lines_move(scan, write, tmp_path):
    root = write(tmp_path / "tree", {"a.py": TORCH_LOAD + 'torch.load("x.pt")\n'})
    before = fingerprints(scan, root)
    write(root, {"a.py": 'import torch\n\n# moved down\ntorch.load("x.pt")\n\n\ntorch.load("x.pt")\n'})
    assert fingerprints(scan, root) == before


def test_changing_the_flagged_statement_changes_the_fingerprint(scan, write, tmp_path):
    root = write(tmp_path / "tree", {"a.py": TORCH_LOAD})
    [before] = fingerprints(scan, root)
    write(root, {"a.py": 'import torch\ntorch.load("y.pt")\n'})
    [after] = fingerprints(scan, root)
    assert after != before
    write(root, {"a.py": 'import torch\nstate = torch.load("x.pt")\n'})
    [assigned] = fingerprints(scan, root)
    assert assigned not in (before, after)


def test_same_code_in_two_files_differs(scan, write, tmp_path):
    root = write(tmp_path / "tree", {"a.py": TORCH_LOAD, "pkg/b.py": TORCH_LOAD})
    report, _ = scan("--select", "LOAD003", root)
    assert [f["path"] for f in report["findings"]] == ["a.py", "pkg/b.py"]
    first, second = (f["fingerprint"] for f in report["findings"])
    assert first != second


def test_different_rules_on_one_statement_differ(scan, write, tmp_path):
    root = write(tmp_path / "tree", {"a.py": "import pickle, torch\nx = torch.load(pickle.load(fh))\n"})
    report, _ = scan("--select", "LOAD001,LOAD003", root)
    assert sorted(f["rule_id"] for f in report["findings"]) == ["LOAD001", "LOAD003"]
    assert len({f["fingerprint"] for f in report["findings"]}) == 2


def test_fingerprints_are_unique_across_a_run(scan, write, tmp_path):
    body = TORCH_LOAD + 'torch.load("x.pt")\ntorch.load("x.pt")\ndef f():\n    torch.load("x.pt")\n'
    root = write(tmp_path / "tree", {"a.py": body, "b.py": body})
    prints = fingerprints(scan, root)
    assert len(prints) == 8
    assert len(set(prints)) == 8
