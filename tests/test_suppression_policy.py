"""Suppression comments naming rules by name, and the policy switches `require-suppression-reason` and
`forbid-blanket-suppression` (MLS002 for a comment without a reason, or one that suppresses every rule)."""

from __future__ import annotations

import json

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.suppressions import SuppressionPolicy, parse_comment
from mllint_sec.engine.runner import Options, run
from mllint_sec.report import json_report

CATALOGUE = load_catalogue()
NAMES = {rule.name: rule.id for rule in CATALOGUE.rules.values()}
LOAD = "import torch\ntorch.load(p)"


def mls002(report):
    return [f["message"] for f in report["findings"] if f["rule_id"] == "MLS002"]


def load003(report):
    [finding] = [f for f in report["findings"] if f["rule_id"] == "LOAD003"]
    return finding


def project(write, tmp_path, code, **settings):
    """A repository with a.py holding `code` and a [tool.mllint-sec] table of `settings` (booleans)."""
    table = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    write(tmp_path, {"a.py": code, "pyproject.toml": f"[tool.mllint-sec]\n{table}"})
    return tmp_path


# --- parsing: ids and names ----------------------------------------------------------------------


@pytest.mark.parametrize(("written", "rules"), [
    ("ignore[torch-load-unsafe]", ("LOAD003",)),
    ("ignore[Torch-Load-UNSAFE]", ("LOAD003",)),  # names are case-insensitive, as ids are
    ("ignore[pickle-load, LOAD003]", ("LOAD001", "LOAD003")),
    ("ignore[load003, torch-load-unsafe]", ("LOAD003",)),  # one rule named twice counts once
    ("ignore[no-such-rule]", ("no-such-rule",)),  # kept as written: covers nothing, reported as unknown
])
def test_names_resolve_to_ids(written, rules):
    suppression = parse_comment(f"# mllint-sec: {written} -- why", 1, 1, NAMES)
    assert not suppression.malformed
    assert suppression.rules == rules
    assert suppression.reason == "why"


@pytest.mark.parametrize("written", [
    "ignore[torch_load_unsafe]", "ignore[torch-]", "ignore[-torch]", "ignore[torch--load]", "ignore[LOAD 003]",
    "ignore[3d-load]", "ignore[torch-load-unsafe,]x", "ignore[]",
])
def test_tokens_that_are_neither_id_nor_name_are_malformed(written):
    assert parse_comment(f"# mllint-sec: {written}", 1, 1, NAMES).malformed


def test_without_the_catalogue_a_name_stays_as_written():
    assert parse_comment("# mllint-sec: ignore[Torch-Load-Unsafe]", 1, 1).rules == ("torch-load-unsafe",)


def test_a_long_token_is_parsed_in_linear_time():
    # Scanned text: a name-shaped token of 200,000 characters must not make the token regexes backtrack.
    token = "a-" * 100_000 + "!"
    assert parse_comment(f"# mllint-sec: ignore[{token}]", 1, 1, NAMES).malformed


# --- a scan: names suppress, unknown names are MLS002 ---------------------------------------------


def test_a_rule_name_suppresses_and_is_used(scan, write, tmp_path):
    write(tmp_path, {"a.py": f"{LOAD}  # mllint-sec: ignore[torch-load-unsafe] -- our checkpoint\n"})
    report, code = scan(tmp_path)
    assert load003(report)["suppressed"] is True
    assert load003(report)["suppression_reason"] == "our checkpoint"
    assert mls002(report) == []
    assert code == 0


def test_names_and_ids_mixed(scan, write, tmp_path):
    write(tmp_path, {"a.py": "import pickle, torch\nx = torch.load(p), pickle.loads(b)  "
                             "# mllint-sec: ignore[pickle-load, LOAD003] -- fixtures\n"})
    report, code = scan(tmp_path)
    assert sorted(f["rule_id"] for f in report["findings"]) == ["LOAD001", "LOAD003"]
    assert all(f["suppressed"] for f in report["findings"])
    assert code == 0


def test_an_unused_name_is_reported_by_its_id(scan, write, tmp_path):
    write(tmp_path, {"a.py": f"{LOAD}  # mllint-sec: ignore[torch-load-unsafe, pickle-load]\n"})
    report, _ = scan(tmp_path)
    assert mls002(report) == ["unused suppression comment: no LOAD001 finding here"]


def test_an_unknown_name_is_an_unknown_rule(scan, write, tmp_path):
    write(tmp_path, {"a.py": f"{LOAD}  # mllint-sec: ignore[torch-lod-unsafe]\n"})
    report, code = scan(tmp_path)
    assert mls002(report) == ["unused suppression comment: unknown rule torch-lod-unsafe"]
    assert load003(report)["suppressed"] is False
    assert code == 1


def test_a_name_suppresses_in_a_requirements_file(scan, write, tmp_path):
    write(tmp_path, {"requirements.txt": "torch>=2.0  # mllint-sec: ignore[unpinned-ml-dependency] -- tracked\n"})
    report, code = scan(tmp_path, "--select", "SUP006")
    [finding] = report["findings"]
    assert (finding["rule_id"], finding["suppressed"], finding["suppression_reason"]) == ("SUP006", True, "tracked")
    assert code == 0


def test_a_name_suppresses_a_cross_module_flow(scan, write, tmp_path):
    write(tmp_path, {
        "svc/__init__.py": "",
        "svc/api.py": "from flask import request\nfrom svc.work import restore\ndef b():\n"
                      "    return restore(request.data)\n",
        "svc/work.py": "import pickle\ndef restore(blob):\n"
                       "    return pickle.loads(blob)  # mllint-sec: ignore[upload-to-deserializer] -- signed\n",
    })
    report, _ = scan(tmp_path, "--no-cache", "--select", "INPUT001")
    [finding] = report["findings"]
    assert finding["suppressed"] is True


