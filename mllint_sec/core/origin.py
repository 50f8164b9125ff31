"""Where the bytes a loader reads come from, and what that makes of the finding's severity.

flows/origins.py classifies the loaded argument of a deserialization finding (LOAD rules, and
INPUT001's upload); the finding carries the answer so reports can say it ("loads the file
`hf_hub_download` fetched at line 12") and rank by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mllint_sec.core.flow_step import FlowStep
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
