"""A rule's documentation as Markdown: printed by `mllint-sec explain`, carried by SARIF `help`."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from pathlib import PurePosixPath

from mllint_sec.catalogue.model import Catalogue, Rule

# A docs snippet of several files (or of one non-Python file) starts each with a comment line
# naming it: "# requirements.txt", "# data/train.csv.dvc, as `dvc add` writes it".
_FILE_HEADER = re.compile(r"# (?P<path>[\w.-]+(?:/[\w.-]+)*\.\w+)(?:[:,] .*| - .*)?")
# The Markdown fence language of a snippet file, by its name's suffix (or whole name); anything
# else (requirements files, artifacts, whose snippets are sketches in comments) is `text`.
_FENCE_LANGUAGES = {
    ".py": "python", ".ipynb": "json", ".toml": "toml", ".cfg": "ini", ".md": "markdown",
    ".yaml": "yaml", ".yml": "yaml", ".dvc": "yaml", "dvc.lock": "yaml",
}


def snippet_files(text: str, default_path: str) -> tuple[tuple[str, str], ...]:
    """Split a docs snippet into files at header lines (its first line, or one after a blank line)."""
    lines = text.strip("\n").split("\n")
    files: list[tuple[str, list[str]]] = []
    for n, line in enumerate(lines):
        header = _FILE_HEADER.fullmatch(line)
        if header and (n == 0 or not lines[n - 1].strip()):
            files.append((header["path"], []))
        elif not files:
            files.append((default_path, []))
        files[-1][1].append(line)
    return tuple((path, "\n".join(body).strip("\n") + "\n") for path, body in files)


def snippet_default_path(rule: Rule) -> str:
    """The file a snippet without a header stands for: the kind of file the rule's examples are."""
    return rule.examples[0].path if rule.examples else "example.py"


def _fence_language(path: str) -> str:
    name = PurePosixPath(path).name
    return _FENCE_LANGUAGES.get(name) or _FENCE_LANGUAGES.get(PurePosixPath(name).suffix, "text")


def _fenced(snippet: str, rule: Rule) -> list[str]:
    """Markdown code blocks for a docs snippet, one per file, each fenced in its file's language."""
    lines: list[str] = []
    for path, body in snippet_files(snippet, snippet_default_path(rule)):
        if lines:
            lines.append("")
        lines += [f"```{_fence_language(path)}", body.rstrip("\n"), "```"]
    return lines


def render_docs(rule: Rule, catalogue: Catalogue) -> str:
    """The rule's documentation as Markdown (also used for SARIF help)."""
    docs = rule.docs
    taxonomy = catalogue.taxonomy

    def names(key: str, ids: Iterable[str]) -> str:
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
        *_fenced(docs["unsafe"], rule),
        "",
        "## Use instead",
        "",
        *_fenced(docs["safe"], rule),
    ]
    if docs.get("known_limits"):
        parts += ["", "## Known limits", "", docs["known_limits"].strip()]
    if rule.family == "deserialization" or any(match.family == "deserialization" for match in rule.flows):
        from mllint_sec.catalogue.origin_tables import tables  # the shared text of rules/origins.toml [docs]

        shared = tables().docs
        parts += ["", "## Where the loaded data comes from", "", shared["origins"].strip()]
        parts += ["", "## Guards", "", shared["guards"].strip()]
    parts += ["", "## Suppression", "", f"`# mllint-sec: ignore[{rule.id}] -- reason` on the reported line."]
    parts += ["", "## References", ""] + [f"- {ref}" for ref in docs["references"]]
    return "\n".join(textwrap.dedent(p) for p in parts) + "\n"
