"""What a one-file run imports: a pre-commit hook runs mllint-sec on each commit, on a few files, and
most of its time is start-up. libcst (about 0.2 s of CPU to import) is needed only to analyse a file
the result cache does not answer; the process pool only for many files.

Each run is a fresh interpreter (`sys.modules` of this test process says nothing), and the test reads
which modules it imported, not how long it took (timings are in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Runs the command line as `mllint-sec check --exit-zero FILE` does, then prints the modules it imported.
PROGRAM = """
import json, sys
from mllint_sec import cli
try:
    cli.main(["check", "--exit-zero", sys.argv[1]])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
# The pool, the manifests' parsing (no manifest here) and the cross-module passes (one module joins nothing).
NEVER_FOR_ONE_FILE = ("concurrent.futures", "multiprocessing", "packaging.requirements", "mllint_sec.analysis.cross_module")
ONLY_ON_A_MISS = ("libcst", "mllint_sec.analysis.file_analyzer")


def _imported(file: Path, home: Path) -> set[str]:
    env = {"XDG_CACHE_HOME": str(home / "cache"), "XDG_CONFIG_HOME": str(home / "config"), "PATH": "/usr/bin:/bin",
           "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(file)], capture_output=True, text=True, env=env,
                          cwd=file.parent, timeout=60, check=False)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[set[str], set[str]]:
    """(modules of a cold run, modules of the warm run after it) on one file with a finding."""
    home = tmp_path_factory.mktemp("home")
    file = home / "train.py"
    # A loader wrapper too: the cross-module pass for wrappers has nothing to join in one file.
    file.write_text("import torch\n\n\ndef restore(path):\n    return torch.load(path)\n")
    return _imported(file, home), _imported(file, home)


def test_a_cold_run_imports_the_analyzer(runs):
    cold, _ = runs
    assert set(ONLY_ON_A_MISS) <= cold


def test_a_warm_run_does_not_import_libcst_or_the_analyzer(runs):
    _, warm = runs
    assert "mllint_sec.cli" in warm  # the run happened
    assert sorted(set(ONLY_ON_A_MISS) & warm) == []


@pytest.mark.parametrize("module", NEVER_FOR_ONE_FILE)
def test_a_one_file_run_never_imports_the_pool_manifests_or_cross_module_passes(runs, module):
    cold, warm = runs
    assert module not in cold and module not in warm
