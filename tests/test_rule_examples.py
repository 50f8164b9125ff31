"""Every rule's own [[example]] blocks, run through the engine.

A flag example's `# expect` lines must equal, exactly, the lines of that rule's
findings (one finding each); a pass example must produce none. todo-* examples
record known gaps and run as strict xfail, so a fixed gap fails until promoted.
"""

from __future__ import annotations

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.engine.runner import Options, run

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


def findings_of(rule_id: str, example, tmp_path) -> list:
    """A one-file Python example runs through the analyzer; any other, or one of a rule that
    needs repository facts (dependencies, advisories), runs as a repository scan."""
    rule = CATALOGUE.rules[rule_id]
    if example.path == "example.py" and not example.files and not (rule.dependencies or rule.advisories):
        return ANALYZER.analyze("example.py", example.code.encode())
    for relative, text in (*example.files, (example.path, example.code)):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    result = run(Options(paths=[tmp_path], select=[rule_id, "MLS001"], use_cache=False, jobs=1))
    return [f for f in result.findings if f.path == example.path]


@pytest.mark.parametrize(("rule_id", "example"), CASES)
def test_example(rule_id, example, tmp_path):
    every = findings_of(rule_id, example, tmp_path)
    findings = [f for f in every if f.rule_id == rule_id]
    lines = sorted(f.line for f in findings)
    if example.verdict.endswith("flag"):
        # A file reported as a whole (an artifact, a data file) is reported at 1:1 and has no `# expect`.
        expected = expected_lines(example.code) or ([1] if example.path != "example.py" else [])
        assert expected, "a flag example must mark its lines with '# expect'"
        assert lines == expected
    else:
        assert lines == []
    assert not [f for f in every if f.rule_id == "MLS001"]


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
