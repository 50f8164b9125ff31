"""What a per-file finding leaves for the repository stage (engine/repository.py) to decide.

Per-file analysis is a pure function of the file's bytes (so it is cached and run in
parallel); whether a finding stands may depend on the rest of the repository. Such a
finding carries the question here, and the repository stage answers it once per run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unsettled:
    # Hub ids the call may name that could also be paths of the repository ("models/bert"):
    # the finding is dropped when each is a directory or file beside it or at a root.
    hub_ids: tuple[str, ...] = ()
    # An advisory rule's library (SUP007): the finding stands only when the declared
    # dependencies allow a version inside one of the rule's `[[advisory]]` ranges.
    advisory_package: str | None = None
