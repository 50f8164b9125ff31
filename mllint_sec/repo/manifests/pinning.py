"""Whether a dependency names exactly one artefact: an exact version, or an immutable direct reference."""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

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


def is_series_pin(dep: Dependency) -> bool:
    """Whether `dep` keeps to one release series of at least two components: `==1.5.*`, `~=1.5.0`.

    Such a range takes the series' bug-fix releases only (conda's `=1.5` reads as `==1.5.*`);
    `==1.*` or `~=1.5` (any 1.x from 1.5) are not series pins.
    """
    if dep.url is not None:
        return False
    try:
        specifiers = SpecifierSet(dep.specifier)
    except InvalidSpecifier:
        return False
    for specifier in specifiers:
        try:
            release = Version(specifier.version.removesuffix(".*")).release
        except InvalidVersion:  # `===` takes any string
            continue
        if specifier.operator == "==" and specifier.version.endswith(".*") and len(release) >= 2:
            return True
        if specifier.operator == "~=" and len(release) >= 3:
            return True
    return False
