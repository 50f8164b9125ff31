"""Loader wrappers in one file (python/loader_wrappers.py) and the keys a function forces into the
`**kwargs` it forwards (python/forced_kwargs.py): each case is source and the exact findings."""

from __future__ import annotations

import random
import textwrap

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue

CATALOGUE = load_catalogue()
# SUP007 reports loads that rely on a safe form; these cases are about the unsafe ones.
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules) - {"SUP007"})


def analyze(code: str):
    return ANALYZER.analyze("case.py", textwrap.dedent(code).encode())


def lines(code: str) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.line) for f in analyze(code).findings)


HEADER = "import torch\n"

FORCED = {
    "setdefault": 'kwargs.setdefault("weights_only", False)',
    "not-in": 'if "weights_only" not in kwargs:\n        kwargs["weights_only"] = False',
    "version-and-not-in": 'if TORCH_1_13 and "weights_only" not in kwargs:\n        kwargs["weights_only"] = False',
    "subscript": 'kwargs["weights_only"] = False',
    "update-keywords": "kwargs.update(weights_only=False)",
    "update-dict": 'kwargs.update({"weights_only": False, "map_location": "cpu"})',
    "after-an-unrelated-statement": 'print("loading")\n    kwargs["weights_only"] = False',
    "pickle-module": 'kwargs["pickle_module"] = dill',
}


@pytest.mark.parametrize("statement", FORCED.values(), ids=FORCED.keys())
def test_a_forced_or_defaulted_key_is_read_through_the_spread(statement):
    code = HEADER + f"def torch_load(*args, **kwargs):\n    {statement}\n    return torch.load(*args, **kwargs)\n"
    assert ("LOAD003", code.count("\n")) in lines(code)


UNSOUND = {
    "passed-elsewhere": 'kwargs["weights_only"] = False\n    log(kwargs)',
    "popped": 'kwargs["weights_only"] = False\n    kwargs.pop("weights_only")',
    "deleted": 'kwargs["weights_only"] = False\n    del kwargs["weights_only"]',
    "another-branch": 'if fast:\n        kwargs["weights_only"] = False',
    "in-a-loop": 'for key in keys:\n        kwargs["weights_only"] = False',
    "rebound": 'kwargs = dict(kwargs)\n    kwargs["weights_only"] = False',
    "update-unknown": "kwargs.update(options)",
    "computed-key": "kwargs[name] = False",
    "not-in-as-first-condition": 'if "weights_only" not in kwargs and fast:\n        kwargs["weights_only"] = False',
    "not-in-with-else": 'if "weights_only" not in kwargs:\n        kwargs["weights_only"] = False\n    else:\n        pass',
}


@pytest.mark.parametrize("statement", UNSOUND.values(), ids=UNSOUND.keys())
def test_any_other_use_of_the_dict_keeps_the_spread_unknown(statement):
    code = HEADER + f"def torch_load(p, **kwargs):\n    {statement}\n    return torch.load(p, **kwargs)\n"
    assert lines(code) == []


def test_a_key_set_in_the_statement_that_holds_the_call_is_not_trusted():
    code = HEADER + (
        "def torch_load(p, **kwargs):\n"
        '    kwargs["weights_only"] = False\n'
        "    if p:\n"
        '        kwargs["weights_only"] = True\n'
        "        return torch.load(p, **kwargs)\n"
    )
    assert lines(code) == []


def test_a_local_dict_filled_before_the_call():
    code = HEADER + (
        "def restore(p):\n"
        '    opts = {"map_location": "cpu"}\n'
        '    opts["weights_only"] = False\n'
        "    return torch.load(p, **opts)\n"
        "def safe(p):\n"
        "    opts = {}\n"
        '    opts["weights_only"] = True\n'
        "    return torch.load(p, **opts)\n"
    )
    assert lines(code) == [("LOAD003", 5)]


def test_a_later_force_overrides_an_earlier_default_and_not_the_reverse():
    code = HEADER + (
        "def a(p, **kwargs):\n"
        '    kwargs.setdefault("weights_only", False)\n'
        '    kwargs["weights_only"] = True\n'
        "    return torch.load(p, **kwargs)\n"
        "def b(p, **kwargs):\n"
        '    kwargs["weights_only"] = False\n'
        '    kwargs.setdefault("weights_only", True)\n'
        "    return torch.load(p, **kwargs)\n"
    )
    assert ("LOAD003", 5) not in lines(code)
    assert ("LOAD003", 9) in lines(code)


# --- wrappers in the file ------------------------------------------------------------------------

