"""The `ast` screen (python/screen.py, analysis/screening.py): which qualified names a file's expressions
may stand for, which files libcst still reads, and what a file it drops still tells the run."""

from __future__ import annotations

import json
import textwrap
import warnings

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.analysis.screening import Screening
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.file_result import FileResult
from mllint_sec.core.flow_summary import FlowSummary
from mllint_sec.engine.runner import Options, run
from mllint_sec.python import screen
from mllint_sec.report import json_report

CATALOGUE = load_catalogue()
DEFAULTS = frozenset(CATALOGUE.defaults())


def names(source: str) -> frozenset[str]:
    reading = screen.read(textwrap.dedent(source))
    assert reading is not None
    return reading.names


def analyzer(screened: bool = True, rules: frozenset[str] = DEFAULTS) -> Analyzer:
    return Analyzer(CATALOGUE, rules, summaries=True, screen=screened)


def both(source: str, path: str = "mod.py") -> tuple[FileResult, FileResult]:
    data = textwrap.dedent(source).encode()
    return analyzer(True).analyze(path, data), analyzer(False).analyze(path, data)


# --- what an expression may stand for: every way resolve.py names a callee ------------------------

@pytest.mark.parametrize(("source", "expected"), [
    ("import torch\ntorch.load(f)\n", "torch.load"),
    ("import pickle as pk\npk.loads(b)\n", "pickle.loads"),
    ("from torch import load as tl\ntl(f)\n", "torch.load"),
    ("import torch.serialization\ntorch.serialization.load(f)\n", "torch.serialization.load"),
    ("import os.path as p\np.join\n", "os.path.join"),
    ("import pickle\nloader = pickle.loads\nloader(b)\n", "pickle.loads"),
    # bound before the name it goes through is: the worklist settles it whatever the order
    ("import pickle\nfirst = second\nsecond = third\nthird = pickle\nfirst.loads(b)\n", "pickle.loads"),
    ("import pickle\nloader: object = pickle.loads\n", "pickle.loads"),
    ("import pickle\nif (loader := pickle.loads):\n    loader(b)\n", "pickle.loads"),
    ("import pickle\ngetattr(pickle, 'loads')(b)\n", "pickle.loads"),
    ("import pickle\ngetattr(pickle, 'loads', None)(b)\n", "pickle.loads"),
    ("__import__('pickle.x').loads(b)\n", "pickle.loads"),
    ("import importlib\nimportlib.import_module('pickle').loads(b)\n", "pickle.loads"),
    ("from importlib import import_module as im\nim('pickle').loads(b)\n", "pickle.loads"),
    ("from pickle import *\nloads(b)\n", "pickle.loads"),
    ("import functools, torch\nf = functools.partial(torch.load, weights_only=False)\nf(p)\n", "torch.load"),
    ("import pickle\nclass U(pickle.Unpickler):\n    pass\n", "pickle.Unpickler"),
    ("from .helpers import prepare\nprepare(x)\n", ".helpers.prepare"),
    ("from . import helpers\nhelpers.prepare(x)\n", ".helpers.prepare"),
    ("from .. import helpers\nhelpers\n", "..helpers"),
    # a name bound in one function and used in another: the screen does not tell scopes apart (a superset)
    ("def a():\n    import pickle as p\ndef b():\n    p.loads(x)\n", "pickle.loads"),
    # a deleted name is a use to libcst's walk (a value reference of an unconditional loader)
    ("from pickle import loads\ndel loads\n", "pickle.loads"),
    # f-string and annotation code is code
    ("import pickle\nf'{pickle.loads(b)}'\n", "pickle.loads"),
    ("import torch\ndef f(x: torch.Tensor): pass\n", "torch.Tensor"),
])
def test_a_name_resolve_py_gives_is_among_the_screens(source, expected):
    assert expected in names(source)


@pytest.mark.parametrize(("source", "absent"), [
    ("import torch, json\njson.load(f)\ntorch.zeros(1)\n", "torch.load"),
    ("import torch\ntext = 'torch.load(path)'  # torch.load(path)\n", "torch.load"),
    ("import pickle\ngetattr(pickle, name)(b)\n", "pickle.loads"),  # not a literal: resolve.py names nothing
    ("import pickle\ngetattr(pickle, f'loads')(b)\n", "pickle.loads"),
    ("from .pickle import *\nloads(b)\n", "pickle.loads"),  # relative star imports name nothing
    # a conditional or a container is not followed by resolve.py: the name bound to it stands for nothing
    ("import pickle\nloader = pickle if fast else None\nloader.loads(b)\n", "pickle.loads"),
    ("import pickle\nx = [pickle][0]\nx.loads(b)\n", "pickle.loads"),
    ("def loads(b):\n    pass\nloads(b)\n", "pickle.loads"),
])
def test_a_name_no_expression_can_stand_for_is_not_among_the_screens(source, absent):
    assert absent not in names(source)


