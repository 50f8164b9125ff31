"""setup.py read as a manifest: the literal `install_requires` / `extras_require` of its setup call,
with exact positions, never imported or run; what is not literal is ignored; bad input is a Problem."""

from __future__ import annotations

import textwrap
import time

import pytest

from mllint_sec.repo.manifests import parse_manifest
from mllint_sec.repo.manifests.setup_py import parse_setup_py


def text(source: str) -> str:
    return textwrap.dedent(source).removeprefix("\n")


def read(source: str) -> list[tuple[str, str, str, int]]:
    """(name, specifier, group, line) of each requirement, after checking its position covers its text."""
    source = text(source)
    manifest = parse_setup_py(source)
    lines = source.splitlines()
    for dep in manifest.dependencies:
        assert lines[dep.line - 1][dep.column - 1:dep.end_column - 1] == dep.text, dep
    return [(d.name, d.specifier, d.group, d.line) for d in manifest.dependencies]


def test_literal_lists_and_extras():
    assert read("""
        from setuptools import setup
        setup(
            name="demo",
            install_requires=["torch>=2.0", 'numpy==1.26.4'],
            extras_require={"serve": ["onnxruntime"], "dev": ("pytest",)},
        )
        """) == [("torch", ">=2.0", "", 4), ("numpy", "==1.26.4", "", 4),
                 ("onnxruntime", "", "serve", 5), ("pytest", "", "dev", 5)]


def test_module_constants_concatenation_and_star():
    assert read("""
        import setuptools
        BASE = ["numpy>=1.20"]
        BASE += ["scipy"]
        TORCH = "torch>=2.0"
        SERVE = {"serve": BASE + ["onnxruntime"]}
        setuptools.setup(install_requires=[*BASE, TORCH] + ["keras"], extras_require=dict(gpu=["jax"], **SERVE))
        """) == [("numpy", ">=1.20", "", 2), ("scipy", "", "", 3), ("torch", ">=2.0", "", 4),
                 ("onnxruntime", "", "serve", 5), ("keras", "", "", 6), ("jax", "", "gpu", 6)]


def test_setup_imported_under_another_name_inside_main():
    assert read("""
        from setuptools import setup as build_package

        def main():
            requirements = ["transformers>=4"]
            build_package(install_requires=requirements)

        if __name__ == "__main__":
            main()
        """) == [("transformers", ">=4", "", 4)]


@pytest.mark.parametrize("header", [
    "from distutils.core import setup\n",
    "from setuptools import *\n",
    "import setuptools as st\nsetup = st.setup\n",  # an alias assignment is not followed: see the negative case
])
def test_other_ways_to_reach_setup(header):
    found = read(header + 'setup(install_requires=["torch"])\n')
    assert found == ([] if "st.setup" in header else [("torch", "", "", header.count("\n") + 1)])


def test_a_string_holds_one_requirement_a_line():
    assert read('''
        from setuptools import setup
        setup(install_requires="""
            torch>=2.0  # the trainer
            # a comment line
            numpy
        """)
        ''') == [("torch", ">=2.0", "", 3), ("numpy", "", "", 5)]


def test_a_string_reached_twice_is_one_requirement():
    assert read("""
        from setuptools import setup
        BASE = ["torch"]
        setup(install_requires=BASE, extras_require={"all": BASE + ["timm"]})
        """) == [("torch", "", "", 2), ("timm", "", "all", 3)]


