"""The registry of argument checks is the one list: rule files use only its checks, every check
is used, and docs/design.md lists every one as the registry describes it."""

from __future__ import annotations

from pathlib import Path

from mllint_sec.catalogue.argument_checks import ARGUMENT_CHECKS, docs_table
from mllint_sec.catalogue.loading import load_catalogue

DESIGN = Path(__file__).resolve().parent.parent / "docs" / "design.md"


def test_the_design_document_lists_every_argument_check():
    table = docs_table()
    assert len(table.splitlines()) == 2 + len(ARGUMENT_CHECKS)
    assert table in DESIGN.read_text(encoding="utf-8"), f"update the table in docs/design.md to:\n{table}"


def test_the_catalogue_uses_every_registered_check_and_no_other():
    used = {
        check.check
        for rule in load_catalogue().rules.values()
        for match in rule.calls
        for check in (*match.args, *match.when, *(c for also in match.also for c in also.when))
    }
    assert used == set(ARGUMENT_CHECKS)


def test_checks_that_need_values_or_safe_names_say_so():
    needs = {name: check.needs for name, check in ARGUMENT_CHECKS.items() if check.needs}
    assert needs == {"not-in": ("safe",), "one-of": ("values",), "suffix": ("values",), "prefix": ("values",)}
