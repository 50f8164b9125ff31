"""Where a run's time goes, by stage: counters the analysis adds to, always on (a clock read and a
dict update per stage per file, about a microsecond).

Per-file stages (prefilter, screen, parse, files) are CPU seconds of the process that analyses the
file (`process_time`: on a shared machine, wall time per stage mostly measures the neighbours),
added in that process; the runner takes each worker's counters with its chunk's results and sums
them. The run's own stages (setup, discovery, the per-file stage's wall time, project facts,
cross-module passes) are wall seconds in the main process. What a cross-module pass adds to a
per-file counter (it parses again) is dropped by the runner: it is that pass's time.
"""

from __future__ import annotations

from time import perf_counter, process_time

# The stages added once per analysed file; `files` is the whole of each file's work (reading, decoding,
# the stages before it, analysis, caching), so analysis proper is what it has beyond the others.
PER_FILE = frozenset({"prefilter", "screen", "parse", "files"})
_totals: dict[str, float] = {}


def add(stage: str, since: float) -> float:
    """Add the time since `since` (a `perf_counter()` reading) to `stage`; return the clock's reading now."""
    now = perf_counter()
    _totals[stage] = _totals.get(stage, 0.0) + (now - since)
    return now


def cpu() -> float:
    """The process's CPU seconds so far, for `add_cpu`."""
    return process_time()


def add_cpu(stage: str, since: float) -> float:
    """Add the CPU time since `since` (a `cpu()` reading) to `stage`; return the reading now."""
    now = process_time()
    _totals[stage] = _totals.get(stage, 0.0) + (now - since)
    return now


def take() -> dict[str, float]:
    """The counters added since the last `take`, which start again from zero."""
    taken = dict(_totals)
    _totals.clear()
    return taken


def merge(taken: dict[str, float]) -> None:
    """Add counters taken elsewhere (a worker's chunk) to these."""
    for stage, seconds in taken.items():
        _totals[stage] = _totals.get(stage, 0.0) + seconds
