"""Every loader in the catalogue, through plain, aliased and from-imports; the safe form of each stays silent.

Cases are generated from the rule data, so a loader added to a TOML file is
tested here without writing a new test.
"""

from __future__ import annotations

import re

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules))

COMMIT = '"86b5e0934494bd15c9632b12f734a8a67f723594"'
# Per check kind: a value that makes an argument check fire (None: leave the argument out) ...
UNSAFE_ARG = {
    "truthy": "True", "falsy": "False", "present": "custom", "absent-or-falsy": None, "not-in": None,
    "not-literal": "compute_types()", "not-commit": None, "unpinned-ref": '"owner/repo"',
    "unhashed-name": '"https://example.com/model.pt"', "http": '"http://example.com/model.pt"',
}
# ... a value that makes it stay silent ...
SAFE_ARG = {
    "absent-or-falsy": "True", "truthy": "False", "falsy": "True", "present": None, "not-literal": "['pkg.Type']",
    "not-commit": COMMIT, "unpinned-ref": '"owner/repo:86b5e0934494bd15c9632b12f734a8a67f723594"',
    "unhashed-name": '"https://example.com/model-5c106cde.pt"', "http": '"https://example.com/model.pt"',
}
# ... and, for `when` conditions, a value under which the condition holds, and one under which it does not.
HOLDS = {
    "hub-id": '"org/model"', "maybe-hub-id": "sys.argv[1]", "hf-hub-unpinned": '"hf-hub:org/model"',
    "http": '"http://example.com/model.pt"', "truthy": "True", "absent-or-falsy": None, "not-in": None,
}
FAILS = {
    "hub-id": '"./local/model"', "maybe-hub-id": '"./local/model"', "hf-hub-unpinned": '"resnet50"',
    "http": '"https://example.com/model.pt"', "truthy": "False", "absent-or-falsy": "True",
}


def _value(table: dict, check) -> str | None:
    if check.check == "one-of":
        return repr(check.values[0]) if table is UNSAFE_ARG else "False"
    if check.check == "suffix":
        return f'"https://example.com/file{check.values[0]}"' if table is HOLDS else '"https://example.com/page.html"'
    if check.check == "prefix":
        return f'"{check.values[0]}example.com/file.csv"' if table is HOLDS else '"data/file.csv"'
    if check.check == "not-in" and table is SAFE_ARG:
        return check.safe[0]
    return table.get(check.check)


def _render(assigned: list[tuple[object, str]]) -> str:
    """Arguments from (check, value) pairs: checks with a position go positionally, the rest by keyword.
    A later pair for the same parameter replaces an earlier one (an argument check after a condition)."""
    assigned = list({c.name: (c, v) for c, v in assigned}.values())
    slots = {c.position: v for c, v in assigned if c.position is not None}
    positional = [slots.get(i, "data") for i in range(max(slots) + 1)] if slots else ["data"]
    keywords = [f"{c.name}={v}" for c, v in assigned if c.position is None]
    return ", ".join(positional + keywords)


def _arguments(match, args_table: dict | None, failing_condition: int | None = None) -> str | None:
    """The argument list of one generated call, or None when the combination cannot be written."""
    assigned = []
    for n, check in enumerate(match.when):
        value = _value(FAILS if n == failing_condition else HOLDS, check)
        if n == failing_condition and value is None:
            return None
        if value is not None:
            assigned.append((check, value))
    checks = match.args[:1] if args_table is UNSAFE_ARG else (match.args if args_table is SAFE_ARG else ())
    if failing_condition is not None:  # keep the failing condition's value
        checks = [c for c in checks if c.name != match.when[failing_condition].name]
    for check in checks:
        value = _value(args_table, check)
        if value is None and args_table is SAFE_ARG and check.check in ("absent-or-falsy", "not-in", "not-commit"):
            return None
        if value is not None:
            assigned.append((check, value))
    return _render(assigned)


def _call_sites():
    for rule in CATALOGUE.rules.values():
        for match in rule.calls:
            for qualified in match.calls:
                yield rule, match, qualified


