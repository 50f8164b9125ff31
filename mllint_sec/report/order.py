"""The order the human-facing reports (text, GitHub annotations) list findings in.

The first screen is the worst first: most severe, then path, line, column and rule. A finding's
severity is its context's (a test's critical finding is low), so library code leads. `--sort path`
gives the run's own order (path, line, column, rule), which JSON and SARIF always keep: machines
diff them.
"""

from __future__ import annotations

from mllint_sec.core.finding import Finding

SORT_ORDERS = ("severity", "path")


def ordered(findings: list[Finding], sort: str) -> list[Finding]:
    if sort == "path":
        return sorted(findings, key=Finding.sort_key)
    return sorted(findings, key=lambda f: (-f.severity.rank, *f.sort_key()))
