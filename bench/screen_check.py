"""Check the `ast` screen on a real repository: the same report with and without it, and both times.

    python bench/screen_check.py DIR [DIR ...] [--rounds N] [-- CHECK ARGUMENTS ...]

For each DIR, runs `python -m mllint_sec check DIR --no-cache -j 1 --format json` (plus any CHECK
ARGUMENTS) with the screen and with `MLLINT_SEC_NO_SCREEN=1`, alternating, N rounds (default 1), each
in a fresh process; prints any difference between the two JSON reports (none is expected: the
screen must never drop a finding), the median wall time of each, and how many files libcst parsed
in the per-file stage with and without the screen (and how many the repository stage parsed again).
Times are wall and CPU (user + system of the child): on a busy machine the CPU time is the steadier.
Exits 1 when a report differs. bench/run.py may call `check(directory)`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

COUNTS_MARK = "screen_check counts: "


@dataclass
class Outcome:
    directory: Path
    differences: list[str]
    seconds: dict[str, float]  # median wall time: "screened", "unscreened"
    cpu: dict[str, float]  # median CPU time (user + system) of the run: on a busy machine, the steadier figure
    parses: dict[str, dict[str, int]]  # per mode: files analysed with libcst, its parses then, parses after


def _child(arguments: list[str]) -> None:
    """Run the command line in this process, counting what libcst parses; the counts go to stderr."""
    from mllint_sec.analysis.file_analyzer import Analyzer
    from mllint_sec.engine import runner
    from mllint_sec.python import decode

    counts = {"files": 0, "parses": 0, "again": 0}  # files analysed with libcst; parses then; parses after
    after = {"stage": False}
    original_parse, original_checks = decode.parse, getattr(runner, "run_repository_checks")  # noqa: B009
    original_analysis = Analyzer._analyze_text  # noqa: SLF001 - counted: a file libcst reads

    def counted_parse(text: str) -> object:
        counts["again" if after["stage"] else "parses"] += 1
        return original_parse(text)

    def counted_analysis(self: Analyzer, *args: object) -> object:
        counts["files"] += 1
        return original_analysis(self, *args)  # type: ignore[arg-type]

    def counted_checks(*args: object, **kwargs: object) -> object:
        after["stage"] = True
        return original_checks(*args, **kwargs)

    # Every parse goes through the module attribute `decode.parse` (`source.parse` where it is imported).
    decode.parse = counted_parse  # type: ignore[assignment]
    Analyzer._analyze_text = counted_analysis  # type: ignore[method-assign,assignment]  # noqa: SLF001
    setattr(runner, "run_repository_checks", counted_checks)  # noqa: B010 - the name runner calls
    from mllint_sec.cli import main

    try:
        main(arguments)
    finally:
        print(COUNTS_MARK + json.dumps(counts), file=sys.stderr)


def _run(directory: Path, extra: list[str], screened: bool) -> tuple[float, float, str, dict[str, int]]:
    """(wall seconds, CPU seconds of the child, its JSON report, its parse counts)."""
    env = dict(os.environ)
    env.pop("MLLINT_SEC_NO_SCREEN", None)
    if not screened:
        env["MLLINT_SEC_NO_SCREEN"] = "1"
    command = [sys.executable, __file__, "--child", "check", str(directory), "--no-cache", "-j", "1",
               "--format", "json", "--exit-zero", *extra]
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    counts = {}
    for line in done.stderr.splitlines():
        if line.startswith(COUNTS_MARK):
            counts = json.loads(line[len(COUNTS_MARK):])
    if done.returncode != 0:
        raise SystemExit(f"{directory}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds, cpu, done.stdout, counts


def _normalised(report: str) -> str:
    """The report as sorted JSON; nothing in it depends on timing, so it is compared whole."""
    return json.dumps(json.loads(report), indent=1, sort_keys=True)


def check(directory: Path, extra: list[str] | None = None, rounds: int = 1) -> Outcome:
    times: dict[str, list[float]] = {"screened": [], "unscreened": []}
    cpu: dict[str, list[float]] = {"screened": [], "unscreened": []}
    reports: dict[str, str] = {}
    parses: dict[str, dict[str, int]] = {}
    for _ in range(rounds):
        for mode in ("unscreened", "screened"):
            seconds, used, report, counts = _run(directory, extra or [], mode == "screened")
            times[mode].append(seconds)
            cpu[mode].append(used)
            reports[mode], parses[mode] = _normalised(report), counts
    differences = list(difflib.unified_diff(reports["unscreened"].splitlines(), reports["screened"].splitlines(),
                                            "unscreened", "screened", lineterm="", n=2))
    return Outcome(directory, differences, {m: statistics.median(t) for m, t in times.items()},
                   {m: statistics.median(t) for m, t in cpu.items()}, parses)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directories", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=1)
    arguments, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    failed = False
    for directory in arguments.directories:
        outcome = check(directory, extra, arguments.rounds)
        s, u = outcome.seconds["screened"], outcome.seconds["unscreened"]
        cs, cu = outcome.cpu["screened"], outcome.cpu["unscreened"]
        ps, pu = outcome.parses.get("screened", {}), outcome.parses.get("unscreened", {})
        print(f"{directory}: {'SAME' if not outcome.differences else 'DIFFERENT'} report; "
              f"screened {s:.2f} s (CPU {cs:.2f} s), unscreened {u:.2f} s (CPU {cu:.2f} s), CPU {cu / cs:.2f}x; "
              f"files analysed with libcst "
              f"{ps.get('files')} vs {pu.get('files')} ({ps.get('parses')} vs {pu.get('parses')} parses), "
              f"parses in the repository stage {ps.get('again')} vs {pu.get('again')}")
        if outcome.differences:
            failed = True
            print("\n".join(outcome.differences[:200]))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
