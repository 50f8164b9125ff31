"""Conda environment files: conda match specs as PEP 440 ranges under PyPI names, the nested pip list,
positions, and hostile YAML (a Problem, never a crash or a hang)."""

from __future__ import annotations

import textwrap
import time

import pytest

from mllint_sec.repo.manifests import parse_manifest
from mllint_sec.repo.manifests.environment_yml import conda_specifier, parse_conda_spec, parse_environment_yml
from mllint_sec.repo.manifests.pinning import is_pinned, is_series_pin


def text(source: str) -> str:
    return textwrap.dedent(source).removeprefix("\n")


@pytest.mark.parametrize(("spec", "expected"), [
    ("numpy", ("numpy", "numpy", "")),
    ("numpy=1.26", ("numpy", "numpy", "==1.26.*")),  # conda's `=` is a series
    ("numpy==1.26.4", ("numpy", "numpy", "==1.26.4")),
    ("numpy=1.26.4=py311h64a7726_0", ("numpy", "numpy", "==1.26.4")),  # one build of one version
    ("numpy >=1.20,<2", ("numpy", "numpy", "<2,>=1.20")),
    ("numpy 1.26.4 py311_0", ("numpy", "numpy", "==1.26.4")),  # the space form: a bare version is exact
    ("numpy 1.8*", ("numpy", "numpy", "==1.8.*")),
    ("numpy *", ("numpy", "numpy", "")),
    ("conda-forge::pytorch=2.1", ("torch", "pytorch", "==2.1.*")),  # a channel, and conda's name for torch
    ("pkgs/main::py-xgboost", ("xgboost", "py-xgboost", "")),
    ("tensorflow-gpu=2.15", ("tensorflow-gpu", "tensorflow-gpu", "==2.15.*")),  # the same name on PyPI
    ("numpy[version='>=1.20']", ("numpy", "numpy", ">=1.20")),
    ("numpy[build=py311_0]", ("numpy", "numpy", "")),
    ("numpy=1.11.1|1.11.3", ("numpy", "numpy", "")),  # `|` has no PEP 440 form: any version
    ("openssl=3.0.12_1", ("openssl", "openssl", "")),  # nor has this version
    ("=1.0", None),
    ("", None),
])
def test_conda_specs(spec, expected):
    assert parse_conda_spec(spec) == expected


def test_conda_specifier_operators():
    assert conda_specifier(">=1.2,!=1.3") == "!=1.3,>=1.2"
    assert conda_specifier("~=1.4.2") == "~=1.4.2"
    assert conda_specifier("") == ""


def test_dependencies_and_pip_entries_with_positions():
    source = text("""
        name: demo
        channels:
          - conda-forge
        dependencies:
          - python=3.11
          - pytorch=2.1  # the trainer
          - "numpy==1.26.4"
          - pip
          - pip:
              - transformers>=4.30
              - 'timm'
              - -r requirements-extra.txt
              - -c constraints.txt
              - --extra-index-url https://example.org/simple
              - -e .
        """)
    manifest = parse_environment_yml(source)
    lines = source.splitlines()
    found = [(d.name, d.raw_name, d.specifier, d.group, d.line) for d in manifest.dependencies]
    assert found == [
        ("python", "python", "==3.11.*", "conda", 5), ("torch", "pytorch", "==2.1.*", "conda", 6),
        ("numpy", "numpy", "==1.26.4", "conda", 7), ("pip", "pip", "", "conda", 8),
        ("transformers", "transformers", ">=4.30", "pip", 10), ("timm", "timm", "", "pip", 11),
    ]
    for dep in manifest.dependencies:
        assert lines[dep.line - 1][dep.column - 1:dep.end_column - 1] == dep.text
    assert manifest.includes == (("requirements-extra.txt", 12),)
    assert manifest.constraints == (("constraints.txt", 13),)
    assert manifest.problems == () and manifest.kind == "conda"


def test_series_and_exact_pins():
    manifest = parse_environment_yml("dependencies: [pytorch=2.1, numpy==1.26.4, scipy]\n")
    torch, numpy, scipy = manifest.dependencies
    assert is_series_pin(torch) and not is_pinned(torch)
    assert is_pinned(numpy) and not is_series_pin(scipy) and not is_pinned(scipy)


@pytest.mark.parametrize("source", [
    "",  # empty
    "name: demo\n",  # no dependencies
    "dependencies:\n  - {other: [numpy]}\n  - 3\n",  # entries that are neither specs nor a pip list
])
def test_nothing_to_read(source):
    manifest = parse_environment_yml(source)
    assert manifest.dependencies == () and manifest.problems == ()


@pytest.mark.parametrize(("source", "line", "message"), [
    ("dependencies: [\n", 1, "malformed YAML"),
    ("- numpy\n", 1, "expected a YAML mapping at the top level"),
    ("dependencies: numpy\n", 1, "`dependencies` is not a list"),
    ("dependencies:\n  - pip: numpy\n", 2, "`pip` is not a list"),
    ("dependencies:\n  - numpy\n  - '>=2'\n", 3, "malformed conda package spec"),
    ("dependencies:\n  - pip:\n    - torch>=\n", 3, "malformed requirement"),
])
def test_bad_input_is_a_problem(source, line, message):
    problems = parse_environment_yml(source).problems
    assert [(p.line, message in p.message) for p in problems] == [(line, True)], problems


def test_tags_construct_nothing():
    """A Python tag is read as the plain sequence it tags: no object is built, nothing is called."""
    manifest = parse_environment_yml("dependencies: !!python/object/apply:os.system [echo]\n")
    assert [d.name for d in manifest.dependencies] == ["echo"]


def test_hostile_yaml_is_refused_quickly():
    started = time.monotonic()
    huge = "dependencies:\n" + "  - numpy\n" * 200_000  # over the YAML reader's 1 MiB
    deep = "dependencies: " + "[" * 5000 + "]" * 5000 + "\n"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, "
        f"*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]\n"
        for n in range(8)) + "dependencies: *i\n"
    for source in (huge, deep, bomb):
        manifest = parse_environment_yml(source)
        assert manifest.dependencies == () and len(manifest.problems) == 1
    assert time.monotonic() - started < 3


def test_dispatch_by_kind():
    assert parse_manifest("conda", "dependencies: [numpy]\n").kind == "conda"
