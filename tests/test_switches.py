"""Opt-in switches (python/switches.py): `trust_remote_code=args.trust_remote_code` is judged by the
flag's default, not reported as `trust_remote_code=True`.

A switch declared in the file and off by default is the user's opt-in: silent. One on by default is
reported like `True`, and the message says how it is turned off. A switch the file does not declare
follows the rule's `unknown` policy.
"""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.python import resolve, scopes, switches
from mllint_sec.python.matching import MatchIndex, match_file

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules))  # tests filter by rule; none needs the repository


def messages(code: str, rule: str = "SUP002") -> list[tuple[int, str]]:
    result = ANALYZER.analyze("case.py", textwrap.dedent(code).encode())
    return sorted((f.line, f.message) for f in result.findings if f.rule_id == rule)


def lines(code: str, rule: str = "SUP002") -> list[int]:
    return [line for line, _ in messages(code, rule)]


PARSER = """
import argparse
from transformers import AutoModel
parser = argparse.ArgumentParser()
{declaration}
args = parser.parse_args()
model = AutoModel.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
"""


@pytest.mark.parametrize("declaration", [
    'parser.add_argument("--trust-remote-code", action="store_true")',
    'parser.add_argument("--trust-remote-code", default=False)',
    'parser.add_argument("--trust_remote_code", type=bool, default=False)',
    'parser.add_argument("-t", "--trust-remote-code", action="store_true", help="run the hub code")',
    'parser.add_argument("--remote", dest="trust_remote_code", action="store_true")',
    'parser.add_argument("--trust-remote-code", action=argparse.BooleanOptionalAction, default=False)',
    'parser.add_argument("--trust-remote-code")',  # a plain option: None unless given
])
def test_argparse_switch_off_by_default_is_silent(declaration):
    assert lines(PARSER.format(declaration=declaration)) == []


@pytest.mark.parametrize(("declaration", "state"), [
    ('parser.add_argument("--trust-remote-code", default=True)',
     "(on by default: `--trust-remote-code` defaults to True)"),
    ('parser.add_argument("--trust-remote-code", action="store_true", default=True)',
     "(on by default: `--trust-remote-code` defaults to True)"),
    ('parser.add_argument("--no-trust-remote-code", dest="trust_remote_code", action="store_false")',
     "(on unless `--no-trust-remote-code` is given)"),
    ('parser.add_argument("--trust-remote-code", action=argparse.BooleanOptionalAction, default=True)',
     "(on unless `--no-trust-remote-code` is given)"),
])
def test_argparse_switch_on_by_default_is_reported_as_such(declaration, state):
    [(line, message)] = messages(PARSER.format(declaration=declaration))
    assert line == 7
    assert f"with `trust_remote_code=args.trust_remote_code` {state} downloads" in message
    assert "trust_remote_code=True" not in message


def test_store_false_dest_is_on_by_default():
    code = PARSER.format(declaration='parser.add_argument("--local-only", dest="trust_remote_code", '
                                     'action="store_false")')
    [(_, message)] = messages(code)
    assert "(on unless `--local-only` is given)" in message


def test_set_defaults_overrides_the_argument_default():
    on = 'parser.add_argument("--trust-remote-code", action="store_true")\nparser.set_defaults(trust_remote_code=True)'
    off = 'parser.add_argument("--trust-remote-code", default=True)\nparser.set_defaults(trust_remote_code=False)'
    assert lines(PARSER.format(declaration=on)) == [8]
    assert lines(PARSER.format(declaration=off)) == []


def test_conflicting_declarations_are_unknown():
    two = (
        'parser.add_argument("--trust-remote-code", default=True)\n'
        "other = argparse.ArgumentParser()\n"
        'other.add_argument("--trust-remote-code", action="store_true")'
    )
    assert lines(PARSER.format(declaration=two)) == []  # on or off: the rule's unknown policy (pass)


def test_parser_built_in_a_function_of_its_own_is_read_even_when_slicing_stubs_others():
    code = """
        import argparse
        from transformers import AutoModel

        def get_args():
            parser = argparse.ArgumentParser()
            parser.add_argument("--model")
            parser.add_argument("--batch-size", type=int, default=8)
            parser.add_argument("--epochs", type=int, default=3)
            parser.add_argument("--lr", type=float, default=1e-4)
            parser.add_argument("--seed", type=int, default=0)
            parser.add_argument("--no-trust-remote-code", dest="trust_remote_code", action="store_false")
            return parser.parse_args()

        class Trainer:
            def __init__(self, args):
                self.args = args

            def model(self):
                return AutoModel.from_pretrained(self.args.model, trust_remote_code=self.args.trust_remote_code)
    """
    assert lines(code) == [20]


