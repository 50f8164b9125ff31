"""Where a deserialization finding's loaded bytes come from (flows/origins.py), and what that makes
of its severity and message (core/origin.py, flows/origin_findings.py). Each origin is shown in both
directions: the case that is that origin, and a near miss that is not."""

from __future__ import annotations

import textwrap

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import catalogue_dir, load_catalogue
from mllint_sec.catalogue.model import CatalogueError
from mllint_sec.catalogue.origin_tables import load_tables, tables
from mllint_sec.core.origin import OriginKind, severity_for
from mllint_sec.core.severity import Severity

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.defaults()) | {"INPUT001"})
NETWORK, USER, CONSTANT = OriginKind.NETWORK, OriginKind.USER, OriginKind.CONSTANT
SELF, UNKNOWN, REQUEST = OriginKind.SELF_WRITTEN, OriginKind.UNKNOWN, OriginKind.REQUEST


def loads(code: str, rule: str = "LOAD003"):
    """The findings of `rule` in `code`, in line order."""
    result = ANALYZER.analyze_text("example.py", textwrap.dedent(code))
    return sorted((f for f in result.findings if f.rule_id == rule), key=lambda f: f.line)


def only(code: str, rule: str = "LOAD003"):
    found = loads(code, rule)
    assert len(found) == 1, [(f.line, f.message) for f in found]
    return found[0]


# --- the severity table --------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "kind", "expected"), [
    (Severity.HIGH, OriginKind.NETWORK, Severity.HIGH),
    (Severity.MEDIUM, OriginKind.NETWORK, Severity.HIGH),  # at least high
    (Severity.CRITICAL, OriginKind.REQUEST, Severity.CRITICAL),  # never lowered
    (Severity.MEDIUM, OriginKind.USER, Severity.HIGH),
    (Severity.HIGH, OriginKind.CONSTANT, Severity.MEDIUM),
    (Severity.HIGH, OriginKind.SELF_WRITTEN, Severity.LOW),
    (Severity.HIGH, OriginKind.ROUND_TRIP, None),
    (Severity.MEDIUM, OriginKind.UNKNOWN, Severity.MEDIUM),  # the rule's own
])
def test_severity_follows_the_origin(rule, kind, expected):
    assert severity_for(rule, kind) == expected


# --- network ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [
    "import torch\n{load}",
    "import torch as th\n{load}".replace("{load}", "{load_th}"),
    "from torch import load\n{load_bare}",
    "from torch import load as tl\n{load_alias}",
    "import functools, torch\nloader = functools.partial(torch.load, map_location='cpu')\n{load_partial}",
])
def test_hf_hub_download_is_network_in_every_import_spelling(spelling):
    fetch = "from huggingface_hub import hf_hub_download\np = hf_hub_download('org/m', 'w.pt')\n"
    calls = {"load": "torch.load(p)", "load_th": "th.load(p)", "load_bare": "load(p)", "load_alias": "tl(p)",
             "load_partial": "loader(p)"}
    code = fetch + spelling.format(**calls) + "\n"
    finding = only(code)
    assert finding.origin is not None and finding.origin.kind == NETWORK
    assert finding.severity == Severity.HIGH
    assert "it loads the file `hf_hub_download` fetched at line 2" in finding.message
    assert finding.origin.step is not None and finding.origin.step.line == 2 and finding.origin.step.path is None


def test_urlretrieve_and_a_local_function_returning_a_download_are_network():
    code = """
        import pickle, urllib.request
        from huggingface_hub import hf_hub_download
        def fetch(name):
            return hf_hub_download("org/" + name, "model.pkl")
        path, _ = urllib.request.urlretrieve("https://example.com/m.pkl")
        a = pickle.load(open(path, "rb"))
        b = pickle.load(open(fetch("x"), "rb"))
    """
    first, second = loads(code, "LOAD001")
    assert first.origin.kind == NETWORK and "`urlretrieve` fetched at line 6" in first.message
    assert second.origin.kind == NETWORK and "`hf_hub_download` fetched at line 5" in second.message