def test_calls_are_told_from_other_references():
    reading = screen.read("from . import helpers\nhelpers.prepare(x)\nvalue = helpers.CONSTANT\n")
    assert reading is not None
    assert ".helpers.prepare" in reading.callees and ".helpers.CONSTANT" not in reading.callees
    assert ".helpers.CONSTANT" in reading.names


@pytest.mark.parametrize("source", [
    "print 'python 2'\n",  # libcst reads it, and reports the syntax error as it always has
    "x = (" * 300 + ")" * 300 + "\n",  # CPython's parser refuses the nesting
    # a name that keeps growing through itself (resolve.py leaves it out): not followed
    "import pickle\nm = pickle\nfor part in parts:\n    m = m.child\n",
])
def test_the_screen_gives_up_rather_than_guess(source):
    assert screen.read(source) is None


def test_an_invalid_escape_in_scanned_code_warns_nobody():
    """CPython's compiler warns of `"\\d"` (an error under -W error); the scanned code is not ours to warn of."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reading = screen.read('import re\nre.compile("\\d")\n')
    assert reading is not None and "re.compile" in reading.callees


def test_ten_thousand_aliases_bound_last_first_settle_in_linear_work():
    lines = ["import pickle", *(f"a{n} = a{n - 1}" for n in range(10_000, 0, -1)), "a0 = pickle", "a10000.loads(b)"]
    reading = screen.read("\n".join(lines) + "\n")
    assert reading is not None and "pickle.loads" in reading.names


def test_may_match_looks_at_calls_wildcards_and_base_classes():
    index = analyzer().index
    assert screen.may_match(screen.Reading(frozenset({"torch.load"}), frozenset()), index)
    assert screen.may_match(screen.Reading(frozenset({"transformers.AutoModel.from_config"}), frozenset()), index)
    assert screen.may_match(screen.Reading(frozenset({"pickle.Unpickler"}), frozenset()), index)
    assert not screen.may_match(screen.Reading(frozenset({"torch", "torch.zeros", "json.load"}), frozenset()), index)


# --- the analyzer: which files libcst still reads --------------------------------------------------

NEAR_MISS = """\
import json
import torch

def settings(path):
    with open(path) as f:
        return json.load(f)
"""


def test_a_file_that_names_the_words_but_no_catalogued_call_is_dropped(monkeypatch):
    parsed = []
    monkeypatch.setattr("mllint_sec.python.decode.parse", parsed.append)
    assert analyzer().analyze("mod.py", NEAR_MISS.encode()) == FileResult(imports=("json", "torch"))
    assert parsed == []  # libcst never saw it


@pytest.mark.parametrize("source", [
    NEAR_MISS + "torch.load(f)\n",  # a finding
    NEAR_MISS + "def restore(p):\n    return torch.load(p, weights_only=True)\n",  # safe, but libcst decides
    NEAR_MISS + "x = 1  # mllint-sec: ignore[LOAD003]\n",  # a suppression comment (MLS002 when unused)
    NEAR_MISS + "import os\nos.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'\n",  # an environment switch
    NEAR_MISS + "from flask import request\ndef view():\n    return model.predict(request.json)\n",  # flows
    NEAR_MISS + "def run(request):\n    return model.predict(request)\n",  # a source word and a sink word
    NEAR_MISS + "x = " + "(" * 120 + "1" + ")" * 120 + "\n",  # hostile nesting: the guarded parse decides
    "print 'python 2'\n" + NEAR_MISS,  # `ast` cannot read it: libcst reports the syntax error as before
])
def test_a_file_the_screen_cannot_clear_is_analysed_as_before(source, monkeypatch):
    verdicts = []
    original = Screening.result

    def recorded(self: Screening, path: str, text: str, code: str) -> FileResult | None:
        verdicts.append(original(self, path, text, code))
        return verdicts[-1]

    monkeypatch.setattr(Screening, "result", recorded)
    screened, unscreened = both(source)
    assert verdicts in ([], [None])  # left to libcst (not even asked for a file that receives request data)
    assert screened == unscreened


def test_without_the_screen_every_admitted_file_is_parsed(monkeypatch):
    monkeypatch.setenv("MLLINT_SEC_NO_SCREEN", "1")
    assert Analyzer(CATALOGUE, DEFAULTS).screening is None
    monkeypatch.setenv("MLLINT_SEC_NO_SCREEN", "0")
    assert Analyzer(CATALOGUE, DEFAULTS).screening is not None
    assert analyzer(False).screening is None


FED = NEAR_MISS + """\
from app import parsing
from .local import helper

