"""Benchmark mllint-sec against Bandit's ML-relevant tests and Semgrep, side by side.

    python bench/run.py [REPO ...] [--rounds 5] [--files 2000] [--jobs N] [--stages] [--transformers]
                        [--semgrep PATH] [--semgrep-rules FILE] [--compare-with DIR] [--cache-dir DIR]

Generates a synthetic ML repository (at least 2,000 files, deterministic), then
for it and for every REPO given runs, alternating, for several rounds:
  - mllint-sec cold (empty result cache) and warm (cache filled by the cold run),
  - Bandit with only its ML-relevant tests (B301, B302, B403, B506, B614, B615),
  - Semgrep -j 1 with bench/semgrep-ml-rules.yaml (the loader patterns of the LOAD and SUP rules,
    written for this benchmark), when a `semgrep` is on PATH or given with --semgrep (it can live in
    a virtual environment of its own: its dependencies pin versions this project's do not),
  - with --compare-with DIR, the same mllint-sec command run from another checkout (a previous main),
and prints each tool's median wall time, CPU time (user + system, the process and its children) and
peak memory, and the ratios. It also times a one-file run, as a pre-commit hook makes it, cold and warm.
Peak memory is the largest maximum RSS of the tool's processes (os.wait4), not the machine's.

--transformers adds transformers' `src/transformers` (a pinned sdist from PyPI, downloaded once into
--cache-dir, never committed). --stages also prints where mllint-sec's cold run spends its time, by
stage (bench/stages.py; per-file stages are summed over worker processes). --jobs N passes `--jobs N`
to every mllint-sec command (default: mllint-sec's own, one process per CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from pathlib import Path

BANDIT_TESTS = "B301,B302,B403,B506,B614,B615"
PREVIOUS = "mllint-sec previous"  # --compare-with: the same command on another checkout


def installed_env(**extra: str) -> dict:
    """The environment tools run in as installed: bytecode is used and written (pip writes it at
    install time; a PYTHONDONTWRITEBYTECODE=1 shell would otherwise recompile every module per run)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


class Sample:
    """One run of a tool: wall seconds, CPU seconds (user + system, with its children), peak RSS in MiB."""

    def __init__(self, wall: float, cpu: float, peak: float, code: int):
        self.wall, self.cpu, self.peak, self.code = wall, cpu, peak, code


def measure(command: list[str], env: dict | None = None, stdout: int | None = subprocess.DEVNULL) -> Sample:
    start = time.perf_counter()
    # From a neutral directory: `python -m` puts the working directory first on the import path, which
    # would shadow --compare-with's checkout when run from a source tree.
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL, env=env,
                               cwd=tempfile.gettempdir())
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    # wait4's usage covers the process and the children it waited for (a pool's workers): CPU summed,
    # maximum RSS the largest of them.
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))


# --- the synthetic repository ------------------------------------------------------------

MODEL = '''\
"""Model {n}: a small network for the {task} task.

Example:
    >>> model = Net{n}()
    >>> state = torch.load("ckpt.pt")
"""
import torch
import torch.nn as nn


class Net{n}(nn.Module):
    def __init__(self, width: int = {width}):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(width, width), nn.ReLU(), nn.Linear(width, {classes}),
        )

    def forward(self, x):
        return self.layers(x)

{helpers}
'''

HELPER = '''\
def helper_{n}_{k}(values, scale={k}):
    """Scale and clip values; loads nothing."""
    out = []
    for value in values:
        out.append(min(max(value * scale, -1.0), 1.0))
    return out
'''

RISKY = [
    "import torch\n\ndef restore(path):\n    return torch.load(path, map_location='cpu')\n",
    "import pickle\n\ndef load_vocab(path):\n    with open(path, 'rb') as fh:\n        return pickle.load(fh)\n",
    "import joblib\n\ndef load_estimator(path):\n    return joblib.load(path)\n",
    "import yaml\n\ndef read_config(path):\n    with open(path) as fh:\n        return yaml.load(fh, Loader=yaml.FullLoader)\n",
    "import numpy as np\n\ndef features(path):\n    return np.load(path, allow_pickle=True)\n",
    "import torch\n\ndef restore(path):\n    return torch.load(path, weights_only=True)\n",
    "import yaml\n\ndef read_config(path):\n    with open(path) as fh:\n        return yaml.safe_load(fh)\n",
    "from transformers import AutoModel\n\nmodel = AutoModel.from_pretrained('org/model')\n",
]

TRAIN = '''\
import argparse
import json
import logging

import numpy as np

log = logging.getLogger(__name__)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default={epochs})
    parser.add_argument("--lr", type=float, default=0.{lr})
    return parser.parse_args()


def train(data, epochs):
    losses = []
    for epoch in range(epochs):
        loss = float(np.mean(data)) / (epoch + 1)
        losses.append(loss)
        log.info("epoch %d loss %.4f", epoch, loss)
    return losses


def save_metrics(losses, path):
    with open(path, "w") as handle:
        json.dump({{"losses": losses}}, handle)
'''


