"""What a file's import statements name (python/imports.py), as the cross-module passes pick files by it."""

from __future__ import annotations

import pytest

from mllint_sec.python.imports import imported_names

CASES = {
    "import": ("import pkg.utils.patches as P\n", ("pkg.utils.patches",)),
    "from-names": ("from pkg.utils.patches import torch_load, other\n",
                   ("pkg.utils.patches.torch_load", "pkg.utils.patches.other", "pkg.utils.patches")),
    "relative": ("from ..utils.patches import torch_load\n", ("..utils.patches.torch_load", "..utils.patches")),
    "package-relative": ("from . import patches\n", (".patches", ".")),
    "parenthesised-first-line": ("from pkg.m import (a,\n    b)\n", ("pkg.m.a", "pkg.m")),
    "indented": ("def f():\n    from pkg import m\n", ("pkg.m", "pkg")),
    "repeated-once": ("import a\nimport a\n", ("a",)),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_imported_names(text, expected):
    assert imported_names(text) == expected


@pytest.mark.parametrize("text", ["importlib = 1\n", "# nothing\n", "fromage import x\n"])
def test_no_import_statement_names_nothing(text):
    assert imported_names(text) == ()


def test_a_long_line_is_read_in_linear_time():
    text = "from " + "a." * 50_000 + "b import " + ", ".join(f"n{i}" for i in range(20_000)) + "\n"
    names = imported_names(text)
    # Every `module.name` would repeat the 100 KB module 20,000 times (2 GB): the names past a budget
    # linear in the text are left out, the module itself is kept.
    assert names[-1] == "a." * 50_000 + "b" and 1 < len(names) < 100
    assert sum(map(len, names)) <= 4 * len(text) + (1 << 16) + len(names[-1])


def test_every_name_of_an_ordinary_long_import_is_kept():
    text = "from pkg.models.loading import " + ", ".join(f"name{i}" for i in range(5_000)) + "\n"
    assert len(imported_names(text)) == 5_001
