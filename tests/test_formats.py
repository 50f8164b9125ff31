"""Output formats register by name: `--format` offers exactly the registered ones, each module
that defines a format is registered under its name, and every format renders a run."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import mllint_sec.report
from mllint_sec.cli import main
from mllint_sec.engine.runner import Options, run
from mllint_sec.report.formats import FORMAT_MODULES, Format, RenderOptions, format_named

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo-ml-repo"


def test_every_module_that_defines_a_format_is_registered_under_its_name():
    defined = {}
    for module in pkgutil.iter_modules(mllint_sec.report.__path__, "mllint_sec.report."):
        found = getattr(importlib.import_module(module.name), "FORMAT", None)
        if isinstance(found, Format):
            defined[found.name] = module.name
    assert defined == FORMAT_MODULES


def test_the_command_line_offers_the_registered_formats():
    result = CliRunner().invoke(main, ["check", "--help"])
    assert "[" + "|".join(FORMAT_MODULES) + "]" in result.output


@pytest.mark.parametrize("name", list(FORMAT_MODULES))
def test_every_format_renders_a_run(name):
    result = run(Options(paths=[DEMO], use_cache=False, jobs=1))
    report = format_named(name).render(result, RenderOptions(show_suppressed=True, include_suppressed=True))
    assert "LOAD001" in report
