"""Run git read-only with the scanned repository's programs switched off.

A repository names programs that git runs while it merely reads: `core.fsmonitor` (a command
run by every command that looks at the work tree), hooks, `diff.external` and a diff driver's
`command` or `textconv`, a filter driver's `clean` / `process` (run by `git diff` on every work
tree file .gitattributes routes to it), a pager, and ssh or a remote helper for the lazy fetch of
a partial clone. Scanning a downloaded repository must run none of them, so every git call of
mllint-sec goes through `run_git`, which switches each off, never uses a shell, finds git only
in absolute PATH entries, and bounds the time and the output.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import cast

TIMEOUT_SECONDS = 120
MAX_OUTPUT_BYTES = 256 * 1024 * 1024
_CHUNK_BYTES = 1 << 16
_STDERR_TAIL_BYTES = 2048


class GitError(Exception):
    """git is missing, exited with an error, or went over its time or output budget."""


# The commands mllint-sec runs, each with the options that keep that command's own programs off.
_COMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    "ls-files": (),
    "rev-parse": (),
    "symbolic-ref": (),
    "config": (),
    # An external diff and a textconv filter are programs the repository names; colour codes
    # (`color.ui = always`) would hide the hunk headers.
    "diff": ("--no-ext-diff", "--no-textconv", "--no-color"),
}

# Options before the command; `-c` is the command-line scope, which overrides the repository's.
_GLOBAL_OPTIONS = (
    "--no-pager",
    "-c", "core.fsmonitor=false",
    # Hooks (post-index-change fires when git refreshes the index) are looked up in a directory
    # that cannot exist: the null device is not a directory. An empty value would mean the
    # working directory, where the repository could put one.
    "-c", f"core.hooksPath={os.devnull}",
    # Untracked files are listed from the work tree itself, not from a cache the index carries.
    "-c", "core.untrackedCache=false",
)

_ENVIRONMENT = {
    # The machine-wide configuration is one more place a filter or fsmonitor could be named.
    "GIT_CONFIG_NOSYSTEM": "1",
    # A read never writes the scanned repository's index (nor fires what follows a write).
    "GIT_OPTIONAL_LOCKS": "0",
    # No transport at all (an empty allow-list): the lazy fetch of an object a partial clone lacks
    # cannot reach ssh, a remote helper (`ext::`) or a credential helper.
    "GIT_ALLOW_PROTOCOL": "",
    "GIT_PROTOCOL_FROM_USER": "0",
    # git 2.44 and later do not even try that fetch.
    "GIT_NO_LAZY_FETCH": "1",
    # Were ssh reached anyway, the repository's core.sshCommand would not be what runs.
    "GIT_SSH_COMMAND": "false",
    # Nothing may ask for a password: an empty GIT_ASKPASS takes precedence over core.askPass.
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",
}


def run_git(directory: Path, command: str, *args: str) -> bytes:
    """The standard output of `git <command> <args>` run in `directory`; GitError unless it exits 0."""
    git = _executable()
    argv = [git, *_GLOBAL_OPTIONS, *_filters_off(git, directory), command, *_COMMAND_OPTIONS[command], *args]
    status, output, error = _capture(argv, directory)
    if status != 0:
        raise GitError(f"git {command} failed: {error or f'exit status {status}'}")
    return output


def top_level(directory: Path) -> Path:
    """The root of the git work tree holding `directory`; GitError outside one (or in a bare repository)."""
    return Path(os.fsdecode(run_git(directory, "rev-parse", "--show-toplevel").rstrip(b"\n")))


def _executable() -> str:
    # A relative PATH entry (`.`, or an empty one) would be resolved in the scanned directory,
    # where the repository can ship its own `git`.
    search = [entry for entry in os.environ.get("PATH", os.defpath).split(os.pathsep) if os.path.isabs(entry)]
    found = shutil.which("git", path=os.pathsep.join(search))
    if found is None:
        raise GitError("no git executable on PATH")
    return found


def _filters_off(git: str, directory: Path) -> list[str]:
    """`-c` options that empty every configured filter driver's programs.

    .gitattributes picks a driver by name (`filter=lfs`) and the configuration names its program,
    so each driver the configuration defines is switched off by name. A driver name holding `=`
    cannot be written as a `-c` key (git splits at the first `=`): git is then not run at all.
    """
    status, output, error = _capture([git, *_GLOBAL_OPTIONS, "config", "-z", "--get-regexp", r"^filter\."], directory)
    if status not in (0, 1):  # 1: no filter configured
        raise GitError(f"git config failed: {error or f'exit status {status}'}")
    names = set()
    for entry in output.split(b"\0"):
        key = entry.partition(b"\n")[0]  # `filter.<name>.<variable>\n<value>`
        name, dot, _variable = key[len(b"filter."):].rpartition(b".")
        if dot:
            names.add(name)
    options = []
    for name in sorted(names):
        if b"=" in name:
            raise GitError(f"filter driver {name!r} cannot be switched off; not running git")
        driver = os.fsdecode(name)
        options += ["-c", f"filter.{driver}.clean=", "-c", f"filter.{driver}.smudge="]
        options += ["-c", f"filter.{driver}.process="]
        options += ["-c", f"filter.{driver}.required=false"]  # else git stops at the filter it may not run
    return options


def _capture(argv: list[str], directory: Path) -> tuple[int, bytes, str]:
    """(exit status, standard output, last line of standard error) of `argv`, within the budgets."""
    with tempfile.TemporaryFile() as error_file:
        try:
            process = subprocess.Popen(
                argv, cwd=directory, env={**os.environ, **_ENVIRONMENT},
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=error_file,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc}") from exc
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            process.kill()

        timer = threading.Timer(TIMEOUT_SECONDS, expire)
        timer.start()
        try:
            with process:
                # stdout=PIPE with the default buffering: a BufferedReader, which has read1.
                stdout = cast(io.BufferedReader, process.stdout)
                chunks, size = [], 0
                while size <= MAX_OUTPUT_BYTES and (chunk := stdout.read1(_CHUNK_BYTES)):
                    chunks.append(chunk)
                    size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    process.kill()
                status = process.wait()
        finally:
            timer.cancel()
        if size > MAX_OUTPUT_BYTES:
            raise GitError(f"git printed over {MAX_OUTPUT_BYTES} bytes")
        if status != 0 and expired.is_set():
            raise GitError(f"git did not finish within {TIMEOUT_SECONDS} s")
        error_file.seek(max(0, os.fstat(error_file.fileno()).st_size - _STDERR_TAIL_BYTES))
        lines = error_file.read().decode("utf-8", "replace").strip().splitlines()
    return status, b"".join(chunks), lines[-1] if lines else ""
