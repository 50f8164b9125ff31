"""Command-line switches and settings: what `args.x` is when the user passes nothing.

`trust_remote_code=args.trust_remote_code` is not `trust_remote_code=True`: with
`parser.add_argument("--trust-remote-code", action="store_true")` the code runs only
when the user asks for it on the command line. This module finds, in the same file,
how such a switch is declared and gives its default, so resolve.py can answer "what
does this argument hold in a default run":

- argparse: `add_argument("--x-y", dest=..., action=..., default=...)` on any parser
  (`store_true`, `store_false`, `BooleanOptionalAction`, plain options), and
  `set_defaults(x_y=...)`, which argparse lets override an argument's own default;
- absl: `flags.DEFINE_bool("x", default, ...)`;
- settings classes: fields of a `@dataclass` or a pydantic `BaseSettings`/`BaseModel`
  subclass (`x: bool = False`, `field(default=...)`, `Field(...)`), which
  `HfArgumentParser`, tyro or pydantic-settings turn into switches;
- click and typer: a parameter of a command (`@click.option("--x/--no-x", default=True)`,
  `is_flag=True`; `x: bool = typer.Option(False)` or `x: bool = False` on a function that
  is decorated as a command or passed to `typer.run` / `fire.Fire`).

An attribute read is a switch read when its object is named like an options holder
(`args`, `self.args`, `opt`, `cfg`, `settings`, `model_args`, ...) or is bound to
`parse_args()` in the file. Such a read whose name the file does not declare
(`shared.args.x`, where another module builds the parser) is *unknown*: it is not the
imported object itself, whose truth a resolver would otherwise take for granted.

Only literal defaults are read, by syntax: nothing is imported or evaluated. The file's
declarations are indexed once, from the calls and classes scopes.py recorded
(`register`), so each question is a dictionary look-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from mllint_sec.python.scopes import OTHER, Binding, FileFacts, Scope, dotted_name

_MEMO = "switches"


class _NoDefault:
    """A declaration whose default is not a literal (`default=DEFAULT`): its value is unknown."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT = _NoDefault()

# Names of objects that hold parsed options; a suffix after `_` counts too (`model_args`).
_HOLDERS = frozenset({
    "args", "arguments", "argv", "opt", "opts", "option", "options", "cfg", "conf", "config", "configs",
    "settings", "flags", "hparams", "hps", "params", "parsed", "cli",
})
# Words a block that declares switches names; slicing keeps such blocks (matching.MatchIndex.build),
# so the declarations are seen whether or not the file's other functions are stubbed.
DECLARATION_WORDS = frozenset({
    "add_argument", "set_defaults", "DEFINE_bool", "DEFINE_boolean", "dataclass", "BaseSettings", "BaseModel",
})
_PARSE_CALLS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args"})
_SETTINGS_BASES = frozenset({"BaseSettings", "BaseModel"})
_FIELD_CALLS = frozenset({"field", "Field", "attrib", "ib"})
_COMMAND_DECORATORS = frozenset({"command", "callback"})
_RUNNERS = frozenset({"typer.run", "fire.Fire"})
_MAX_DECLARATIONS = 8


@dataclass(frozen=True)
class Switch:
    """One declaration: its default and how a user changes it."""

    default: object  # the literal default, or NO_DEFAULT
    declared: str  # how it is declared, for messages: "`--trust-remote-code`", "the `x` field of `Args`"
    turns_off: str | None = None  # the flag that turns an on-by-default switch off (`--no-x`)
    turns_on: str | None = None  # the flag that turns an off-by-default switch on


@dataclass
class _Declarations:
    facts: FileFacts
    built: bool = False
    # attribute name -> its declarations (argparse dests, absl flags, settings fields)
    attributes: dict[str, list[Switch]] = field(default_factory=dict)
    # id(FunctionDef) -> parameter name -> its declaration (click / typer / fire commands)
    parameters: dict[int, dict[str, Switch]] = field(default_factory=dict)


def register(facts: FileFacts) -> None:
    """Make the file's declarations available to questions asked in its scopes (indexed on first use)."""
    facts.scope.memo.setdefault(_MEMO, _Declarations(facts))


def _declarations(scope: Scope) -> _Declarations | None:
    found: _Declarations | None = scope.module().memo.get(_MEMO)
    if found is not None and not found.built:
        found.built = True
        _index(found)
    return found


# --- questions ------------------------------------------------------------------


def attribute_switch(expr: cst.Attribute, scope: Scope) -> list[Switch] | None:
    """The declarations of `expr` when it reads a switch (`[]`: a switch the file does not declare),
    or None when it is not a switch read at all."""
    declarations = _declarations(scope)
    if not _is_holder(expr.value, scope):
        return None
    return list(declarations.attributes.get(expr.attr.value, ())) if declarations is not None else []


def parameter_switch(name: str, binding: Binding) -> Switch | None:
    """The declaration of a command's parameter (click, typer, fire), or None for any other binding."""
    owner = binding.scope
    if binding.kind != OTHER or owner.kind != "function" or not isinstance(owner.node, cst.FunctionDef):
        return None
    declarations = _declarations(owner)
    if declarations is None:
        return None
    return declarations.parameters.get(id(owner.node), {}).get(name)


