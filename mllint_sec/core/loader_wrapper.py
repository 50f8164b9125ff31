"""A module-level function that is a loader itself, as its file's result exports it.

python/loader_wrappers.py finds functions that pass a parameter to a catalogued loader in an unsafe
form (or in a form their callers choose). Calls of such a function in the same file are reported
by that file's analysis; calls from other modules by analysis/cross_module_wrappers.py, which
picks the files to read from these summaries. A summary is plain data (cached with the file's
findings); the cross-module pass parses the wrapper's file again to evaluate a call, so the one
mechanism that judges loader calls judges wrapper calls too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoaderWrapper:
    function: str  # the module-level function's name
    rule_id: str  # the rule whose loader it calls
    callee: str  # the loader's qualified name (`torch.load`)
    line: int  # where the function calls it (or the wrapper it wraps): 1-based
    column: int  # 1-based
    loaded_position: int | None  # the parameter whose value is loaded: its position among positional ones
    loaded_name: str | None  # ... and its name (None for a positional-only or `*args` one)
    through: tuple[str, ...] = ()  # the wrappers of this file it calls on the way, outermost first
