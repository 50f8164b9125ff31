"""Blanking irrelevant top-level blocks never changes a finding, and keeps every line in place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from mllint_sec.analysis import file_analyzer as analyze
from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.python import slicing

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules))
WORDS = ANALYZER.index.last_words
FILLER = "".join(f"    x{i} = {i}\n" for i in range(10))


def reduce(code: str) -> str | None:
    return slicing.reduce_source(textwrap.dedent(code), WORDS, ANALYZER.index.env_names)


def test_irrelevant_function_becomes_a_stub_with_the_same_line_count():
    code = "import torch\ndef helper():\n" + FILLER + "def restore(p):\n" + FILLER + "    return torch.load(p)\n"
    reduced = reduce(code)
    assert reduced is not None and reduced.count("\n") == code.count("\n")
    assert "def helper(): pass" in reduced and "torch.load(p)" in reduced
    assert reduced.split("\n")[-2] == code.split("\n")[-2]
    cst.parse_module(reduced)


@pytest.mark.parametrize(
    "body",
    [
        "    return tl(p)\n",  # from torch import load as tl
        "    return restore_fn(p)\n",  # module-level alias assigned over several lines
        "    global pickle\n",
        "    os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'\n",
        "    x = 1  # mllint-sec: ignore[LOAD003]\n",
        "    s = f'{pickle.loads(b)}'\n",
    ],
    ids=["import-alias", "module-alias", "global", "env-name", "suppression", "f-string-code"],
)
def test_blocks_that_may_matter_are_kept(body):
    code = (
        "import os, pickle, torch\nfrom functools import partial\nfrom torch import load as tl\n"
        "restore_fn = partial(\n    torch.load,\n)\ndef block(p):\n" + FILLER + body
    )
    reduced = reduce(code)
    assert reduced is None or body.strip() in reduced


def test_fstring_text_at_column_zero_is_not_a_statement():
    code = 'import torch\ndef card(x):\n    text = f"""\n# Title {x}\nfetch this\n"""\n' + FILLER + "def f(p):\n" + FILLER + "    return torch.load(p)\n"
    reduced = reduce(code)
    assert reduced is not None
    cst.parse_module(reduced)


ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(ROOT.glob("mllint_sec/**/*.py")) + sorted(ROOT.glob("tests/*.py")) + sorted(ROOT.glob("fixtures/**/*.py"))


def test_findings_are_identical_with_and_without_slicing(monkeypatch):
    def run() -> list:
        out = []
        for path in SOURCES:
            for f in ANALYZER.analyze(path.name, path.read_bytes()).findings:
                out.append((path.name, f.rule_id, f.line, f.column, f.end_line, f.end_column, f.message))
        return out

    sliced = run()
    monkeypatch.setattr(analyze.slicing, "reduce_source", lambda *args, **kwargs: None)
    assert run() == sliced
