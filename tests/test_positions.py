"""The targeted position pass agrees with libcst's PositionProvider."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.python import positions

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "mllint_sec").glob("*.py")) + sorted((ROOT / "fixtures").rglob("*.py"))
SAMPLE_TYPES = (cst.Call, cst.Arg, cst.Attribute, cst.Name, cst.SimpleStatementLine, cst.If, cst.FunctionDef,
                cst.ClassDef, cst.Comment, cst.With, cst.Subscript)


def _parsable(path: Path) -> bool:
    try:
        cst.parse_module(path.read_text(encoding="utf-8"))
        return True
    except cst.ParserSyntaxError:
        return False


@pytest.mark.parametrize("path", [p for p in SOURCES if p.stat().st_size and _parsable(p)], ids=lambda p: p.name)
def test_ranges_match_position_provider(path):
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [node for node in expected if isinstance(node, SAMPLE_TYPES)]
    assert nodes
    found = positions.ranges(module, nodes)
    for node in nodes:
        want = expected[node]
        assert found[id(node)] == (want.start.line, want.start.column, want.end.line, want.end.column)


def test_crlf_and_tabs():
    module = cst.parse_module("import pickle\r\nif x:\r\n\tpickle.loads(b)  # c\r\n")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [n for n in expected if isinstance(n, (cst.Call, cst.Comment))]
    found = positions.ranges(module, nodes)
    for node in nodes:
        want = expected[node]
        assert found[id(node)] == (want.start.line, want.start.column, want.end.line, want.end.column)


# str.splitlines() also breaks at these; Python's tokenizer, and so libcst's line numbers, does not.
NOT_PYTHON_LINE_BREAKS = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("inside", NOT_PYTHON_LINE_BREAKS, ids=lambda c: f"U+{ord(c):04X}")
def test_snippets_quote_the_line_python_numbers(inside):
    analyzer = Analyzer(load_catalogue(), frozenset({"LOAD001", "MLS001"}))
    text = f"import pickle\n\x0c\n# page{inside}two\npickle.loads(b)\n"
    (finding,) = analyzer.analyze("a.py", text.encode()).findings
    assert (finding.line, finding.snippet) == (4, "pickle.loads(b)")
    (error,) = analyzer.analyze("b.py", f"import pickle  # a{inside}b\npickle.loads(b) +\n".encode()).findings
    assert (error.rule_id, error.line, error.snippet) == ("MLS001", 2, "pickle.loads(b) +")
