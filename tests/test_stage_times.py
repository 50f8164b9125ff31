"""The runner records where a run's time goes (RunResult.stage_times; bench/run.py --stages prints it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mllint_sec.core import stage_times
from mllint_sec.engine import runner
from mllint_sec.engine.runner import Options, run

ROOT = Path(__file__).resolve().parent.parent
RUN_STAGES = {"setup", "discovery", "files (wall)", "project facts", "cross-module", "ordering"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for n in range(4):
        (tmp_path / f"load{n}.py").write_text("import pickle\n\ndef f(b):\n    return pickle.loads(b)\n")
        (tmp_path / f"plain{n}.py").write_text("import os\nprint(os.getcwd())\n")
    return tmp_path


def test_a_cold_run_times_every_stage(tree):
    times = run(Options(paths=[tree], use_cache=False, jobs=1)).stage_times
    assert RUN_STAGES | {"prefilter", "parse", "files"} <= set(times)
    assert all(seconds >= 0 for seconds in times.values())
    assert times["parse"] > 0 and times["files"] >= times["parse"]


def test_worker_processes_bring_their_stage_times_back(tree, monkeypatch):
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 2)
    times = run(Options(paths=[tree], use_cache=False, jobs=2)).stage_times
    assert times.get("parse", 0) > 0 and times.get("files", 0) > 0


def test_a_warm_run_analyses_nothing(tree, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    run(Options(paths=[tree], jobs=1, cache_dir=cache))
    times = run(Options(paths=[tree], jobs=1, cache_dir=cache)).stage_times
    assert set(times) >= RUN_STAGES
    assert not {"prefilter", "parse", "files"} & set(times)


def test_counters_start_from_zero_each_run(tree):
    stage_times.add("parse", 0.0)  # a huge leftover (since the clock's zero) from outside any run
    times = run(Options(paths=[tree], use_cache=False, jobs=1)).stage_times
    assert times["parse"] < 60


def test_bench_stages_script_prints_the_stages(tree, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "stages.py"), "check", "--exit-zero", "--jobs", "1", "--format", "json",
         "-o", str(home / "out.json"), str(tree)],
        capture_output=True, text=True, timeout=60, check=False,
        env={"XDG_CACHE_HOME": str(home / "cache"), "XDG_CONFIG_HOME": str(home / "config"), "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["files_scanned"] == 8
    assert {"analysis", "parse", "discovery"} <= set(report["stages"])
    assert report["total"] >= report["report"] >= 0
