"""Whether a dependency names exactly one artefact: an exact version, or an immutable direct reference."""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from mllint_sec.repo.manifests.manifest import Dependency

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}", re.IGNORECASE)
_HASH_FRAGMENT = re.compile(r"sha256=[0-9a-f]{64}|sha384=[0-9a-f]{96}|sha512=[0-9a-f]{128}", re.IGNORECASE)
_VCS = re.compile(r"(git|hg|svn|bzr)[+:]", re.IGNORECASE)


def _is_immutable_url(url: str) -> bool:
    """A VCS URL at a full commit id, or an archive URL whose fragment carries its hash."""
    location, _, fragment = url.partition("#")
    if _VCS.match(url):
        last_segment = location.rpartition("/")[2]
        return "@" in last_segment and bool(_COMMIT.fullmatch(last_segment.rpartition("@")[2]))
    return any(_HASH_FRAGMENT.fullmatch(part) for part in fragment.split("&"))


def is_pinned(dep: Dependency) -> bool:
    """Whether `dep` names exactly one artefact.

    A version is pinned by exactly one `==` clause without a wildcard, or one `===`
    clause (other clauses can only narrow it). A direct reference is pinned when it is
    immutable: an archive URL with a `#sha256=` (or sha384/sha512) fragment or `--hash`
    options, or a VCS URL whose `@ref` is a full commit id.
    """
    if dep.url is not None:
        return dep.hashed or _is_immutable_url(dep.url)
    try:
        specifiers = SpecifierSet(dep.specifier)
    except InvalidSpecifier:
        return False
    exact = [s for s in specifiers if s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))]
    return len(exact) == 1
