"""Whether two version ranges overlap: some version a project allows lies in an advisory's affected range."""

from __future__ import annotations

import re
from collections.abc import Iterator

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version


def _near(version: Version, width: int) -> Iterator[Version]:
    """`version`, the first version of its release, and the versions just above it.

    Just above: its next dev release, its next pre-release and next post-release (each
    also as its first dev release), and a release past all of those (1.2.3 -> 1.2.3.1
    when no literal has more than three components). Whatever lies between `version`
    and the next point up, one of these does too.
    """
    epoch = f"{version.epoch}!" if version.epoch else ""
    release = epoch + ".".join(map(str, version.release))
    here = release + (f"{version.pre[0]}{version.pre[1]}" if version.pre else "")
    post = -1 if version.post is None else version.post
    past = version.release + (0,) * (width - len(version.release)) + (1,)
    yield version
    yield from map(Version, (release, f"{release}.dev0", f"{here}.post{post + 1}", f"{here}.post{post + 1}.dev0",
                             epoch + ".".join(map(str, past))))
    if version.pre:
        yield from map(Version, (f"{release}{version.pre[0]}{version.pre[1] + 1}",
                                 f"{release}{version.pre[0]}{version.pre[1] + 1}.dev0"))
    if version.dev is not None:
        # The last number, looked for only where a run of digits starts (linear on long ones).
        yield Version(re.sub(r"(?<!\d)\d+$", str(version.dev + 1), version.public))


def _candidates(specifiers: list[Specifier]) -> Iterator[Version]:
    """Versions that between them land in every region the clauses of `specifiers` tell apart.

    A clause compares a version with its own literal only, so the answer can change only
    at a literal or at a wildcard's edge (`==1.2.*` spans 1.2.dev0 up to 1.3.dev0): the
    lowest versions, and each such point with the versions just above it, cover them all.
    """
    points: list[Version] = [Version("0.dev0"), Version("0")]
    for specifier in specifiers:
        try:
            version = Version(specifier.version.removesuffix(".*"))
        except InvalidVersion:  # `===` compares strings, and no Version equals this one
            continue
        points.append(version)
        prefix = version.release if specifier.version.endswith(".*") else None
        if specifier.operator == "~=":  # ~=1.2.3 means >=1.2.3, ==1.2.*
            prefix = version.release[:-1]
        if prefix:
            epoch = f"{version.epoch}!" if version.epoch else ""
            points.append(Version(epoch + ".".join(map(str, (*prefix[:-1], prefix[-1] + 1))) + ".dev0"))
    width = max(len(point.release) for point in points)
    for point in points:
        yield from _near(point, width)


def allows_any(declared: str, affected: str) -> bool:
    """Whether some version satisfies both specifier sets (InvalidSpecifier if either is malformed).

    Pre-releases count: an advisory's range covers them, and a resolver installs one when
    asked to or when nothing else fits.

    This samples instead of doing interval arithmetic (packaging has that only from 26.1,
    as `SpecifierSet.is_unsatisfiable`): both sets are tested at every literal, every
    wildcard edge and the versions just above each (see `_candidates`). The sample is
    complete as long as each gap between neighbouring points holds one of them, which
    the tests check against brute force and against packaging's arithmetic, with pre-,
    post-, dev-release, local and epoch literals. `===` with a string that is not a
    version matches no sampled version, as it matches no real one.
    """
    wanted, bad = SpecifierSet(declared), SpecifierSet(affected)
    return any(wanted.contains(version, prereleases=True) and bad.contains(version, prereleases=True)
               for version in _candidates([*wanted, *bad]))
