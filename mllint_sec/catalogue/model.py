"""The rule catalogue: TOML files under rules/, loaded and validated at run time.

Layout: ``rules/families.toml`` declares the families, ``rules/taxonomy.toml`` the
CWE / MITRE ATLAS / OWASP ML ids a rule may cite, and ``rules/<family>/<name>.toml``
holds one rule each. Everything a call-pattern rule needs (which calls, which
arguments make them safe or unsafe, the message) is data; the engine in
``matching.py`` interprets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from mllint_sec.core.input_level import InputLevel
from mllint_sec.core.severity import Severity

PRECISIONS = ("very-high", "high", "medium", "low")
VERDICTS = ("flag", "pass", "todo-flag", "todo-pass")


class CatalogueError(Exception):
    """A rule file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class ArgCheck:
    names: tuple[str, ...]  # the parameter's keyword names (libraries disagree: `model_name`, `model_name_or_path`)
    position: int | None
    check: str  # a name in argument_checks.ARGUMENT_CHECKS
    message: str
    unknown: Literal["flag", "pass"]  # what an unresolvable value means
    safe: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()  # one-of: the unsafe values; suffix: the suffixes

    @property
    def name(self) -> str:
        return self.names[0]


@dataclass(frozen=True)
class Also:
    """A clause appended to the finding's message when every `when` check holds ("also unpinned")."""

    message: str
    when: tuple[ArgCheck, ...]


@dataclass(frozen=True)
class CallMatch:
    """Calls to any of `calls` (qualified names); unsafe unconditionally, or when an arg check fires.

    `when`: checks that must all hold before the call is considered at all (the model id
    names a hub repository, the URL names an artifact). `unless_code_mentions`: words
    whose presence as identifiers in the enclosing function (the module, at top level)
    clears the call (a download followed by a `hashlib` comparison).
    """

    calls: tuple[str, ...]
    message: str
    args: tuple[ArgCheck, ...] = ()
    when: tuple[ArgCheck, ...] = ()
    also: tuple[Also, ...] = ()
    unless_code_mentions: tuple[str, ...] = ()
    package: str | None = None  # advisories: the call is a finding only if the project allows an affected version
    # The argument that holds what is loaded (a path, a file, bytes): the first positional one, or one
    # of these keywords. flows/origins.py follows it back; wrappers are found through it.
    loaded: tuple[str, ...] = ()

    @property
    def unconditional(self) -> bool:
        """Every call is a finding, so a bare reference to the callee (`map(pickle.loads, xs)`) is one too."""
        return not (self.args or self.when or self.unless_code_mentions)


@dataclass(frozen=True)
class SubclassMatch:
    """A class deriving from one of `bases` that does not define any of `unless_defines`."""

    bases: tuple[str, ...]
    message: str
    unless_defines: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvMatch:
    """Code that sets one of the environment variables `names` to an enabling value."""

    names: tuple[str, ...]
    enabling: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class DependencyMatch:
    """Requirements on any of `packages` (canonical names) that no `==` pin or lock file fixes."""

    packages: tuple[str, ...]
    message: str


ARTIFACT_VERDICTS = ("dangerous", "unknown", "unscanned")


@dataclass(frozen=True)
class ArtifactMatch:
    """Model and data files whose content scan gives `verdict` (see artifact_analysis.py)."""

    verdict: str
    message: str


@dataclass(frozen=True)
class FlowMatch:
    """Request data (taint.py) reaching a call that a rule of family `family` reports, or a
    model sink (data_use.SINK_KINDS); `inputs`: the source levels that count; `message` may use
    {callee}, {source} and {why} (what is unbounded)."""

    family: str
    message: str
    inputs: tuple[InputLevel, ...] = tuple(InputLevel)


PROVENANCE_CHECKS = ("untracked-artifact", "dvc-missing-hash", "dvc-missing-lock", "model-card-field")


@dataclass(frozen=True)
class ProvenanceMatch:
    """A repository provenance check (see provenance.py); `message` may use {path}, {record}, {fields}, {what}."""

    check: str
    message: str


# One `[[match]]` table of a rule file, whichever kind it is.
AnyMatch: TypeAlias = (
    CallMatch | SubclassMatch | EnvMatch | DependencyMatch | ArtifactMatch | FlowMatch | ProvenanceMatch
)


@dataclass(frozen=True)
class Advisory:
    """A published vulnerability that defeats a safe form of a loader, for the versions `affected`."""

    id: str
    aliases: tuple[str, ...]
    package: str
    affected: str  # a PEP 440 specifier set
    fixed: str
    summary: str
    source: str


@dataclass(frozen=True)
class Example:
    verdict: str
    code: str
    path: str = "example.py"  # the file `code` is written to
    files: tuple[tuple[str, str], ...] = ()  # other files of the example repository


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    family: str
    severity: Severity
    precision: str
    cwe: tuple[str, ...]
    atlas: tuple[str, ...]
    owasp_ml: tuple[str, ...]
    sdl: str
    summary: str
    docs: dict[str, Any]
    calls: tuple[CallMatch, ...] = ()
    subclasses: tuple[SubclassMatch, ...] = ()
    env: tuple[EnvMatch, ...] = ()
    dependencies: tuple[DependencyMatch, ...] = ()
    artifacts: tuple[ArtifactMatch, ...] = ()
    provenance: tuple[ProvenanceMatch, ...] = ()
    flows: tuple[FlowMatch, ...] = ()
    advisories: tuple[Advisory, ...] = ()
    examples: tuple[Example, ...] = ()
    path: str = ""
    default_enabled: bool = True  # False: opt-in, enabled only when named by id or name


@dataclass(frozen=True)
class Family:
    name: str
    prefix: str
    title: str


@dataclass
class Catalogue:
    families: dict[str, Family]
    taxonomy: dict[str, dict[str, str]]
    rules: dict[str, Rule] = field(default_factory=dict)

    def by_name(self, name: str) -> Rule | None:
        for rule in self.rules.values():
            if rule.name == name:
                return rule
        return None

    def lookup(self, key: str) -> Rule | None:
        """A rule by id (case-insensitive) or kebab-case name."""
        return self.rules.get(key.upper()) or self.by_name(key.lower())

    def select(self, token: str) -> list[str]:
        """Rule ids that a --select/--ignore token names: an id, an id prefix, a family or rule name.

        A family or a prefix names only the rules enabled by default; an opt-in rule is
        named by its own id or name.
        """
        upper = token.upper()
        if upper in self.rules:
            return [upper]
        named = self.by_name(token.lower())
        if named:
            return [named.id]
        if token.lower() in self.families:
            return sorted(r.id for r in self.rules.values() if r.family == token.lower() and r.default_enabled)
        return sorted(rid for rid, r in self.rules.items() if rid.startswith(upper) and r.default_enabled)

    def defaults(self) -> set[str]:
        return {rid for rid, rule in self.rules.items() if rule.default_enabled}