def test_bytes_a_response_carries_and_a_file_a_downloader_wrote_are_network():
    code = """
        import pickle, requests, torch
        def bytes_of(url):
            data = requests.get(url).content
            return pickle.loads(data)
        def written(url):
            torch.hub.download_url_to_file(url, "/tmp/w.pt")
            return torch.load("/tmp/w.pt")
    """
    assert only(code, "LOAD001").origin.kind == NETWORK
    finding = only(code, "LOAD003")
    assert finding.origin.kind == NETWORK and "`download_url_to_file` fetched at line 7" in finding.message


def test_a_local_path_that_only_looks_like_a_download_is_not_network():
    code = """
        import torch
        def hf_hub_download_path():
            return "weights/w.pt"
        state = torch.load(hf_hub_download_path())
    """
    assert only(code).origin.kind == CONSTANT


# --- user-chosen ------------------------------------------------------------------------------------

def test_argparse_option_names_the_flag_and_its_line():
    code = """
        import argparse, torch
        parser = argparse.ArgumentParser()
        parser.add_argument("--ckpt-path")
        args = parser.parse_args()
        state = torch.load(args.ckpt_path)
    """
    finding = only(code)
    assert finding.origin.kind == USER and finding.severity == Severity.HIGH
    assert finding.message.endswith("; the path comes from the command line (`--ckpt-path`, line 4)")


@pytest.mark.parametrize("source", [
    "sys.argv[1]", "os.environ['CKPT']", "os.getenv('CKPT')", "os.environ.get('CKPT', 'x.pt')",
])
def test_argv_and_environment_are_user_chosen(source):
    code = f"import os, sys, joblib\nmodel = joblib.load({source})\n"
    assert only(code, "LOAD002").origin.kind == USER


def test_click_option_and_public_parameter_are_user_chosen_private_follows_callers():
    code = """
        import click, torch
        @click.command()
        @click.option("--ckpt")
        def _cli(ckpt):
            return torch.load(ckpt)
        def restore(path):
            return torch.load(path)
        class _Store:
            def get(self, path):
                return torch.load(path)
        def _private(path):
            return torch.load(path)
        _private("weights/w.pt")
    """
    cli, public, method, private = [f for f in loads(code) if f.line != 14]  # (14: the wrapper call)
    assert cli.origin.kind == USER and "`ckpt` of the command `_cli`" in cli.message
    assert public.origin.kind == USER and "the public function `restore`" in public.message
    assert method.origin.kind == UNKNOWN  # a method of a private class: not called in the file
    assert private.origin.kind == CONSTANT and private.message.endswith("a repository file, `weights/w.pt`")


def test_private_function_takes_its_worst_caller():
    code = """
        import sys, torch
        def _load(path):
            return torch.load(path)
        _load("a.pt")
        _load(sys.argv[1])
    """
    finding = [f for f in loads(code) if f.line == 4]
    assert finding[0].origin.kind == USER


# --- constant and unknown ----------------------------------------------------------------------------

def test_constant_paths_built_with_join_path_and_fstrings():
    code = """
        import os, pickle
        from pathlib import Path
        ROOT = "models"
        a = pickle.load(open(os.path.join(ROOT, "a.pkl"), "rb"))
        b = pickle.load(open(Path(ROOT) / "b.pkl", "rb"))
        c = pickle.load(open(f"{ROOT}/c.pkl", "rb"))
    """
    found = loads(code, "LOAD001")
    assert [f.origin.kind for f in found] == [CONSTANT] * 3
    assert all(f.severity == Severity.MEDIUM for f in found)
    assert found[0].message.endswith("a repository file, `models/a.pkl`")


def test_a_remote_uri_is_not_a_repository_file():
    code = "import mlflow\nclf = mlflow.sklearn.load_model('models:/churn/Production')\n"
    finding = only(code, "LOAD010")
    assert finding.origin.kind == NETWORK and finding.severity == Severity.HIGH


def test_unknown_keeps_the_rule_severity_and_message():
    code = """
        import marshal
        def _decode(blob):
            return marshal.loads(blob)
    """
    finding = only(code, "LOAD007")
    assert finding.origin.kind == UNKNOWN and finding.severity == Severity.MEDIUM
    assert "comes from" not in finding.message and "it loads" not in finding.message


