"""Time hostile inputs as they grow: linear work shows ~2x per doubling of the size.

    python bench/hostile.py [--case NAME ...] [--sizes 2500,5000,...] [--limit SECONDS] [--command PATH]

Each case writes a small repository for a given size into a fresh directory; one runner
times `mllint-sec check --no-cache --format json` on it (the installed entry point, or
`--command`, run from outside the scanned tree) and prints the wall time, the growth ratio against the
previous size, and the findings reported, so a cut-off or a lost finding is visible.
The per-file analysis budget is switched off (`--file-timeout 0`): the point is to
measure the work, not the budget. A run over `--limit` seconds is stopped and the
case's larger sizes are skipped.

Add a case by writing a generator `(size, directory) -> None` and a row in CASES.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from math import log2
from pathlib import Path

DEFAULT_SIZES = (2_500, 5_000, 10_000, 20_000)


@dataclass(frozen=True)
class Case:
    name: str
    generate: Callable[[int, Path], None]  # writes the repository for one size
    sizes: tuple[int, ...] = DEFAULT_SIZES
    extra_args: tuple[str, ...] = ()  # further `check` options the case needs


# --- item 3: call resolution over many bindings of one name -------------------------------

def import_loads_pairs(size: int, directory: Path) -> None:
    """One file of `size` `import pickle` / `pickle.loads(x)` pairs: every call sees every binding."""
    (directory / "pairs.py").write_text("import pickle\npickle.loads(x)\n" * size, encoding="utf-8")


def reimporting_notebook(size: int, directory: Path) -> None:
    """A notebook of `size` cells, each importing pickle again before loading."""
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": ["import pickle\n", "pickle.loads(blob)\n"]}
    notebook = {"cells": [cell] * size, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (directory / "cells.ipynb").write_text(json.dumps(notebook), encoding="utf-8")


def rebinding_handler(size: int, directory: Path) -> None:
    """A request handler that rebinds one name `size` times, each followed by a load of it:
    every load's data is traced back through every binding of the name."""
    body = "    data = read_blob()\n    pickle.loads(data)\n" * size
    (directory / "handler.py").write_text(f"import pickle\nfrom flask import request\n\n\ndef view():\n{body}",
                                          encoding="utf-8")


# --- item 2: patterns and lines written by the scanned repository -------------------------
# A backtracking regex took 4-5x longer per `*a` (10 of them against a 40-character name: 20 s)
# and was quadratic in a run of blanks (100,000 of them: 60 s).

STAR_COUNTS = (10, 20, 40, 80)
NAMED_FILES = 500  # files whose 40-character names every pattern is matched against


def _long_names(directory: Path, suffix: str) -> None:
    for index in range(NAMED_FILES):
        (directory / f"{'a' * 40}{index}{suffix}").write_bytes(b"{}")


def exclude_glob(size: int, directory: Path) -> None:
    """`exclude = ["*a*a...*b"]` with `size` `*a`s, matched against every file's name."""
    (directory / "pyproject.toml").write_text(f'[tool.mllint-sec]\nexclude = ["{"*a" * size}*b"]\n', encoding="utf-8")
    _long_names(directory, ".txt")
    (directory / f"{'a' * 40}.py").write_text("import pickle\npickle.loads(blob)\n", encoding="utf-8")


def gitattributes_glob(size: int, directory: Path) -> None:
    """A `.gitattributes` line `*a*a...*b filter=lfs` with `size` `*a`s, matched against every model file."""
    (directory / ".gitattributes").write_text(f"{'*a' * size}*b filter=lfs\n", encoding="utf-8")
    _long_names(directory, ".safetensors")


def requirements_blank_line(size: int, directory: Path) -> None:
    """A requirements file with one line of `size` blanks."""
    (directory / "requirements.txt").write_text("torch>=2\n" + " " * size + "\n", encoding="utf-8")


def poetry_blank_constraint(size: int, directory: Path) -> None:
    """A Poetry constraint of `size` blanks (cubic before: 2,000 of them took 39 s)."""
    (directory / "pyproject.toml").write_text(f'[tool.poetry.dependencies]\ntorch = "{" " * size}"\n', encoding="utf-8")


def checksum_parentheses(size: int, directory: Path) -> None:
    """A checksum manifest line `SHA256 (` followed by `size` `)=`, and the model it records."""
    (directory / "SHA256SUMS").write_text(f"SHA256 ({')=' * size}  \nSHA256 (model.safetensors) = {'a' * 64}\n",
                                          encoding="utf-8")
    (directory / "model.safetensors").write_bytes(b"{}")


