"""Where the bytes a loader reads come from, and what that makes of the finding's severity.

flows/origins.py classifies the loaded argument of a deserialization finding (LOAD rules, and
INPUT001's upload); the finding carries the answer so reports can say it ("loads the file
`hf_hub_download` fetched at line 12") and rank by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.severity import Severity
from mllint_sec.core.text_enum import TextEnum


class OriginKind(TextEnum):
    NETWORK = "network"  # a hub download, a URL fetch, a resolver that downloads
    REQUEST = "request"  # a serving request's data (INPUT001)
    USER = "user-chosen"  # a command-line option, an environment variable, a public function's parameter
    CONSTANT = "repository-constant"  # a literal path of the repository
    SELF_WRITTEN = "self-written"  # a file the same code wrote a moment earlier
    ROUND_TRIP = "round-trip"  # bytes produced in memory by the same code (`loads(dumps(x))`): not reported
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Origin:
    kind: OriginKind
    description: str  # for the message: "the file `hf_hub_download` fetched at line 12"
    step: FlowStep | None = None  # where the bytes come from, when it is a place in the code
    # Still UNKNOWN because the loaded value is what a function of another module returns: the
    # qualified names (as imported, `.hub_utils.download_weights`) the repository stage
    # (analysis/cross_module_origins.py) looks up, one call deep. Empty once settled.
    callees: tuple[str, ...] = ()


# How exposed a load is, worst first: when the loaded value may come from several places,
# the worst one is the finding's origin. UNKNOWN ranks above a constant: a path the analysis
# could not follow may be anything.
WORST_FIRST = (
    OriginKind.NETWORK, OriginKind.REQUEST, OriginKind.USER, OriginKind.UNKNOWN,
    OriginKind.CONSTANT, OriginKind.SELF_WRITTEN, OriginKind.ROUND_TRIP,
)


def severity_for(rule_severity: Severity, kind: OriginKind) -> Severity | None:
    """The severity of a deserialization finding whose loaded bytes have this origin; None: no finding.

    Network and request data are at least high (a critical rule stays critical); a user-chosen path
    is high, a repository constant medium, a file the same code wrote low; an in-memory round trip
    loads only what the code itself produced and is not reported. An unknown origin keeps the rule's.
    """
    if kind in (OriginKind.NETWORK, OriginKind.REQUEST):
        return rule_severity if rule_severity.rank > Severity.HIGH.rank else Severity.HIGH
    fixed = {
        OriginKind.USER: Severity.HIGH, OriginKind.CONSTANT: Severity.MEDIUM, OriginKind.SELF_WRITTEN: Severity.LOW,
    }
    if kind in fixed:
        return fixed[kind]
    if kind == OriginKind.ROUND_TRIP:
        return None
    return rule_severity


# What the message says before an origin's description, per kind ("; it loads the file ...").
_LEAD = {
    OriginKind.NETWORK: "it loads",
    OriginKind.REQUEST: "it loads",
    OriginKind.USER: "the path comes from",
    OriginKind.CONSTANT: "the path is",
    OriginKind.SELF_WRITTEN: "it loads",
}


def clause(origin: Origin) -> str:
    """The message's origin clause ("; it loads the file `hf_hub_download` fetched at line 12"), or ""."""
    lead = _LEAD.get(origin.kind)
    return f"; {lead} {origin.description}" if lead is not None and origin.description else ""