def test_a_constant_mixed_with_a_user_value_is_user_chosen():
    code = "import sys, torch\np = sys.argv[1] if len(sys.argv) > 1 else 'default.pt'\ns = torch.load(p)\n"
    assert only(code).origin.kind == USER


# --- self-written and round trips --------------------------------------------------------------------

def test_save_then_load_of_the_same_path_is_self_written_in_a_function_and_at_top_level():
    code = """
        import torch
        def roundtrip(model, out):
            path = out + "/ckpt.pt"
            torch.save(model.state_dict(), path)
            return torch.load(path)
        torch.save({}, "state.pt")
        state = torch.load("state.pt")
    """
    in_function, top_level = loads(code)
    assert in_function.origin.kind == SELF and in_function.severity == Severity.LOW
    assert in_function.message.endswith("; it loads the file this code wrote at line 5")
    assert top_level.origin.kind == SELF


def test_a_different_path_or_a_later_write_is_not_self_written():
    code = """
        import torch
        torch.save({}, "state.pt")
        other = torch.load("other.pt")
        first = torch.load("later.pt")
        torch.save({}, "later.pt")
    """
    assert [f.origin.kind for f in loads(code)] == [CONSTANT, CONSTANT]


def test_pickle_dump_in_one_with_block_and_load_in_another_is_self_written():
    code = """
        import pickle
        def cache(obj, path):
            with open(path, "wb") as out:
                pickle.dump(obj, out)
            with open(path, "rb") as fh:
                return pickle.load(fh)
    """
    assert only(code, "LOAD001").origin.kind == SELF


def test_round_trips_are_not_reported_a_different_object_is():
    code = """
        import io, pickle, torch
        copy = pickle.loads(pickle.dumps(obj))
        blob = pickle.dumps(obj)
        again = pickle.loads(blob)
        def clone(state):
            buf = io.BytesIO()
            torch.save(state, buf)
            buf.seek(0)
            return torch.load(buf)
        other = pickle.loads(received)
    """
    assert [f.line for f in loads(code, "LOAD001")] == [11]
    assert loads(code, "LOAD003") == []


def test_a_round_trip_suppression_becomes_unused():
    code = "import pickle\ncopy = pickle.loads(pickle.dumps(obj))  # mllint-sec: ignore[LOAD001] -- a deep copy\n"
    result = ANALYZER.analyze_text("example.py", code)
    assert [f.rule_id for f in result.findings] == ["MLS002"]


# --- request data ------------------------------------------------------------------------------------

def test_request_data_is_the_origin_of_the_flow_and_of_the_load():
    code = """
        import pickle
        from flask import request
        def view():
            return pickle.loads(request.get_data())
    """
    flow = only(code, "INPUT001")
    load = only(code, "LOAD001")
    assert flow.origin.kind == REQUEST and flow.severity == Severity.CRITICAL
    assert load.origin.kind == REQUEST and load.severity == Severity.HIGH


# --- bounds and hostile input ------------------------------------------------------------------------

def test_a_long_chain_of_names_is_bounded_and_deterministic():
    chain = "".join(f"p{i} = p{i - 1}\n" for i in range(1, 3000))
    code = "import sys, torch\np0 = sys.argv[1]\n" + chain + "x = torch.load(p2999)\n"
    first = only(code)
    assert first.origin.kind in (USER, UNKNOWN)
    assert only(code).origin == first.origin


def test_names_bound_through_each_other_in_a_loop_end():
    code = """
        import torch
        a = "x.pt"
        for _ in range(3):
            b = a
            a = b
        s = torch.load(a)
    """
    assert only(code).origin.kind == CONSTANT


# --- the tables --------------------------------------------------------------------------------------

def test_tables_are_read_and_documented():
    t = tables()
    assert "huggingface_hub.hf_hub_download" in t.network_returns
    assert t.docs["origins"].strip() and t.docs["guards"].strip()


def test_a_malformed_table_is_a_catalogue_error(tmp_path):
    text = (catalogue_dir() / "origins.toml").read_text(encoding="utf-8")
    bad = tmp_path / "origins.toml"
    bad.write_text(text.replace("returns = [", "returns = [1, ", 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match="returns"):
        load_tables(bad)
    bad.write_text(text + "\n[surprise]\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="unknown field"):
        load_tables(bad)
