"""Where each finding's code runs (library, test, example, script, benchmark) and what that context's policy does
to it.

On real repositories most findings are true but not worth a change: 62% of one diffusion
library's were under `tests/`, 22% under `examples/`. So every finding gets the context of its
file, and the policy of that context decides: `report` it as the rule says, `downgrade` it (test
code to low, any other context one level, the message saying where), or `ignore` it (dropped,
counted in the summary). The severity is lowered before `--fail-on` judges it.

Contexts come from path conventions on the path relative to the scan root, overridden by the
configuration's `[tool.mllint-sec.contexts]` globs (relative to the configuration's directory, the
per-file-ignores syntax). They depend on the configuration, never on a file's bytes, so they are
applied after the cache, and fingerprints (rule, path, statement) do not see them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path

from mllint_sec.core.code_context import DESCRIPTION, CodeContext, ContextPolicy, downgraded
from mllint_sec.core.finding import Finding
from mllint_sec.engine.config import Config, per_file_pattern

# When a path matches several conventions (or several contexts' globs), the most specific wins:
# `examples/tests/test_x.py` is a test, `benchmarks/scripts/run.py` a benchmark.
PRECEDENCE = (CodeContext.TEST, CodeContext.BENCHMARK, CodeContext.EXAMPLE, CodeContext.SCRIPT, CodeContext.LIBRARY)

# Directory names (compared lowercased, at any depth) that put everything beneath them in a context.
DIRECTORIES: dict[CodeContext, frozenset[str]] = {
    CodeContext.TEST: frozenset({"test", "tests", "testing"}),
    CodeContext.BENCHMARK: frozenset({"benchmarks", "benchmark", "bench"}),
    CodeContext.EXAMPLE: frozenset({"examples", "example", "tutorials", "tutorial", "docs", "doc", "notebooks",
                                    "demo", "demos", "samples", "cookbook"}),
    CodeContext.SCRIPT: frozenset({"scripts", "script", "tools", "dev"}),
}


def is_test_file_name(name: str) -> bool:
    """pytest's default file names, and the conftest.py that only tests import."""
    return name == "conftest.py" or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")))


def conventional_context(relative: str) -> CodeContext:
    """The context the path conventions give a POSIX path relative to the scan root.

    An absolute path (a file named outside the scan root) is judged by its file name alone:
    which of its directories belong to the project is unknown (`/home/me/dev/...`). In a src
    layout the directory right under `src/` is the package, named after the project, not a
    convention (unless it is named like tests): `src/demo/serve.py` is library code,
    `src/demo/tests/test_x.py` a test.
    """
    parts = relative.split("/")
    directories = parts[:-1]
    if len(directories) > 1 and directories[0] == "src" and directories[1].lower() not in DIRECTORIES[CodeContext.TEST]:
        directories = directories[2:]
    found = set() if posixpath.isabs(relative) else {part.lower() for part in directories}
    for context in PRECEDENCE:
        if context == CodeContext.TEST and is_test_file_name(parts[-1]):
            return context
        if found & DIRECTORIES.get(context, frozenset()):
            return context
    return CodeContext.LIBRARY


class CodeContexts:
    """The contexts of one run's files and their policy, as the configuration sets them."""

    def __init__(self, config: Config, scan_root: Path, config_relative: Callable[[Path], str | None]):
        self.policy = dict(config.context_policy)
        self.scan_root = scan_root
        self.config_relative = config_relative  # a path relative to the configuration's directory, None outside it
        # Compiled once per run, by the same linear matcher as per-file-ignores.
        self.globs = [(context, [per_file_pattern(glob) for glob in config.contexts[context]])
                      for context in PRECEDENCE if config.contexts.get(context)]
        self._known: dict[str, CodeContext] = {}  # one answer per path: a file has many findings

    def context_of(self, path: str) -> CodeContext:
        """The context of a finding's path (relative to the scan root, or absolute outside it)."""
        found = self._known.get(path)
        if found is None:
            found = self._known[path] = self._configured(path) or conventional_context(path)
        return found

    def _configured(self, path: str) -> CodeContext | None:
        if not self.globs:
            return None
        relative = self.config_relative(self.scan_root / path)
        if relative is None:
            return None
        return next((context for context, tests in self.globs if any(test(relative) for test in tests)), None)

    def apply(self, findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
        """(the findings to report, with their context and any downgrade applied; those the policy ignores)."""
        kept: list[Finding] = []
        ignored: list[Finding] = []
        for finding in findings:
            context = self.context_of(finding.path)
            policy = self.policy[context]
            finding.context = context
            if policy == ContextPolicy.IGNORE:
                ignored.append(finding)
                continue
            if policy == ContextPolicy.DOWNGRADE:
                finding.severity = downgraded(finding.severity, context)
                finding.message = f"{finding.message} (in {DESCRIPTION[context]})"
            kept.append(finding)
        return kept, ignored
