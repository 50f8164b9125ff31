"""A call's findings never depend on which other calls were analysed before it.

Resolution and taint memoise their answers; names bound through one another in a loop form
cycles, and an answer taken while its own question was still open used to be stored and
reused (python/fixpoint.py explains the fix). The two regression cases are the issue's own;
the property test generates small programs of imports, aliases, loops that rebind, loader
calls and request data, and compares each call's findings analysed alone, in file order and
in shuffled order.
"""

from __future__ import annotations

import random
import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.flows.flow_findings import flow_findings
from mllint_sec.flows.taint import Taint
from mllint_sec.python import decode, scopes
from mllint_sec.python.matching import match_file

# --- the two cases, through the command line ----------------------------------

ALIASES_REBOUND_IN_A_LOOP = """\
import pickle

loader = pickle.loads
other = loader
for blob in blobs:
    loader = other
{first}    other(blob)
"""


def _found(scan, write, tmp_path, code: str, rule: str) -> dict[int, dict]:
    write(tmp_path, {"case.py": code})
    report, _ = scan("--no-cache", "--select", rule, tmp_path)
    return {f["line"]: f for f in report["findings"] if f["rule_id"] == rule}


def test_an_alias_rebound_in_a_loop_is_found_whichever_call_comes_first(scan, write, tmp_path):
    alone = _found(scan, write, tmp_path / "alone", ALIASES_REBOUND_IN_A_LOOP.format(first=""), "LOAD001")
    after = _found(scan, write, tmp_path / "after", ALIASES_REBOUND_IN_A_LOOP.format(first="    loader(blob)\n"),
                   "LOAD001")
    assert sorted(alone) == [7]  # other(blob)
    assert sorted(after) == [7, 8]  # loader(blob), then other(blob): no longer lost
    assert after[8]["message"] == alone[7]["message"]


REQUEST_DATA_REBOUND_IN_A_LOOP = """\
import pickle
from flask import request


def view():
    buf = b""
    prev = b""
    for _ in range(3):
        prev = buf
        buf = prev + request.get_data()
{first}    pickle.loads(prev)
"""


def test_request_data_rebound_in_a_loop_is_found_whichever_load_comes_first(scan, write, tmp_path):
    alone = _found(scan, write, tmp_path / "alone", REQUEST_DATA_REBOUND_IN_A_LOOP.format(first=""), "INPUT001")
    after = _found(scan, write, tmp_path / "after",
                   REQUEST_DATA_REBOUND_IN_A_LOOP.format(first="    pickle.loads(buf)\n"), "INPUT001")
    assert sorted(alone) == [11]  # pickle.loads(prev)
    assert sorted(after) == [11, 12]  # pickle.loads(buf), then pickle.loads(prev): no longer lost
    steps = [(step["line"], step["message"]) for step in after[12]["flow"]]
    assert steps == [
        (10, "request data enters here: Flask `request.get_data`"),
        (10, "assigned to `buf`"),
        (9, "assigned to `prev`"),
        (12, "reaches `pickle.loads`, which can run code hidden in the data"),
    ]
    assert [(s["line"], s["message"]) for s in alone[11]["flow"]][:3] == steps[:3]


ALIAS_CHAIN = "import pickle\na1 = pickle.loads\n" + "".join(f"a{i} = a{i - 1}\n" for i in range(2, 13))


def test_a_long_alias_chain_is_followed_whichever_call_comes_first(scan, write, tmp_path):
    # Resolution used to stop 8 steps down and store the cut-short answer for the name it
    # stopped at, so `a4(b)` lost its finding once `a12(b)` had been resolved.
    alone = _found(scan, write, tmp_path / "alone", ALIAS_CHAIN + "a4(b)\n", "LOAD001")
    after = _found(scan, write, tmp_path / "after", ALIAS_CHAIN + "a12(b)\na4(b)\n", "LOAD001")
    assert 14 in alone
    assert {14, 15} <= set(after)


# --- the property, over generated programs ----------------------------------------------

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.defaults()) | {"INPUT001"})
HEADER = "import pickle\nimport dill\nfrom flask import request\n"
# Names bound to one another make cycles: two names, and most values are one of them.
NAMES = ("loader", "other")
_name = st.sampled_from(NAMES)
_value = st.one_of(
    _name,
    _name,
    st.sampled_from(("pickle.loads", "pickle", "dill.loads", "request.get_data()", "request.data", 'b""')),
    _name.map(lambda name: f"{name}.loads"),
    _name.map(lambda name: f"{name} + request.get_data()"),
    _name.map(lambda name: f"getattr({name}, 'loads')"),
)
_assignment = st.builds(lambda target, value: f"{target} = {value}", _name, _value)
_call = st.builds(
    lambda callee, argument: f"{callee}({argument})",
    st.one_of(_name, _name, _name.map(lambda name: f"{name}.loads"), st.sampled_from(("pickle.loads", "dill.loads"))),
    st.one_of(_name, st.sampled_from(("blob", "request.data"))),
)
_simple = st.one_of(_assignment, _assignment, _call, _call, st.just("import pickle"))
_loop = st.lists(_simple, min_size=1, max_size=4).map(
    lambda body: "for blob in blobs:\n" + "".join(f"    {line}\n" for line in body).rstrip("\n")
)
_statement = st.one_of(_simple, _loop)
_program = st.builds(
    lambda module, handler: HEADER + "".join(f"{s}\n" for s in module) + "\n\ndef view(blobs):\n"
    + textwrap.indent("".join(f"{s}\n" for s in handler) or "pass\n", "    "),
    st.lists(_statement, max_size=4),
    st.lists(_statement, min_size=1, max_size=6),
)


def _findings_per_call(module, choose) -> dict[int, list[tuple]]:
    """Each call's findings (by its index among the file's calls) when `choose(calls)` are matched, in that order."""
    facts = scopes.collect(module, ANALYZER.index.reference_names)  # fresh scopes: nothing memoised yet
    position = {id(site.node): number for number, site in enumerate(facts.calls)}
    raw = match_file(facts, ANALYZER.index, choose(facts.calls))
    raw += flow_findings(facts, raw, ANALYZER.flow_rules, taint=Taint(facts))
    found: dict[int, list[tuple]] = {}
    for finding in raw:
        if finding.site is not None:
            steps = tuple(step.text for step in getattr(finding, "steps", ()))
            found.setdefault(position[id(finding.site.node)], []).append((finding.rule.id, finding.message, steps))
    return {number: sorted(items) for number, items in found.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program, st.randoms(use_true_random=False))
def test_each_call_has_the_same_findings_alone_in_file_order_and_shuffled(code, shuffler: random.Random):
    module = decode.parse(code)
    assert not isinstance(module, decode.ParseFailure), code
    in_order = _findings_per_call(module, lambda calls: calls)
    shuffled = _findings_per_call(module, lambda calls: shuffler.sample(calls, len(calls)))
    assert shuffled == in_order, code
    calls = len(scopes.collect(module).calls)
    for number in range(calls):
        alone = _findings_per_call(module, lambda every, n=number: [every[n]])
        assert alone.get(number, []) == in_order.get(number, []), (number, code)
