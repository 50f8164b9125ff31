"""sarif-om objects to SARIF 2.1.0 JSON: final 2.1.0 property names, defaults and empty values left out."""

from __future__ import annotations

from typing import Any

import attr
import sarif_om as om

from mllint_sec.report.json_report import json_text

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

_RENAMED = {(om.Suppression, "state"): "status"}  # sarif-om rtm.4 name -> final 2.1.0 name
_KEEP_EMPTY = {(om.Run, "results"), (om.ToolComponent, "rules"), (om.Result, "suppressions")}
_ALWAYS_WRITTEN = {"level"}


def to_sarif_dict(obj: Any) -> object:
    """sarif-om object (or dict/list/scalar holding them) -> JSON-ready value with exact SARIF names."""
    if attr.has(type(obj)):
        cls = type(obj)
        out: dict[str, object] = {}
        if cls is om.SarifLog:  # `$schema` and `version` first, as every SARIF reader expects to see them
            out["$schema"] = obj.schema_uri or SCHEMA_URI
            out["version"] = obj.version or SARIF_VERSION
        for field in attr.fields(cls):
            name = _RENAMED.get((cls, field.name)) or field.metadata.get("schema_property_name", field.name)
            if name in out:
                continue
            value = getattr(obj, field.name)
            if value is None:
                continue
            if field.name not in _ALWAYS_WRITTEN and _is_default(field, value):
                continue
            converted = to_sarif_dict(value)
            if _empty(converted) and (cls, field.name) not in _KEEP_EMPTY:
                continue
            out[name] = converted
        return out
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if value is None:
                continue
            converted = to_sarif_dict(value)
            if not _empty(converted):
                out[str(key)] = converted
        return out
    if isinstance(obj, (list, tuple)):
        return [to_sarif_dict(item) for item in obj if item is not None]
    return obj


def _is_default(field: Any, value: object) -> bool:
    """`field`: an attrs field of a sarif-om class (sarif-om has no type hints)."""
    default = field.default
    if default is attr.NOTHING:
        return False
    if isinstance(default, attr.Factory):  # type: ignore[arg-type]  # attrs' stubs type Factory as a function
        default = default.factory()
    return type(value) is type(default) and value == default


def _empty(value: object) -> bool:
    return isinstance(value, (dict, list, str)) and len(value) == 0


def dumps(log: om.SarifLog) -> str:
    return json_text(to_sarif_dict(log))


