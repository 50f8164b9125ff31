"""One `mllint-sec check` run, as the command line makes it, and where its time went, by stage.

    python bench/stages.py [CHECK ARGUMENTS ...]     # e.g. --jobs 1 --format json -o /dev/null src/

Prints one JSON object on stdout: `stages` (seconds by stage, from the runner's counters,
core/stage_times.py), `report` (rendering and writing, after the run), `imports` (the
interpreter's start and the imports before the command runs) and `total`. Per-file stages
(prefilter, screen, parse, files) are summed over worker processes: with several jobs they add
up to more than the wall time. bench/run.py --stages runs this in a fresh process per round.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

START = time.perf_counter()

from mllint_sec import cli  # noqa: E402 - timed: the import is part of a run's cost
from mllint_sec.engine.runner import RunResult  # noqa: E402

IMPORTED = time.perf_counter()
ran: dict[str, object] = {}


def _timed_run(options: object) -> RunResult:
    result = _run(options)
    ran["result"], ran["end"] = result, time.perf_counter()
    return result


def main() -> None:
    cli.run = _timed_run  # the command looks `run` up in its module at each call
    with contextlib.suppress(SystemExit):  # --exit-zero or not, the exit code is not what is measured
        cli.main(sys.argv[1:], standalone_mode=False)
    end = time.perf_counter()
    result = ran.get("result")
    if not isinstance(result, RunResult):
        sys.exit("the check command did not run (see its error above)")
    stages = dict(sorted(result.stage_times.items()))
    summed = {stage: stages.get(stage, 0.0) for stage in ("prefilter", "screen", "parse")}
    # The files' own work beyond the named stages: scope walk, matching, positions, caching, reading.
    stages["analysis"] = max(stages.get("files", 0.0) - sum(summed.values()), 0.0)
    # In one process, the per-file stage's wall time beyond the files' work is importing the analyzer
    # (libcst) and the pool; with workers it is their start and the waiting.
    report = end - float(ran["end"])  # type: ignore[arg-type]
    print(json.dumps({"imports": IMPORTED - START, "stages": stages, "report": report, "total": end - START,
                      "files_scanned": result.files_scanned}))


_run = cli.run

if __name__ == "__main__":
    main()
