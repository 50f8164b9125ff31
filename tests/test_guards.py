"""Opt-in gates that dominate a load (flows/guards.py), and `torch.load` that relies on the
weights-only default under `safe_globals` (settled against the declared torch versions)."""

from __future__ import annotations

import textwrap

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.severity import Severity

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.defaults()))


def loads(code: str, rule: str = "LOAD003"):
    result = ANALYZER.analyze_text("example.py", textwrap.dedent(code))
    return sorted((f for f in result.findings if f.rule_id == rule), key=lambda f: f.line)


def test_an_environment_gate_before_the_load_lowers_it_and_says_so():
    code = """
        import os, torch
        def restore(path):
            if not os.environ.get("ALLOW_PICKLE"):
                raise RuntimeError("set ALLOW_PICKLE=1 to load full checkpoints")
            return torch.load(path)
    """
    (finding,) = loads(code)
    assert finding.severity == Severity.LOW
    assert finding.guard == 'guarded by `os.environ.get("ALLOW_PICKLE")` at line 4'
    assert finding.message.endswith('; guarded by `os.environ.get("ALLOW_PICKLE")` at line 4')


def test_an_opt_in_setting_gate_and_an_enclosing_branch_count():
    code = """
        import pickle
        def gated(path, config):
            if config.get("trust_pickles") != True:
                return None
            return pickle.load(open(path, "rb"))
        def inside(path, args):
            if args.allow_unsafe_checkpoints:
                return pickle.load(open(path, "rb"))
        def in_else(path, args):
            if not args.allow_unsafe_checkpoints:
                pass
            else:
                return pickle.load(open(path, "rb"))
    """
    found = loads(code, "LOAD001")
    assert [f.severity for f in found] == [Severity.LOW] * 3
    assert [f.guard.split(" at ")[0] for f in found] == [
        'guarded by `config.get("trust_pickles")`', "guarded by `args.allow_unsafe_checkpoints`",
        "guarded by `args.allow_unsafe_checkpoints`",
    ]


def test_a_gate_that_does_not_dominate_does_not_count():
    code = """
        import os, torch
        def restore(path, fast):
            if fast:
                if not os.environ.get("ALLOW_PICKLE"):
                    raise RuntimeError("no")
            else:
                return torch.load(path)
            state = torch.load(path)
            if not os.environ.get("ALLOW_PICKLE"):
                raise RuntimeError("checked too late")
            return state
    """
    found = loads(code)
    assert [f.guard for f in found] == [None, None]
    assert all(f.severity == Severity.HIGH for f in found)


def test_a_gate_whose_name_does_not_opt_in_or_that_does_not_leave_does_not_count():
    code = """
        import torch
        def restore(path, verbose, allow_pickle):
            if not verbose:
                raise ValueError("quiet")
            if not allow_pickle:
                print("warning: unsafe")
            return torch.load(path)
    """
    (finding,) = loads(code)
    assert finding.guard is None and finding.severity == Severity.HIGH


def test_weights_only_default_under_safe_globals_is_the_version_advisory(write, tmp_path, scan):
    code = textwrap.dedent("""
        import torch
        from torch.serialization import safe_globals
        def restore(path):
            with safe_globals([dict]):
                return torch.load(path)
        def explicit(path):
            with safe_globals([dict]):
                return torch.load(path, weights_only=False)
    """)
    old = tmp_path / "old"
    write(old, {"load.py": code, "requirements.txt": "torch>=2.0\n"})
    report, _ = scan(old, "--no-cache", "--select", "LOAD003")
    relying, explicit = sorted(report["findings"], key=lambda f: f["line"])
    assert "relies on torch 2.6 and later loading weights-only by default" in relying["message"]
    assert "torch>=2.0 is allowed by requirements.txt" in relying["message"] and relying["severity"] == "medium"
    assert "without `weights_only=True` unpickles arbitrary objects" in explicit["message"]

    new = tmp_path / "new"
    write(new, {"load.py": code, "requirements.txt": "torch>=2.6\n"})
    report, _ = scan(new, "--no-cache", "--select", "LOAD003")
    assert [f["line"] for f in report["findings"]] == [9]  # only the explicit unsafe load stands


def test_add_safe_globals_in_the_file_counts_a_plain_load_elsewhere_does_not():
    registered = "import torch\ntorch.serialization.add_safe_globals([dict])\nstate = torch.load('s.pt')\n"
    (finding,) = loads(registered)
    assert finding.unsettled is not None and finding.unsettled.advisory_package == "torch"
    (plain,) = loads("import torch\nstate = torch.load('s.pt')\n")
    assert plain.unsettled is None and "relies on" not in plain.message
