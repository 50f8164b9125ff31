"""Where the findings live: the git work tree, its remote, revision and branch (read with the safe git runner)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mllint_sec.engine.git import GitError, run_git, top_level


@dataclass
class Repository:
    root: Path  # what %SRCROOT% means: the git top level, else the scan root
    in_git: bool
    repository_uri: str | None = None
    revision_id: str | None = None
    branch: str | None = None


def locate_repository(scan_root: Path) -> Repository:
    """The git work tree holding `scan_root` (origin, HEAD, branch), or the scan root itself."""
    try:
        top = top_level(scan_root)
    except GitError:  # not a repository, or git unusable
        return Repository(scan_root, False)
    found = Repository(top.resolve(), True)
    remote_url = _git_line(top, "config", "--get", "remote.origin.url")  # None: no origin remote
    found.repository_uri = clean_remote_url(remote_url) if remote_url is not None else None
    found.revision_id = _git_line(top, "rev-parse", "--verify", "--quiet", "HEAD")  # None: no commit yet
    head = _git_line(top, "symbolic-ref", "--quiet", "HEAD")  # None: detached HEAD (usual in CI)
    if head is not None and head.startswith("refs/heads/"):
        found.branch = head.removeprefix("refs/heads/")
    return found


def _git_line(top: Path, command: str, *args: str) -> str | None:
    try:
        return run_git(top, command, *args).decode("utf-8", "replace").rstrip("\n")
    except GitError:
        return None


_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def clean_remote_url(url: str) -> str | None:
    """A remote URL as a URI without credentials: `git@host:o/r.git` -> `https://host/o/r.git`."""
    url = url.strip()
    if not url:
        return None
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if not match:
            return None  # a local path: nothing another machine could use
        return f"https://{match['host']}/{match['path'].lstrip('/')}"
    parts = urlsplit(url)
    if parts.scheme == "file":
        return None
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


