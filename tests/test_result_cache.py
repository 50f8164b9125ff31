"""What the result cache stores: a file's typed findings and its flow summary, never a
result that depends on the run (an analysis stopped by its time limit)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mllint_sec.core.data_use import DataUse
from mllint_sec.core.file_result import FileResult
from mllint_sec.core.finding import Finding
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.flow_summary import CarriedData, FlowSummary, OutCall, TaintedReturn
from mllint_sec.core.input_level import InputLevel
from mllint_sec.core.notebook_cell import NotebookCell
from mllint_sec.core.severity import Severity
from mllint_sec.core.unsettled import Unsettled
from mllint_sec.engine import cache as result_cache
from mllint_sec.engine.cache import ResultCache
from mllint_sec.engine.runner import Options, run
from mllint_sec.python import decode
from mllint_sec.report import json_report

SERVING = Path(__file__).resolve().parent.parent / "fixtures" / "serving-app"
RULES = frozenset({"LOAD001"})
SECRET = b"k" * 32


def test_every_typed_field_and_the_summary_survive_the_cache(tmp_path):
    steps = (FlowStep(3, 5, 3, 9, "request data enters here", "app/main.py"), FlowStep(4, 1, 4, 20, "reaches `x`"))
    data = CarriedData(DataUse.INFERENCE, InputLevel.TYPED, "`n` has no bound", False, "FastAPI `body`", steps)
    result = FileResult(
        [
            Finding("INPUT002", "nb.ipynb", 7, 2, 7, 30, "request data reaches a model", "    model(x)", Severity.MEDIUM,
                    statement_text="model(x)", suppressed=True, suppression_reason="reviewed",
                    cell=NotebookCell(2, 3, 5), flow=steps),
            Finding("SUP001", "nb.ipynb", 9, 1, 9, 40, "unpinned", "AutoModel.from_pretrained(m)", Severity.HIGH,
                    unsettled=Unsettled(("models/bert",), "torch")),
            Finding("ART001", "nb.ipynb", 1, 1, 1, 1, "dangerous", "", Severity.CRITICAL, whole_file=True),
        ],
        FlowSummary(
            out_calls=(OutCall(("app.inference.predict", ".inference.predict"), 0, data),
                       OutCall(("app.x.y",), "payload", data)),
            returns=(TaintedReturn("read_payload", data),),
            fed=("app.parsing.read_payload",),
        ),
    )
    cache = ResultCache(tmp_path, "catalogue", SECRET)
    key = cache.key(b"content", RULES)
    cache.put(key, result)
    assert cache.get(key, "nb.ipynb") == result
    moved = cache.get(key, "elsewhere/nb.ipynb")
    assert moved is not None and {f.path for f in moved.findings} == {"elsewhere/nb.ipynb"}


def test_an_entry_with_a_value_of_the_wrong_kind_is_not_trusted(tmp_path):
    """Even an authentic entry (one this user's key signed) is read field by field, each type checked."""
    cache = ResultCache(tmp_path, "catalogue", SECRET)
    key = cache.key(b"content", RULES)
    for field, wrong in (("severity", "severe"), ("line", "2"), ("flow", [{"line": 1}]), ("cell", [1, 2, 3])):
        finding = Finding("LOAD001", "a.py", 2, 1, 2, 16, "m", "s", Severity.HIGH)
        setattr(finding, field, wrong)
        cache.put(key, FileResult([finding]))
        assert cache.get(key, "a.py") is None, field


def test_entries_of_the_previous_format_are_never_looked_up(tmp_path, monkeypatch):
    current = ResultCache(tmp_path, "catalogue", SECRET).key(b"content", RULES)
    monkeypatch.setattr(result_cache, "FORMAT", 1)
    assert ResultCache(tmp_path, "catalogue", SECRET).key(b"content", RULES) != current


def test_cross_module_flows_from_cached_summaries_are_identical(tmp_path):
    app = tmp_path / "serving-app"
    shutil.copytree(SERVING, app)
    cache = tmp_path / "cache"

    def report(**options) -> str:
        return json_report.render(run(Options(paths=[app], jobs=1, **options)))

    cold = report(use_cache=False)
    assert '"path": "app/main.py"' in cold  # a step in the calling module
    assert report(cache_dir=cache) == cold
    stored = [json.loads(p.read_bytes().partition(b"\n")[2]) for p in cache.rglob("*.json")]  # after the MAC line
    assert any(entry["summary"] and entry["summary"]["out_calls"] for entry in stored)
    assert report(cache_dir=cache) == cold


def test_an_analysis_stopped_by_its_time_limit_is_reported_but_not_cached(tmp_path, monkeypatch):
    (tmp_path / "slow.py").write_text("import pickle\npickle.loads(b)\n")
    cache = tmp_path / "cache"
    timed_out = (None, TimeoutError("analysis took longer than 5 s"))
    monkeypatch.setattr(decode, "run_guarded", lambda *args, **kwargs: timed_out)
    result = run(Options(paths=[tmp_path / "slow.py"], jobs=1, cache_dir=cache))
    assert [(f.rule_id, f.message) for f in result.findings] == [
        ("MLS001", "expression nesting too deep to analyse: analysis took longer than 5 s")
    ]
    assert not list(cache.rglob("*.json"))
