"""The catalogue refuses malformed rule files with a message naming the file and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mllint_sec.catalogue.loading import catalogue_dir, load_catalogue
from mllint_sec.catalogue.model import CatalogueError

RULE = "deserialization/torch-load-unsafe.toml"


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(catalogue_dir(), target)
    return target


def edit(root: Path, old: str, new: str, name: str = RULE) -> None:
    path = root / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_shipped_catalogue_loads_with_unique_ids():
    catalogue = load_catalogue()
    assert {"LOAD001", "LOAD003", "LOAD008", "MLS001", "MLS002"} <= set(catalogue.rules)
    assert len({r.name for r in catalogue.rules.values()}) == len(catalogue.rules)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('severity = "high"\n', "", "missing required field 'severity'"),
        ('family = "deserialization"', 'family = "nonsense"', "unknown family 'nonsense'"),
        ('severity = "high"', 'severity = "severe"', "severity 'severe' is not one of"),
        ('id = "LOAD003"', 'id = "load3"', "must look like LOAD001"),
        ('id = "LOAD003"', 'id = "SUP003"', "must start with the family prefix 'LOAD'"),
        ('cwe = ["CWE-502", "CWE-94"]', 'cwe = ["CWE-99999"]', "cwe id 'CWE-99999' is not declared"),
        ('precision = "high"', 'precision = "high"\ncolour = "red"', "unknown field(s) colour"),
        ('check = "absent-or-falsy"', 'check = "sometimes"', "check 'sometimes' is not one of"),
        ('calls = ["torch.load", "torch.serialization.load"]', 'calls = ["torch load"]', "not a dotted qualified name"),
        ('calls = ["torch.load", "torch.serialization.load"]', 'calls = ["torch.*"]', "not a dotted qualified name"),
        ('calls = ["torch.load", "torch.serialization.load"]', 'calls = ["*.load"]', "not a dotted qualified name"),
        ('verdict = "flag"', 'verdict = "maybe"', "verdict 'maybe' is not one of"),
        ("references = [", "references = [] \nignored = [", "unknown field(s) ignored"),
        ("[[match]]\ncalls", "[[match]]\nwhatever = 1\ncalls", "unknown field(s) whatever"),
    ],
)
def test_malformed_rule_is_refused(rules_copy, old, new, expected):
    edit(rules_copy, old, new)
    with pytest.raises(CatalogueError) as error:
        load_catalogue(rules_copy)
    assert "torch-load-unsafe.toml" in str(error.value)
    assert expected in str(error.value)


def test_invalid_toml_is_refused(rules_copy):
    (rules_copy / RULE).write_text("id = \n")
    with pytest.raises(CatalogueError, match="cannot read rule file"):
        load_catalogue(rules_copy)


def test_file_name_must_match_rule_name(rules_copy):
    (rules_copy / RULE).rename(rules_copy / "deserialization" / "renamed.toml")
    with pytest.raises(CatalogueError, match=r"file must be rules/deserialization/torch-load-unsafe\.toml"):
        load_catalogue(rules_copy)


def test_duplicate_id_is_refused(rules_copy):
    text = (rules_copy / RULE).read_text().replace('name = "torch-load-unsafe"', 'name = "torch-load-copy"')
    (rules_copy / "deserialization" / "torch-load-copy.toml").write_text(text)
    with pytest.raises(CatalogueError, match="clashes"):
        load_catalogue(rules_copy)


def test_missing_docs_section_is_refused(rules_copy):
    edit(rules_copy, 'why = """', 'whyy = """')
    with pytest.raises(CatalogueError, match="unknown field"):
        load_catalogue(rules_copy)


# A message is formatted with the names its kind of match provides, on every finding; a name it
# does not provide used to load fine and then turn each such finding into MLS001 "internal error".
TORCH_MESSAGE = "message = \"`{callee}` without `weights_only=True` unpickles"


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (RULE, TORCH_MESSAGE, TORCH_MESSAGE.replace("{callee}", "{calee}"),
         "placeholder '{calee}' is not one of {callee}, {subject}"),
        (RULE, TORCH_MESSAGE, TORCH_MESSAGE.replace("{callee}", "{callee.__class__}{path}"),
         "placeholder '{path}' is not one of {callee}, {subject}"),
        (RULE, TORCH_MESSAGE, TORCH_MESSAGE.replace("{callee}", "{callee:>{width}}"), "placeholder '{width}'"),
        (RULE, TORCH_MESSAGE, TORCH_MESSAGE.replace("{callee}", "{}"), "placeholder '{}'"),
        (RULE, TORCH_MESSAGE, TORCH_MESSAGE.replace("{callee}", "{callee"), "message is not a valid format string"),
        # A rule without argument checks also reports bare references (`map(pickle.loads, xs)`): no subject there.
        ("deserialization/pickle-load.toml", "message = \"`{callee}` unpickles", "message = \"`{subject}` unpickles",
         "placeholder '{subject}' is not one of {callee}"),
        ("artifacts/artifact-dangerous-callable.toml", "calls `{callable}`", "calls `{callee}`",
         "placeholder '{callee}' is not one of {callable}, {kind}, {where}"),
        ("provenance/model-card-missing-provenance.toml", "record {fields}", "record {field}",
         "placeholder '{field}' is not one of {fields}, {what}"),
    ],
    ids=["typo", "name-of-another-kind", "nested-in-format-spec", "positional", "unclosed-brace",
         "subject-of-a-bare-reference", "artifact", "provenance"],
)
def test_a_message_placeholder_its_kind_does_not_provide_is_refused(rules_copy, name, old, new, expected):
    edit(rules_copy, old, new, name)
    with pytest.raises(CatalogueError) as error:
        load_catalogue(rules_copy)
    assert str(error.value).startswith(str(rules_copy / name))
    assert expected in str(error.value)


def test_doubled_braces_in_a_message_are_literal_text(rules_copy):
    edit(rules_copy, TORCH_MESSAGE, TORCH_MESSAGE.replace("{callee}", "{callee} {{weights}}"))
    rule = load_catalogue(rules_copy).rules["LOAD003"]
    [message] = [check.message for match in rule.calls for check in match.args if "{{weights}}" in check.message]
    assert message.format(callee="torch.load", subject="").startswith("`torch.load {weights}` without")
