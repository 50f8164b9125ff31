"""What one file tells the cross-module pass about request data (flows/summary.py computes it).

Per-file results are cached; a flow from one module into another needs facts about both,
so each file that receives request data, or calls functions of other modules, records
this summary beside its findings, and analysis/cross_module.py joins the summaries
without parsing every file again.
"""

from __future__ import annotations

from dataclasses import dataclass

from mllint_sec.core.data_use import DataUse
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.input_level import InputLevel


@dataclass(frozen=True)
class CarriedData:
    """Request data crossing a module boundary: what it is, what it is used for, its path so far."""

    use: DataUse
    level: InputLevel
    why: str  # for TYPED: what is unbounded
    scalar: bool  # a number, flag or choice: cannot carry a serialized object
    source: str  # what the data is, for messages: "Flask `request.json`"
    steps: tuple[FlowStep, ...]  # in this file, source first


@dataclass(frozen=True)
class OutCall:
    """A call, with request data, of a function defined outside the file."""

    callee: tuple[str, ...]  # the qualified names the callee may be
    argument: int | str  # the data's position among the positional arguments, or its keyword
    data: CarriedData


@dataclass(frozen=True)
class TaintedReturn:
    """A module-level function of the file whose return value carries request data."""

    function: str
    data: CarriedData


@dataclass(frozen=True)
class FlowSummary:
    out_calls: tuple[OutCall, ...] = ()
    returns: tuple[TaintedReturn, ...] = ()
    fed: tuple[str, ...] = ()  # qualified names of outside functions whose results reach a sink of the file
