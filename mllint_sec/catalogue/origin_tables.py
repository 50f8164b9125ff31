"""The tables that say where loaded bytes come from (rules/origins.toml), read and validated once.

flows/origins.py and flows/guards.py interpret them: which calls fetch from the network, which
read the command line or the environment, which write a file the code may load back, which
serialize in memory, which pass a path or bytes through, and which words make a condition an
opt-in gate. Keeping them data (as Bandit keeps its blacklists) means adding a downloader is a
line in the TOML file, not code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mllint_sec.catalogue.loading import catalogue_dir, read_toml
from mllint_sec.catalogue.model import CatalogueError


@dataclass(frozen=True)
class PathArgument:
    """Calls (by qualified name) or methods (by name) and which of their arguments names a file."""

    calls: frozenset[str]
    methods: frozenset[str]
    keywords: tuple[str, ...] = ()
    position: int | None = None
    receiver: bool = False  # the receiver is the file (`f.write(...)`, `Path(p).write_bytes(...)`)


@dataclass(frozen=True)
class UserInput:
    """What reads the command line, the environment or a prompt ([user] in the TOML file)."""

    environment: frozenset[str]  # calls that read a variable (`os.getenv`)
    environment_mappings: frozenset[str]  # mappings subscripted for one (`os.environ`)
    argv: frozenset[str]
    parse_methods: frozenset[str]  # `parser.parse_args()`: its attributes are options
    option_methods: frozenset[str]  # `parser.add_argument(...)`
    cli_decorators: tuple[str, ...]  # prefixes of decorators that make a command's parameters options
    cli_decorator_methods: frozenset[str]
    cli_runners: frozenset[str]  # `fire.Fire(main)`: main's parameters are options
    interactive: frozenset[str]  # `input()`


@dataclass(frozen=True)
class Carriers:
    """Calls that hand a path or bytes through unchanged ([carriers])."""

    calls: frozenset[str]
    builtins: frozenset[str]
    methods: frozenset[str]


@dataclass(frozen=True)
class SafeGlobals:
    """`torch.serialization.safe_globals` and its kin ([safe_globals]): loads that rely on the weights-only default."""

    contexts: frozenset[str]
    registrations: frozenset[str]
    loads: frozenset[str]
    message: str


@dataclass(frozen=True)
class OriginTables:
    network_returns: frozenset[str]
    network_writes: tuple[PathArgument, ...]
    user: UserInput
    writers: tuple[PathArgument, ...]
    serializers: frozenset[str]
    buffers: frozenset[str]
    carriers: Carriers
    opt_in_words: tuple[str, ...]
    safe_globals: SafeGlobals
    docs: dict[str, str]


class _Table:
    """Typed access to one table of the file; every error names the file and the table."""

    def __init__(self, path: Path, name: str, data: Any, keys: set[str]):
        self.where = f"{path} [{name}]"
        if not isinstance(data, dict):
            raise CatalogueError(f"{self.where}: missing or not a table")
        unknown = sorted(set(data) - keys)
        if unknown:
            raise CatalogueError(f"{self.where}: unknown field(s) {', '.join(unknown)}")
        self.data = data

    def strings(self, key: str, required: bool = True) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise CatalogueError(f"{self.where}: '{key}' must be a list of non-empty strings")
        return tuple(value)

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise CatalogueError(f"{self.where}: '{key}' must be a string")
        return value


def _path_arguments(path: Path, name: str, entries: Any) -> tuple[PathArgument, ...]:
    if not isinstance(entries, list):
        raise CatalogueError(f"{path} [{name}]: must be an array of tables")
    found = []
    for index, entry in enumerate(entries):
        table = _Table(path, f"{name}[{index}]", entry, {"calls", "methods", "keywords", "position", "receiver"})
        position = entry.get("position")
        receiver = entry.get("receiver", False)
        if position is not None and (not isinstance(position, int) or isinstance(position, bool) or position < 0):
            raise CatalogueError(f"{table.where}: 'position' must be a non-negative integer")
        if not isinstance(receiver, bool):
            raise CatalogueError(f"{table.where}: 'receiver' must be true or false")
        calls, methods = table.strings("calls", required=False), table.strings("methods", required=False)
        if not calls and not methods:
            raise CatalogueError(f"{table.where}: needs 'calls' or 'methods'")
        keywords = table.strings("keywords", required=False)
        if not receiver and position is None and not keywords:
            raise CatalogueError(f"{table.where}: name the file's argument ('position', 'keywords' or 'receiver')")
        found.append(PathArgument(frozenset(calls), frozenset(methods), keywords, position, receiver))
    return tuple(found)


def load_tables(path: Path) -> OriginTables:
    data = read_toml(path)
    top = _Table(path, "top level", data, {"network", "user", "writers", "round_trip", "carriers", "guards",
                                           "safe_globals", "docs"})
    network = _Table(path, "network", top.data.get("network"), {"returns", "writes"})
    user = _Table(path, "user", top.data.get("user"), {
        "environment", "environment_mappings", "argv", "parse_methods", "option_methods", "cli_decorators",
        "cli_decorator_methods", "cli_runners", "interactive"})
    round_trip = _Table(path, "round_trip", top.data.get("round_trip"), {"serializers", "buffers"})
    carriers = _Table(path, "carriers", top.data.get("carriers"), {"calls", "builtins", "methods"})
    guards = _Table(path, "guards", top.data.get("guards"), {"opt_in_words"})
    safe = _Table(path, "safe_globals", top.data.get("safe_globals"), {"contexts", "registrations", "loads", "message"})
    docs = _Table(path, "docs", top.data.get("docs"), {"origins", "guards"})
    return OriginTables(
        network_returns=frozenset(network.strings("returns")),
        network_writes=_path_arguments(path, "network.writes", network.data.get("writes", [])),
        user=UserInput(
            environment=frozenset(user.strings("environment")),
            environment_mappings=frozenset(user.strings("environment_mappings")),
            argv=frozenset(user.strings("argv")),
            parse_methods=frozenset(user.strings("parse_methods")),
            option_methods=frozenset(user.strings("option_methods")),
            cli_decorators=user.strings("cli_decorators"),
            cli_decorator_methods=frozenset(user.strings("cli_decorator_methods")),
            cli_runners=frozenset(user.strings("cli_runners")),
            interactive=frozenset(user.strings("interactive")),
        ),
        writers=_path_arguments(path, "writers", top.data.get("writers")),
        serializers=frozenset(round_trip.strings("serializers")),
        buffers=frozenset(round_trip.strings("buffers")),
        carriers=Carriers(frozenset(carriers.strings("calls")), frozenset(carriers.strings("builtins")),
                          frozenset(carriers.strings("methods"))),
        opt_in_words=tuple(word.lower() for word in guards.strings("opt_in_words")),
        safe_globals=SafeGlobals(frozenset(safe.strings("contexts")), frozenset(safe.strings("registrations")),
                                 frozenset(safe.strings("loads")), safe.text("message")),
        docs={"origins": docs.text("origins"), "guards": docs.text("guards")},
    )


@functools.lru_cache(maxsize=1)
def tables() -> OriginTables:
    """The tables of the installed catalogue (read once per process)."""
    return load_tables(catalogue_dir() / "origins.toml")
