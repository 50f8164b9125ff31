"""Two ways a load's origin was misdescribed on real code (flows/origins.py, flows/origin_order.py):
an unpacked name traced to its whole right-hand side (the first item's constant named for the second
item), and a binding after the load, outside any loop, taken as where the loaded value comes from.
Each fix is shown with the case it corrects and the near misses it must keep."""

from __future__ import annotations

import textwrap

import libcst as cst

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.origin import OriginKind
from mllint_sec.flows.origin_order import StatementOrder

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.defaults()))
NETWORK, USER, CONSTANT, UNKNOWN = OriginKind.NETWORK, OriginKind.USER, OriginKind.CONSTANT, OriginKind.UNKNOWN


def origins(code: str, rule: str) -> list:
    """The findings of `rule` in `code`, in line order."""
    result = ANALYZER.analyze_text("example.py", textwrap.dedent(code))
    return sorted((f for f in result.findings if f.rule_id == rule), key=lambda f: f.line)


def origin(code: str, rule: str = "LOAD001"):
    found = origins(code, rule)
    assert len(found) == 1, [(f.line, f.message) for f in found]
    return found[0]


# --- unpacking: the matching item -----------------------------------------------------------------------

def test_the_second_item_of_an_own_functions_returned_tuple_is_the_loaded_path():
    # The real-code shape: the finding used to name the FIRST item, `project.yaml`.
    code = """
        from torchvision.datasets.utils import download_url
        import torch
        def download_models():
            url_conf = "https://example.org/conf"; url_ckpt = "https://example.org/ckpt"
            path_conf = "logs/configs/project.yaml"
            path_ckpt = "logs/checkpoints/last.ckpt"
            download_url(url_conf, path_conf)
            download_url(url_ckpt, path_ckpt)
            return path_conf, path_ckpt
        def _load(ckpt):
            return torch.load(ckpt)
        def get_model():
            path_conf, path_ckpt = download_models()
            return _load(path_ckpt)
    """
    # Two findings: `torch.load` in `_load` (its private caller's argument) and the call of `_load`.
    for finding in origins(code, "LOAD003"):
        assert "project.yaml" not in finding.message
        # `download_url` writes into the directory `root`, not the file loaded: no download is claimed.
        assert finding.origin.kind == CONSTANT and "`logs/checkpoints/last.ckpt`" in finding.message


def test_a_tuple_literal_gives_each_name_its_own_item():
    code = """
        import torch
        a, b = "x.yaml", "y.pt"
        one = torch.load(b)
        two = torch.load(a)
    """
    first, second = origins(code, "LOAD003")
    assert first.origin.kind == CONSTANT and "`y.pt`" in first.message and "x.yaml" not in first.message
    assert second.origin.kind == CONSTANT and "`x.yaml`" in second.message and "y.pt" not in second.message


def test_each_return_of_an_own_function_gives_its_matching_item():
    code = """
        import pickle
        from huggingface_hub import hf_hub_download
        def _paths(remote):
            if remote:
                return hf_hub_download("org/m", "model.pkl"), "conf.yaml"
            return "local.pkl", "conf.yaml"
        def run():
            model, conf = _paths(True)
            return pickle.load(open(model, "rb"))
    """
    finding = origin(code)
    assert finding.origin.kind == NETWORK and "`hf_hub_download` fetched at line 6" in finding.message


def test_the_other_item_of_the_same_returns_is_not_the_download():
    code = """
        import pickle
        from huggingface_hub import hf_hub_download
        def _paths():
            return hf_hub_download("org/m", "model.pkl"), "conf.pkl"
        def run():
            model, conf = _paths()
            return pickle.loads(conf)
    """
    finding = origin(code)
    assert finding.origin.kind == CONSTANT and "`conf.pkl`" in finding.message


def test_a_download_unpacked_from_its_call_stays_network():
    # No item can be matched (urlretrieve is not the file's function): the whole value, which is no constant.
    code = """
        import pickle, urllib.request
        path, _ = urllib.request.urlretrieve("https://example.com/m.pkl")
        obj = pickle.load(open(path, "rb"))
    """
    finding = origin(code)
    assert finding.origin.kind == NETWORK and "`urlretrieve` fetched at line 3" in finding.message


def test_an_unmatched_unpacking_names_no_constant():
    # Either item may be either file: naming one would be a guess.
    code = """
        import pickle
        def _run(flip):
            a, b = ("x.pkl", "y.pkl") if flip else ("y.pkl", "x.pkl")
            return pickle.load(open(b, "rb"))
    """
    finding = origin(code)
    assert finding.origin.kind == UNKNOWN and ".pkl" not in finding.message


def test_a_starred_target_or_a_length_mismatch_is_not_matched():
    starred = """
        import pickle
        a, *rest = "x.pkl", "y.pkl", "z.pkl"
        obj = pickle.load(open(a, "rb"))
    """
    mismatch = """
        import pickle
        def _pair():
            return "x.pkl", "y.pkl", "z.pkl"
        a, b = _pair()
        obj = pickle.load(open(b, "rb"))
    """
    for code in (starred, mismatch):
        finding = origin(code)
        assert finding.origin.kind == UNKNOWN and ".pkl" not in finding.message


def test_a_chained_assignment_is_the_whole_value():
    code = """
        import pickle
        a = b = "x.pkl"
        obj = pickle.load(open(b, "rb"))
    """
    assert origin(code).origin.kind == CONSTANT


# --- source order: bindings after the load ---------------------------------------------------------------

