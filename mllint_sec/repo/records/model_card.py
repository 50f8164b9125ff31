"""Hugging Face model cards: the YAML front matter of a `README.md`, between `---` lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mllint_sec.repo.records.record import Problem
from mllint_sec.repo.records.yaml_lines import document, load_yaml


@dataclass(frozen=True)
class ModelCard:
    source: str
    fields: dict[str, Any]  # the front matter's top-level keys, values as written (empty ones too)
    lines: dict[str, int]  # the line of each key
    has_datasets: bool  # the field is present and not empty
    has_license: bool
    has_base_model: bool
    problems: tuple[Problem, ...]


_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*(?:\r\n|[\n\r\x85\u2028\u2029])")
_FRONT_MATTER_CLOSE = re.compile(r"(?<=[\n\r\x85\u2028\u2029])---[ \t]*(?=[\n\r\x85\u2028\u2029]|\Z)")


def _filled(value: Any) -> bool:
    """Whether a card field says something: blank strings and empty lists or mappings do not."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(_filled(item) for item in value)
    if isinstance(value, dict):
        return any(_filled(item) for item in value.values())
    return value is not None


def model_card(display: str, text: str) -> ModelCard | None:
    """The front matter of a Markdown model card; None when the first line is not `---`."""
    text = text.removeprefix("\ufeff")
    opening = _FRONT_MATTER_OPEN.match(text)
    if opening is None:
        return None
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end())
    if closing is None:
        return ModelCard(display, {}, {}, False, False, False,
                         (Problem(display, 1, "front matter not closed by a `---` line"),))
    value, problems = load_yaml(display, text[opening.end():closing.start()], first_line=2)
    root = document(value, display, problems, line=2)
    fields = {str(key): item for key, item in root.items()}
    return ModelCard(
        display, fields, {str(key): line for key, line in root.key_lines.items()},
        has_datasets=_filled(fields.get("datasets")), has_license=_filled(fields.get("license")),
        has_base_model=_filled(fields.get("base_model")), problems=tuple(problems),
    )