WRAPPERS = HEADER + """\
def defaulting(*args, **kwargs):
    kwargs.setdefault("weights_only", False)
    return torch.load(*args, **kwargs)
def forcing(path, **kwargs):
    kwargs["weights_only"] = False
    return torch.load(path, **kwargs)
def forwarding(path, **kwargs):
    return torch.load(path, **kwargs)
def chosen(path, weights_only=False):
    return torch.load(path, weights_only=weights_only)
def safe(path):
    return torch.load(path, weights_only=True)
"""


@pytest.mark.parametrize(("call", "reported"), [
    ('defaulting("a.pt")', True),
    ('defaulting("a.pt", weights_only=True)', False),  # the caller's keyword wins over setdefault
    ('defaulting("a.pt", **{"weights_only": True})', False),
    ('forcing("a.pt")', True),
    ('forcing("a.pt", weights_only=True)', True),  # forced: the caller cannot switch it on
    ('forwarding("a.pt")', False),  # nothing forced: the loader's own default, as before
    ('forwarding("a.pt", weights_only=False)', True),
    ('forwarding("a.pt", weights_only=True)', False),
    ('chosen("a.pt")', True),  # the wrapper's own default
    ('chosen("a.pt", weights_only=True)', False),
    ('chosen("a.pt", True)', False),
    ('chosen(*paths)', False),  # which parameters `*paths` fills is unknown
    ('safe("a.pt")', False),
])
def test_a_call_of_a_wrapper_is_judged_as_the_loader_call_it_amounts_to(call, reported):
    code = WRAPPERS + f"x = {call}\n"
    line = code.count("\n")
    assert (("LOAD003", line) in lines(code)) is reported


def test_the_wrapper_is_reported_once_and_each_call_with_the_wrapper_as_a_step():
    code = WRAPPERS + 'x = forcing(download("a.pt"))\n'
    findings = {f.line: f for f in analyze(code).findings}
    assert sorted(findings) == [4, 7, 14]  # defaulting's and forcing's own loader calls, and the call
    call = findings[14]
    assert call.message.startswith(
        "`forcing()` passes its argument to `torch.load` with `weights_only=False` forced: `torch.load` without")
    assert [(s.line, s.message) for s in call.flow] == [
        (14, "passed to `forcing()`"),
        (7, "`forcing()` calls `torch.load` with it (`weights_only=False` forced)"),
    ]
    assert all(step.path is None for step in call.flow)


def test_the_callers_unsafe_argument_is_what_is_reported():
    code = WRAPPERS + 'x = forwarding("a.pt", weights_only=False)\n'
    (finding,) = [f for f in analyze(code).findings if f.line == 14]
    assert finding.column == len('x = forwarding("a.pt", ') + 1


def test_a_function_that_does_not_load_its_parameter_is_no_wrapper():
    code = HEADER + (
        "def fixed(unused):\n"
        '    return torch.load("bundled.pt")\n'
        "fixed(user_path)\n"
        "def other(path, p2):\n"
        "    return torch.load(p2)\n"
        "other(user_path, CONSTANT)\n"
    )
    assert lines(code) == [("LOAD003", 3), ("LOAD003", 6), ("LOAD003", 7)]


@pytest.mark.parametrize("spelling", [
    "from torch import load\ndef w(p):\n    return load(p)\n",
    "import torch as th\ndef w(p):\n    return th.load(p)\n",
    "import torch\ndef w(p):\n    return torch.load(p)\n",
])
def test_every_spelling_of_the_loader(spelling):
    assert lines(spelling + 'w("a.pt")\n') == [("LOAD003", 3), ("LOAD003", 4)]


@pytest.mark.parametrize("call", [
    'tl = w\ntl("a.pt")',
    'import functools\np = functools.partial(w, map_location="cpu")\np("a.pt")',
    'from functools import partial\npartial(w)("a.pt")',
])
def test_aliases_and_partials_of_a_wrapper(call):
    code = HEADER + "def w(p, **kw):\n    return torch.load(p, **kw)\n" + call.replace('"a.pt")', '"a.pt", weights_only=False)') + "\n"
    assert ("LOAD003", code.count("\n")) in lines(code)


def test_methods_called_on_self_within_their_class():
    code = HEADER + (
        "class Trainer:\n"
        "    def load_ckpt(self, path):\n"
        "        return torch.load(path)\n"
        "    def resume(self, run):\n"
        "        return self.load_ckpt(run.checkpoint)\n"
        "    @staticmethod\n"
        "    def static(path):\n"
        "        return torch.load(path, weights_only=True)\n"
        "    def other(self):\n"
        "        return self.static(path)\n"
        "def load_ckpt(p):\n"
        "    return p\n"
        "load_ckpt(x)\n"  # a module function of the same name is not the method
    )
    assert lines(code) == [("LOAD003", 4), ("LOAD003", 6)]