def test_the_bare_ignore_suppresses_every_rule_on_the_line(scan, write, tmp_path):
    write(tmp_path, {"a.py": "import pickle, torch\nx = torch.load(p), pickle.loads(b)  # mllint-sec: ignore\n"})
    report, code = scan(tmp_path)
    assert sorted((f["rule_id"], f["suppressed"]) for f in report["findings"]) == [("LOAD001", True),
                                                                                 ("LOAD003", True)]
    assert code == 0


# --- the policy switches -------------------------------------------------------------------------

BLANKET = "blanket suppression: name the rules, `ignore[RULE, ...]` (forbid-blanket-suppression)"
NO_REASON = "suppression without a reason: add `-- reason` (require-suppression-reason)"


@pytest.mark.parametrize(("comment", "settings", "expected"), [
    ("ignore", {}, []),
    ("ignore", {"forbid-blanket-suppression": False, "require-suppression-reason": False}, []),
    ("ignore", {"forbid-blanket-suppression": True}, [BLANKET]),
    ("ignore -- ours", {"forbid-blanket-suppression": True}, [BLANKET]),
    ("ignore[LOAD003]", {"forbid-blanket-suppression": True}, []),
    ("ignore[LOAD003]", {"require-suppression-reason": True}, [NO_REASON]),
    ("ignore[torch-load-unsafe] -- ours", {"require-suppression-reason": True}, []),
    ("ignore", {"require-suppression-reason": True, "forbid-blanket-suppression": True}, [BLANKET, NO_REASON]),
])
def test_policy_switches(scan, write, tmp_path, comment, settings, expected):
    root = project(write, tmp_path, f"{LOAD}  # mllint-sec: {comment}\n", **settings)
    report, code = scan(root)
    assert mls002(report) == expected
    assert load003(report)["suppressed"] is True  # the comment still suppresses; its MLS002 fails the run
    assert code == (1 if expected else 0)


def test_a_policy_finding_adds_to_an_unused_one(scan, write, tmp_path):
    root = project(write, tmp_path, "x = 1  # mllint-sec: ignore\n", **{"forbid-blanket-suppression": True})
    report, _ = scan(root)
    assert sorted(mls002(report)) == sorted(["unused suppression comment: no finding here", BLANKET])
    assert len({f["fingerprint"] for f in report["findings"]}) == 2


def test_a_malformed_comment_is_reported_once(scan, write, tmp_path):
    root = project(write, tmp_path, f"{LOAD}  # mllint-sec: ignore[\n",
                   **{"forbid-blanket-suppression": True, "require-suppression-reason": True})
    report, _ = scan(root)
    assert [m.split(":")[0] for m in mls002(report)] == ["invalid suppression comment"]


def test_policy_needs_mls002(scan, write, tmp_path):
    root = project(write, tmp_path, f"{LOAD}  # mllint-sec: ignore\n", **{"forbid-blanket-suppression": True})
    report, code = scan(root, "--ignore", "MLS002")
    assert mls002(report) == []
    assert code == 0


def test_policy_applies_in_notebooks():
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": ["import torch\n", "torch.load(p)  # mllint-sec: ignore[torch-load-unsafe]\n"]}
    data = json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    strict = Analyzer(CATALOGUE, frozenset({"LOAD003", "MLS002"}), suppression_policy=SuppressionPolicy(True, True))
    found = strict.analyze("nb.ipynb", data).findings
    assert sorted((f.rule_id, f.suppressed, f.cell.cell if f.cell else None) for f in found) == [
        ("LOAD003", True, 1), ("MLS002", False, 1)]
    assert [f.message for f in found if f.rule_id == "MLS002"] == [NO_REASON]
    lenient = Analyzer(CATALOGUE, frozenset({"LOAD003", "MLS002"}))
    assert [(f.rule_id, f.suppressed) for f in lenient.analyze("nb.ipynb", data).findings] == [("LOAD003", True)]


@pytest.mark.parametrize("key", ["require-suppression-reason", "forbid-blanket-suppression"])
@pytest.mark.parametrize("value", ['"yes"', "1", "[]"])
def test_switches_must_be_booleans(cli, error_line, write, tmp_path, key, value):
    write(tmp_path, {"a.py": "x = 1\n", "pyproject.toml": f"[tool.mllint-sec]\n{key} = {value}\n"})
    assert f"'{key}' must be true or false" in error_line(cli("check", tmp_path))


# --- the result cache ----------------------------------------------------------------------------


def test_the_policy_is_part_of_the_cache_key(write, tmp_path):
    """A warm cache never shows the MLS002 findings of another policy."""
    root = project(write, tmp_path / "tree", f"{LOAD}  # mllint-sec: ignore\n")
    config = root / "pyproject.toml"
    cache = tmp_path / "cache"

    def messages():
        return mls002(json.loads(json_report.render(run(Options(paths=[root], jobs=1, cache_dir=cache)))))

    assert messages() == []
    config.write_text("[tool.mllint-sec]\nforbid-blanket-suppression = true\n")
    assert messages() == [BLANKET]
    config.write_text("[tool.mllint-sec]\nforbid-blanket-suppression = true\nrequire-suppression-reason = true\n")
    assert messages() == [BLANKET, NO_REASON]
    config.write_text("[tool.mllint-sec]\n")
    assert messages() == []
    assert len(list(cache.rglob("*.json"))) == 3  # one entry per policy; the last run was a hit


def test_cache_tokens():
    assert SuppressionPolicy().cache_tokens() == frozenset()  # default keys are as before: old entries stay valid
    assert len({SuppressionPolicy(a, b).cache_tokens() for a in (False, True) for b in (False, True)}) == 4
