"""The targeted position pass agrees with libcst's PositionProvider."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

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
