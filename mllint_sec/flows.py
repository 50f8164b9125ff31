"""Flow rules: request data reaching a call that another rule reports (an upload into pickle.loads).

For each finding of a sink family (deserialization), the call's data argument is traced
back by taint.py; when request data reaches it, the flow rule reports the call, with the
path from the source, which text output prints and SARIF carries as a codeFlow.
"""

from __future__ import annotations

import libcst as cst

from .catalogue import FlowMatch, Rule
from .matching import RawFinding
from .scopes import FileFacts
from .taint import Step, Taint

FLOW_NODES = "flow_nodes"  # extra key during analysis: the path's nodes
FLOW = "flow"  # extra key in findings: the path's steps, located
# Parameters that carry the data a loader reads, when it is not passed positionally.
_DATA_KEYWORDS = ("file", "f", "fp", "data", "s", "stream", "buffer", "path", "filepath_or_buffer", "fname", "filename")


def flow_findings(facts: FileFacts, raw: list[RawFinding], rules: list[tuple[Rule, FlowMatch]]) -> list[RawFinding]:
    taint: Taint | None = None
    found: list[RawFinding] = []
    reported: set[tuple[str, int]] = set()
    for sink in raw:
        if sink.site is None or not isinstance(sink.site.node, cst.Call):
            continue
        for rule, match in rules:
            key = (rule.id, id(sink.site.node))
            if sink.rule.family != match.family or key in reported:
                continue
            argument = _data_argument(sink.site.node)
            if argument is None:
                continue
            taint = taint or Taint(facts)
            path = taint.path_to(argument, sink.site.scope)
            if path is None:
                continue
            reported.add(key)
            source = path[0].text.split(": ", 1)[-1]
            callee = sink.callee or "this loader"
            message = match.message.format(callee=callee, source=source)
            steps = path + [Step(sink.site.node, f"reaches `{callee}`, which can run code hidden in the data")]
            found.append(RawFinding(rule, sink.site.node, sink.statement, message, {FLOW_NODES: steps}, sink.site))
    return found


def _data_argument(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value in _DATA_KEYWORDS:
            return arg.value
    return None


def located(steps: list[Step], spans: dict, finding) -> list[dict]:
    """The steps as report locations (line, column, end, message), in the finding's file."""
    located_steps = []
    for step in steps:
        span = spans.get(id(step.node))
        if span is None:
            continue
        line, column, end_line, end_column = span
        located_steps.append({"line": line, "column": column + 1, "end_line": end_line, "end_column": end_column + 1,
                              "message": step.text})
    return located_steps
