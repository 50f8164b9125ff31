"""The result cache and parallel scanning change speed, never output."""

from __future__ import annotations

import concurrent.futures
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


def _tampered(entry: Path, **changes) -> None:
    """The entry's JSON changed and written back under its original MAC line, as someone without the key could."""
    mac, _, text = entry.read_bytes().partition(b"\n")
    entry.write_bytes(mac + b"\n" + json.dumps({**json.loads(text), **changes}).encode())


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_text("{not json"),
        lambda p: p.write_bytes(b"\x80\x04\x95 pickle bytes are never loaded"),
        lambda p: p.write_text(json.dumps({"format": 1, "key": "someone-else", "findings": []})),
        lambda p: _tampered(p, findings=[{"rule_id": "LOAD001"}]),
        lambda p: _tampered(p, findings="oops"),
    ],
    ids=["not-json", "binary", "foreign-key", "missing-fields", "wrong-type"],
)
def test_corrupt_or_foreign_entries_are_ignored_and_rewritten(tree, tmp_path, damage):
    cache = tmp_path / "cache"
    baseline = report(tree, jobs=1, cache_dir=cache)
    entries = sorted(cache.rglob("*.json"))
    written = {entry: entry.read_bytes() for entry in entries}
    for entry in entries:
        damage(entry)
    assert report(tree, jobs=1, cache_dir=cache) == baseline
    assert {entry: entry.read_bytes() for entry in entries} == written


@pytest.mark.parametrize("forgery", ["plain-entry", "keeps-the-mac-line", "another-files-entry"])
def test_a_forged_entry_under_the_right_key_does_not_hide_a_finding(tmp_path, write, forgery):
    from mllint_sec.engine import cache as result_cache

    evil = write(tmp_path / "evil", {"evil.py": "import pickle\npickle.loads(b)\n"})
    clean = write(tmp_path / "clean", {"clean.py": "import json\njson.loads(b)\n"})
    cache = tmp_path / "cache"
    options = {"jobs": 1, "cache_dir": cache, "select": ["LOAD001"]}
    assert json.loads(report(evil, **options))["summary"]["findings"] == 1
    [entry] = cache.rglob("*.json")  # evil.py's, under the key its bytes give
    if forgery == "plain-entry":  # what an entry looked like before entries were authenticated
        entry.write_text(json.dumps({"format": result_cache.FORMAT, "key": entry.stem, "findings": [], "summary": None}))
    elif forgery == "keeps-the-mac-line":
        _tampered(entry, findings=[])
    else:  # an authentic entry, of a clean file, copied under the key of the evil one
        report(clean, **options)
        [clean_entry] = set(cache.rglob("*.json")) - {entry}
        entry.write_bytes(clean_entry.read_bytes())
    assert json.loads(report(evil, **options))["summary"]["findings"] == 1


def test_the_cache_key_is_created_once_private_and_outside_the_cache(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cache = tmp_path / "cache"
    report(tree, jobs=1, cache_dir=cache)
    secret = tmp_path / "config" / "mllint-sec" / "cache-key"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_bytes()) == 32
    first = secret.read_bytes()
    from mllint_sec.analysis.file_analyzer import Analyzer

    monkeypatch.setattr(Analyzer, "analyze", lambda *a, **k: pytest.fail("analysed despite the cache"))
    report(tree, jobs=1, cache_dir=cache)
    assert secret.read_bytes() == first


def test_entries_written_under_another_key_are_misses(tree, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    baseline = report(tree, jobs=1, cache_dir=cache)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "another-user"))
    from mllint_sec.analysis.file_analyzer import Analyzer

    calls = []
    original = Analyzer.analyze
    monkeypatch.setattr(Analyzer, "analyze", lambda self, *a: calls.append(a) or original(self, *a))
    assert report(tree, jobs=1, cache_dir=cache) == baseline
    assert len(calls) == 41  # every file analysed again


def test_without_a_usable_key_the_run_goes_without_the_cache(tree, tmp_path, monkeypatch):
    blocker = tmp_path / "config"
    blocker.write_text("a file where the configuration directory should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    cache = tmp_path / "cache"
    assert report(tree, jobs=1, cache_dir=cache) == report(tree, jobs=1, use_cache=False)
    assert not cache.exists()


def test_unwritable_cache_directory_only_costs_speed(tree, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    assert report(tree, jobs=1, cache_dir=blocker) == report(tree, jobs=1, use_cache=False)


def test_cache_key_depends_on_content_rules_and_catalogue(tmp_path):
    from mllint_sec.engine.cache import ResultCache

    a = ResultCache(tmp_path, "catalogue-1", b"secret")
    b = ResultCache(tmp_path, "catalogue-2", b"secret")
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


def test_jobs_are_capped_at_the_cpus_the_process_may_use(tree, monkeypatch):
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    asked = []
    pool = concurrent.futures.ProcessPoolExecutor  # imported by the runner when it forks (not for one file)

    def recording(max_workers, **kwargs):
        asked.append(max_workers)
        return pool(min(max_workers, 2), **kwargs)  # the machine is not really forked 64 times

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", recording)
    report(tree, jobs=64, use_cache=False)
    report(tree, use_cache=False)
    assert asked == [2, 2]