def generate(root: Path, files: int) -> Path:
    rng = random.Random(20261127)
    for n in range(files):
        package = root / "src" / f"pkg{n % 40}"
        package.mkdir(parents=True, exist_ok=True)
        kind = n % 10
        if kind < 6:
            helpers = "\n\n".join(HELPER.format(n=n, k=k) for k in range(rng.randint(2, 8)))
            text = MODEL.format(n=n, task=rng.choice(["vision", "text", "audio"]), width=rng.choice([64, 128, 256]),
                                classes=rng.randint(2, 100), helpers=helpers)
        elif kind < 9:
            text = TRAIN.format(epochs=rng.randint(1, 50), lr=rng.randint(1, 9))
        else:
            text = rng.choice(RISKY) + "\n\n" + HELPER.format(n=n, k=1)
        (package / f"module_{n}.py").write_text(text)
    return root


# --- the runs --------------------------------------------------------------------------------

HERE = Path(__file__).resolve().parent
SEMGREP_RULES = HERE / "semgrep-ml-rules.yaml"
TRANSFORMERS = "5.24.0"  # the pinned sdist --transformers benchmarks (2,912 files under src/transformers)


def mllint_command(target: Path, jobs: int | None) -> list[str]:
    return [sys.executable, "-m", "mllint_sec", "check", "--exit-zero", "--format", "json", "--output", os.devnull,
            *(["--jobs", str(jobs)] if jobs else []), str(target)]


def tools(target: Path, semgrep: str | None, semgrep_rules: Path, compare_with: Path | None = None,
          jobs: int | None = None) -> dict[str, list[str]]:
    found = {"mllint-sec": mllint_command(target, jobs)}
    if compare_with is not None:  # another checkout of the engine (a previous main), run the same way
        found[PREVIOUS] = found["mllint-sec"]
    bandit = shutil.which("bandit")
    if bandit:
        found["bandit-ml"] = [bandit, "-q", "-r", "-t", BANDIT_TESTS, "-f", "json", "-o", os.devnull, str(target)]
    if semgrep:
        found["semgrep"] = [semgrep, "scan", "--metrics", "off", "--disable-version-check", "-j", "1", "--quiet",
                            "--config", str(semgrep_rules), "--json", "-o", os.devnull, str(target)]
    return found


def bench(target: Path, rounds: int, semgrep: str | None, semgrep_rules: Path, compare_with: Path | None = None,
          jobs: int | None = None, stages: bool = False) -> None:
    commands = tools(target, semgrep, semgrep_rules, compare_with, jobs)
    source_of = {PREVIOUS: str(compare_with)} if compare_with is not None else {}
    warm_up = Path(tempfile.mkdtemp(prefix="mllint-bench-warm-up-"))
    (warm_up / "a.py").write_text(RISKY[0])
    for name, command in commands.items():  # once, unmeasured, on one file: each tool's bytecode now exists
        measure([*command[:-1], str(warm_up)], _env(name, source_of, XDG_CACHE_HOME=str(warm_up / "cache")))
    shutil.rmtree(warm_up, ignore_errors=True)
    load = _load()
    samples: dict[str, list[Sample]] = {name: [] for name in [*commands, "mllint-sec warm"]}
    stage_runs: list[dict] = []
    for _ in range(rounds):
        for name, command in commands.items():
            cache = tempfile.mkdtemp(prefix="mllint-bench-cache-")
            env = _env(name, source_of, XDG_CACHE_HOME=cache)  # cold: an empty cache every round
            samples[name].append(measure(command, env))
            if name == "mllint-sec":
                samples["mllint-sec warm"].append(measure(command, env))  # warm: the cache the cold run filled
            shutil.rmtree(cache, ignore_errors=True)
        if stages:
            stage_runs.append(stage_times(target, jobs))
    files = sum(1 for _ in target.rglob("*.py"))
    print(f"\n{target}  ({files} .py files, {rounds} rounds, median; load average before: {load:.1f})")
    print(f"  {'':<20} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}")
    for name, runs in samples.items():
        if runs:
            print(f"  {name:<20} {_median(runs, 'wall'):8.2f} {_median(runs, 'cpu'):8.2f} {_median(runs, 'peak'):9.0f}")
    cold = _median(samples["mllint-sec"], "wall")
    warm = _median(samples["mllint-sec warm"], "wall")
    for other in ("bandit-ml", "semgrep", PREVIOUS):
        if samples.get(other):
            theirs = _median(samples[other], "wall")
            print(f"  ratio cold mllint-sec/{other}: {cold / theirs:.3f} (warm: {warm / theirs:.3f})")
    print(f"  ratio warm/cold mllint-sec: {warm / cold:.3f}")
    if stage_runs:
        print_stages(stage_runs)


