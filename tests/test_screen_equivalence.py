"""The `ast` screen never changes a report: every fixture repository and every rule's examples and docs
snippets give the same JSON report (every field: flows, origins, fingerprints) with and without it.

Both runs are in this process, without the cache and with one job; `MLLINT_SEC_NO_SCREEN=1` turns the
screen off (each run builds its analyzers afresh, so the variable is read for each). bench/screen_check.py
makes the same comparison on real repositories.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mllint_sec.analysis.screening import Screening
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.engine.runner import Options, run
from mllint_sec.report import json_report
from mllint_sec.report.rule_docs import snippet_default_path, snippet_files

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(path for path in (ROOT / "fixtures").iterdir() if path.is_dir())
CATALOGUE = load_catalogue()


def _reports(monkeypatch: pytest.MonkeyPatch, paths: list[Path], options: dict[str, object] | None = None
             ) -> tuple[tuple[str, list[str]], tuple[str, list[str]], int]:
    """(screened report and problems, unscreened report and problems, files the screen dropped)."""
    dropped = []
    original = Screening.result

    def counted(self: Screening, path: str, text: str, code: str) -> object:
        result = original(self, path, text, code)
        dropped.extend([path] if result is not None else [])
        return result

    monkeypatch.setattr(Screening, "result", counted)
    outcomes = []
    for switch in ("", "1"):
        monkeypatch.setenv("MLLINT_SEC_NO_SCREEN", switch)
        result = run(Options(paths=paths, jobs=1, use_cache=False, **(options or {})))  # type: ignore[arg-type]
        outcomes.append((json_report.render(result), result.problems))
    return outcomes[0], outcomes[1], len(dropped)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.name)
def test_a_fixture_repository_gives_the_same_report(fixture, monkeypatch):
    screened, unscreened, _ = _reports(monkeypatch, [fixture])
    assert screened == unscreened
    assert '"rule_id"' in screened[0]  # the fixtures have findings: the comparison is not of two empty reports


def test_every_rule_sample_gives_the_same_report(tmp_path, monkeypatch):
    """All examples and docs snippets of all rules, each in a folder of its own, scanned as one tree."""
    for rule in CATALOGUE.rules.values():
        samples = {f"{n}-{example.verdict}": ((example.path, example.code), *example.files)
                   for n, example in enumerate(rule.examples)}
        for kind in ("unsafe", "safe"):
            samples[f"docs-{kind}"] = snippet_files(rule.docs[kind], snippet_default_path(rule))
        for label, files in samples.items():
            for relative, text in files:
                path = tmp_path / rule.id / label / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    # Every rule, opt-in ones too, so that each example meets its own rule.
    screened, unscreened, dropped = _reports(monkeypatch, [tmp_path], {"select": sorted(CATALOGUE.rules)})
    assert screened == unscreened
    assert dropped >= 5  # near misses (`yaml.safe_load`, a name only in a docstring) are screened out
