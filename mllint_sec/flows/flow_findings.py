"""Flow rules: request data reaching a call that another rule reports (an upload into
pickle.loads), or a model's inference or training (sinks.py).

Each sink's data is traced back by taint.py; when request data reaches it, the flow rule
reports the call with the path from the source, which text output prints and SARIF
carries as a codeFlow. A rule's `inputs` says which source levels it reports (raw
request data, typed but unbounded, or validated).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from mllint_sec.catalogue.model import FlowMatch, Rule
from mllint_sec.core.data_use import SINK_KINDS, DataUse
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.flows.input_types import RAW
from mllint_sec.flows.sinks import INFERENCE, Models
from mllint_sec.flows.taint import DESERIALIZE, Step, Taint
from mllint_sec.python.matching import RawFinding
from mllint_sec.python.positions import Range
from mllint_sec.python.scopes import FileFacts


@dataclass(frozen=True)
class FlowFinding(RawFinding):
    steps: tuple[Step, ...] = ()  # the path request data takes to the reported call, source first


# Parameters that carry the data a loader reads, when it is not passed positionally.
_DATA_KEYWORDS = ("file", "f", "fp", "data", "s", "stream", "buffer", "path", "filepath_or_buffer", "fname", "filename")


def flow_findings(facts: FileFacts, raw: list[RawFinding], rules: list[tuple[Rule, FlowMatch]],
                  taint: Taint | None = None) -> list[FlowFinding]:
    """`taint`: the file's Taint, when the caller has set it up (cross_module.py)."""
    taint = taint or Taint(facts)
    found = _into_reported_calls(taint, raw, [(r, m) for r, m in rules if m.family not in SINK_KINDS])
    model_rules = [(r, m) for r, m in rules if m.family in SINK_KINDS]
    if model_rules:
        found += _into_models(taint, facts, model_rules)
    return found


def uses(match: FlowMatch) -> DataUse:
    """What a flow rule's data is used for (taint.py's purposes)."""
    return DataUse(match.family) if match.family in SINK_KINDS else DESERIALIZE


def _into_reported_calls(
    taint: Taint, raw: list[RawFinding], rules: list[tuple[Rule, FlowMatch]]
) -> list[FlowFinding]:
    """Request data reaching a call another family reports (an upload into `pickle.loads`)."""
    found: list[FlowFinding] = []
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
            flow = taint.flow_to(argument, sink.site.scope, DESERIALIZE)
            if flow is None or flow.source.level not in match.inputs:
                continue
            reported.add(key)
            callee = sink.callee or "this loader"
            message = match.message.format(callee=callee, source=flow.source.text, why=flow.why)
            steps = (*flow.steps, Step(sink.site.node, f"reaches `{callee}`, which can run code hidden in the data"))
            found.append(FlowFinding(rule, sink.site.node, sink.statement, message, site=sink.site, steps=steps))
    return found


def _into_models(taint: Taint, facts: FileFacts, rules: list[tuple[Rule, FlowMatch]]) -> list[FlowFinding]:
    """Request data reaching a model's inference or training (sinks.py)."""
    found: list[FlowFinding] = []
    reported: set[tuple[str, int]] = set()  # (rule, source node) of inference findings made
    for sink in Models(facts).sinks():
        flow = None
        for argument in sink.data:
            candidate = taint.flow_to(argument, sink.site.scope, sink.kind)
            if candidate is not None and (flow is None or candidate.level == RAW):
                flow = candidate
                if flow.level == RAW:
                    break
        if flow is None:
            continue
        for rule, match in rules:
            level = flow.level if sink.kind == INFERENCE else flow.source.level
            key = (rule.id, id(flow.steps[0].node))  # inference: the fix is at the input, once
            if match.family != sink.kind or level not in match.inputs or (sink.kind == INFERENCE and key in reported):
                continue
            reported.add(key)
            message = match.message.format(callee=sink.callee, source=flow.source.text, why=flow.why)
            action = "runs the model on it" if sink.kind == INFERENCE else "trains the model on it"
            steps = (*flow.steps, Step(sink.site.node, f"reaches `{sink.callee}`, which {action}"))
            found.append(FlowFinding(rule, sink.site.node, sink.site.statement, message, site=sink.site, steps=steps))
    return found


def _data_argument(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value in _DATA_KEYWORDS:
            return arg.value
    return None


def located(steps: tuple[Step, ...], spans: dict[int, Range]) -> tuple[FlowStep, ...]:
    """The steps that have a span (python/positions.py), as report locations in their file."""
    return tuple(FlowStep.at(spans[id(step.node)], step.text) for step in steps if id(step.node) in spans)
