"""What one file's analysis keeps stays linear in the file: no name is copied per imported name.

`from a.a.(20,000 parts) import n0, ..., n19999` (a 40 KB module, 20,000 names) made 800 MB of
qualified names twice over: once in the scope walk's bindings, once in the recorded imports.
Smaller versions of it are measured here; the whole one is in docs/benchmarks.md.
"""

from __future__ import annotations

import libcst as cst

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.python import scopes
from mllint_sec.python.imports import imported_names

LONG_MODULE = "a." * 3_000 + "b"  # 6 KB: longer than any path, so than any scanned module's name
NAMES = ", ".join(f"n{i}" for i in range(2_000))


def _import_qnames(text: str) -> list[str]:
    facts = scopes.collect(cst.parse_module(text))
    return [b.qname for bindings in facts.scope.bindings.values() for b in bindings if b.qname]


def test_a_long_module_is_not_copied_into_each_imported_name():
    qnames = _import_qnames(f"from {LONG_MODULE} import {NAMES}\n")
    assert len(qnames) == 2_000
    assert max(map(len, qnames)) < 64
    assert len({q.rpartition(".")[0] for q in qnames}) == 1  # one module, named once


def test_two_long_modules_stay_apart():
    other = "c." * 3_000 + "d"
    first, second = _import_qnames(f"from {LONG_MODULE} import x\nfrom {other} import y\n")
    assert first.rpartition(".")[0] != second.rpartition(".")[0]


def test_an_ordinary_module_keeps_its_name():
    assert _import_qnames("from torch.serialization import load\n") == ["torch.serialization.load"]


def test_a_long_module_names_no_loader():
    # `from <long>.pickle import loads` could only be a catalogued name if the module were `pickle`.
    catalogue = load_catalogue()
    analyzer = Analyzer(catalogue, catalogue.defaults())
    text = f"import pickle\nfrom {LONG_MODULE} import loads\nloads(x)\npickle.loads(x)\n"
    assert [(f.rule_id, f.line) for f in analyzer.analyze("a.py", text.encode()).findings] == [("LOAD001", 4)]


def test_recorded_imports_of_a_hostile_line_stay_linear():
    text = f"from {LONG_MODULE} import {NAMES}\n"
    names = imported_names(text)
    assert sum(map(len, names)) <= 4 * len(text) + (1 << 16) + len(LONG_MODULE)
    assert LONG_MODULE in names