def test_wrappers_of_wrappers_to_a_bounded_depth():
    code = HEADER + (
        "def w1(p):\n    return torch.load(p)\n"
        "def w2(p):\n    return w1(p)\n"
        "def w3(p):\n    return w2(p)\n"
        "def w4(p):\n    return w3(p)\n"
        "w4('a.pt')\n"
    )
    found = {f.line: f for f in analyze(code).findings}
    # w1's load, w1 called in w2, w2 in w3 (depth 2); w3 in w4 is three loaders deep; w4 is a fourth.
    assert sorted(found) == [3, 5, 7, 9]
    assert [s.line for s in found[9].flow] == [9, 7, 5, 3]
    assert "(through `w2()`, `w1()`)" in found[9].message


def test_a_cycle_of_two_functions_ends():
    code = HEADER + (
        "def a(p, n):\n    if n:\n        return b(p, n - 1)\n    return torch.load(p)\n"
        "def b(p, n):\n    return a(p, n)\n"
        "b('x.pt', 3)\n"
    )
    assert lines(code) == [("LOAD003", 4), ("LOAD003", 5), ("LOAD003", 7), ("LOAD003", 8)]


def test_the_answer_does_not_depend_on_the_order_of_the_functions():
    functions = [
        "def w1(p):\n    return torch.load(p)\n",
        "def w2(p):\n    return w1(p)\n",
        "def w3(p):\n    return w2(p, )\n",
    ]
    outcomes = set()
    for seed in range(4):
        order = functions[:]
        random.Random(seed).shuffle(order)
        code = HEADER + "".join(order) + "w3('a.pt')\n"
        # (the message up to its advice: the rest may name lines, which the shuffle moves)
        outcomes.add(tuple(sorted((f.rule_id, f.message.split(";")[0], len(f.flow)) for f in analyze(code).findings)))
    assert len(outcomes) == 1


def test_a_suppression_at_the_call_site():
    code = WRAPPERS + 'x = forcing("a.pt")  # mllint-sec: ignore[LOAD003] -- a bundled file\n'
    findings = [f for f in analyze(code).findings if f.line == 14]
    assert [(f.rule_id, f.suppressed) for f in findings] == [("LOAD003", True)]


def test_a_call_in_a_block_slicing_would_stub_is_found():
    filler = "".join(f"    v{n} = {n}\n" for n in range(12))
    code = HEADER + "def w(p):\n    return torch.load(p)\n" + "def far_away(q):\n" + filler + "    return w(q)\n"
    assert ("LOAD003", code.count("\n")) in lines(code)


def test_other_rules_through_the_same_mechanism():
    code = (
        "import pickle, numpy as np\n"
        "def read(f):\n    return pickle.load(f)\n"
        "def arrays(path, allow=True):\n    return np.load(path, allow_pickle=allow)\n"
        "read(open('a.pkl', 'rb'))\n"
        "arrays('a.npy')\n"
        "arrays('a.npy', allow=False)\n"
    )
    assert lines(code) == [("LOAD001", 3), ("LOAD001", 6), ("LOAD004", 7)]


def test_helpers_of_other_families_are_not_loaders():
    # The download and the remote code are reported inside the helper; its callers would repeat it.
    code = (
        "from transformers import AutoModel\n"
        "def get_model(name='org/model'):\n"
        "    return AutoModel.from_pretrained(name, trust_remote_code=True)\n"
        "get_model('org/other')\n"
    )
    found = lines(code)
    assert ("SUP002", 3) in found
    assert not [line for _, line in found if line == 4]


def test_exported_summaries_are_module_level_functions_only():
    code = HEADER + (
        "def torch_load(*args, **kwargs):\n"
        '    kwargs.setdefault("weights_only", False)\n'
        "    return torch.load(*args, **kwargs)\n"
        "class C:\n    def m(self, p):\n        return torch.load(p)\n"
        "def outer():\n    def inner(p):\n        return torch.load(p)\n    return inner\n"
    )
    (summary,) = analyze(code).wrappers
    assert (summary.function, summary.rule_id, summary.callee, summary.line, summary.column) == (
        "torch_load", "LOAD003", "torch.load", 4, 12)
    assert (summary.loaded_position, summary.loaded_name) == (0, None)


def test_output_is_deterministic():
    code = WRAPPERS + 'forcing("a.pt")\nchosen("b.pt")\ndefaulting("c.pt")\n'
    first = [(f.line, f.column, f.message, f.flow) for f in analyze(code).findings]
    assert first == [(f.line, f.column, f.message, f.flow) for f in analyze(code).findings]
