"""The result cache and parallel scanning change speed, never output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mllint_sec.engine import runner
from mllint_sec.engine.runner import Options, run
from mllint_sec.report import json_report

LOADS = "import pickle, torch\npickle.loads(b)\ntorch.load(p)  # mllint-sec: ignore[LOAD003] -- trusted\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for i in range(40):
        (root / f"pkg{i % 4}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{i % 4}" / f"m{i}.py").write_text(LOADS if i % 3 else "import json\njson.load(f)\n")
    (root / "broken.py").write_text("import pickle\ndef f(:\n    pickle.loads(b)\n")
    return root


def report(root: Path, **options) -> str:
    return json_report.render(run(Options(paths=[root], **options)))


def test_parallel_and_cached_runs_are_byte_identical(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 2)
    cache = tmp_path / "cache"
    baseline = report(tree, jobs=1, use_cache=False)
    assert json.loads(baseline)["summary"]["findings"] > 20
    assert report(tree, jobs=2, cache_dir=cache) == baseline  # parallel, cold
    assert any(cache.rglob("*.json"))
    assert report(tree, jobs=2, cache_dir=cache) == baseline  # parallel, warm
    assert report(tree, jobs=1, cache_dir=cache) == baseline  # sequential, warm


def test_cache_hit_skips_analysis(tree, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    report(tree, jobs=1, cache_dir=cache)
    from mllint_sec.analysis.file_analyzer import Analyzer

    monkeypatch.setattr(Analyzer, "analyze", lambda *a, **k: pytest.fail("analysed despite the cache"))
    report(tree, jobs=1, cache_dir=cache)


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_text("{not json"),
        lambda p: p.write_bytes(b"\x80\x04\x95 pickle bytes are never loaded"),
        lambda p: p.write_text(json.dumps({"format": 1, "key": "someone-else", "findings": []})),
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "findings": [{"rule_id": "LOAD001"}]})),
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "findings": "oops"})),
    ],
    ids=["not-json", "binary", "foreign-key", "missing-fields", "wrong-type"],
)
def test_corrupt_or_foreign_entries_are_ignored_and_rewritten(tree, tmp_path, damage):
    cache = tmp_path / "cache"
    baseline = report(tree, jobs=1, cache_dir=cache)
    entries = sorted(cache.rglob("*.json"))
    for entry in entries:
        damage(entry)
    assert report(tree, jobs=1, cache_dir=cache) == baseline
    rewritten = json.loads(entries[0].read_text())
    assert rewritten["key"] == entries[0].stem


def test_unwritable_cache_directory_only_costs_speed(tree, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    assert report(tree, jobs=1, cache_dir=blocker) == report(tree, jobs=1, use_cache=False)


def test_cache_key_depends_on_content_rules_and_catalogue(tmp_path):
    from mllint_sec.engine.cache import ResultCache

    a = ResultCache(tmp_path, "catalogue-1")
    b = ResultCache(tmp_path, "catalogue-2")
    rules = frozenset({"LOAD001"})
    assert a.key(b"x", rules) != a.key(b"y", rules)
    assert a.key(b"x", rules) != a.key(b"x", frozenset({"LOAD001", "LOAD003"}))
    assert a.key(b"x", rules) != b.key(b"x", rules)


def test_xdg_cache_home_is_honoured(monkeypatch, tmp_path):
    from mllint_sec.engine.cache import default_directory

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_directory() == tmp_path / "mllint-sec"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_directory() == Path(os.path.expanduser("~")) / ".cache" / "mllint-sec"


def test_a_changed_data_table_misses_the_cache(tree, tmp_path, monkeypatch):
    # model-sinks.toml and pickle-callables.toml shape results as much as the rule files do.
    import shutil

    from mllint_sec.analysis.file_analyzer import Analyzer
    from mllint_sec.catalogue.loading import catalogue_dir

    cache = tmp_path / "cache"
    report(tree, jobs=1, cache_dir=cache)
    tables = tmp_path / "rules"
    shutil.copytree(catalogue_dir(), tables)
    (tables / "model-sinks.toml").write_text((tables / "model-sinks.toml").read_text() + "\n# edited\n")
    monkeypatch.setattr(runner, "catalogue_dir", lambda: tables, raising=False)
    calls = []
    original = Analyzer.analyze
    monkeypatch.setattr(Analyzer, "analyze", lambda self, *a: calls.append(a) or original(self, *a))
    report(tree, jobs=1, cache_dir=cache)
    assert calls