def _spellings(qualified: str, args: str) -> dict[str, str]:
    prelude = "import sys\n" if "sys.argv" in args else ""
    if ".*." in qualified:  # `pkg.*.method`: a method on some class the package exports
        module, method = qualified.split(".*.", 1)
        return {form: prelude + code for form, code in _class_spellings(module, "SomeClass", method, args).items()}
    module, _, function = qualified.rpartition(".")
    top = module.split(".")[0]
    # Dotted argument values (yaml.SafeLoader) need their own import in every spelling.
    prelude += "".join(f"import {v.rpartition('.')[0]}\n" for v in _dotted_values(args))
    return {
        "plain": f"{prelude}import {module}\nresult = {module}.{function}({args})\n",
        "aliased": f"{prelude}import {module} as aliased_mod\nresult = aliased_mod.{function}({args})\n",
        "from-import": f"{prelude}from {module} import {function}\nresult = {function}({args})\n",
        "from-import-as": f"{prelude}from {module} import {function} as renamed\nresult = renamed({args})\n",
        "top-level-import": f"{prelude}import {top}\nimport {module}\nresult = {module}.{function}({args})\n",
    }


def _class_spellings(module: str, cls: str, method: str, args: str) -> dict[str, str]:
    return {
        "plain": f"import {module}\nresult = {module}.{cls}.{method}({args})\n",
        "aliased": f"import {module} as aliased_mod\nresult = aliased_mod.{cls}.{method}({args})\n",
        "from-import": f"from {module} import {cls}\nresult = {cls}.{method}({args})\n",
        "from-import-as": f"from {module} import {cls} as renamed\nresult = renamed.{method}({args})\n",
    }


def _dotted_values(args: str) -> list[str]:
    values = [part.split("=", 1)[-1] for part in args.split(", ")]
    return [v for v in values if re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", v) and not v.startswith("sys.")]


def _safe_variants(match) -> list[str]:
    """Calls that must stay silent: safe argument values, or one `when` condition that does not hold."""
    variants = []
    if match.args:
        variants.append(_arguments(match, SAFE_ARG))
    for n in range(len(match.when)):
        variants.append(_arguments(match, None if not match.args else UNSAFE_ARG, failing_condition=n))
    return [v for v in variants if v is not None]


UNSAFE_CASES = [
    pytest.param(rule.id, code, id=f"{rule.id}-{qualified}-{form}")
    for rule, match, qualified in _call_sites()
    for form, code in _spellings(qualified, _arguments(match, UNSAFE_ARG)).items()
]
def _signatures(match) -> tuple[str, ...]:
    """Text that only this match's messages contain (a rule's other matches may still fire)."""
    templates = [match.message, *(a.message for a in match.args)]
    return tuple(t.split("{callee}`", 1)[-1].split("{subject}")[0][:40] for t in templates if t)


SAFE_CASES = [
    pytest.param(rule.id, _signatures(match), code, id=f"{rule.id}-{qualified}-{n}-{form}")
    for rule, match, qualified in _call_sites()
    for n, args in enumerate(_safe_variants(match))
    for form, code in _spellings(qualified, args).items()
]


@pytest.mark.parametrize(("rule_id", "code"), UNSAFE_CASES)
def test_unsafe_call_is_reported_in_every_spelling(rule_id, code):
    found = [(f.rule_id, f.line) for f in ANALYZER.analyze("case.py", code.encode()).findings]
    assert (rule_id, code.count("\n")) in found


@pytest.mark.parametrize(("rule_id", "signatures", "code"), SAFE_CASES)
def test_safe_arguments_are_silent_in_every_spelling(rule_id, signatures, code):
    found = [f for f in ANALYZER.analyze("case.py", code.encode()).findings if f.rule_id == rule_id]
    assert [f for f in found if any(s in f.message for s in signatures)] == []


def test_generated_cases_cover_the_catalogue():
    assert len({q for _, _, q in _call_sites()}) >= 60
    assert any(".*." in q for _, _, q in _call_sites())  # wildcard names are generated too
    assert len(UNSAFE_CASES) >= 300 and len(SAFE_CASES) >= 100