def test_absl_flags():
    code = """
        from absl import flags
        from transformers import AutoModel
        flags.DEFINE_bool("trust_remote_code", {default}, "run hub code")
        FLAGS = flags.FLAGS
        AutoModel.from_pretrained("org/m", trust_remote_code=FLAGS.trust_remote_code)
    """
    assert lines(code.format(default="False")) == []
    [(_, message)] = messages(code.format(default="True"))
    assert "(on unless `--notrust_remote_code` is given)" in message


# --- click, typer, fire: the switch is a parameter of the command ------------------------------


def test_click_flag_off_is_silent_and_on_is_reported():
    code = """
        import click
        from transformers import AutoModel

        @click.command()
        @click.option("--trust-remote-code", {how})
        def main(trust_remote_code):
            AutoModel.from_pretrained("org/m", trust_remote_code=trust_remote_code)
    """
    assert lines(code.format(how="is_flag=True")) == []
    assert lines(code.format(how="is_flag=True, default=False")) == []
    assert lines(code.format(how="is_flag=True, default=True")) == [8]


def test_click_on_off_flag_names_the_off_switch():
    code = """
        import click
        from transformers import AutoModel

        @click.command()
        @click.option("--trust-remote-code/--no-trust-remote-code", default={default})
        def main(trust_remote_code):
            AutoModel.from_pretrained("org/m", trust_remote_code=trust_remote_code)
    """
    assert lines(code.format(default="False")) == []
    [(_, message)] = messages(code.format(default="True"))
    assert "`trust_remote_code=trust_remote_code` (on unless `--no-trust-remote-code` is given)" in message


@pytest.mark.parametrize("parameter", [
    "trust_remote_code: bool = False",
    "trust_remote_code: bool = typer.Option(False, help='run hub code')",
    "trust_remote_code: Annotated[bool, typer.Option()] = False",
])
def test_typer_bool_default_false_is_silent(parameter):
    code = f"""
        import typer
        from typing import Annotated
        from transformers import AutoModel
        app = typer.Typer()

        @app.command()
        def main(model: str, {parameter}):
            AutoModel.from_pretrained(model, trust_remote_code=trust_remote_code)
    """
    assert lines(code) == []


def test_typer_and_fire_default_true_is_reported():
    typer_code = """
        import typer
        from transformers import AutoModel

        def main(model: str, trust_remote_code: bool = typer.Option(True)):
            AutoModel.from_pretrained(model, trust_remote_code=trust_remote_code)

        typer.run(main)
    """
    fire_code = typer_code.replace("import typer", "import fire").replace("typer.Option(True)", "True")
    fire_code = fire_code.replace("typer.run(main)", "fire.Fire(main)")
    [(line, message)] = messages(typer_code)
    assert line == 6 and "(on unless `--no-trust-remote-code` is given)" in message
    assert lines(fire_code) == [6]


def test_parameter_of_a_plain_function_stays_unknown():
    # Not a command: callers are not followed, so the default says nothing about the call.
    code = """
        from transformers import AutoModel
        def load(name, trust_remote_code=True):
            return AutoModel.from_pretrained(name, trust_remote_code=trust_remote_code)
    """
    assert lines(code) == []


def test_switch_passed_through_a_parameter_is_silent():
    code = PARSER.replace(
        "model = AutoModel.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)",
        "def load(name, trust_remote_code=False):\n"
        "    return AutoModel.from_pretrained(name, trust_remote_code=trust_remote_code)\n"
        "model = load(args.model, trust_remote_code=args.trust_remote_code)",
    )
    assert lines(code.format(declaration='parser.add_argument("--trust-remote-code", action="store_true")')) == []


