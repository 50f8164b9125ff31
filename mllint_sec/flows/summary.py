"""What one file tells the cross-module pass about request data (computed with the file's analysis).

Per-file results are cached; a flow from one module into another needs facts about both.
So a file that receives request data records, alongside its findings, a summary that
cross_module.py joins across files without parsing them again:
- `out_calls`: calls of functions defined outside the file that take request data: the
  callee's qualified name, which argument, what the data is (source, level) and its path;
- `returns`: module-level functions whose return value carries request data;
- `fed`: qualified names of outside functions whose results reach a sink of this file
  (only such a file is parsed again, if one of them returns request data).
The located summary (core/flow_summary.py) is stored with the file's findings in its result
and in the cache entry. A file that only calls outside functions records `fed` alone.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import libcst as cst

from mllint_sec.core.data_use import DataUse
from mllint_sec.core.flow_summary import CarriedData, FlowSummary, OutCall, TaintedReturn
from mllint_sec.core.input_level import InputLevel
from mllint_sec.flows.flow_findings import located as located_steps
from mllint_sec.flows.sinks import local_function, returns
from mllint_sec.flows.taint import Flow, Taint
from mllint_sec.python import resolve
from mllint_sec.python.positions import Range
from mllint_sec.python.scopes import FileFacts, Scope

MAX_CALLS = 64  # out_calls recorded per file
_LIBRARIES = frozenset(sys.stdlib_module_names) | {
    "numpy", "torch", "pandas", "tensorflow", "keras", "sklearn", "transformers", "PIL", "cv2", "requests",
    "httpx", "flask", "fastapi", "starlette", "django", "gradio", "bentoml", "ray", "ts", "pydantic", "jsonschema",
    "marshmallow", "scipy", "onnxruntime", "joblib", "boto3", "botocore", "werkzeug", "aiohttp", "uvicorn",
}


# The summary's entries before their steps are located (core/flow_summary.py has them after).
@dataclass(frozen=True)
class _OutCall:
    callee: tuple[str, ...]
    argument: int | str
    use: DataUse
    flow: Flow


@dataclass(frozen=True)
class _Return:
    function: str
    use: DataUse
    flow: Flow


@dataclass
class Summary:
    out_calls: list[_OutCall] = field(default_factory=list)
    returns: list[_Return] = field(default_factory=list)
    fed: list[str] = field(default_factory=list)

    def nodes(self) -> list[cst.CSTNode]:
        flows = [entry.flow for entry in self.out_calls] + [entry.flow for entry in self.returns]
        return [step.node for flow in flows for step in flow.steps]


class FedBy:
    """A Taint hook that records the outside calls whose results a traced value comes from."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def returned(self, call: cst.Call, scope: Scope, use: DataUse) -> Flow | None:
        self.names.update(_outside_names(call, scope))
        return None


def summarize(facts: FileFacts, taint: Taint, fed: FedBy, uses: tuple[DataUse, ...]) -> Summary:
    """`uses`: the purposes to record calls and returns for (none: `fed` only)."""
    summary = Summary(fed=sorted(fed.names))
    if not uses:
        return summary
    for site in facts.calls:
        if len(summary.out_calls) >= MAX_CALLS:
            break
        names = _outside_names(site.node, site.scope)
        if not names:
            continue
        position = 0
        for arg in site.node.args:
            if arg.star:
                continue
            key: int | str = arg.keyword.value if arg.keyword is not None else position
            position += arg.keyword is None
            for use in uses:
                flow = taint.flow_to(arg.value, site.scope, use)
                if flow is not None:
                    callee = cst.Module([]).code_for_node(site.node.func)
                    passed = flow.then(arg.value, f"passed to `{callee}()`")
                    summary.out_calls.append(_OutCall(tuple(names), key, use, passed))
    for statement in facts.module.body:
        if not isinstance(statement, cst.FunctionDef):
            continue
        inner = facts.function_scopes[id(statement)]  # every def has one (python/scopes.py)
        for use in uses:
            for value in returns(statement):
                flow = taint.flow_to(value, inner, use)
                if flow is not None:
                    summary.returns.append(_Return(statement.name.value, use, flow))
                    break
    return summary


def located(summary: Summary, spans: dict[int, Range]) -> FlowSummary:
    """The summary with its steps located (python/positions.py spans): plain data, for the cache."""

    def data(use: DataUse, flow: Flow) -> CarriedData:
        return CarriedData(use, InputLevel(flow.level), flow.why, flow.source.scalar, flow.source.text,
                           located_steps(flow.steps, spans))

    return FlowSummary(
        out_calls=tuple(OutCall(e.callee, e.argument, data(e.use, e.flow)) for e in summary.out_calls),
        returns=tuple(TaintedReturn(e.function, data(e.use, e.flow)) for e in summary.returns),
        fed=tuple(summary.fed),
    )


def _outside_names(call: cst.Call, scope: Scope) -> list[str]:
    """Qualified names of a callee defined outside this file (not a library's)."""
    if local_function(call.func, scope) is not None:
        return []
    return [name for name in resolve.callee_targets(call.func, scope) if isinstance(name, str) and outside(name)]


def outside(name: str) -> bool:
    """Whether a callee's qualified name may be a function of the scanned repository (not a library's)."""
    return name.startswith(".") or name.partition(".")[0] not in _LIBRARIES

