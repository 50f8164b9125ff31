"""Every rule's own [[example]] blocks, run through the engine.

A flag example's `# expect` lines must equal, exactly, the lines of that rule's
findings (one finding each); a pass example must produce none. todo-* examples
record known gaps and run as strict xfail, so a fixed gap fails until promoted.
"""

from __future__ import annotations

import pytest

from mllint_sec.analyze import Analyzer
from mllint_sec.catalogue import load_catalogue

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules))
CASES = [
    pytest.param(
        rule.id,
        example,
        id=f"{rule.id}-{example.verdict}-{n}",
        marks=[pytest.mark.xfail(strict=True, reason="known gap")] if example.verdict.startswith("todo") else [],
    )
    for rule in CATALOGUE.rules.values()
    for n, example in enumerate(rule.examples)
]


def expected_lines(code: str) -> list[int]:
    return [n for n, line in enumerate(code.splitlines(), 1) if line.rstrip().endswith("# expect")]


@pytest.mark.parametrize(("rule_id", "example"), CASES)
def test_example(rule_id, example):
    findings = [f for f in ANALYZER.analyze("example.py", example.code.encode()) if f.rule_id == rule_id]
    lines = sorted(f.line for f in findings)
    if example.verdict.endswith("flag"):
        assert expected_lines(example.code), "a flag example must mark its lines with '# expect'"
        assert lines == expected_lines(example.code)
    else:
        assert lines == []
    assert not [f for f in ANALYZER.analyze("example.py", example.code.encode()) if f.rule_id == "MLS001"]


@pytest.mark.parametrize("rule", [r for r in CATALOGUE.rules.values() if r.family != "engine"], ids=lambda r: r.id)
def test_every_rule_has_positive_and_negative_examples(rule):
    verdicts = [e.verdict for e in rule.examples]
    assert verdicts.count("flag") >= 2 and verdicts.count("pass") >= 2


@pytest.mark.parametrize("rule", list(CATALOGUE.rules.values()), ids=lambda r: r.id)
def test_messages_name_the_problem(rule):
    for match in rule.calls:
        for message in [match.message, *(a.message for a in match.args)]:
            if message:
                assert len(message) < 300 and not message.endswith(".")