def switches_in(expr: cst.BaseExpression, scope: Scope) -> list[Switch]:
    """The declarations a switch read in `expr` (itself, or under `not`) refers to, for a message."""
    while isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        expr = expr.expression
    if isinstance(expr, cst.Attribute):
        return attribute_switch(expr, scope) or []
    if isinstance(expr, cst.Name):
        bindings, _ = scope.lookup(expr.value)
        found = [parameter_switch(expr.value, binding) for binding in bindings]
        return [switch for switch in found if switch is not None]
    return []


def describe(switch: Switch) -> str:
    """How the switch is set in a default run, for a finding's message: "on unless `--no-x` is given"."""
    if switch.default is NO_DEFAULT:
        return f"set by {switch.declared}"
    on = bool(switch.default)
    state = "on" if on else "off"
    flip = switch.turns_off if on else switch.turns_on
    if flip is not None:
        return f"{state} unless `{flip}` is given"
    return f"{state} by default: {switch.declared} defaults to {switch.default!r}"


# --- what holds options ---------------------------------------------------------


def _is_holder(obj: cst.BaseExpression, scope: Scope) -> bool:
    """`args`, `self.args`, `shared.args`, `model_args`, or a name bound to `parser.parse_args()`."""
    last = obj.attr.value if isinstance(obj, cst.Attribute) else obj.value if isinstance(obj, cst.Name) else None
    if last is None:
        return False
    lowered = last.lower()
    if lowered in _HOLDERS or lowered.rsplit("_", 1)[-1] in _HOLDERS:
        return True
    if isinstance(obj, cst.Name):
        bindings, _ = scope.lookup(obj.value)
        return any(_is_parse_call(binding.value) for binding in bindings if binding.value is not None)
    return False


def _is_parse_call(value: cst.BaseExpression) -> bool:
    return (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in _PARSE_CALLS)


# --- the file's declarations ----------------------------------------------------


def _index(found: _Declarations) -> None:
    overrides: dict[str, list[object]] = {}
    runners: set[str] = set()
    for site in found.facts.calls:
        call = site.node
        last = _last_name(call.func)
        if last == "add_argument":
            _add_argument(found, call)
        elif last in ("DEFINE_bool", "DEFINE_boolean"):
            _absl_flag(found, call)
        elif last == "set_defaults":
            for arg in call.args:
                if arg.keyword is not None:
                    overrides.setdefault(arg.keyword.value, []).append(_literal(arg.value))
        elif dotted_name(call.func) in _RUNNERS and call.args and isinstance(call.args[0].value, cst.Name):
            runners.add(call.args[0].value.value)
    for name, values in overrides.items():
        # argparse: a parser-level default wins over the argument's own.
        declared = found.attributes.get(name)
        if declared:
            found.attributes[name] = [
                Switch(value, d.declared, d.turns_off, d.turns_on)
                for d in dict.fromkeys(declared) for value in dict.fromkeys(values)
            ]
    for class_site in found.facts.classes:
        if _is_settings_class(class_site.node):
            _settings_fields(found, class_site.node)
    for name, declared in found.attributes.items():
        distinct = list(dict.fromkeys(declared))
        # Every question about `name` walks its declarations: a file that declares it many ways
        # (hostile, or generated) gets one unknown answer instead of work that grows with each read.
        found.attributes[name] = distinct if len(distinct) <= _MAX_DECLARATIONS else [
            Switch(NO_DEFAULT, f"{len(distinct)} declarations of `{name}`")]
    for function_scope in found.facts.function_scopes.values():
        function = function_scope.node
        if isinstance(function, cst.FunctionDef):
            _command_parameters(found, function, runners)


def _add_argument(found: _Declarations, call: cst.Call) -> None:
    options = [_string(arg.value) for arg in call.args if arg.keyword is None and not arg.star]
    flags = [o for o in options if o is not None and o.startswith("-")]
    if not flags:
        return  # a positional argument: required, it has no default to speak of
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    long = [f for f in flags if f.startswith("--")]
    dest = _string(keywords["dest"]) if "dest" in keywords else (long or flags)[0].lstrip("-").replace("-", "_")
    if not dest:
        return
    action = _action(keywords.get("action"))
    default = _literal(keywords["default"]) if "default" in keywords else None
    first = f"`{flags[0]}`"
    if action == "store_true":
        default = False if "default" not in keywords else default
        switch = Switch(default, first, turns_on=flags[0])
    elif action == "store_false":
        default = True if "default" not in keywords else default
        switch = Switch(default, first, turns_off=flags[0])
    elif action == "BooleanOptionalAction":
        negative = "--no-" + (long or flags)[0].lstrip("-")
        switch = Switch(default, first, turns_off=negative, turns_on=flags[0])
    else:
        switch = Switch(default, first)
    found.attributes.setdefault(dest, []).append(switch)


