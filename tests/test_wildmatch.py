"""The one path-pattern matcher (core.wildmatch): git's semantics, and no backtracking."""

from __future__ import annotations

import os
import random
import shutil
import subprocess

import pytest

from mllint_sec.core.wildmatch import wildmatch
from mllint_sec.repo.records.gitattributes import LfsPatterns, gitattributes_lfs

try:  # the regex parser, to show what the compiled pieces are made of
    from re import _parser as regex_parser  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as regex_parser

from tests.test_records import WILDMATCH

HOSTILE = "*a" * 12 + "*b"  # as a backtracking regex: minutes against a 40-character name
ONE_CHARACTER = {regex_parser.LITERAL, regex_parser.NOT_LITERAL, regex_parser.ANY, regex_parser.IN}


def _pieces(pattern: str):
    compiled = wildmatch(pattern)
    return [piece.regex for runs in compiled.alternatives for run in runs for component in run.components for piece in component.pieces]


@pytest.mark.parametrize("pattern", [HOSTILE, "**/a*b/**/[!x]?c*", *(row[0] for row in WILDMATCH)])
def test_compiled_pieces_match_single_characters_only(pattern):
    """Every regex the matcher runs is a fixed run of one-character tests: nothing to backtrack into."""
    if wildmatch(pattern) is None:
        return  # a pattern git aborts on never matches, and nothing is compiled
    for regex in _pieces(pattern):
        assert {op for op, _ in regex_parser.parse(regex.pattern)} <= ONE_CHARACTER, regex.pattern


def test_hostile_pattern_still_matches_as_git_does():
    matcher = wildmatch(HOSTILE)
    assert not matcher.matches("a" * 40)
    assert matcher.matches("a" * 40 + "b")
    assert not matcher.matches("a" * 11 + "b")  # twelve `a`s are needed
    assert not matcher.matches("a" * 40 + "/b")  # `*` never crosses a slash


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("a/**", "a", False),  # everything inside `a`, not `a` itself
    ("a/**", "a/b/c", True),
    ("**/b", "b", True),
    ("a/**/b", "a/b", True),
    ("a/**/**/b", "a/x/y/b", True),
    ("a\\/b", "a/b", True),  # an escaped slash is still a separator
    ("a[/]b", "a/b", False),
    ("*", "", True),
    ("a*b*c", "abbbbc", True),
    ("a*b*c", "acb", False),
])
def test_edges(pattern, path, expected):
    assert wildmatch(pattern).matches(path) is expected


def _random_pattern(rng: random.Random) -> str:
    pieces = ["a", "b", "*", "**", "***", "?", "/", "\\/", "[ab]", "[!a]", "[a-b]", "[a/]", "\\*", "\\a", "[[:alpha:]]", "[]a]", "\\[", "[z-a]"]
    pattern = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 7)))
    return pattern.rstrip("/") or "a"  # attributes never apply to a directory pattern


def _random_path(rng: random.Random) -> str:
    names = ["a", "b", "ab", "ba", "aab", "bab", "abab"]
    return "/".join(rng.choice(names) for _ in range(rng.randint(1, 4)))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_random_patterns_agree_with_git_check_attr(tmp_path):
    """Each random pattern in a .gitattributes of its own directory; git says which paths it routes through LFS."""
    rng = random.Random(13)
    repo, home = tmp_path / "repo", tmp_path / "home"
    home.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    files, paths = [], []
    for number in range(400):
        pattern = _random_pattern(rng)
        line = f"{pattern} filter=lfs\n"
        (repo / f"t{number}").mkdir()
        (repo / f"t{number}" / ".gitattributes").write_text(line)
        files.append(gitattributes_lfs(f"t{number}/.gitattributes", line))
        paths += sorted({f"t{number}/{_random_path(rng)}" for _ in range(12)})
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    answer = subprocess.run(["git", "check-attr", "--stdin", "-z", "filter"], cwd=repo, env=env, check=True,
                            input="\0".join(paths) + "\0", capture_output=True, text=True).stdout.split("\0")
    by_git = {answer[i]: answer[i + 2] == "lfs" for i in range(0, len(answer) - 2, 3)}
    patterns = LfsPatterns.combine(files)
    assert {path: patterns.matches(path) for path in paths} == by_git