# --- settings classes ------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "expected"), [
    ("trust_remote_code: bool = False", []),
    ("trust_remote_code: bool = field(default=False, metadata={'help': 'run hub code'})", []),
    ("trust_remote_code: bool = True", [9]),
    ("trust_remote_code: bool = field(default=True)", [9]),
])
def test_dataclass_settings(field, expected):
    code = f"""
        from dataclasses import dataclass, field
        from transformers import AutoModel, HfArgumentParser
        @dataclass
        class ModelArguments:
            model_name: str = "org/m"
            {field}
        (model_args,) = HfArgumentParser(ModelArguments).parse_args_into_dataclasses()
        AutoModel.from_pretrained(model_args.model_name, trust_remote_code=model_args.trust_remote_code)
    """
    assert lines(code) == expected


def test_pydantic_settings_field_named_in_message():
    code = """
        from pydantic_settings import BaseSettings
        from pydantic import Field
        from transformers import AutoModel
        class Settings(BaseSettings):
            trust_remote_code: bool = Field({default}, description="run hub code")
        settings = Settings()
        AutoModel.from_pretrained("org/m", trust_remote_code=settings.trust_remote_code)
    """
    assert lines(code.format(default="False")) == []
    [(_, message)] = messages(code.format(default="True"))
    assert "(on by default: the `trust_remote_code` field of `Settings` defaults to True)" in message


def test_class_that_is_not_settings_declares_nothing():
    code = """
        from transformers import AutoModel
        class Model:
            trust_remote_code = True
        AutoModel.from_pretrained("org/m", trust_remote_code=args.trust_remote_code)
    """
    assert lines(code) == []


# --- what a switch read is --------------------------------------------------------------------


def test_switch_from_another_module_is_unknown_not_true():
    # text-generation-webui: modules/shared.py builds the parser; this file only imports it.
    code = """
        from modules import shared
        from transformers import AutoModel, AutoConfig
        AutoModel.from_pretrained(path, trust_remote_code=shared.args.trust_remote_code)
        AutoConfig.from_pretrained(path, trust_remote_code=shared.original_args.trust_remote_code)
    """
    assert lines(code) == []  # SUP002's unknown policy: pass


def test_unknown_switch_follows_the_rules_unknown_policy_flag():
    # SUP001's local_files_only condition treats unknown as "may download" (unknown = "flag").
    code = """
        from modules import shared
        from transformers import AutoModel
        AutoModel.from_pretrained("org/m", local_files_only=shared.args.local_files_only)
    """
    assert lines(code, "SUP001") == [4]
    declared = code.replace("from modules import shared", "import argparse\nshared = argparse.ArgumentParser()\n"
                            "shared.add_argument('--local-files-only', default=True)\nshared.args = None")
    assert lines(declared, "SUP001") == []


def test_imported_constant_that_is_not_an_options_holder_is_unchanged():
    code = """
        from transformers import AutoModel
        from mylib import defaults
        AutoModel.from_pretrained("org/m", trust_remote_code=defaults.TRUST)
    """
    assert lines(code) == [4]


def test_name_bound_to_parse_args_is_a_holder():
    code = PARSER.replace("args = parser.parse_args()", "ns = parser.parse_args()").replace("args.", "ns.")
    assert lines(code.format(declaration='parser.add_argument("--trust-remote-code", action="store_true")')) == []
    assert lines(code.format(declaration='parser.add_argument("--trust-remote-code", default=True)')) == [7]


def test_attribute_switch_answers():
    source = textwrap.dedent("""
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("--x", action="store_true")
        args = parser.parse_args()
        thing = object()
        args.x, thing.x, args.y
    """)
    facts = scopes.collect(cst.parse_module(source))
    switches.register(facts)
    expr = facts.module.body[-1].body[0].value  # type: ignore[attr-defined]
    read, other, undeclared = (element.value for element in expr.elements)
    assert switches.attribute_switch(read, facts.scope) == [switches.Switch(False, "`--x`", turns_on="--x")]
    assert switches.attribute_switch(other, facts.scope) is None
    assert switches.attribute_switch(undeclared, facts.scope) == []
    assert resolve.values(read, facts.scope) == [resolve.Const(False)]
    assert resolve.values(undeclared, facts.scope) == [resolve.UNKNOWN]


# --- import spellings --------------------------------------------------------------------------


