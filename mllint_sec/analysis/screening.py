"""Which files the prefilter admits still need libcst, and what a file the screen drops tells the run.

The analysis of a file is a pure function of its bytes (and the rules), so the screen may drop a
file only when that analysis would have given the run nothing it uses:
- findings, loader wrappers and the flows into a deserializer all start at a call (or base class,
  or value reference) that resolves to a catalogued name: python/screen.py shows none can;
- an environment switch needs its variable's name, a string, in the text; a suppression comment
  its marker; request data (the flow rules' sources) a word of each prefilter group; a hostile
  nesting its MLS001 from the guarded parse: such files are never screened;
- what remains is the flow summary's `fed` list: the outside functions whose results reach one of
  the file's model sinks (`.forward(...)`, `model(x)`), which analysis/cross_module.py matches
  against the functions of other files that return request data. Finding the sinks takes the full
  analysis, so a dropped file reports every outside function it calls instead, a superset of
  its `fed`. The cross-module pass then re-reads a caller when one of these names a function that
  returns request data; the flows it finds there run through such a call, which the full analysis
  would have put in `fed` too, so the findings are the same.
A dropped file's result depends on nothing but its own text: it is cached like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from mllint_sec.core.file_result import FileResult
from mllint_sec.core.flow_summary import FlowSummary
from mllint_sec.flows.summary import outside
from mllint_sec.python import decode as source
from mllint_sec.python import screen
from mllint_sec.python.matching import MatchIndex
from mllint_sec.python.prefilter import SUPPRESSION_MARKER, Prefilter


@dataclass(frozen=True)
class Screening:
    index: MatchIndex  # the calls the analysis matches (flow rules' sink families included)
    prefilter: Prefilter
    fed: bool  # the analysis records `fed` summaries (the run's cross-module pass, with model-sink rules)

    def result(self, path: str, text: str, code: str) -> FileResult | None:
        """The result of a file that cannot yield anything but the `fed` list; None when libcst must read it.
        `code`: the text with comments and strings blanked (prefilter.code_only_keeping_lines)."""
        if SUPPRESSION_MARKER in text or any(name in text for name in self.index.env_names):
            return None
        if self.prefilter.wants_groups(text) or source.looks_pathological(text, code):
            return None
        reading = screen.read(text)
        if reading is None or screen.may_match(reading, self.index):
            return None
        fed = tuple(sorted(name for name in reading.callees if outside(name))) if self.fed else ()
        return FileResult(summary=FlowSummary(fed=fed)) if fed and path.endswith(".py") else FileResult()
