"""The distributions: an sdist that carries its own tests with every file they read, a wheel with the rules.

Both are built offline, `python -m build --no-isolation` (the `test` extra installs build and a setuptools
that reads PEP 639 licence metadata), from a copy of the source tree so that the build writes nothing into
the checkout. `build` makes the wheel from the unpacked sdist, so the wheel checks cover the sdist too.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# sha256 of the Apache License 2.0 text as the ASF publishes it (apache.org/licenses/LICENSE-2.0.txt).
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

# What tools and earlier builds leave in a working tree: never part of a distribution.
SCRATCH = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
           ".hypothesis", ".mypy_cache", ".ruff_cache", ".import_linter_cache", ".benchmarks")

# Files outside the directories the tests read that the sdist must still carry: the licence and project
# documents, the build configuration, the typing marker, and the hook definitions `pre-commit try-repo` runs.
DOCUMENTS = ("LICENSE", "README.md", "CHANGELOG.md", "SECURITY.md", "pyproject.toml", "MANIFEST.in",
             ".pre-commit-hooks.yaml", "mllint_sec/py.typed")

# `ROOT / "docs"`, `Path(__file__).resolve().parent.parent / "fixtures"`, `ROOT.glob("mllint_sec/**/*.py")`:
# the first path component a test reaches from the project root.
_REACHED = re.compile(r"""(?:\bROOT|\bREPO|\.parent\.parent)\s*(?:/\s*|\.r?glob\(\s*)["']([^"'/*]+)""")


def reached_from_root(source: str) -> set[str]:
    """Top-level files and directories of the project that test source `source` opens."""
    # `.git` is probed only to skip the tests that need the project's git checkout, which no sdist is.
    return {name for name in _REACHED.findall(source) if name != ".git"}


def is_scratch(name: str, patterns: tuple[str, ...] = SCRATCH) -> bool:
    """Whether any component of the /-separated path `name` matches one of `patterns`."""
    return any(Path(part).match(pattern) for part in name.split("/") for pattern in patterns)


def files_under(root: Path, top: str) -> set[str]:
    """Paths, relative to root and /-separated, of the files under root/top (or top itself), scratch left out."""
    start = root / top
    paths = [start] if start.is_file() else [path for path in start.rglob("*") if path.is_file()]
    return {name for name in (path.relative_to(root).as_posix() for path in paths) if not is_scratch(name)}


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path
    sdist_names: frozenset[str]  # relative to the archive's top directory
    wheel_names: frozenset[str]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    pytest.importorskip("build", reason="build is part of the test extra")
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SCRATCH), symlinks=True)
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"),
                             str(source)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    with tarfile.open(sdist) as archive:
        sdist_names = {member.name.split("/", 1)[1] for member in archive.getmembers()
                       if member.isfile() and "/" in member.name}
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = set(archive.namelist())
    return Built(sdist, wheel, frozenset(sdist_names), frozenset(wheel_names))


def test_the_tests_reach_docs_fixtures_and_sources():
    reached = set().union(*(reached_from_root(path.read_text(encoding="utf-8"))
                            for path in (ROOT / "tests").glob("*.py")))
    assert {"docs", "fixtures", "mllint_sec", "tests"} <= reached
    assert ".git" not in reached


def test_reached_from_root_reads_paths_not_names_or_strings():
    assert reached_from_root('SCHEMA = (ROOT / "docs" / "json-schema.json")\n') == {"docs"}
    assert reached_from_root('DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"\n') == {"fixtures"}
    assert reached_from_root('SOURCES = sorted(ROOT.glob("mllint_sec/**/*.py"))\n') == {"mllint_sec"}
    # A scanned snippet's own ROOT variable, a sibling path, a git probe: not files of the project.
    assert reached_from_root('ROOT = "models"\nos.path.join(ROOT, "a.pkl")\nPath(ROOT) / "b.pkl"\n') == set()
    assert reached_from_root('snapshots = Path(__file__).parent / "snapshots"\n') == set()
    assert reached_from_root('skip = not (ROOT / ".git").exists()\n') == set()


def test_sdist_carries_every_file_the_tests_read(built):
    reached = set().union(*(reached_from_root(path.read_text(encoding="utf-8"))
                            for path in (ROOT / "tests").glob("*.py")))
    # rules/ is read through the package (mllint_sec.rules maps onto it), so no test names it.
    wanted = set().union(*(files_under(ROOT, top) for top in reached | {"rules", "tests"}))
    assert wanted - built.sdist_names == set()
    assert {"tests/conftest.py", "tests/snapshots/LOAD001.txt", "docs/json-schema.json",
            "fixtures/demo-ml-repo/src/demo/train.py", "rules/families.toml"} <= wanted


def test_sdist_carries_the_licence_and_project_documents(built):
    assert set(DOCUMENTS) - built.sdist_names == set()


def test_sdist_leaves_scratch_out(built):
    kept = tuple(pattern for pattern in SCRATCH if pattern != "*.egg-info")  # setuptools ships its egg-info
    assert {name for name in built.sdist_names if is_scratch(name, kept)} == set()
    assert is_scratch("tests/__pycache__/conftest.cpython-311.pyc", kept)  # what the filter would catch


def test_unpacked_sdist_collects_every_test_file(built, tmp_path):
    # Collection imports every test module, so a file a module reads at import (a schema, a fixture list)
    # that the sdist lacks fails here; `-p no:cacheprovider` keeps pytest from writing into the checkout.
    with tarfile.open(built.sdist) as archive:
        # The "data" filter (3.10.12+, 3.11.4+) refuses links and paths out of tmp_path; it is our own archive.
        archive.extractall(tmp_path, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (unpacked,) = tmp_path.iterdir()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-qq", "-p", "no:cacheprovider"],
                            cwd=unpacked, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    collected = {line.split(":", 1)[0] for line in result.stdout.splitlines() if re.match(r"tests/\S+\.py: \d+$", line)}
    assert collected == {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").glob("test_*.py")}


def test_wheel_carries_the_rule_catalogue_py_typed_and_licence(built):
    rules = {"mllint_sec/rules/" + name.removeprefix("rules/") for name in files_under(ROOT, "rules")
             if name.endswith(".toml")}
    assert rules, "the rule catalogue is TOML under rules/"
    assert rules - built.wheel_names == set()
    assert "mllint_sec/py.typed" in built.wheel_names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in built.wheel_names)


def test_wheel_leaves_tests_and_fixtures_out(built):
    assert {name for name in built.wheel_names if name.split("/")[0] in {"tests", "fixtures", "docs", "bench"}} == set()


def test_licence_is_the_unmodified_apache_2_0_text(built):
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_0_SHA256
    with tarfile.open(built.sdist) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.endswith("/LICENSE") and m.name.count("/") == 1]
        shipped = archive.extractfile(member)
        assert shipped is not None and shipped.read() == text


def test_wheel_metadata_states_licence_and_classifiers(built):
    with zipfile.ZipFile(built.wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = HeaderParser().parsestr(archive.read(name).decode("utf-8"))
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    classifiers = metadata.get_all("Classifier")
    assert {"Typing :: Typed", "Topic :: Security", "Environment :: Console"} <= set(classifiers)
    # PEP 639: the expression replaces licence classifiers, and setuptools refuses a build with both.
    assert [c for c in classifiers if c.startswith("License ::")] == []
    # The oldest Python named is the one requires-python admits, and none is named twice.
    versions = [c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert len(versions) == len(set(versions))
    assert metadata["Requires-Python"] == ">=" + min(versions, key=lambda v: tuple(map(int, v.split("."))))
