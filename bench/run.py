"""Benchmark mllint-sec against Bandit's ML-relevant tests, side by side.

    python bench/run.py [REPO ...] [--rounds 5] [--files 2000] [--semgrep-rules DIR] [--compare-with DIR]

Generates a synthetic ML repository (at least 2,000 files, deterministic), then
for it and for every REPO given runs, alternating, for several rounds:
  - mllint-sec cold (empty result cache) and warm (cache filled by the cold run),
  - Bandit with only its ML-relevant tests (B301, B302, B403, B506, B614, B615),
  - Semgrep, when installed and --semgrep-rules is given (never commit third-party rules),
  - with --compare-with DIR, the same mllint-sec command run from another checkout (a previous main),
and prints each tool's median wall time and peak memory, and the ratios
mllint-sec/Bandit. It also times a one-file run, as a pre-commit hook makes it.
Peak memory is the child's own maximum RSS (os.wait4), not the machine's.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
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


def measure(command: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one run of `command`."""
    start = time.perf_counter()
    # From a neutral directory: `python -m` puts the working directory first on the import path, which
    # would shadow --compare-with's checkout when run from a source tree.
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               cwd=tempfile.gettempdir())
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


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

def tools(target: Path, semgrep_rules: Path | None, compare_with: Path | None = None) -> dict[str, list[str]]:
    found = {"mllint-sec": [sys.executable, "-m", "mllint_sec", "check", "--exit-zero", "--format", "json",
                            "--output", os.devnull, str(target)]}
    if compare_with is not None:  # another checkout of the engine (a previous main), run the same way
        found[PREVIOUS] = found["mllint-sec"]
    bandit = shutil.which("bandit")
    if bandit:
        found["bandit-ml"] = [bandit, "-q", "-r", "-t", BANDIT_TESTS, "-f", "json", "-o", os.devnull, str(target)]
    semgrep = shutil.which("semgrep")
    if semgrep and semgrep_rules:
        found["semgrep"] = [semgrep, "scan", "--metrics", "off", "--disable-version-check", "-j", "1", "--quiet",
                            "--config", str(semgrep_rules), "--json", "-o", os.devnull, str(target)]
    return found


def bench(target: Path, rounds: int, semgrep_rules: Path | None, compare_with: Path | None = None) -> None:
    commands = tools(target, semgrep_rules, compare_with)
    source_of = {PREVIOUS: str(compare_with)} if compare_with is not None else {}
    warm_up = Path(tempfile.mkdtemp(prefix="mllint-bench-warm-up-"))
    (warm_up / "a.py").write_text(RISKY[0])
    for name, command in commands.items():  # once, unmeasured, on one file: each tool's bytecode now exists
        measure([*command[:-1], str(warm_up)], _env(name, source_of, XDG_CACHE_HOME=str(warm_up / "cache")))
    shutil.rmtree(warm_up, ignore_errors=True)
    times: dict[str, list[float]] = {name: [] for name in [*commands, "mllint-sec warm"]}
    memory: dict[str, list[float]] = {name: [] for name in times}
    for _ in range(rounds):
        for name, command in commands.items():
            cache = tempfile.mkdtemp(prefix="mllint-bench-cache-")
            env = _env(name, source_of, XDG_CACHE_HOME=cache)  # cold: an empty cache every round
            wall, peak, _ = measure(command, env)
            times[name].append(wall)
            memory[name].append(peak)
            if name == "mllint-sec":
                wall, peak, _ = measure(command, env)  # warm: the cache the cold run filled
                times["mllint-sec warm"].append(wall)
                memory["mllint-sec warm"].append(peak)
            shutil.rmtree(cache, ignore_errors=True)
    print(f"\n{target}  ({sum(1 for _ in target.rglob('*.py'))} .py files, {rounds} rounds, median)")
    for name, samples in times.items():
        if samples:
            print(f"  {name:<16} {statistics.median(samples):8.2f} s  {statistics.median(memory[name]):8.0f} MiB")
    if times.get("bandit-ml"):
        bandit = statistics.median(times["bandit-ml"])
        cold = statistics.median(times["mllint-sec"])
        print(f"  ratio cold mllint-sec/bandit-ml: {cold / bandit:.2f}")
        print(f"  ratio warm mllint-sec/bandit-ml: {statistics.median(times['mllint-sec warm']) / bandit:.2f}")
        print(f"  ratio warm/cold mllint-sec:      {statistics.median(times['mllint-sec warm']) / cold:.2f}")
    if times.get("semgrep"):
        print(f"  ratio cold mllint-sec/semgrep:   {statistics.median(times['mllint-sec']) / statistics.median(times['semgrep']):.2f}")
    if times.get(PREVIOUS):
        print(f"  ratio cold mllint-sec/previous:  {statistics.median(times['mllint-sec']) / statistics.median(times[PREVIOUS]):.2f}")


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
    walls = []
    for _ in range(rounds):
        env = installed_env(XDG_CACHE_HOME=tempfile.mkdtemp(prefix="mllint-bench-cache-"))
        walls.append(measure(command, env)[0])
        shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)
    print(f"\none-file run (as pre-commit makes it): median {statistics.median(walls):.2f} s ({candidates[0].name})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="*", type=Path, help="real repositories to time as well")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--semgrep-rules", type=Path, help="a local rules folder for Semgrep (not committed)")
    parser.add_argument("--compare-with", type=lambda text: Path(text).resolve(),
                        help="a checkout of a previous mllint-sec (e.g. `git worktree add ../prev main`), timed alongside")
    args = parser.parse_args()
    if not shutil.which("bandit"):
        print("bandit not found: `pip install bandit` to compare (timing mllint-sec alone)")
    with tempfile.TemporaryDirectory(prefix="mllint-bench-") as scratch:
        synthetic = generate(Path(scratch) / "synthetic-ml-repo", args.files)
        print(textwrap.dedent(f"""\
            machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}
            synthetic repository: {args.files} files"""))
        for target in [synthetic, *(repo.resolve() for repo in args.repos)]:
            bench(target, args.rounds, args.semgrep_rules, args.compare_with)
        one_file(synthetic, args.rounds)


if __name__ == "__main__":
    main()