def test_a_binding_after_the_load_in_another_branch_is_not_its_origin():
    # The real-code shape: it said "it loads the remote `http://` named at line 10".
    code = """
        import pandas as pd
        def show(file):
            func = None
            if file.endswith(".pkl"):
                func = pd.read_pickle
            if func is not None:
                df = func(file)
            elif file.endswith(".pdf"):
                if alive("http://" + file):
                    file = "http://" + file
    """
    finding = origin(code, "LOAD005")
    assert finding.origin.kind == USER and "http://" not in finding.message
    assert "(`file`, line 3)" in finding.message


def test_a_later_binding_outside_a_loop_does_not_count():
    code = """
        import pickle, urllib.request
        def _run(url):
            p = "seed.pkl"
            obj = pickle.load(open(p, "rb"))
            p, _ = urllib.request.urlretrieve(url)
            return obj
    """
    assert origin(code).origin.kind == CONSTANT


def test_a_later_binding_in_the_same_loop_counts():
    # The next iteration loads what the previous one fetched.
    code = """
        import pickle, urllib.request
        def _run(urls):
            p = "seed.pkl"
            for u in urls:
                obj = pickle.load(open(p, "rb"))
                p, _ = urllib.request.urlretrieve(u)
    """
    finding = origin(code)
    assert finding.origin.kind == NETWORK and "`urlretrieve` fetched at line 7" in finding.message


def test_a_later_binding_in_a_while_loop_counts_and_its_else_does_not():
    looped = """
        import pickle, urllib.request
        def _run():
            p = "seed.pkl"
            while True:
                obj = pickle.load(open(p, "rb"))
                p, _ = urllib.request.urlretrieve("https://example.com/next")
    """
    after = """
        import pickle, urllib.request
        def _run(items):
            p = "seed.pkl"
            for item in items:
                obj = pickle.load(open(p, "rb"))
            else:
                p, _ = urllib.request.urlretrieve("https://example.com/next")
    """
    assert origin(looped).origin.kind == NETWORK
    assert origin(after).origin.kind == CONSTANT


def test_an_earlier_binding_in_another_branch_still_counts():
    code = """
        import pickle, urllib.request
        def _run(remote):
            if remote:
                p, _ = urllib.request.urlretrieve("https://example.com/m.pkl")
            else:
                p = "local.pkl"
            return pickle.load(open(p, "rb"))
    """
    assert origin(code).origin.kind == NETWORK


def test_a_later_binding_at_the_top_level_of_a_script_does_not_count():
    code = """
        import pickle, urllib.request
        p = "model.pkl"
        obj = pickle.load(open(p, "rb"))
        p, _ = urllib.request.urlretrieve("https://example.com/m.pkl")
    """
    assert origin(code).origin.kind == CONSTANT


def test_a_closures_later_binding_counts():
    # `inner` runs when it is called, after the outer function bound `p`: not ordered.
    code = """
        import pickle, urllib.request
        def _outer():
            def inner():
                return pickle.load(open(p, "rb"))
            p, _ = urllib.request.urlretrieve("https://example.com/m.pkl")
            return inner()
    """
    assert origin(code).origin.kind == NETWORK


def test_a_recursive_private_functions_later_call_passes_its_argument():
    # A caller's argument is ordered at its own call, not at the load.
    code = """
        import pickle, urllib.request
        def _load(path, depth):
            obj = pickle.load(open(path, "rb"))
            nxt, _ = urllib.request.urlretrieve("https://example.com/next")
            return _load(nxt, depth - 1)
    """
    assert origin(code).origin.kind == NETWORK


# --- the order itself ---------------------------------------------------------------------------------

def _nodes(code: str) -> tuple[StatementOrder, dict[str, list[cst.CSTNode]]]:
    """The order of the module's first function, and its Name, Assign (`=name`) and NamedExpr
    (`:=name`) nodes by name, in source order."""
    module = cst.parse_module(textwrap.dedent(code))
    function = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    found: dict[str, list[cst.CSTNode]] = {}

    class Collect(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            target = node.targets[0].target
            if isinstance(target, cst.Name):
                found.setdefault("=" + target.value, []).append(node)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            if isinstance(node.target, cst.Name):
                found.setdefault(":=" + node.target.value, []).append(node)

        def visit_Name(self, node: cst.Name) -> None:
            found.setdefault(node.value, []).append(node)

    function.visit(Collect())
    return StatementOrder(function), found


def test_the_order_sees_loops_and_statements_but_not_nested_bodies():
    order, nodes = _nodes("""
        def f(x):
            a = 1
            while a < x:
                use(b)
                b = 2
                e = 5
            c = a
            a = 3
            def g():
                return d
            d = 4
    """)
    first_a, last_a = nodes["=a"]
    test_a, use_of_a = nodes["a"][1], nodes["a"][2]  # `while a < x`, `c = a`
    assert order.reaches(first_a, use_of_a) and not order.reaches(last_a, use_of_a)
    assert not order.reaches(last_a, test_a)
    assert order.reaches(nodes["=b"][0], nodes["b"][0])  # the while loop repeats both
    assert order.reaches(nodes["=e"][0], test_a)  # the while test runs again after the body
    in_g = nodes["d"][0]  # `return d`, in another scope: not ordered here
    assert order.reaches(nodes["=d"][0], in_g)


def test_a_binding_in_the_same_statement_reaches_only_if_it_is_made_first():
    order, nodes = _nodes("""
        def f(x):
            x = load(x)
            if (y := x) and load(y):
                pass
    """)
    assign, in_load = nodes["=x"][0], nodes["x"][2]  # `x = load(x)`: the parameter, the target, the argument
    assert not order.reaches(assign, in_load)  # the value is bound after the call
    walrus, in_if = nodes[":=y"][0], nodes["y"][1]
    assert order.reaches(walrus, in_if)
