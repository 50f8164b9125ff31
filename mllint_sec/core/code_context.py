"""Where a file's code runs: library or application code, tests, examples, scripts, benchmarks; and what a
context does to the findings in it.

engine/code_contexts.py classifies paths (conventions, overridable by configuration globs) and
applies the per-context policy to findings.
"""

from __future__ import annotations

from mllint_sec.core.severity import Severity
from mllint_sec.core.text_enum import TextEnum


class CodeContext(TextEnum):
    """Listed in the order reports count them."""

    LIBRARY = "library"  # the project's own code, as installed or served
    TEST = "test"
    EXAMPLE = "example"  # examples, tutorials, docs
    SCRIPT = "script"  # dev and maintenance scripts
    BENCHMARK = "benchmark"


class ContextPolicy(TextEnum):
    """What happens to the findings of one context (`[tool.mllint-sec.context-policy]`)."""

    REPORT = "report"  # as the rule says
    DOWNGRADE = "downgrade"  # test code: to low; any other context: one level lower; the message says where
    IGNORE = "ignore"  # dropped, and only counted in the summary

    @property
    def leniency(self) -> int:
        """Higher hides more: a configuration more lenient than the default is named in the reports."""
        return list(ContextPolicy).index(self)


# Most findings of real ML repositories are in tests and examples (62% and 22% in one diffusion
# library): true, but rarely worth a change, so they come after the library's and weigh less.
DEFAULT_POLICY: dict[CodeContext, ContextPolicy] = {
    CodeContext.LIBRARY: ContextPolicy.REPORT,
    CodeContext.TEST: ContextPolicy.DOWNGRADE,
    CodeContext.EXAMPLE: ContextPolicy.DOWNGRADE,
    CodeContext.SCRIPT: ContextPolicy.REPORT,
    CodeContext.BENCHMARK: ContextPolicy.DOWNGRADE,
}

# What reports call the code of each context ("23 in library code"; "(in test code)").
DESCRIPTION = {context: f"{context} code" for context in CodeContext}


def downgraded(severity: Severity, context: CodeContext) -> Severity:
    """The severity a downgraded context gives a finding: test code at most low, any other context one level
    lower; low and note stay where they are."""
    if severity.rank <= Severity.LOW.rank:
        return severity
    if context == CodeContext.TEST:
        return Severity.LOW
    return next(lower for lower in Severity if lower.rank == severity.rank - 1)
