"""Provenance findings: which data and model files have a record of their content, and
whether the records themselves pin anything.

`ProvenanceView` reads the repository's records once (`repo/records/` parses them): Git LFS
patterns from every `.gitattributes`, outputs with hashes from `.dvc` files, `dvc.lock`
files and checksum manifests. `provenance_findings` then checks the targets:

- a data or model file with no record (PROV001, `untracked-artifact`);
- DVC outputs without a hash, and a `dvc.yaml` without a committed `dvc.lock` (PROV002);
- a model card that omits `datasets`, `license`, or `base_model` when the card or the
  repository's code (Trainer, PEFT, TRL) says the model is a fine-tune (PROV004).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from mllint_sec.catalogue.model import Catalogue, ProvenanceMatch, Rule
from mllint_sec.core.bounded_read import read_limited
from mllint_sec.core.engine_rules import PARSE_ERROR
from mllint_sec.core.file_kinds import (
    ARTIFACT_SUFFIXES,
    MODEL_SUFFIXES,
    WRAPPER_SUFFIXES,
    FileKind,
    Target,
    artifact_by_name,
)
from mllint_sec.core.finding import Finding, normalise
from mllint_sec.core.lfs_pointer import is_lfs_pointer_file
from mllint_sec.core.suppressions import apply_line_comments
from mllint_sec.python.prefilter import code_only
from mllint_sec.repo.records.checksums import checksum_manifest, is_checksum_manifest
from mllint_sec.repo.records.dvc import dvc_file, dvc_lock, dvc_yaml_outs
from mllint_sec.repo.records.gitattributes import LfsPatterns, gitattributes_lfs
from mllint_sec.repo.records.model_card import ModelCard, model_card
from mllint_sec.repo.records.record import Output, Records, Span
from mllint_sec.repo.records.yaml_lines import split_lines

MAX_RECORD_BYTES = 1024 * 1024
# Front-matter keys that make a README a model card, and tags that say it is a fine-tune.
_CARD_KEYS = {"license", "tags", "library_name", "pipeline_tag", "model-index", "datasets", "base_model", "language"}
_FINE_TUNE_TAGS = {"generated_from_trainer", "peft", "lora", "qlora", "fine-tuned", "finetuned", "sft", "trl"}
# Identifiers of fine-tuning code: a repository that uses them fine-tunes some base model.
_FINE_TUNING_CODE = re.compile(
    r"\b(?:Trainer|Seq2SeqTrainer|SFTTrainer|DPOTrainer|ORPOTrainer|RewardTrainer|get_peft_model|LoraConfig"
    r"|prepare_model_for_kbit_training)\b"
)
_WHAT = {
    "datasets": "what data it learned from",
    "license": "under which terms it may be used",
    "base_model": "which model it was fine-tuned from",
}


class ProvenanceView:
    """The repository's provenance records, read once."""

    def __init__(self, files: list[Target]):
        self.files = {t.display: t.path for t in files}
        patterns = []
        outputs: list[Output] = []
        for display, path in sorted(self.files.items()):
            name = PurePosixPath(display).name
            if name == ".gitattributes":
                patterns.append(gitattributes_lfs(display, _text(path) or ""))
            elif name.endswith(".dvc") or name == "dvc.lock":
                parsed = _parse_record(display, _text(path) or "")
                outputs.extend(parsed.outputs if parsed else ())
            elif is_checksum_manifest(name):
                outputs.extend(checksum_manifest(display, _text(path) or "").outputs)
        self.lfs = LfsPatterns.combine(patterns)
        recorded = [o for o in outputs if o.digest]
        self.recorded_files = {o.path for o in recorded if not o.is_dir}
        self.recorded_dirs = tuple(sorted(o.path.rstrip("/") + "/" for o in recorded if o.is_dir))
        self.lock_dirs = {str(PurePosixPath(d).parent) for d in self.files if PurePosixPath(d).name == "dvc.lock"}
        self._fine_tunes: bool | None = None

    @property
    def fine_tunes(self) -> bool:
        """Whether some Python file of the repository fine-tunes a model (Trainer, PEFT, TRL)."""
        if self._fine_tunes is None:
            self._fine_tunes = any(
                _FINE_TUNING_CODE.search(code_only(text))
                for display, path in sorted(self.files.items())
                if display.endswith(".py") and (text := _text(path)) is not None and _FINE_TUNING_CODE.search(text)
            )
        return self._fine_tunes

    def has_record(self, target: Target) -> bool:
        display = target.display
        if self.lfs.matches(display) or display in self.recorded_files or display.startswith(self.recorded_dirs):
            return True
        return is_lfs_pointer_file(target.path)


def provenance_findings(
    targets: list[tuple[Target, frozenset[str]]], view: ProvenanceView, catalogue: Catalogue, min_bytes: int
) -> list[Finding]:
    found: list[Finding] = []
    for target, enabled in targets:
        matches = [(r, m) for r in catalogue.rules.values() if r.id in enabled for m in r.provenance]
        if not matches and PARSE_ERROR not in enabled:
            continue
        if target.kind == FileKind.RECORD:
            found.extend(_record_findings(target, view, matches, catalogue, enabled))
            continue
        for rule, match in matches:
            if match.check == "untracked-artifact" and _needs_record(target, min_bytes) and not view.has_record(target):
                message = match.message.format(path=target.display)
                found.append(Finding(rule.id, target.display, 1, 1, 1, 1, message, "", rule.severity,
                                     statement_text="untracked:" + target.display, whole_file=True))
    return found


