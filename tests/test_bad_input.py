"""Hostile or broken input: one clear MLS001 per file, the run goes on, nothing executes."""

from __future__ import annotations

import pytest

from mllint_sec.analysis import file_analyzer as analyze
from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.python import decode as source

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules))


def run(data: bytes):
    return [(f.rule_id, f.line, f.message) for f in ANALYZER.analyze("f.py", data).findings]


@pytest.mark.parametrize(
    ("data", "line", "fragment"),
    [
        (b"import pickle\x00\npickle.loads(b)\n", 1, "NUL bytes"),
        (b"import pickle\ns = '\xff'\npickle.loads(b)\n", 2, "cannot decode file as utf-8"),
        (b"# -*- coding: klingon -*-\nimport pickle\npickle.loads(b)\n", 1, "invalid encoding declaration"),
        (b'import pickle\nprint "x"\npickle.loads(b)\n', 2, "Python 2 code?"),
        (b"import pickle\ndef f(:\n    pickle.loads(b)\n", 2, "syntax error"),
        (b"import pickle\nx = (" + b"'a' " * 3100 + b")\npickle.loads(x)\n", None, "libcst cannot parse"),
    ],
    ids=["nul", "bad-utf8", "bad-cookie", "python2", "syntax", "concat-limit"],
)
def test_one_diagnostic_per_broken_file(data, line, fragment):
    found = run(data)
    assert len(found) == 1
    rule, at, message = found[0]
    assert rule == "MLS001"
    assert line is None or at == line  # None: libcst's own location, not asserted
    assert fragment in message


def test_declared_encodings_and_bom_are_honoured():
    latin = b"# -*- coding: latin-1 -*-\nimport pickle\ns = '\xe9'\npickle.loads(b)\n"
    bom = b"\xef\xbb\xbfimport pickle\npickle.loads(b)\n"
    assert [r for r, *_ in run(latin)] == ["LOAD001"]
    assert [(r, line) for r, line, _ in run(bom)] == [("LOAD001", 2)]


def test_too_large_file(monkeypatch):
    monkeypatch.setattr(source, "MAX_FILE_BYTES", 100)
    assert "larger than" in run(b"import pickle\n" + b"#" * 200 + b"\n")[0][2]


@pytest.mark.parametrize(
    "text",
    [
        "x = (" + "'X' + " * 20000 + "'X')\n",
        "x = " + "[" * 3000 + "]" * 3000 + "\n",
        "x = " + "-" * 100000 + "1\n",
    ],
    ids=["binop-chain", "nested-lists", "unary-chain"],
)
def test_pathological_nesting_is_bounded(monkeypatch, text):
    monkeypatch.setattr(analyze, "PATHOLOGICAL_TIMEOUT", 1.0)
    found = run(("import pickle\n" + text + "pickle.loads(x)\n").encode())
    assert [r for r, *_ in found] == ["MLS001"]
    assert "nesting too deep" in found[0][2]


def test_moderate_nesting_is_analysed_normally():
    text = "import pickle\nx = (" + "'X' + " * 300 + "'X')\ny = " + "[" * 60 + "]" * 60 + "\npickle.loads(x)\n"
    assert not source.looks_pathological(text)
    assert [(r, line) for r, line, _ in run(text.encode())] == [("LOAD001", 4)]


def test_scanning_never_executes_the_file(tmp_path):
    marker = tmp_path / "executed"
    code = f"import pickle, pathlib\npathlib.Path({str(marker)!r}).write_text('x')\npickle.loads(b)\n"
    (tmp_path / "evil.py").write_text(code)
    from click.testing import CliRunner

    from mllint_sec.cli import main

    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert result.exit_code == 1 and "LOAD001" in result.output
    assert not marker.exists()


def test_syntax_error_in_one_file_does_not_hide_findings_in_another(tmp_path):
    (tmp_path / "a_broken.py").write_text("import pickle\ndef f(:\n    pickle.loads(b)\n")
    (tmp_path / "b_ok.py").write_text("import torch\ntorch.load('m.pt')\n")
    from click.testing import CliRunner

    from mllint_sec.cli import main

    result = CliRunner().invoke(main, ["check", str(tmp_path)])
    assert "a_broken.py:2" in result.output and "MLS001" in result.output
    assert "b_ok.py:2:1: LOAD003" in result.output
