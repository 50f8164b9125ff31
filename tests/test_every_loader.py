"""Every loader in the catalogue, through plain, aliased and from-imports; the safe form of each stays silent.

Cases are generated from the rule data, so a loader added to a TOML file is
tested here without writing a new test.
"""

from __future__ import annotations

import pytest

from mllint_sec.analyze import Analyzer
from mllint_sec.catalogue import load_catalogue

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules))

UNSAFE_ARG = {
    "truthy": "True", "falsy": "False", "present": "custom", "absent-or-falsy": None, "not-in": None,
    "not-literal": "compute_types()",
}


def _safe_arg(check) -> str | None:
    safe = {"absent-or-falsy": "True", "truthy": "False", "falsy": "True", "present": None, "not-literal": "['pkg.Type']"}
    return safe.get(check.check) or (
        check.safe[0] if check.check == "not-in" else None
    )


def _call_sites():
    for rule in CATALOGUE.rules.values():
        for match in rule.calls:
            for qualified in match.calls:
                yield rule, match, qualified


def _spellings(qualified: str, args: str, match) -> dict[str, str]:
    if ".*." in qualified:  # `pkg.*.method`: a method on some class the package exports
        module, method = qualified.split(".*.", 1)
        qualified = f"{module}.SomeClass.{method}"
        return _class_spellings(module, "SomeClass", method, _with_first_arg(args, match))
    module, _, function = qualified.rpartition(".")
    top = module.split(".")[0]
    # A first positional argument, unless a checked parameter sits at position 0.
    args = args.lstrip(", ") if any(c.position == 0 for c in match.args) else "data" + args
    # Dotted argument values (yaml.SafeLoader) need their own import in every spelling.
    prelude = "".join(f"import {v.rpartition('.')[0]}\n" for v in _dotted_values(args))
    return {
        "plain": f"{prelude}import {module}\nresult = {module}.{function}({args})\n",
        "aliased": f"{prelude}import {module} as aliased_mod\nresult = aliased_mod.{function}({args})\n",
        "from-import": f"{prelude}from {module} import {function}\nresult = {function}({args})\n",
        "from-import-as": f"{prelude}from {module} import {function} as renamed\nresult = renamed({args})\n",
        "top-level-import": f"{prelude}import {top}\nimport {module}\nresult = {module}.{function}({args})\n",
    }


def _with_first_arg(args: str, match) -> str:
    return args.lstrip(", ") if any(c.position == 0 for c in match.args) else "data" + args


def _class_spellings(module: str, cls: str, method: str, args: str) -> dict[str, str]:
    return {
        "plain": f"import {module}\nresult = {module}.{cls}.{method}({args})\n",
        "aliased": f"import {module} as aliased_mod\nresult = aliased_mod.{cls}.{method}({args})\n",
        "from-import": f"from {module} import {cls}\nresult = {cls}.{method}({args})\n",
        "from-import-as": f"from {module} import {cls} as renamed\nresult = renamed.{method}({args})\n",
    }


def _dotted_values(args: str) -> list[str]:
    return [part.split("=", 1)[1] for part in args.split(", ") if "=" in part and "." in part.split("=", 1)[1]]


def _unsafe_args(match) -> str:
    args = ""
    for check in match.args[:1]:  # the first check alone makes the call unsafe
        value = UNSAFE_ARG[check.check]
        if value is not None:
            args += f", {check.name}={value}"
    return args


def _safe_args(match) -> str | None:
    args = ""
    for check in match.args:
        value = _safe_arg(check)
        if check.check in ("absent-or-falsy", "not-in") and value is None:
            return None
        if value is not None:
            args += f", {check.name}={value}"
    return args


UNSAFE_CASES = [
    pytest.param(rule.id, code, id=f"{qualified}-{form}")
    for rule, match, qualified in _call_sites()
    for form, code in _spellings(qualified, _unsafe_args(match), match).items()
]
SAFE_CASES = [
    pytest.param(rule.id, code, id=f"{qualified}-{form}")
    for rule, match, qualified in _call_sites()
    if match.args and _safe_args(match) is not None
    for form, code in _spellings(qualified, _safe_args(match), match).items()
]


@pytest.mark.parametrize(("rule_id", "code"), UNSAFE_CASES)
def test_unsafe_call_is_reported_in_every_spelling(rule_id, code):
    found = [(f.rule_id, f.line) for f in ANALYZER.analyze("case.py", code.encode())]
    assert (rule_id, code.count("\n")) in found


@pytest.mark.parametrize(("rule_id", "code"), SAFE_CASES)
def test_safe_arguments_are_silent_in_every_spelling(rule_id, code):
    assert [f for f in ANALYZER.analyze("case.py", code.encode()) if f.rule_id == rule_id] == []


def test_generated_cases_cover_the_catalogue():
    assert len({q for _, _, q in _call_sites()}) >= 60
    assert any(".*." in q for _, _, q in _call_sites())  # wildcard names are generated too
    assert len(UNSAFE_CASES) >= 300 and len(SAFE_CASES) >= 100
