"""Every rule's own [[example]] blocks and its docs snippets, run through the engine.

All samples (a rule's examples, and its docs `unsafe` and `safe` snippets) are written
once into a temporary tree and scanned with the public runner, in this process: the
Python-only samples share one tree and one scan; a sample whose findings depend on its
repository (manifests, lock files, provenance records, artifacts) gets a root of its own.

- A flag example's `# expect` lines must equal, exactly, the lines of that rule's
  findings (one finding each); a pass example must produce none. todo-* examples record
  known gaps and run as strict xfail, so a fixed gap fails until promoted.
- Line, column and message of every finding of a rule's samples are compared with
  tests/snapshots/<RULE>.txt (`sample/file:line:col: RULE message`), reviewed like code.
  To regenerate after an intended change, run
      MLLINT_SEC_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_rule_examples.py
  and review `git diff tests/snapshots/`.
- A rule's docs `unsafe` snippet must fire the rule; its `safe` snippet must produce no
  finding at all (of any rule), except where DOCS_NOT_RUNNABLE / SAFE_SNIPPET_FINDINGS say why.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.engine.runner import Options, run
from mllint_sec.report.rule_docs import render_docs, snippet_default_path, snippet_files

CATALOGUE = load_catalogue()
SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_SNAPSHOTS = os.environ.get("MLLINT_SEC_UPDATE_SNAPSHOTS") == "1"

# Rules whose docs snippets cannot be run as they are written, with the reason; they are not
# scanned (the rule's own [[example]]s hold real files for these cases).
DOCS_NOT_RUNNABLE = {
    "ART001": "the unsafe snippet sketches a binary pickle's opcodes in a comment; the safe one is Python advice, not an artifact",
    "ART002": "the unsafe snippet describes a joblib file's imports in a comment; the safe one is a pyproject.toml setting in comments",
    "ART003": "both snippets describe files (an lz4-compressed joblib, a truncated zip) in prose",
    "PROV001": "both snippets describe a repository's state (a file listing, shell commands), not a file's content",
}
# Findings a docs `safe` snippet is expected to produce, by (rule, reported rule), with the reason.
SAFE_SNIPPET_FINDINGS = {
    ("MLS001", "LOAD001"): "the point of the snippet: once the file parses, its pickle.load is analysed (and reported)",
}


# --- samples: every example and docs snippet of every rule, as files ---------------------------

@dataclass(frozen=True)
class Sample:
    rule_id: str
    label: str  # "flag-0", "pass-2", "docs-unsafe", "docs-safe": its folder and its name in the snapshot
    files: tuple[tuple[str, str], ...]  # (relative path, text)
    own_root: bool  # scanned as a repository of its own


def _needs_own_root(rule, files) -> bool:
    return bool(
        [path for path, _ in files] != ["example.py"]
        or rule.dependencies or rule.advisories or rule.provenance or rule.artifacts
    )


def _samples() -> list[Sample]:
    samples = []
    for rule in CATALOGUE.rules.values():
        for n, example in enumerate(rule.examples):
            files = ((example.path, example.code), *example.files)
            samples.append(Sample(rule.id, f"{example.verdict}-{n}", files, _needs_own_root(rule, files)))
        if rule.id in DOCS_NOT_RUNNABLE:
            continue
        for kind in ("unsafe", "safe"):
            files = snippet_files(rule.docs[kind], snippet_default_path(rule))
            samples.append(Sample(rule.id, f"docs-{kind}", files, _needs_own_root(rule, files)))
    return samples


SAMPLES = _samples()


@dataclass(frozen=True)
class Reported:
    rule_id: str
    path: str  # relative to the sample's folder
    line: int
    column: int
    message: str

    def snapshot_line(self, label: str) -> str:
        return f"{label}/{self.path}:{self.line}:{self.column}: {self.rule_id} {self.message}"


def scan_samples(samples: list[Sample], mktemp) -> dict[tuple[str, str], list[Reported]]:
    """(rule id, sample label) -> every active finding in that sample's files, of any rule.

    mktemp(name) makes a new empty directory. Every rule is selected (opt-in ones too), so a
    sample shows what the whole linter says about it.
    """
    shared = mktemp("examples")
    roots: list[tuple[Path, Sample | None]] = [(shared, None)]
    for sample in samples:
        folder = mktemp(f"{sample.rule_id}-{sample.label}") if sample.own_root else (
            shared / sample.rule_id / sample.label)
        for relative, text in sample.files:
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text, encoding="utf-8")
        if sample.own_root:
            roots.append((folder, sample))
    found: dict[tuple[str, str], list[Reported]] = defaultdict(list)
    for root, sample in roots:
        result = run(Options(paths=[root], select=list(CATALOGUE.rules), use_cache=False, jobs=1))
        assert not result.problems, result.problems
        for f in result.active:
            if sample is None:
                rule_id, label, path = f.path.split("/", 2)
            else:
                rule_id, label, path = sample.rule_id, sample.label, f.path
            found[(rule_id, label)].append(Reported(f.rule_id, path, f.line, f.column, f.message))
    return found


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> dict[tuple[str, str], list[Reported]]:
    return scan_samples(SAMPLES, tmp_path_factory.mktemp)


# --- the rule's own examples: exact lines ------------------------------------------------------

CASES = [
    pytest.param(
        rule.id,
        n,
        example,
        id=f"{rule.id}-{example.verdict}-{n}",
        marks=[pytest.mark.xfail(strict=True, reason="known gap")] if example.verdict.startswith("todo") else [],
    )
    for rule in CATALOGUE.rules.values()
    for n, example in enumerate(rule.examples)
]


def expected_lines(code: str) -> list[int]:
    return [n for n, line in enumerate(code.splitlines(), 1) if line.rstrip().endswith("# expect")]


@pytest.mark.parametrize(("rule_id", "n", "example"), CASES)
def test_example(rule_id, n, example, reported):
    every = reported[(rule_id, f"{example.verdict}-{n}")]
    lines = sorted(f.line for f in every if f.rule_id == rule_id and f.path == example.path)
    if example.verdict.endswith("flag"):
        # A file reported as a whole (an artifact, a data file) is reported at 1:1 and has no `# expect`.
        expected = expected_lines(example.code) or ([1] if example.path != "example.py" else [])
        assert expected, "a flag example must mark its lines with '# expect'"
        assert lines == expected
    else:
        assert lines == []
    assert [f for f in every if f.rule_id == "MLS001"] == []


@pytest.mark.parametrize("rule", [r for r in CATALOGUE.rules.values() if r.family != "engine"], ids=lambda r: r.id)
def test_every_rule_has_positive_and_negative_examples(rule):
    verdicts = [e.verdict for e in rule.examples]
    assert verdicts.count("flag") >= 2 and verdicts.count("pass") >= 2


# --- snapshots: line, column and message of every finding --------------------------------------

def snapshot_text(rule_id: str, reported) -> str:
    rule = CATALOGUE.rules[rule_id]
    lines = [
        f"# {rule.id} ({rule.name}): its findings on its own examples and docs snippets, `sample/file:line:col: RULE message`.",
        "# Written by tests/test_rule_examples.py (MLLINT_SEC_UPDATE_SNAPSHOTS=1); review changes like code.",
    ]
    for sample in SAMPLES:
        if sample.rule_id == rule_id:
            own = [f for f in reported[(rule_id, sample.label)] if f.rule_id == rule_id]
            own.sort(key=lambda f: (f.path, f.line, f.column, f.message))
            lines += [f.snapshot_line(sample.label) for f in own]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("rule_id", list(CATALOGUE.rules))
def test_snapshot(rule_id, reported):
    path = SNAPSHOTS / f"{rule_id}.txt"
    current = snapshot_text(rule_id, reported)
    if UPDATE_SNAPSHOTS:
        SNAPSHOTS.mkdir(exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != current:
            path.write_text(current, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} is missing: run MLLINT_SEC_UPDATE_SNAPSHOTS=1 python -m pytest {__file__} and review it")
    stored = path.read_text(encoding="utf-8")
    if stored != current:
        diff = difflib.unified_diff(stored.splitlines(), current.splitlines(), f"{path.name} (stored)",
                                    f"{path.name} (current)", lineterm="")
        pytest.fail(f"{rule_id}'s findings differ from its snapshot:\n" + "\n".join(diff)
                    + "\nIf the change is intended, run with MLLINT_SEC_UPDATE_SNAPSHOTS=1 and review the diff.",
                    pytrace=False)


def test_no_snapshot_without_a_rule():
    orphans = sorted(p.name for p in SNAPSHOTS.glob("*.txt") if p.stem not in CATALOGUE.rules)
    if UPDATE_SNAPSHOTS:
        for name in orphans:
            (SNAPSHOTS / name).unlink()
        return
    assert orphans == []


# --- docs snippets: unsafe fires the rule, safe is clean ---------------------------------------

def _docs_sample(rule_id: str, kind: str) -> Sample:
    (sample,) = [s for s in SAMPLES if s.rule_id == rule_id and s.label == f"docs-{kind}"]
    return sample


def test_docs_snippet_files_are_split_by_header():
    assert snippet_files("# requirements.txt\ntorch\n\n# load.py\nimport torch\n", "example.py") == (
        ("requirements.txt", "# requirements.txt\ntorch\n"), ("load.py", "# load.py\nimport torch\n"))
    assert snippet_files("# Prefer safetensors.\nimport x\n\n# e.g. this\ny = 1\n", "a.py") == (
        ("a.py", "# Prefer safetensors.\nimport x\n\n# e.g. this\ny = 1\n"),)
    assert [path for path, _ in _docs_sample("SUP007", "unsafe").files] == ["requirements.txt", "load.py"]
    assert [path for path, _ in _docs_sample("PROV002", "unsafe").files] == ["data/train.csv.dvc"]


def _fences(rule_id: str) -> list[str]:
    return re.findall(r"^```(\w+)$", render_docs(CATALOGUE.rules[rule_id], CATALOGUE), re.MULTILINE)


def test_docs_snippets_are_fenced_in_their_files_language():
    assert _fences("LOAD003") == ["python", "python"]
    assert _fences("SUP006") == ["text", "text"]  # requirements.txt
    assert _fences("SUP007") == ["text", "python", "text", "python"]  # requirements.txt, then load.py
    assert _fences("PROV002") == ["yaml", "yaml"]  # a .dvc file
    assert _fences("PROV004") == ["markdown", "markdown"]  # a model card
    assert _fences("ART002") == ["text", "text"]  # an artifact, described in comments
    assert _fences("ART001") == ["text", "python"]  # ... and Python that replaces it, named by its header


def test_docs_allow_lists_name_rules_and_reasons():
    assert set(DOCS_NOT_RUNNABLE) <= set(CATALOGUE.rules) and all(DOCS_NOT_RUNNABLE.values())
    assert {rule for rule, _ in SAFE_SNIPPET_FINDINGS} <= set(CATALOGUE.rules) and all(SAFE_SNIPPET_FINDINGS.values())


@pytest.mark.parametrize("rule_id", [r for r in CATALOGUE.rules if r not in DOCS_NOT_RUNNABLE])
def test_docs_unsafe_snippet_fires_the_rule(rule_id, reported):
    every = reported[(rule_id, "docs-unsafe")]
    own = [f for f in every if f.rule_id == rule_id]
    assert own, f"{rule_id}'s docs `unsafe` snippet is not reported by {rule_id} (files: {_docs_sample(rule_id, 'unsafe').files})"
    assert rule_id == "MLS001" or [f for f in every if f.rule_id == "MLS001"] == []


@pytest.mark.parametrize("rule_id", [r for r in CATALOGUE.rules if r not in DOCS_NOT_RUNNABLE])
def test_docs_safe_snippet_is_not_reported(rule_id, reported):
    every = reported[(rule_id, "docs-safe")]
    unexpected = [f.snapshot_line("docs-safe") for f in every if (rule_id, f.rule_id) not in SAFE_SNIPPET_FINDINGS]
    assert unexpected == []
    for rule, other in SAFE_SNIPPET_FINDINGS:
        if rule == rule_id:
            assert [f for f in every if f.rule_id == other], f"stale SAFE_SNIPPET_FINDINGS entry {(rule, other)}"


# --- messages -------------------------------------------------------------------------------

def message_templates(rule) -> list[str]:
    """Every message a rule's tables hold (a call match's message may be left to its argument checks;
    an `also` clause is appended to the message after a space)."""
    templates = []
    for match in rule.calls:
        templates += [match.message, *(a.message for a in match.args), *(a.message.strip() for a in match.also)]
    for group in (rule.subclasses, rule.env, rule.dependencies, rule.artifacts, rule.provenance, rule.flows):
        templates += [match.message for match in group]
    return [t for t in templates if t]


def _reads_as_one_clause(message: str) -> bool:
    return bool(message) and not message.endswith(".") and message == message.strip()


@pytest.mark.parametrize("rule", list(CATALOGUE.rules.values()), ids=lambda r: r.id)
def test_messages_name_the_problem(rule, reported):
    templates = message_templates(rule)
    # Engine rules (MLS001/MLS002) build their messages in code; every other rule's come from its tables.
    assert templates or rule.family == "engine", f"{rule.id} has no message in its tables"
    for match in rule.calls:  # a reported call always has something to say
        assert match.message or (match.args and all(a.message for a in match.args)), match.calls
    for template in templates:
        assert _reads_as_one_clause(template) and len(template) < 300, template
    for match in rule.calls:  # and so is a message with every `also` clause that could be appended to it
        for message in filter(None, (match.message, *(a.message for a in match.args))):
            longest = message + "".join(also.message for also in match.also)
            assert len(longest) < 300, longest
    # The messages as reported, placeholders filled in: on its examples and docs snippets, every
    # rule reports something (engine rules in their docs `unsafe` snippet).
    messages = [f.message for sample in SAMPLES if sample.rule_id == rule.id
                for f in reported[(rule.id, sample.label)] if f.rule_id == rule.id]
    assert messages, f"{rule.id} reports nothing on its own examples and docs snippets"
    for message in messages:
        assert _reads_as_one_clause(message), message
        assert not re.search(r"\{[a-z_]+\}", message), f"unfilled placeholder: {message}"