def run(model):
    payload = parsing.read_payload()
    helper()
    return model.predict(payload)
"""


def test_a_dropped_file_reports_every_outside_function_it_calls_as_fed():
    """A superset of the `fed` list the full analysis makes (the functions whose results reach a sink)."""
    screened, unscreened = both(FED, "app/worker.py")
    assert unscreened.summary == FlowSummary(fed=("app.parsing.read_payload",))
    assert screened.summary == FlowSummary(fed=(".local.helper", "app.parsing.read_payload"))
    assert screened.findings == unscreened.findings == []


def test_no_fed_list_without_model_sink_rules_or_outside_calls():
    # Only the flow rule into deserializers: its sinks are catalogued calls, which the screen keeps.
    only_loads = frozenset(DEFAULTS - {"INPUT002", "INPUT003", "INPUT004"})
    assert analyzer(True, only_loads).analyze("app/worker.py", FED.encode()).summary is None
    assert analyzer(True).analyze("app/worker.py", NEAR_MISS.encode()).summary is None  # json, torch: libraries
    # a notebook's text has no module for the cross-module pass to resolve
    notebook = {"cells": [{"cell_type": "code", "source": FED, "metadata": {}, "outputs": []}], "metadata": {},
                "nbformat": 4, "nbformat_minor": 5}
    assert analyzer(True).analyze("worker.ipynb", json.dumps(notebook).encode()).summary is None


# --- the run: cross-module flows through a dropped file, cached ----------------------------------------

PARSING_BEFORE = "def read_payload():\n    return {'rows': []}\n"
PARSING_AFTER = "from flask import request\n\ndef read_payload():\n    return request.get_json()['rows']\n"


def test_a_cached_dropped_file_still_takes_part_when_another_file_changes(tmp_path, monkeypatch, write):
    """The screen's answer for worker.py depends on its own text only: its cached entry holds every outside
    function it calls, so when parsing.py starts returning request data, the flow out of it into worker.py's
    model is found from the cache, as a run without the screen (and without the cache) finds it."""
    repo = write(tmp_path / "repo", {"app/__init__.py": "", "app/parsing.py": PARSING_BEFORE, "app/worker.py": FED,
                                     "app/local.py": "def helper():\n    return 1\n"})
    cache = tmp_path / "cache"
    analysed: list[str] = []
    original = Analyzer.analyze

    def counted(self: Analyzer, path: str, data: bytes) -> FileResult:
        analysed.append(path)
        return original(self, path, data)

    monkeypatch.setattr(Analyzer, "analyze", counted)

    def report(**options: object) -> str:
        return json_report.render(run(Options(paths=[repo], jobs=1, **options)))  # type: ignore[arg-type]

    assert '"INPUT' not in report(cache_dir=cache)
    entries = [json.loads(p.read_bytes().partition(b"\n")[2]) for p in cache.rglob("*.json")]  # after the MAC line
    assert [e["summary"]["fed"] for e in entries if e["summary"]] == [[".local.helper", "app.parsing.read_payload"]]
    (repo / "app" / "parsing.py").write_text(PARSING_AFTER)
    analysed.clear()
    warm = report(cache_dir=cache)
    assert analysed == ["app/parsing.py"]  # worker.py came from the cache
    monkeypatch.setenv("MLLINT_SEC_NO_SCREEN", "1")
    assert warm == report(use_cache=False)
    finding = [f for f in json.loads(warm)["findings"] if f["rule_id"].startswith("INPUT")]
    assert [(f["rule_id"], f["path"]) for f in finding] == [("INPUT002", "app/worker.py")]
    assert "returned by `read_payload()` of app/parsing.py" in json.dumps(finding[0]["flow"])


def test_screened_and_unscreened_entries_may_share_the_cache(tmp_path, monkeypatch, write):
    """Either mode's entry of a file gives the same run (the superset `fed` list only adds callers the
    cross-module pass reads again and finds nothing more in)."""
    repo = write(tmp_path / "repo", {"app/__init__.py": "", "app/parsing.py": PARSING_AFTER, "app/worker.py": FED,
                                     "app/local.py": "def helper():\n    return 1\n"})
    reports = []
    for first, second in (("", "1"), ("1", "")):
        cache = tmp_path / f"cache{first}"
        monkeypatch.setenv("MLLINT_SEC_NO_SCREEN", first)
        run(Options(paths=[repo], jobs=1, cache_dir=cache))
        monkeypatch.setenv("MLLINT_SEC_NO_SCREEN", second)
        reports.append(json_report.render(run(Options(paths=[repo], jobs=1, cache_dir=cache))))
    assert reports[0] == reports[1]
    assert '"INPUT002"' in reports[0]