def _median(runs: list[Sample], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def stage_times(target: Path, jobs: int | None) -> dict:
    """One cold run of bench/stages.py: where mllint-sec's time went."""
    cache = tempfile.mkdtemp(prefix="mllint-bench-cache-")
    command = [sys.executable, str(HERE / "stages.py"), *mllint_command(target, jobs)[3:]]
    output = subprocess.run(command, capture_output=True, text=True, env=installed_env(XDG_CACHE_HOME=cache),
                            cwd=tempfile.gettempdir(), check=False).stdout
    shutil.rmtree(cache, ignore_errors=True)
    lines = output.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


STAGE_ORDER = ("imports", "setup", "discovery", "prefilter", "screen", "parse", "analysis", "files", "files (wall)",
               "project facts", "cross-module", "ordering", "report", "total")


def print_stages(runs: list[dict]) -> None:
    flat = [{"imports": run["imports"], **run["stages"], "report": run["report"], "total": run["total"]}
            for run in runs if run]
    if not flat:
        print("  stages: bench/stages.py gave nothing")
        return
    print("  stages, cold (median s; prefilter..files are summed over worker processes):")
    for stage in STAGE_ORDER:
        values = [run.get(stage, 0.0) for run in flat]
        print(f"    {stage:<14} {statistics.median(values):8.2f}")


def _env(name: str, source_of: dict[str, str], **extra: str) -> dict:
    """The tool's environment; a previous checkout is put first on the import path."""
    if name in source_of:
        extra["PYTHONPATH"] = source_of[name]
    return installed_env(**extra)


def one_file(target: Path, rounds: int) -> None:
    candidates = sorted(p for p in target.rglob("*.py") if "torch.load" in p.read_text(errors="replace"))
    if not candidates:
        return
    command = [sys.executable, "-m", "mllint_sec", "check", "--exit-zero", str(candidates[0])]
    cold: list[Sample] = []
    warm: list[Sample] = []
    for _ in range(rounds):
        env = installed_env(XDG_CACHE_HOME=tempfile.mkdtemp(prefix="mllint-bench-cache-"))
        cold.append(measure(command, env))
        warm.append(measure(command, env))
        shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)
    print(f"\none-file run (as pre-commit makes it, {candidates[0].name}), median of {rounds}:")
    print(f"  cold {_median(cold, 'wall'):.2f} s wall, {_median(cold, 'cpu'):.2f} s cpu; "
          f"warm {_median(warm, 'wall'):.2f} s wall, {_median(warm, 'cpu'):.2f} s cpu")


def transformers_source(cache_dir: Path) -> Path:
    """transformers' `src/transformers` from its pinned sdist, downloaded and unpacked once into cache_dir."""
    unpacked = cache_dir / f"transformers-{TRANSFORMERS}"
    source = unpacked / "src" / "transformers"
    if source.is_dir():
        return source
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / f"transformers-{TRANSFORMERS}.tar.gz"
    if not archive.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "--no-build-isolation", f"transformers=={TRANSFORMERS}", "-d", str(cache_dir)], check=True)
    with tarfile.open(archive) as sdist:
        # Only the package's own sources; the data filter refuses links and paths out of the directory.
        members = [m for m in sdist.getmembers() if m.name.startswith(f"transformers-{TRANSFORMERS}/src/")]
        if not hasattr(tarfile, "data_filter"):  # Python before 3.10.12 / 3.11.4
            sys.exit("--transformers needs tarfile's extraction filters (Python 3.10.12, 3.11.4 or later)")
        sdist.extractall(cache_dir, members=members, filter="data")
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="*", type=Path, help="real repositories to time as well")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--jobs", type=int, help="pass --jobs N to mllint-sec (default: its own, one per CPU)")
    parser.add_argument("--stages", action="store_true", help="also print mllint-sec's time by stage")
    parser.add_argument("--transformers", action="store_true",
                        help=f"also benchmark transformers {TRANSFORMERS}'s src/transformers (sdist from PyPI)")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "mllint-sec-bench",
                        help="where --transformers keeps the sdist")
    parser.add_argument("--semgrep", help="the semgrep executable (default: semgrep on PATH)")
    parser.add_argument("--semgrep-rules", type=Path, default=SEMGREP_RULES, help="Semgrep rules (default: %(default)s)")
    parser.add_argument("--compare-with", type=lambda text: Path(text).resolve(),
                        help="a checkout of a previous mllint-sec (e.g. `git worktree add ../prev main`), timed alongside")
    parser.add_argument("--no-synthetic", action="store_true", help="skip the synthetic repository")
    args = parser.parse_args()
    if not shutil.which("bandit"):
        print("bandit not found: `pip install bandit` to compare")
    semgrep = args.semgrep or shutil.which("semgrep")
    if not semgrep:
        print("semgrep not found: `python -m venv ~/semgrep-venv && ~/semgrep-venv/bin/pip install semgrep`, "
              "then --semgrep ~/semgrep-venv/bin/semgrep")
    targets = [repo.resolve() for repo in args.repos]
    if args.transformers:
        targets.append(transformers_source(args.cache_dir.expanduser()))
    with tempfile.TemporaryDirectory(prefix="mllint-bench-") as scratch:
        synthetic = generate(Path(scratch) / "synthetic-ml-repo", args.files)
        print(textwrap.dedent(f"""\
            machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}
            synthetic repository: {args.files} files"""))
        for target in ([] if args.no_synthetic else [synthetic]) + targets:
            bench(target, args.rounds, semgrep, args.semgrep_rules, args.compare_with, args.jobs, args.stages)
        one_file(synthetic, args.rounds)


if __name__ == "__main__":
    main()
