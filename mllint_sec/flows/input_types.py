"""How well a declared input type bounds the data: raw, typed but unbounded, or validated.

Serving frameworks built on pydantic (FastAPI, BentoML) validate a parameter against its
annotation before the handler runs. What that buys depends on the type:
- raw: no annotation, `dict`, `Any`, `object`, `bytes`, `str`, a bare `list`, `UploadFile`;
- typed: a value of a checked type with no size or range limit: `int`/`float` without
  `ge`/`le`, `list[float]` without `max_length`, `np.ndarray` without a shape schema, a
  pydantic model with any such field;
- validated: a bound is declared (`Query(le=100)`, `Field(max_length=512)`, `conlist(...,
  max_length=8)`, `Annotated[list[float], Len(1, 8)]`, `constr(pattern=...)`), or the type is a
  closed choice (`bool`, `Literal`, an `Enum`), or a pydantic model whose fields all are
  (field validators count), or a class defined elsewhere (we cannot see its fields).
"""

from __future__ import annotations

from typing import TypeAlias

import libcst as cst

from mllint_sec.core.input_level import InputLevel
from mllint_sec.python import resolve
from mllint_sec.python.scopes import ASSIGN, Scope

RAW, TYPED, VALIDATED = InputLevel.RAW, InputLevel.TYPED, InputLevel.VALIDATED
# A level and, for TYPED (and some RAW), what is unbounded: "`list[...]` without a length limit".
LevelWhy: TypeAlias = tuple[InputLevel, str]
_RANK = {RAW: 0, TYPED: 1, VALIDATED: 2}
MAX_NESTING = 4

# Keyword arguments that bound a value (Query/Path/Body/Form/Field/conlist/constr/...).
BOUND_KEYWORDS = {"le", "lt", "ge", "gt", "max_length", "max_items", "pattern", "regex", "multiple_of", "max_digits"}
_UPPER = {"le", "lt", "max_length", "max_items", "pattern", "regex", "max_digits"}
_PARAM_FUNCTIONS = {"Query", "Path", "Body", "Form", "File", "Header", "Cookie", "Field", "Param"}
_CONSTRAINED = {"conlist", "conset", "confrozenset", "constr", "conbytes", "conint", "confloat", "condecimal"}
# Annotated[...] metadata that bounds the value: annotated_types, pydantic, BentoML validators.
_BOUNDING_METADATA = {"Len", "MaxLen", "Interval", "Lt", "Le", "Gt", "Ge", "StringConstraints", "Shape", "DType",
                      "TensorSchema", "DataframeSchema", "ContentType", "AfterValidator", "BeforeValidator",
                      "PlainValidator", "WrapValidator"}

_RAW_TYPES = {"dict", "Dict", "Any", "object", "bytes", "str", "list", "List", "Json", "Mapping", "MutableMapping",
              "bytearray", "JSON", "JsonValue"}
_SCALAR_TYPES = {"int", "float", "Decimal", "complex", "StrictInt", "StrictFloat", "PositiveInt", "NegativeInt",
                 "PositiveFloat", "NegativeFloat", "NonNegativeInt", "NonNegativeFloat"}
_CHOICE_TYPES = {"bool", "Literal", "StrictBool", "UUID", "date", "datetime", "time", "timedelta", "EmailStr",
                 "HttpUrl", "AnyUrl", "IPvAnyAddress"}
_CONTAINERS = {"list", "List", "tuple", "Tuple", "set", "Set", "Sequence", "frozenset", "FrozenSet", "Iterable"}
_ARRAYS = {"ndarray", "NDArray", "Tensor", "DataFrame", "Series", "Image"}
_PYDANTIC_BASES = ("pydantic.BaseModel", "pydantic.main.BaseModel", "pydantic.v1.BaseModel", "sqlmodel.SQLModel",
                   "bentoml.IODescriptor")
