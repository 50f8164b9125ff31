"""Deserialization findings in context: where the loaded bytes come from, and what guards the load.

For each finding of the deserialization family (and each INPUT001 flow into one), per file:
- its origin (origins.py), which sets the severity (core/origin.py's table) and adds a clause
  to the message ("; it loads the file `hf_hub_download` fetched at line 12"); an in-memory
  round trip is no finding at all;
- an opt-in gate that dominates it (guards.py): severity low, "guarded by ...";
- a `torch.load` that relies on torch's weights-only default (guards.py): reported as that
  reliance, settled against the declared torch versions like an advisory (engine/repository.py).

Judging happens before positions are computed (the nodes it names are located with the
finding's), and only for findings, never for every call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import libcst as cst

from mllint_sec.catalogue.origin_tables import tables
from mllint_sec.core.finding import Finding
from mllint_sec.core.origin import OriginKind, clause, severity_for
from mllint_sec.core.severity import Severity
from mllint_sec.core.unsettled import Unsettled
from mllint_sec.flows.flow_findings import FlowFinding
from mllint_sec.flows.guards import Gate, Guards
from mllint_sec.flows.origins import LINE, Origins, Traced, located
from mllint_sec.python.matching import RawFinding
from mllint_sec.python.positions import Range
from mllint_sec.python.scopes import FileFacts

FAMILY = "deserialization"
DEFAULT_RELIANCE_SEVERITY = Severity.MEDIUM  # a real unsafe load, but only on a torch older than the code expects
GUARDED_SEVERITY = Severity.LOW
TORCH = "torch"  # the package whose declared versions settle a reliance on the weights-only default


@dataclass(frozen=True)
class Judgement:
    traced: Traced | None = None
    gate: Gate | None = None
    relies_on_default: bool = False

    @property
    def dropped(self) -> bool:
        """An in-memory round trip loads only what the code itself produced: not a finding."""
        return self.traced is not None and self.traced.kind == OriginKind.ROUND_TRIP

    def nodes(self) -> list[cst.CSTNode]:
        """The nodes whose positions the finding needs."""
        found = [self.traced.node] if self.traced is not None and self.traced.node is not None else []
        return found + ([self.gate.node] if self.gate is not None else [])


def judged_rule(raw: RawFinding) -> bool:
    """Whether a raw finding is judged: a deserialization rule's, or a flow into one (INPUT001)."""
    if isinstance(raw, FlowFinding):
        return any(match.family == FAMILY for match in raw.rule.flows)
    return raw.rule.family == FAMILY


class Judge:
    """Judges one file's findings (built only when the file has a finding to judge)."""

    def __init__(self, facts: FileFacts, raw: list[RawFinding]):
        self.origins = Origins(facts)
        self.guards = Guards(facts)
        # Calls request data reaches (INPUT001's flows): a LOAD finding on them loads request data.
        self.requested = {id(f.site.node): f for f in raw if isinstance(f, FlowFinding) and f.site is not None
                          and judged_rule(f) and f.steps}

    def judge(self, raw: RawFinding) -> Judgement | None:
        if not judged_rule(raw):
            return None
        flow = raw if isinstance(raw, FlowFinding) and raw.steps else None
        if flow is None and raw.site is not None:
            flow = self.requested.get(id(raw.site.node))
        if flow is not None:
            assert isinstance(flow, FlowFinding)
            traced: Traced | None = Traced(OriginKind.REQUEST, f"request data (line {LINE})", flow.steps[0].node)
        else:
            traced = self.origins.classify(raw)
        if traced is not None and traced.kind == OriginKind.ROUND_TRIP:
            return Judgement(traced)
        gate = self.guards.gate(raw)
        relies = not isinstance(raw, FlowFinding) and self.guards.relies_on_weights_only_default(raw)
        return Judgement(traced, gate, relies)


def apply(finding: Finding, raw: RawFinding, judgement: Judgement, spans: dict[int, Range]) -> None:
    """Set the finding's origin, severity, message and guard from its judgement."""
    if judgement.relies_on_default:
        finding.message = tables().safe_globals.message.format(callee=raw.callee or "torch.load")
        finding.severity = DEFAULT_RELIANCE_SEVERITY
        finding.unsettled = replace(finding.unsettled or Unsettled(), advisory_package=TORCH)
    if judgement.traced is not None:
        origin = located(judgement.traced, spans)
        finding.origin = origin
        if not judgement.relies_on_default and origin.kind != OriginKind.REQUEST:
            finding.message += clause(origin)
        severity = severity_for(finding.severity, origin.kind)
        if severity is not None and not judgement.relies_on_default:
            finding.severity = severity
    if judgement.gate is not None:
        span = spans.get(id(judgement.gate.node))
        text = " ".join(judgement.gate.text.split())
        finding.guard = f"guarded by `{text}`" + (f" at line {span[0]}" if span is not None else "")
        finding.message += f"; {finding.guard}"
        finding.severity = GUARDED_SEVERITY