def suppression_markers(size: int, directory: Path) -> None:
    """A loader call whose comment is `size` unclosed `# mllint-sec: ignore[` (16,000 of them took 35 s)."""
    (directory / "a.py").write_text(f"import pickle\npickle.loads(blob)  {'# mllint-sec: ignore[' * size}\n",
                                    encoding="utf-8")


CASES = [
    Case("import-loads-pairs", import_loads_pairs),
    Case("reimporting-notebook", reimporting_notebook),
    Case("rebinding-handler", rebinding_handler),
    Case("exclude-glob-stars", exclude_glob, STAR_COUNTS),
    Case("gitattributes-glob-stars", gitattributes_glob, STAR_COUNTS),
    Case("requirements-blank-line", requirements_blank_line, (125_000, 250_000, 500_000, 1_000_000)),
    Case("poetry-blank-constraint", poetry_blank_constraint, (125_000, 250_000, 500_000, 1_000_000)),
    Case("checksum-parentheses", checksum_parentheses, (62_500, 125_000, 250_000, 500_000)),
    Case("suppression-markers", suppression_markers, (25_000, 50_000, 100_000, 200_000)),
]


# --- one runner ---------------------------------------------------------------------------

def _entry_point() -> str:
    beside = Path(sys.executable).with_name("mllint-sec")
    found = str(beside) if beside.exists() else shutil.which("mllint-sec")
    if found is None:
        sys.exit("mllint-sec is not installed in this environment")
    return found


def time_check(case: Case, size: int, limit: float, program: str) -> tuple[float | None, str]:
    """(seconds, what was reported) for one size of one case; None seconds when over `limit`."""
    with tempfile.TemporaryDirectory(prefix=f"hostile-{case.name}-") as temp:
        directory = Path(temp)
        case.generate(size, directory)
        command = [program, "check", "--no-cache", "--format", "json", "--exit-zero",
                   "--file-timeout", "0", *case.extra_args, "."]
        start = time.perf_counter()
        try:
            completed = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            return None, f"stopped after {limit:g} s"
        seconds = time.perf_counter() - start
    try:
        findings = json.loads(completed.stdout)["findings"]
    except ValueError:
        last = (completed.stderr.strip().splitlines() or [""])[-1]
        return seconds, f"exit {completed.returncode}, no report: {last[:200]}"
    by_rule: dict[str, int] = {}
    for finding in findings:
        by_rule[finding["rule_id"]] = by_rule.get(finding["rule_id"], 0) + 1
    return seconds, ", ".join(f"{rule} x{count}" for rule, count in sorted(by_rule.items())) or "no findings"


def run_case(case: Case, sizes: tuple[int, ...], limit: float, program: str) -> None:
    print(f"\n{case.name}")
    print(f"  {'size':>8}  {'seconds':>8}  {'ratio':>6}  reported")
    previous: tuple[int, float] | None = None
    for size in sizes:
        seconds, reported = time_check(case, size, limit, program)
        if seconds is None:
            print(f"  {size:>8}  {'>' + format(limit, 'g'):>8}  {'':>6}  {reported}; larger sizes skipped")
            return
        ratio = ""
        if previous is not None:
            # Normalised to a doubling of the size, so uneven steps still read as ~2x when linear.
            growth = seconds / previous[1]
            ratio = f"{growth ** (1 / log2(size / previous[0])):.2f}x"
        print(f"  {size:>8}  {seconds:>8.2f}  {ratio:>6}  {reported}", flush=True)
        previous = (size, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--case", action="append", choices=[c.name for c in CASES], help="run only this case")
    parser.add_argument("--sizes", help="comma-separated sizes instead of each case's own")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds before a run is stopped")
    parser.add_argument("--command", help="the mllint-sec program to time [default: the installed entry point]")
    arguments = parser.parse_args()
    sizes = tuple(int(s) for s in arguments.sizes.split(",")) if arguments.sizes else None
    print("growth ratio: time per doubling of the size (linear ~2x, quadratic ~4x)")
    for case in CASES:
        if arguments.case is None or case.name in arguments.case:
            run_case(case, sizes or case.sizes, arguments.limit, arguments.command or _entry_point())


if __name__ == "__main__":
    main()
