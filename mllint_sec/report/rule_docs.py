"""A rule's documentation as Markdown: printed by `mllint-sec explain`, carried by SARIF `help`."""

from __future__ import annotations

import textwrap

from mllint_sec.catalogue.model import Catalogue, Rule


def render_docs(rule: Rule, catalogue: Catalogue) -> str:
    """The rule's documentation as Markdown (also used for SARIF help)."""
    docs = rule.docs
    taxonomy = catalogue.taxonomy

    def names(key: str, ids) -> str:
        return ", ".join(f"{i} ({taxonomy[key][i]})" for i in ids) or "none"

    parts = [
        f"# {rule.id} {rule.name}",
        "",
        rule.summary,
        "",
        f"Severity: {rule.severity}. Precision: {rule.precision}. Family: {rule.family}.",
        f"CWE: {names('cwe', rule.cwe)}",
        f"MITRE ATLAS: {names('atlas', rule.atlas)}",
        f"OWASP ML Top 10: {names('owasp_ml', rule.owasp_ml)}",
        f"SDL practice: {rule.sdl}",
        "",
        "## What it does",
        "",
        docs["what"].strip(),
        "",
        "## Why it matters",
        "",
        docs["why"].strip(),
        "",
        "## Unsafe example",
        "",
        "```python",
        docs["unsafe"].strip("\n"),
        "```",
        "",
        "## Use instead",
        "",
        "```python",
        docs["safe"].strip("\n"),
        "```",
    ]
    if docs.get("known_limits"):
        parts += ["", "## Known limits", "", docs["known_limits"].strip()]
    parts += ["", "## Suppression", "", f"`# mllint-sec: ignore[{rule.id}] -- reason` on the reported line."]
    parts += ["", "## References", ""] + [f"- {ref}" for ref in docs["references"]]
    return "\n".join(textwrap.dedent(p) for p in parts) + "\n"