def _absl_flag(found: _Declarations, call: cst.Call) -> None:
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    name_node = keywords.get("name", positional[0] if positional else None)
    default_node = keywords.get("default", positional[1] if len(positional) > 1 else None)
    name = _string(name_node) if name_node is not None else None
    if name and default_node is not None:
        found.attributes.setdefault(name, []).append(
            Switch(_literal(default_node), f"`--{name}`", turns_off=f"--no{name}", turns_on=f"--{name}"))


def _is_settings_class(node: cst.ClassDef) -> bool:
    decorated = any(_last_name(d.decorator) == "dataclass" for d in node.decorators)
    return decorated or any(_last_name(base.value) in _SETTINGS_BASES for base in node.bases)


def _settings_fields(found: _Declarations, node: cst.ClassDef) -> None:
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for line in body:
        if not isinstance(line, cst.SimpleStatementLine):
            continue
        for statement in line.body:
            if isinstance(statement, cst.AnnAssign) and isinstance(statement.target, cst.Name):
                target, value = statement.target, statement.value
            elif (isinstance(statement, cst.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0].target, cst.Name)):
                target, value = statement.targets[0].target, statement.value
            else:
                continue
            if value is None:
                continue  # a required field
            declared = f"the `{target.value}` field of `{node.name.value}`"
            found.attributes.setdefault(target.value, []).append(Switch(_field_default(value), declared))


def _field_default(value: cst.BaseExpression) -> object:
    """`False`, `field(default=False)`, `Field(False)`, `Field(default=False)`."""
    if isinstance(value, cst.Call) and _last_name(value.func) in _FIELD_CALLS | {"Option"}:
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == "default":
                return _literal(arg.value)
        first = value.args[0] if value.args else None
        if first is not None and first.keyword is None and not first.star and _last_name(value.func) != "field":
            return _literal(first.value)
        return NO_DEFAULT
    return _literal(value)


def _command_parameters(found: _Declarations, function: cst.FunctionDef, runners: set[str]) -> None:
    """click options on a command; typer / fire parameters of a command function."""
    declared: dict[str, Switch] = {}
    is_command = function.name.value in runners
    for decorator in function.decorators:
        expr = decorator.decorator
        call = expr if isinstance(expr, cst.Call) else None
        last = _last_name(call.func if call is not None else expr)
        if call is not None and last == "option":
            _click_option(declared, call)
        elif last in _COMMAND_DECORATORS:
            is_command = True
    if is_command:
        params = function.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            if param.name.value not in declared and param.default is not None:
                name = param.name.value
                default = _field_default(param.default)
                flag = "--" + name.replace("_", "-")
                declared[name] = Switch(default, f"`{flag}`", turns_off="--no-" + flag[2:], turns_on=flag)
    if declared:
        found.parameters[id(function)] = declared


def _click_option(declared: dict[str, Switch], call: cst.Call) -> None:
    texts = [_string(arg.value) for arg in call.args if arg.keyword is None and not arg.star]
    decls = [t for t in texts if t]
    keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
    names = [d for d in decls if not d.startswith("-") and "/" not in d]
    options = [part.strip() for d in decls if d.startswith("-") for part in d.split("/")]
    primary = [d.split("/")[0].strip() for d in decls if d.startswith("-")]
    secondary = [d.split("/", 1)[1].strip() for d in decls if d.startswith("-") and "/" in d]
    long = [o for o in primary if o.startswith("--")]
    if not options:
        return
    name = names[0] if names else (long or primary)[0].lstrip("-").replace("-", "_").lower()
    is_flag = bool(secondary) or ("is_flag" in keywords and _literal(keywords["is_flag"]) is True)
    default = _literal(keywords["default"]) if "default" in keywords else (False if is_flag else None)
    first = f"`{primary[0]}`" if primary else f"`{options[0]}`"
    turns_off = secondary[0] if secondary else None
    declared[name] = Switch(default, first, turns_off=turns_off, turns_on=primary[0] if primary else None)


# --- syntax helpers -------------------------------------------------------------


def _last_name(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.Call):
        expr = expr.func
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Name):
        return expr.value
    return None


def _action(expr: cst.BaseExpression | None) -> str | None:
    if expr is None:
        return None
    text = _string(expr)
    if text is not None:
        return text
    return _last_name(expr)  # argparse.BooleanOptionalAction


def _string(expr: cst.BaseExpression | None) -> str | None:
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            value = expr.evaluated_value
        except Exception:  # noqa: BLE001 - a malformed literal is no declaration
            return None
        return value if isinstance(value, str) else None
    return None


def _literal(expr: cst.BaseExpression) -> object:
    """A literal default (`True`, `False`, `None`, a number or a string), or NO_DEFAULT."""
    if isinstance(expr, cst.Name) and expr.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[expr.value]
    if isinstance(expr, (cst.Integer, cst.Float)):
        try:
            return expr.evaluated_value
        except Exception:  # noqa: BLE001
            return NO_DEFAULT
    text = _string(expr)
    return NO_DEFAULT if text is None else text