@pytest.mark.parametrize(("imports", "callee"), [
    ("import transformers", "transformers.AutoModel"),
    ("from transformers import AutoModel", "AutoModel"),
    ("from transformers import AutoModel as AM", "AM"),
    ("from transformers import AutoModel\nLoader = AutoModel", "Loader"),
])
def test_import_spellings(imports, callee):
    code = f"""
        import argparse
        {{imports}}
        parser = argparse.ArgumentParser()
        parser.add_argument("--trust-remote-code", {{how}})
        args = parser.parse_args()
        {callee}.from_pretrained("org/m", trust_remote_code=args.trust_remote_code)
    """
    code = textwrap.dedent(code).replace("{imports}", imports)
    assert lines(code.replace("{how}", 'action="store_true"')) == []
    assert len(lines(code.replace("{how}", "default=True"))) == 1


# --- other truth-kind checks --------------------------------------------------------------------


NUMPY = """
import argparse
import numpy as np
parser = argparse.ArgumentParser()
parser.add_argument("--allow-pickle", {how})
args = parser.parse_args()
feats = np.load(args.path, allow_pickle=args.allow_pickle)
"""


def test_numpy_allow_pickle_switch():
    assert lines(NUMPY.format(how='action="store_true"'), "LOAD004") == []
    assert lines(NUMPY.format(how="default=False"), "LOAD004") == []
    [(line, message)] = messages(NUMPY.format(how="default=True"), "LOAD004")
    assert line == 7
    assert "(`allow_pickle=args.allow_pickle`: on by default: `--allow-pickle` defaults to True)" in message


TORCH = """
import argparse
import torch
parser = argparse.ArgumentParser()
parser.add_argument({declaration})
args = parser.parse_args()
state = torch.load(args.path, weights_only={value})
"""


def test_falsy_checks_are_symmetric():
    # A switch defaulting to the safe value is safe; one defaulting to the unsafe value is reported.
    unsafe_off = TORCH.format(declaration='"--unsafe-load", action="store_true"', value="not args.unsafe_load")
    safe_on = TORCH.format(declaration='"--weights-only", default=True', value="args.weights_only")
    opt_in = TORCH.format(declaration='"--weights-only", action="store_true"', value="args.weights_only")
    assert lines(unsafe_off, "LOAD003") == []
    assert lines(safe_on, "LOAD003") == []
    [(line, message)] = messages(opt_in, "LOAD003")
    assert line == 7
    assert "without `weights_only=True`" in message  # "without" claims nothing about the argument
    assert "(`weights_only=args.weights_only`: off unless `--weights-only` is given)" in message


def test_message_shows_a_non_literal_argument_as_written():
    code = """
        from transformers import AutoModel
        TRUST = True
        AutoModel.from_pretrained("org/m", trust_remote_code=TRUST)
        AutoModel.from_pretrained("org/m", trust_remote_code=True)
    """
    found = messages(code)
    assert "with `trust_remote_code=TRUST` downloads" in found[0][1]
    assert "with `trust_remote_code=True` downloads" in found[1][1]


def test_braces_in_the_argument_do_not_break_the_message():
    code = """
        from transformers import AutoModel
        AutoModel.from_pretrained("org/m", trust_remote_code={"a": 1})
    """
    [(_, message)] = messages(code)
    assert "`trust_remote_code={\"a\": 1}`" in message


def test_switches_do_not_depend_on_question_order():
    source = PARSER.format(declaration='parser.add_argument("--trust-remote-code", default=True)')
    index = MatchIndex.build(CATALOGUE)
    facts = scopes.collect(cst.parse_module(source))
    forward = match_file(facts, index)
    facts = scopes.collect(cst.parse_module(source))
    backward = match_file(facts, index, list(reversed(facts.calls)))
    assert sorted((f.rule.id, f.message) for f in forward) == sorted((f.rule.id, f.message) for f in backward)


def test_many_declarations_of_one_name_are_bounded_and_unknown():
    declarations = "\n".join(f'parser.add_argument("--trust-remote-code", default={n})' for n in range(300))
    overrides = "\n".join(f"parser.set_defaults(trust_remote_code={n})" for n in range(300))
    source = PARSER.format(declaration=declarations + "\n" + overrides)
    facts = scopes.collect(cst.parse_module(source))
    switches.register(facts)
    read = next(site.node.args[1].value for site in facts.calls if site.node.args and len(site.node.args) == 2
                and isinstance(site.node.args[1].value, cst.Attribute))
    [single] = switches.attribute_switch(read, facts.scope) or []
    assert single.default is switches.NO_DEFAULT
    assert resolve.values(read, facts.scope) == [resolve.UNKNOWN]