# Model files by name: their provenance matters at any size.
_MODEL_FILES = tuple(s for s in ARTIFACT_SUFFIXES if s not in (".zip", ".npy", ".npz")) + MODEL_SUFFIXES


def _needs_record(target: Target, min_bytes: int) -> bool:
    """Model files always; data files from `min_bytes` up (samples and fixtures are smaller).

    A file found only by its content (a zip named .docx, a pickle named .png) is left to the
    content rules (ART*): its name does not say it is data or a model.
    """
    suffix = target.path.suffix.lower()
    if suffix in _MODEL_FILES or (suffix in WRAPPER_SUFFIXES and artifact_by_name(target.path.name)):
        return True  # `model.pkl.gz` is a model file by name too
    if target.kind == FileKind.DATA or suffix in (".zip", ".npy", ".npz"):
        try:
            return os.path.getsize(target.path) >= min_bytes
        except OSError:
            return False
    return False


def _record_findings(
    target: Target,
    view: ProvenanceView,
    matches: list[tuple[Rule, ProvenanceMatch]],
    catalogue: Catalogue,
    enabled: frozenset[str],
) -> list[Finding]:
    text = _text(target.path)
    if text is None:
        return []
    name = PurePosixPath(target.display).name.lower()
    lines = split_lines(text)  # every record read here is YAML (a model card's front matter too)
    found: list[Finding] = []
    if name == "readme.md":
        card = model_card(target.display, text)
        for rule, match in matches:
            if match.check == "model-card-field":
                found.extend(_model_card(target, card, rule, match, view))
        # A README may open with a Markdown rule rather than front matter, so YAML that does not
        # parse there says nothing; YAML the reader refused (size, nesting, aliases) may be a
        # card that is never checked, and is reported as in any other record.
        problems = [problem for problem in card.problems if problem.refused] if card else []
    elif name == "dvc.yaml":
        declared, problems = dvc_yaml_outs(target.display, text)
        directory = str(PurePosixPath(target.display).parent)
        for rule, match in matches:
            if match.check == "dvc-missing-lock" and declared and directory not in view.lock_dirs:
                first = min(declared, key=lambda out: (out.span.line, out.span.column))
                message = match.message.format(record=target.display, path="")
                found.append(_at(rule, target, first.span, lines, message, "no-lock"))
    else:
        parsed = _parse_record(target.display, text)
        problems = list(parsed.problems) if parsed else []
        for rule, match in matches:
            if match.check != "dvc-missing-hash" or parsed is None:
                continue
            for output in parsed.outputs:
                if not output.digest:
                    message = match.message.format(record=target.display, path=output.path)
                    span = output.span or _whole_line(output.line, lines)  # DVC outputs have a span
                    found.append(_at(rule, target, span, lines, message, "no-hash:" + output.path))
    if PARSE_ERROR in enabled:
        parse_error = catalogue.rules[PARSE_ERROR]
        found.extend(_at(parse_error, target, _whole_line(p.line, lines), lines, p.message, "record:" + p.message)
                     for p in problems)
    return apply_line_comments(found, lines, {rule.name: rule.id for rule in catalogue.rules.values()})


def _model_card(target: Target, card: ModelCard | None, rule: Rule, match: ProvenanceMatch,
                view: ProvenanceView) -> list[Finding]:
    if card is None or not _CARD_KEYS & set(card.fields):
        return []  # a README without model-card front matter (a Jekyll page, a plain README)
    declared = (("datasets", card.has_datasets), ("license", card.has_license))
    missing = [field for field, present in declared if not present]
    if not card.has_base_model and (_is_fine_tune(card) or view.fine_tunes):
        missing.append("base_model")
    if not missing:
        return []
    fields = [f"`{field}`" for field in missing]
    what = _listing([_WHAT[field] for field in missing], "or")
    message = match.message.format(fields=_listing(fields, "and"), what=what)
    # The fingerprint keeps the comma-separated list it has always had, so baselines still match.
    return [Finding(rule.id, target.display, 1, 1, 1, 4, message, "---", rule.severity,
                    statement_text="card:" + ", ".join(fields))]


def _listing(items: list[str], conjunction: str) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return f" {conjunction} ".join(filter(None, (", ".join(items[:-1]), items[-1])))


def _is_fine_tune(card: ModelCard) -> bool:
    tags = card.fields.get("tags") or []
    tags = [tags] if isinstance(tags, str) else tags
    lowered = {str(tag).lower() for tag in tags if isinstance(tag, (str, int, float))}
    return bool(lowered & _FINE_TUNE_TAGS) or str(card.fields.get("library_name", "")).lower() == "peft"


def _line_text(line: int, lines: list[str]) -> str:
    return lines[line - 1].rstrip() if 0 < line <= len(lines) else ""


def _whole_line(line: int, lines: list[str]) -> Span:
    return Span(line, 1, line, len(_line_text(line, lines)) + 1)


def _at(rule: Rule, target: Target, span: Span, lines: list[str], message: str, key: str) -> Finding:
    snippet = _line_text(span.line, lines)
    return Finding(rule.id, target.display, span.line, span.column, span.end_line, span.end_column, message, snippet,
                   rule.severity, statement_text=key + ":" + normalise(snippet))


def _parse_record(display: str, text: str) -> Records | None:
    name = PurePosixPath(display).name
    if name == "dvc.lock":
        return dvc_lock(display, text)
    if name.endswith(".dvc"):
        return dvc_file(display, text)
    return None


def _text(path: Path) -> str | None:
    data = read_limited(path, MAX_RECORD_BYTES)
    return data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else None

