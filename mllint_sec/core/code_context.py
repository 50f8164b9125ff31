"""Where a file's code runs: library or application code, tests, examples, scripts, benchmarks.

engine/code_contexts.py classifies paths (conventions, overridable by configuration globs) and
applies the per-context policy to findings.
"""

from __future__ import annotations

from mllint_sec.core.text_enum import TextEnum


class CodeContext(TextEnum):
    LIBRARY = "library"  # the project's own code, as installed or served
    TEST = "test"
    EXAMPLE = "example"  # examples, tutorials, docs
    SCRIPT = "script"  # dev and maintenance scripts
    BENCHMARK = "benchmark"
