"""Analysis stays linear in the file, and a file over its time budget is reported and skipped.

How the time grows with a hostile file's size is measured by bench/hostile.py, not here
(no test depends on the machine's speed): these tests check what keeps the work linear,
and that the budget's MLS001 path works, with a budget no analysis can meet.
"""

from __future__ import annotations

import json

from mllint_sec.python import decode, resolve, scopes

PAIRS = "import pickle\npickle.loads(x)\n"
OVER_BUDGET = "not analysed: over the time budget (0.001 s)"


def test_a_name_imported_many_times_resolves_to_its_distinct_targets():
    # Every call used to carry one target per binding of the name: 10,000 pairs, 10,000^2 targets.
    module = decode.parse(PAIRS * 500 + "import dill as pickle\npickle.loads(x)\n")
    facts = scopes.collect(module)
    for site in (facts.calls[0], facts.calls[-1]):
        assert resolve.callee_targets(site.node.func, site.scope) == ("pickle.loads", "dill.loads")


def test_every_cell_of_a_notebook_that_imports_again_is_reported(scan, write, tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": ["import pickle\n", "pickle.loads(blob)\n"]}
    notebook = {"cells": [cell] * 300, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    write(tmp_path, {"cells.ipynb": json.dumps(notebook)})  # one line: the cells' lines are counted once
    report, _ = scan("--no-cache", "--select", "LOAD001", tmp_path)
    found = [(f["line"], f["column"], f["cell"]) for f in report["findings"]]
    text = (tmp_path / "cells.ipynb").read_text()
    assert [cell for _, _, cell in found] == list(range(1, 301))
    assert all(line == 1 and text[column - 1:].startswith("pickle.loads(blob)") for line, column, _ in found)


def _rules_by_file(report) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["path"], []).append((finding["rule_id"], finding["message"]))
    return found


def test_a_file_over_its_time_budget_is_reported_and_the_run_goes_on(scan, write, tmp_path):
    write(tmp_path, {"first.py": PAIRS * 500, "second.py": PAIRS * 500})
    report, code = scan("--file-timeout", "0.001", tmp_path)
    assert code == 1
    assert _rules_by_file(report) == {
        "first.py": [("MLS001", OVER_BUDGET)],
        "second.py": [("MLS001", OVER_BUDGET)],
    }
    # The time an analysis takes depends on the machine, so that result was not cached.
    report, _ = scan(tmp_path)
    assert {path: {rule for rule, _ in found} for path, found in _rules_by_file(report).items()} == {
        "first.py": {"LOAD001"},
        "second.py": {"LOAD001"},
    }
    assert len(report["findings"]) == 1000


def test_the_budget_also_stops_a_file_analysed_in_a_child_process(scan, write, tmp_path):
    nested = "(" * 150 + "1" + ")" * 150  # deeper than decode.DEPTH_BOUND: analysed in a forked child
    write(tmp_path, {"deep.py": f"import pickle\npickle.loads(b)\nx = {nested}\n"})
    report, _ = scan("--no-cache", "--file-timeout", "0.001", tmp_path)
    assert _rules_by_file(report) == {"deep.py": [("MLS001", OVER_BUDGET)]}


def test_the_budget_can_be_configured(scan, write, tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.mllint-sec]\nfile-timeout = 0.001\n", "big.py": PAIRS * 500})
    report, _ = scan("--no-cache", tmp_path)
    assert _rules_by_file(report) == {"big.py": [("MLS001", OVER_BUDGET)]}
    report, _ = scan("--no-cache", "--file-timeout", "0", tmp_path)  # the command line wins; 0: no limit
    assert len(report["findings"]) == 500


def test_an_invalid_budget_is_a_one_line_error(cli, error_line, write, tmp_path):
    for value in ("-1", '"20"', "true", "inf"):
        write(tmp_path, {"pyproject.toml": f"[tool.mllint-sec]\nfile-timeout = {value}\n"})
        assert "'file-timeout' must be a number of seconds" in error_line(cli("check", tmp_path))
    assert "--file-timeout" in error_line(cli("check", "--file-timeout", "-1", tmp_path))
