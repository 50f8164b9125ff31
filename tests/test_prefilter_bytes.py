"""The prefilter's raw-bytes test and its faster blanking never drop a file the text prefilter kept.

`REFERENCE` below is the text prefilter as it was before the bytes test (one `re.sub` with a
callback blanked literals; substring tests, then a word regex): the oracle. Every fixture file,
every rule example and docs snippet, and generated sources must keep their verdict; the
blanked text must be identical.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.flows import sources
from mllint_sec.python import decode as source
from mllint_sec.python import prefilter
from mllint_sec.report.rule_docs import snippet_default_path, snippet_files

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = load_catalogue()
# Every rule, as the rule-example tests scan (flow rules add the groups of words).
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules), summaries=True)
PREFILTER = ANALYZER.prefilter


# --- the reference: the text prefilter before the bytes test --------------------------------------

_OLD_LITERALS = re.compile(
    r"#[^\n]*"
    r"|(?P<prefix>[A-Za-z]{0,3})"
    r"(?:\"\"\"(?:\\[\s\S]|[^\\])*?(?:\"\"\"|\Z)"
    r"|'''(?:\\[\s\S]|[^\\])*?(?:'''|\Z)"
    r"|\"(?:\\[\s\S]|[^\"\\\n])*\"?|'(?:\\[\s\S]|[^'\\\n])*'?)"
)


def _old_blank(match: re.Match[str]) -> str:
    prefix = (match.group("prefix") or "").lower()  # None for a comment
    return match.group() if "f" in prefix or "t" in prefix else " "


def old_code_only(text: str) -> str:
    return _OLD_LITERALS.sub(_old_blank, text)


def old_code_only_keeping_lines(text: str, keep_fstrings: bool = True) -> str:
    def blank(match: re.Match[str]) -> str:
        kept = _old_blank(match) if keep_fstrings else " "
        return kept if kept != " " else " " + "\n" * match.group().count("\n")

    return _OLD_LITERALS.sub(blank, text)


def _words(words: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")


def reference_wants(text: str) -> bool:
    """The text prefilter before the bytes test, as one function."""
    pairs, groups = PREFILTER.pairs, PREFILTER.groups
    if prefilter.SUPPRESSION_MARKER in text or any(word in text for word in PREFILTER.raw_words):
        return True
    if groups and all(_words(group).search(text) for group in groups):
        code = old_code_only(text)
        if all(_words(group).search(code) for group in groups):
            return True
    if not any(all(word in text for word in pair) for pair in pairs):
        return False
    pattern = _words(frozenset(word for pair in pairs for word in pair))
    view = text if any(marker in text for marker in prefilter.DYNAMIC_MARKERS) else old_code_only(text)
    present = set(pattern.findall(view))
    return any(all(word in present for word in pair) for pair in pairs)


def new_wants(data: bytes) -> bool:
    """The verdict the analyzer now reaches: the bytes test, then (if it passes) the text test."""
    text = source.decode(data)
    assert isinstance(text, str)
    return PREFILTER.may_want(data) and PREFILTER.wants(text)


def assert_keeps_verdict(data: bytes) -> None:
    text = source.decode(data)
    if not isinstance(text, str):
        return  # MLS001 before any prefilter, as before
    old = reference_wants(text)
    if old:
        assert PREFILTER.may_want(data), text[:200]
    assert (PREFILTER.may_want(data) and PREFILTER.wants(text)) == old, text[:200]


# --- every file the project has: fixtures, its code and tests, rule examples, docs snippets ---------------------------

def _project_sources() -> list[tuple[str, bytes]]:
    # The fixtures, and the project's own code and tests (which name every loader, in code and in strings).
    found = [(str(p.relative_to(ROOT)), p.read_bytes())
             for folder in ("fixtures", "mllint_sec", "tests", "bench") for p in sorted((ROOT / folder).rglob("*.py"))]
    for rule in CATALOGUE.rules.values():
        for n, example in enumerate(rule.examples):
            files = ((example.path, example.code), *example.files)
            found += [(f"{rule.id}/{n}/{path}", code.encode()) for path, code in files if path.endswith(".py")]
        for kind in ("unsafe", "safe"):
            files = snippet_files(rule.docs[kind], snippet_default_path(rule))
            found += [(f"{rule.id}/docs-{kind}/{path}", code.encode()) for path, code in files if path.endswith(".py")]
    return found


PROJECT_SOURCES = _project_sources()


def test_the_project_has_sources_of_both_verdicts():
    # The comparison below means something only if both verdicts occur among them.
    verdicts = [new_wants(data) for _, data in PROJECT_SOURCES]
    assert len(PROJECT_SOURCES) > 300
    assert any(verdicts) and not all(verdicts)


def test_every_fixture_and_example_keeps_its_verdict():
    changed = []
    for name, data in PROJECT_SOURCES:
        text = source.decode(data)
        if isinstance(text, str) and new_wants(data) != reference_wants(text):
            changed.append(name)
    assert changed == []


def test_blanking_is_unchanged_on_the_projects_own_sources():
    for text in (data.decode() for _, data in PROJECT_SOURCES):
        assert prefilter.code_only(text) == old_code_only(text)
        assert prefilter.code_only_keeping_lines(text) == old_code_only_keeping_lines(text)
        assert prefilter.code_only_keeping_lines(text, False) == old_code_only_keeping_lines(text, False)


# --- the bytes test, case by case ----------------------------------------------------------------

def test_a_file_naming_no_loader_stops_at_the_bytes():
    assert PREFILTER.may_want(b"import os\n\ndef f(x):\n    return os.path.join(x, 'y')\n") is False


def test_a_loader_in_code_passes_both_tests():
    data = b"import pickle\n\ndef f(blob):\n    return pickle.loads(blob)\n"
    assert PREFILTER.may_want(data) is True
    assert PREFILTER.wants(data.decode()) is True


def test_a_loader_named_only_in_a_docstring_passes_the_bytes_and_stops_at_the_blanking():
    data = b'"""Example: pickle.loads(blob)"""\nimport os\n'
    assert PREFILTER.may_want(data) is True
    assert PREFILTER.wants(data.decode()) is False


def test_words_are_whole_words_in_the_bytes():
    # `pickled` and `loads_x` are other words; `pickle` and `loads` beside punctuation are not.
    assert PREFILTER.may_want(b"pickled = 1\nloads_x = pickled\n") is False
    assert PREFILTER.may_want(b"x=(pickle).loads\n") is True


def test_a_non_ascii_letter_next_to_a_word_cannot_hide_it():
    # To re's Unicode \b an accented letter is part of the word; to the bytes it is a separator,
    # so the bytes test sees more whole words, never fewer.
    data = "import pickle\npickle.loads(é)\nxpickle\u00e9 = 1\n".encode()
    assert PREFILTER.may_want(data) is True
    assert PREFILTER.may_want("import picklé\nloadsé = 1\n".encode()) is False  # no whole word: not the text's either
    assert reference_wants("import picklé\nloadsé = 1\n") is False


def test_suppression_marker_and_environment_names_are_found_anywhere():
    assert PREFILTER.may_want(b"x = 1  # mllint-sec: ignore[LOAD001]\n") is True
    env = min(PREFILTER.raw_words)
    assert PREFILTER.may_want(f'os.environ["{env}"] = "1"\n'.encode()) is True


@pytest.mark.parametrize("cookie", ["utf-8", "latin-1", "ascii", "cp1252"])
def test_a_cookie_naming_an_ascii_preserving_encoding_is_judged_on_the_bytes(cookie):
    data = f"# -*- coding: {cookie} -*-\nimport os\n".encode()
    assert PREFILTER.may_want(data) is False
    assert PREFILTER.may_want(data + b"import pickle\npickle.loads(b)\n") is True


@pytest.mark.parametrize("cookie", ["utf-16", "utf-7", "cp500", "shift_jis", "nonsense-encoding"])
def test_a_cookie_naming_another_encoding_goes_to_the_text_test(cookie):
    # UTF-7 can spell `pickle` as `+AHA-ickle`; EBCDIC (cp500) spells every letter differently.
    assert PREFILTER.may_want(f"# coding: {cookie}\nimport os\n".encode("ascii")) is True


def test_a_cookie_on_the_second_line_counts_and_on_the_third_does_not():
    assert PREFILTER.may_want(b"#!/usr/bin/env python\n# coding: utf-7\nx = 1\n") is True
    assert PREFILTER.may_want(b"#!/usr/bin/env python\n\n# coding: utf-7\nx = 1\n") is False  # tokenize ignores it


def test_utf7_spelled_loader_is_not_dropped():
    text = "# coding: utf-7\nimport pickle\npickle.loads(b)\n"
    data = b"# coding: utf-7\nimport +AHA-ickle\n+AHA-ickle.loads(b)\n"
    assert codecs.decode(data, "utf-7") == text
    assert reference_wants(text) is True
    assert PREFILTER.may_want(data) is True


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_utf16_or_utf32_byte_order_mark_goes_to_the_text_path(encoding):
    assert PREFILTER.may_want("\ufeffimport os\n".encode(encoding)) is True


def test_a_utf16_file_still_gets_its_diagnostic():
    # Decoding comes first and reports what it cannot read, whatever the bytes test says.
    analyzer = Analyzer(CATALOGUE, CATALOGUE.defaults())
    findings = analyzer.analyze("a.py", "import os\n".encode("utf-16")).findings
    assert [f.rule_id for f in findings] == ["MLS001"]


def test_a_file_the_bytes_test_drops_still_records_its_imports():
    # The cross-module passes read every file's imports, parsed or not.
    result = ANALYZER.analyze("a.py", b"from .helpers import restore\nimport os\n")
    assert PREFILTER.may_want(b"from .helpers import restore\nimport os\n") is False
    assert result.findings == [] and result.imports == (".helpers.restore", ".helpers", "os")


def test_a_request_handler_is_summarised_even_when_the_bytes_test_drops_it():
    data = b"from flask import Flask, request\napp = Flask(__name__)\n@app.post('/x')\ndef x():\n    return request.json\n"
    analyzer = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules), summaries=True)
    assert analyzer.analyze("app.py", data).summary is not None


# --- generated sources ---------------------------------------------------------------------------

_PIECES = sorted({word for pair in PREFILTER.pairs for word in pair})[:60] + [
    "pickle", "loads", "torch", "load", "yaml", "flask", "request", "import ", "from ", ".", "(", ")", " ", "\n",
    "#", "'", '"', "'''", '"""', "\\", "f", "rb", "F", "t", "x", "é", "→", "_", "1", "getattr", "mllint-sec:",
    "{", "}", "=", ",",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_generated_sources_keep_their_verdict_and_blanking(pieces):
    text = "".join(pieces)
    assert prefilter.code_only(text) == old_code_only(text)
    assert prefilter.code_only_keeping_lines(text) == old_code_only_keeping_lines(text)
    assert prefilter.code_only_keeping_lines(text, False) == old_code_only_keeping_lines(text, False)
    assert_keeps_verdict(text.encode())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30), st.sampled_from(["latin-1", "cp1252"]))