_DATACLASS = ("dataclasses.dataclass", "pydantic.dataclasses.dataclass")
_ENUM_BASES = ("enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag")
_FIELD_VALIDATORS = {"validator", "field_validator"}
_MODEL_VALIDATORS = {"root_validator", "model_validator"}


def last_name(expr: cst.BaseExpression) -> str:
    while isinstance(expr, cst.Subscript):
        expr = expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Call):
        return last_name(expr.func)
    return ""


def qualified(expr: cst.BaseExpression, scope: Scope) -> set[str]:
    """Qualified names `expr` may refer to; unbound names are taken as builtins."""
    found = {t for t in resolve.callee_targets(expr, scope) if isinstance(t, str)}
    if not found and isinstance(expr, cst.Name) and not scope.lookup(expr.value)[0]:
        found.add(f"builtins.{expr.value}")
    return found


def has_bound(call: cst.Call) -> bool:
    """`Query(le=10)`, `Field(max_length=8)`, `conlist(float, max_length=8)`: an upper bound or a pattern."""
    return any(a.keyword is not None and a.keyword.value in _UPPER for a in call.args)


def level_of(annotation: cst.BaseExpression | None, default: cst.BaseExpression | None, scope: Scope,
             depth: int = 0) -> LevelWhy:
    """(level, why) for a parameter or field declared `name: annotation = default`."""
    if isinstance(default, cst.Call) and last_name(default.func) in _PARAM_FUNCTIONS and has_bound(default):
        return VALIDATED, ""
    if annotation is None:
        return RAW, "no type"
    return _annotation_level(annotation, scope, depth)


def _annotation_level(annotation: cst.BaseExpression, scope: Scope, depth: int) -> LevelWhy:
    if depth > MAX_NESTING:
        return VALIDATED, ""
    if isinstance(annotation, (cst.SimpleString, cst.ConcatenatedString)):
        return TYPED, "a forward reference"
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):  # X | None
        parts = [p for p in (annotation.left, annotation.right) if not _is_none(p)]
        return _worst_of([_annotation_level(p, scope, depth + 1) for p in parts])
    if isinstance(annotation, cst.Call):
        name = last_name(annotation.func)
        if name in _CONSTRAINED:
            return (VALIDATED, "") if has_bound(annotation) else (TYPED, f"`{name}` without an upper bound")
        return TYPED, ""
    name = last_name(annotation)
    if isinstance(annotation, cst.Subscript):
        items = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
        if name == "Annotated" and items:
            metadata = items[1:]
            if any(_bounds(m) for m in metadata):
                return VALIDATED, ""
            return _annotation_level(items[0], scope, depth + 1)
        if name in ("Optional", "Union"):
            return _worst_of([_annotation_level(i, scope, depth + 1) for i in items if not _is_none(i)])
        if name == "Literal":
            return VALIDATED, ""
        if name in ("dict", "Dict", "Mapping"):
            return RAW, f"`{name}` of any size"
        if name in _CONTAINERS:
            inner = _worst_of([_annotation_level(i, scope, depth + 1) for i in items if not _is_ellipsis(i)])
            if name in ("tuple", "Tuple") and items and not any(_is_ellipsis(i) for i in items):
                return inner  # a fixed-length tuple
            if inner[0] == RAW:
                return inner
            return TYPED, f"`{name}[...]` without a length limit"
        if name in _ARRAYS:
            return TYPED, f"`{name}` without a shape schema"
    if name in _CHOICE_TYPES:
        return VALIDATED, ""
    if name in _SCALAR_TYPES:
        return TYPED, f"`{name}` without a range"
    if name in _RAW_TYPES and ((isinstance(annotation, cst.Name) and not scope.lookup(name)[0])
                               or qualified(annotation, scope) & {f"typing.{name}", f"builtins.{name}"}):
        return RAW, f"`{name}`"
    if name in _ARRAYS:
        return TYPED, f"`{name}` without a shape schema"
    return _class_level(annotation, scope, depth)