@pytest.mark.parametrize("source", [
    # not a setup call: a function of its own, another module's setup, a method
    'def setup(app):\n    pass\nsetup(install_requires=["torch"])\n',
    'from mybuild import setup\nsetup(install_requires=["torch"])\n',
    'import sphinx\nsphinx.setup(install_requires=["torch"])\n',
    # dynamic values are ignored
    'from setuptools import setup\nsetup(install_requires=open("requirements.txt").read().splitlines())\n',
    'from setuptools import setup\nsetup(install_requires=[r for r in REQS if r])\n',
    'from setuptools import setup\nV = "2"\nsetup(install_requires=[f"torch>={V}"])\n',
    'from setuptools import setup\ndef reqs():\n    return ["torch"]\nsetup(install_requires=reqs())\n',
    'from setuptools import setup\nsetup(install_requires=[b"torch"])\n',
    # other keywords are not requirements
    'from setuptools import setup\nsetup(name="torch", setup_requires=["torch"], packages=["torch"])\n',
    # a class body's names are not the module's
    'from setuptools import setup\nclass C:\n    R = ["torch"]\nsetup(install_requires=R)\n',
    "print(\"nothing to install\")\n",
])
def test_what_is_not_read(source):
    manifest = parse_setup_py(source)
    assert manifest.dependencies == () and manifest.problems == ()


def test_names_bound_through_themselves_terminate():
    assert read("""
        from setuptools import setup
        A = B
        B = A + ["torch"]
        setup(install_requires=A)
        """) == [("torch", "", "", 3)]


def test_malformed_requirement_is_a_problem_at_its_string():
    manifest = parse_setup_py('from setuptools import setup\nsetup(install_requires=["torch>=", "numpy"])\n')
    assert [d.name for d in manifest.dependencies] == ["numpy"]
    (problem,) = manifest.problems
    assert (problem.line, problem.column) == (2, 26) and "malformed requirement 'torch>='" in problem.message


def test_syntax_error_is_a_problem_not_a_crash():
    (problem,) = parse_setup_py("from setuptools import setup\nsetup(install_requires=[\n").problems
    assert problem.line == 2 and problem.message.startswith("setup.py not read for its dependencies: syntax error")


def test_hostile_nesting_is_refused_quickly():
    started = time.monotonic()
    (problem,) = parse_setup_py("from setuptools import setup\nX = " + "(" * 5000 + ")" * 5000 + "\n").problems
    assert "nesting too deep" in problem.message and time.monotonic() - started < 2


def test_a_long_operator_chain_is_refused_quickly():
    started = time.monotonic()
    chain = " + ".join(['["torch"]'] * 3000)
    (problem,) = parse_setup_py(f"from setuptools import setup\nsetup(install_requires={chain})\n").problems
    assert "nesting too deep" in problem.message and time.monotonic() - started < 2


def test_many_requirements_stay_fast():
    body = ", ".join(f'"package{n}>=1"' for n in range(5000))
    started = time.monotonic()
    manifest = parse_setup_py(f"from setuptools import setup\nsetup(install_requires=[{body}])\n")
    assert len(manifest.dependencies) == 5000 and time.monotonic() - started < 2


def test_byte_order_mark_and_crlf_keep_positions():
    source = '\ufefffrom setuptools import setup\r\nsetup(\r\n  install_requires=["torch>=2"])\r\n'
    (dep,) = parse_setup_py(source).dependencies
    assert (dep.line, dep.column, dep.end_column, dep.text) == (3, 22, 30, "torch>=2")


def test_dispatch_by_kind():
    assert parse_manifest("setup.py", 'from setuptools import setup\nsetup(install_requires=["x"])\n').kind == "setup.py"


def test_requirements_after_an_escape_are_placed_at_the_string():
    """The written text no longer matches the value: the rest are at the string's start, none is lost."""
    source = 'from setuptools import setup\nsetup(install_requires="torch\\x3e=2\\nnumpy\\ntimm")\n'
    found = [(d.name, d.specifier, d.line, d.column) for d in parse_setup_py(source).dependencies]
    assert found == [("torch", ">=2", 2, 24), ("numpy", "", 2, 24), ("timm", "", 2, 24)]


def test_a_long_escaped_string_stays_linear():
    body = "\\n".join(f"pkg{n}>=1,\\x3c2" for n in range(20000))
    started = time.monotonic()
    manifest = parse_setup_py(f'from setuptools import setup\nsetup(install_requires="{body}")\n')
    assert len(manifest.dependencies) == 20000 and time.monotonic() - started < 2
