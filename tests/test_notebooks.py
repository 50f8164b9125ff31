"""Notebooks: code cells analysed, magics skipped, locations on the real .ipynb line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo-ml-repo" / "notebooks" / "explore.ipynb"
CATALOGUE = load_catalogue()
# Advisory rules report candidates that only a repository scan settles (see project.py).
ANALYZER = Analyzer(CATALOGUE, frozenset(r.id for r in CATALOGUE.rules.values() if not any(m.package for m in r.calls)))


def notebook(*cells: tuple[str, str], indent: int | None = 1, as_string: bool = False) -> bytes:
    built = []
    for kind, text in cells:
        source = text if as_string else text.splitlines(keepends=True)
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        built.append(cell)
    return (json.dumps({"cells": built, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=indent) + "\n").encode()


def located(data: bytes) -> list[tuple]:
    raw = data.decode().split("\n")
    out = []
    for f in ANALYZER.analyze("nb.ipynb", data).findings:
        text = raw[f.line - 1][f.column - 1:f.end_column - 1] if f.line == f.end_line else None
        cell, line = (f.cell.cell, f.cell.line) if f.cell is not None else (None, None)
        out.append((f.rule_id, cell, line, f.suppressed, text))
    return sorted(out, key=lambda item: (item[1] or 0, item[2] or 0))


def test_demo_notebook_findings_land_on_the_ipynb_lines():
    assert located(DEMO.read_bytes()) == [
        ("LOAD001", 3, 2, False, "pickle.load(fh)"),
        ("LOAD003", 5, 2, True, 'torch.load(\\"legacy.pt\\")'),
        ("LOAD003", 5, 3, False, 'torch.load(\\"other.pt\\", map_location=\\"cpu\\")'),
    ]


def test_text_output_names_cell_and_line(cli):
    result = cli("check", DEMO)
    assert "explore.ipynb:cell 3:line 2:13: LOAD001" in result.output


def test_magics_and_shell_lines_are_skipped_even_inside_blocks():
    data = notebook(("code", "import pickle\nif True:\n    %time x = 1\n    !ls\nobj?\n%%capture\n"),
                    ("code", "%%bash\npickle.loads(b)\n"), ("code", "pickle.loads(b)\n"))
    assert [(rule, cell, line) for rule, cell, line, _, _ in located(data)] == [("LOAD001", 3, 1)]


def test_one_string_sources_and_compact_json():
    for data in (notebook(("code", "import pickle\npickle.loads(b)"), as_string=True),
                 notebook(("code", "import pickle\npickle.loads(b)"), indent=None)):
        [(rule, cell, line, _, text)] = located(data)
        assert (rule, cell, line) == ("LOAD001", 1, 2)
        assert text is None or text.startswith("pickle.loads")


@pytest.mark.parametrize(
    "data",
    [b"{not json", b'{"cells": 3}', b"[]", "ünïcode but not json".encode(), b'{"cells": [1, 2]}'],
    ids=["bad-json", "cells-not-list", "not-object", "text", "cells-not-objects"],
)
def test_malformed_notebook_is_one_diagnostic(data):
    [finding] = ANALYZER.analyze("nb.ipynb", data).findings
    assert finding.rule_id == "MLS001" and "not a valid notebook" in finding.message


def test_syntax_error_in_a_cell_points_at_the_cell():
    data = notebook(("markdown", "# title"), ("code", "import pickle\n"), ("code", "def f(:\n    pickle.loads(b)\n"))
    [finding] = ANALYZER.analyze("nb.ipynb", data).findings
    assert finding.rule_id == "MLS001"
    assert (finding.cell.cell, finding.cell.line) == (3, 1)


def test_notebooks_are_discovered(cli, tmp_path):
    (tmp_path / "a.ipynb").write_bytes(notebook(("code", "import torch\ntorch.load(p)\n")))
    result = cli("check", tmp_path)
    assert "a.ipynb:cell 1:line 2:1: LOAD003" in result.output


def test_a_lone_surrogate_in_a_cell_hides_nothing():
    # json.dumps writes the lone surrogate as a `\ud800` escape; the cell reads it as U+FFFD, one code
    # point for one, so the cell still parses and the columns still land on the JSON text.
    data = notebook(("code", "import pickle\nx = 'a\ud800'; pickle.loads(x)\n"), ("code", "pickle.loads(b)\n"))
    assert located(data) == [("LOAD001", 1, 2, False, "pickle.loads(x)"), ("LOAD001", 2, 1, False, "pickle.loads(b)")]