def _class_level(annotation: cst.BaseExpression, scope: Scope, depth: int) -> LevelWhy:
    """A class as the type: a pydantic model or dataclass of this file is read field by field."""
    for value in resolve.values(annotation, scope):
        if isinstance(value, resolve.LocalClass):
            return model_level(value, depth + 1)
    names = qualified(annotation, scope)
    if any(n.endswith(("UploadFile", ".Request")) for n in names):
        return RAW, "an upload"
    return VALIDATED, ""  # a class defined elsewhere: its fields cannot be read here


def model_level(cls: resolve.LocalClass, depth: int = 0) -> LevelWhy:
    """A local class used as a schema: validated only when every field is bounded."""
    bases = resolve.class_bases(cls)
    if any(b in _ENUM_BASES for b in bases):
        return VALIDATED, ""
    decorators = {n for d in cls.node.decorators for n in qualified(_decorator_func(d.decorator), cls.scope)}
    if not (any(b.startswith(_PYDANTIC_BASES) for b in bases) or decorators & set(_DATACLASS)):
        return TYPED, f"`{cls.node.name.value}` is not a validating schema"
    validated_fields: set[str] = set()
    for statement in _body(cls.node):
        if isinstance(statement, cst.FunctionDef):
            for decorator in statement.decorators:
                name = last_name(decorator.decorator)
                if name in _MODEL_VALIDATORS:
                    return VALIDATED, ""
                if name in _FIELD_VALIDATORS and isinstance(decorator.decorator, cst.Call):
                    literals = [a.value.evaluated_value for a in decorator.decorator.args
                                if isinstance(a.value, cst.SimpleString)]
                    # A field name is a str literal (a bytes one could never match a field).
                    validated_fields |= {v for v in literals if isinstance(v, str)}
    unbounded = []
    for statement in _body(cls.node):
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and statement.body else None
        if not isinstance(small, cst.AnnAssign) or not isinstance(small.target, cst.Name):
            continue
        field = small.target.value
        if field in validated_fields or field == "model_config" or last_name(small.annotation.annotation) == "ClassVar":
            continue
        level, why = level_of(small.annotation.annotation, small.value, cls.scope, depth + 1)
        if level != VALIDATED:
            unbounded.append(f"`{field}`: {why}" if why else f"`{field}`")
    if unbounded:
        return TYPED, f"`{cls.node.name.value}` fields without bounds ({', '.join(unbounded)})"
    return VALIDATED, ""


def _bounds(metadata: cst.BaseExpression) -> bool:
    if isinstance(metadata, cst.Call):
        name = last_name(metadata.func)
        if name in _PARAM_FUNCTIONS or name in _CONSTRAINED:
            return has_bound(metadata)
        return name in _BOUNDING_METADATA
    return last_name(metadata) in _BOUNDING_METADATA


def _worst_of(results: list[LevelWhy]) -> LevelWhy:
    if not results:
        return VALIDATED, ""
    return min(results, key=lambda r: _RANK[r[0]])


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _is_ellipsis(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Ellipsis)


def _decorator_func(decorator: cst.BaseExpression) -> cst.BaseExpression:
    return decorator.func if isinstance(decorator, cst.Call) else decorator


def _body(cls: cst.ClassDef) -> list[cst.CSTNode]:
    return list(cls.body.body) if isinstance(cls.body, cst.IndentedBlock) else []


def assigned_call(expr: cst.BaseExpression, scope: Scope) -> cst.Call | None:
    """The call `expr` is, or the call a name was last assigned from (`box = gr.Slider(...)`)."""
    if isinstance(expr, cst.Call):
        return expr
    if isinstance(expr, cst.Name):
        bindings, _ = scope.lookup(expr.value)
        for binding in reversed(bindings):
            if binding.kind == ASSIGN and isinstance(binding.value, cst.Call):
                return binding.value
    return None