def test_generated_latin1_sources_keep_their_verdict(pieces, encoding):
    text = f"# coding: {encoding}\n" + "".join(pieces)
    assert_keeps_verdict(text.encode(encoding, "replace"))


# --- the request-file words: the bytes test before flows/sources.receives_requests ----------------

def test_request_file_words_cover_every_framework_the_regex_names():
    alternation = re.search(r"\(\?:([a-z_|]+)\)\\b", sources._FRAMEWORK_IMPORT.pattern)
    assert alternation is not None
    assert set(alternation.group(1).split("|")) | {"event", "handle"} == sources.REQUEST_FILE_WORDS


def test_a_file_naming_no_request_word_is_not_asked_about_requests():
    assert PREFILTER.may_name(b"import torch\nmodel = torch.nn.Linear(2, 2)\n", sources.REQUEST_FILE_WORDS) is False
    assert PREFILTER.may_name(b"from flask import request\n", sources.REQUEST_FILE_WORDS) is True
    assert PREFILTER.may_name(b"# coding: utf-7\nx = 1\n", sources.REQUEST_FILE_WORDS) is True  # not judged on bytes


def test_every_request_handler_of_the_project_passes_the_bytes_test():
    handlers = 0
    for _, data in PROJECT_SOURCES:
        text = data.decode()
        if sources.receives_requests(text):
            handlers += 1
            assert PREFILTER.may_name(data, sources.REQUEST_FILE_WORDS)
    assert handlers > 10


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*_PIECES, *sorted(sources.REQUEST_FILE_WORDS), "def ", "handle(", "event, ctx",
                                 "request.json", "@app.post", "\nimport ", "\nfrom "]), max_size=30))
def test_generated_request_handlers_pass_the_bytes_test(pieces):
    text = "".join(pieces)
    if sources.receives_requests(text):
        assert PREFILTER.may_name(text.encode(), sources.REQUEST_FILE_WORDS)
