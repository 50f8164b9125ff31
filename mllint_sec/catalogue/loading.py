"""Loading the catalogue: read rules/*.toml, validate every field, build the Catalogue."""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from mllint_sec.catalogue.argument_checks import ARGUMENT_CHECKS
from mllint_sec.catalogue.model import (
    ARTIFACT_VERDICTS,
    PRECISIONS,
    PROVENANCE_CHECKS,
    VERDICTS,
    Advisory,
    Also,
    AnyMatch,
    ArgCheck,
    ArtifactMatch,
    CallMatch,
    Catalogue,
    CatalogueError,
    DependencyMatch,
    EnvMatch,
    Example,
    Family,
    FlowMatch,
    ProvenanceMatch,
    Rule,
    SubclassMatch,
)
from mllint_sec.core.data_use import SINK_KINDS
from mllint_sec.core.input_level import InputLevel
from mllint_sec.core.severity import Severity

_ID_RE = re.compile(r"^[A-Z]+[0-9]{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Dotted names; an inner `*` segment stands for one or more names (`transformers.*.from_pretrained`:
# `from_pretrained` on anything the transformers package exports).
_QNAME_RE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\*))*\.[A-Za-z_][A-Za-z0-9_]*$|^[A-Za-z_][A-Za-z0-9_]*$"
)

# The names each kind of message is formatted with where its findings are made. A message
# naming anything else would fail there, on every matching finding, so loading refuses it.
_CALL_FIELDS = frozenset({"callee", "subject"})  # python/matching.py: a call a rule's checks judged
# python/matching.py, where no argument was judged: a bare reference, an uncalled alias, a subclass, an env switch.
_REFERENCE_FIELDS = frozenset({"callee"})
_FLOW_FIELDS = frozenset({"callee", "source", "why"})  # flows/flow_findings.py
_DEPENDENCY_FIELDS = frozenset({"subject", "packages", "manifest", "advice"})  # repo/dependencies.py
_PROVENANCE_FIELDS = {  # repo/provenance.py
    "untracked-artifact": frozenset({"path"}),
    "dvc-missing-hash": frozenset({"record", "path"}),
    "dvc-missing-lock": frozenset({"record", "path"}),
    "model-card-field": frozenset({"fields", "what"}),
}
_ARTIFACT_FIELDS = {  # artifacts/artifact_findings.py
    "dangerous": frozenset({"callable", "where", "kind"}),
    "unknown": frozenset({"count", "names", "kind"}),
    "unscanned": frozenset({"reason", "count", "kind"}),
}


def catalogue_dir() -> Path:
    """Where the catalogue lives: inside the installed package, or beside it in a source checkout."""
    package_dir = Path(__file__).resolve().parent.parent  # mllint_sec/
    for candidate in (package_dir / "rules", package_dir.parent / "rules"):
        if (candidate / "families.toml").is_file():
            return candidate
    raise CatalogueError(f"rule catalogue not found next to {package_dir}")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path}: cannot read rule file: {exc}") from exc


class _Fields:
    """Typed access to a TOML table that names the file in every error."""

    def __init__(self, where: str, table: dict[str, Any]):
        self.where = where
        self.table = table

    def fail(self, message: str) -> CatalogueError:
        return CatalogueError(f"{self.where}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], required: bool = True, default: Any = None) -> Any:
        if key not in self.table:
            if required:
                raise self.fail(f"missing required field '{key}'")
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self.fail(f"field '{key}' has the wrong type ({type(value).__name__})")
        return value

    def strings(self, key: str, required: bool = True) -> tuple[str, ...]:
        value = self.get(key, list, required, [])
        if not all(isinstance(item, str) for item in value):
            raise self.fail(f"field '{key}' must be a list of strings")
        return tuple(value)

    def only(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.table) - allowed)
        if unknown:
            raise self.fail(f"unknown field(s) {', '.join(unknown)}")

    def message(self, text: str, allowed: frozenset[str], key: str = "message") -> str:
        """`text`, once every `{placeholder}` in it is one that messages of this kind are formatted with."""
        for name in _placeholders(text, self.fail, key):
            if name not in allowed:
                known = ", ".join(f"{{{field}}}" for field in sorted(allowed))
                literal = "write '{{' for a literal brace"
                raise self.fail(f"{key} placeholder '{{{name}}}' is not one of {known} ({literal})")
        return text


def _placeholders(text: str, fail: Callable[[str], CatalogueError], key: str) -> list[str]:
    """The names `str.format` would look up in `text` (`{callee}`, `{callee.attr}`, `{x:{width}}`)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone `{` or `}`
        raise fail(f"{key} is not a valid format string: {exc}") from exc
    names = []
    for _, field, spec, _ in parsed:
        if field is None:
            continue
        head = re.match(r"[^.\[]*", field)
        assert head is not None  # the pattern matches the empty string
        names.append(head.group())  # "" or a number: a positional placeholder
        names.extend(_placeholders(spec or "", fail, key))
    return names


_RULE_FIELDS = {
    "id", "name", "family", "severity", "precision", "cwe", "atlas", "owasp_ml", "sdl",
    "summary", "docs", "match", "example", "enabled_by_default", "advisory",
}
_DOC_FIELDS = {"what", "why", "unsafe", "safe", "references", "known_limits"}


def _parse_arg(where: str, table: dict[str, Any], needs_message: bool = True) -> ArgCheck:
    f = _Fields(where, table)
    f.only({"name", "position", "check", "message", "unknown", "safe", "values"})
    check = f.get("check", str)
    known = ARGUMENT_CHECKS.get(check)
    if known is None:
        raise f.fail(f"check '{check}' is not one of {', '.join(ARGUMENT_CHECKS)}")
    unknown = f.get("unknown", str, required=False, default="pass")
    if unknown not in ("flag", "pass"):
        raise f.fail("unknown must be 'flag' or 'pass'")
    safe = f.strings("safe", required="safe" in known.needs)
    values = tuple(f.get("values", list, required="values" in known.needs, default=[]))
    if known.string_values and not all(isinstance(v, str) for v in values):
        raise f.fail(f"{check} values must be strings")
    raw_name = f.get("name", (str, list))
    names = (raw_name,) if isinstance(raw_name, str) else f.strings("name")
    if not names:
        raise f.fail("name must name at least one parameter")
    message = f.get("message", str, required=needs_message, default="")
    return ArgCheck(
        names=names,
        position=f.get("position", int, required=False),
        check=check,
        # A `when` check's message is never shown; an argument check's replaces the match's.
        message=f.message(message, _CALL_FIELDS) if needs_message else message,
        unknown=unknown,
        safe=safe,
        values=values,
    )


def _parse_checks(f: _Fields, where: str, key: str, needs_message: bool) -> tuple[ArgCheck, ...]:
    raw = f.get(key, list, required=False, default=[])
    return tuple(_parse_arg(f"{where}.{key}[{i}]", a, needs_message) for i, a in enumerate(raw))


def _parse_also(where: str, table: dict[str, Any]) -> Also:
    f = _Fields(where, table)
    f.only({"message", "when"})
    when = _parse_checks(f, where, "when", needs_message=False)
    if not when:
        raise f.fail("an [[also]] clause needs at least one [[when]] check")
    return Also(f.message(f.get("message", str), _CALL_FIELDS), when)


def _qualified(f: _Fields, names: tuple[str, ...], key: str) -> tuple[str, ...]:
    for name in names:
        if not _QNAME_RE.match(name):
            raise f.fail(f"'{name}' in '{key}' is not a dotted qualified name")
    return names


def _parse_match(where: str, table: dict[str, Any]) -> AnyMatch:
    f = _Fields(where, table)
    every = ("calls", "subclasses", "env", "dependencies", "artifact", "provenance", "flows_into")
    kinds = [key for key in every if key in table]
    if len(kinds) != 1:
        raise f.fail(
            "each [[match]] needs exactly one of 'calls', 'subclasses', 'env', 'dependencies', 'artifact', "
            "'provenance' or 'flows_into'"
        )
    kind = kinds[0]
    if kind == "flows_into":
        f.only({"flows_into", "message", "inputs"})
        inputs = tuple(f.get("inputs", list, required=False, default=list(InputLevel)))
        if not inputs or set(inputs) - set(InputLevel):
            raise f.fail(f"'inputs' must list some of {', '.join(InputLevel)}")
        return FlowMatch(f.get("flows_into", str), f.message(f.get("message", str), _FLOW_FIELDS),
                         tuple(InputLevel(i) for i in inputs))
    if kind == "provenance":
        f.only({"provenance", "message"})
        check = f.get("provenance", str)
        if check not in PROVENANCE_CHECKS:
            raise f.fail(f"provenance '{check}' is not one of {', '.join(PROVENANCE_CHECKS)}")
        return ProvenanceMatch(check, f.message(f.get("message", str), _PROVENANCE_FIELDS[check]))
    if kind == "artifact":
        f.only({"artifact", "message"})
        verdict = f.get("artifact", str)
        if verdict not in ARTIFACT_VERDICTS:
            raise f.fail(f"artifact '{verdict}' is not one of {', '.join(ARTIFACT_VERDICTS)}")
        return ArtifactMatch(verdict, f.message(f.get("message", str), _ARTIFACT_FIELDS[verdict]))
    if kind == "dependencies":
        f.only({"dependencies", "message"})
        return DependencyMatch(f.strings("dependencies"), f.message(f.get("message", str), _DEPENDENCY_FIELDS))
    if kind == "calls":
        f.only({"calls", "message", "args", "when", "also", "unless_code_mentions", "package", "loaded"})
        args = _parse_checks(f, where, "args", needs_message=True)
        when = _parse_checks(f, where, "when", needs_message=False)
        also_tables = f.get("also", list, required=False, default=[])
        also = tuple(_parse_also(f"{where}.also[{i}]", a) for i, a in enumerate(also_tables))
        mentions = f.strings("unless_code_mentions", required=False)
        # Without checks every call is a finding, and so is a bare reference, whose message has no subject.
        fields = _CALL_FIELDS if args or when or mentions else _REFERENCE_FIELDS
        message = f.message(f.get("message", str, required=not args, default=""), fields)
        package = f.get("package", str, required=False)
        loaded = f.strings("loaded", required=False)
        return CallMatch(_qualified(f, f.strings("calls"), "calls"), message, args, when, also, mentions, package,
                         loaded)
    if kind == "subclasses":
        f.only({"subclasses", "message", "unless_defines"})
        return SubclassMatch(
            _qualified(f, f.strings("subclasses"), "subclasses"),
            f.message(f.get("message", str), _REFERENCE_FIELDS),
            f.strings("unless_defines", required=False),
        )
    f.only({"env", "enabling", "message"})
    return EnvMatch(f.strings("env"), tuple(v.lower() for v in f.strings("enabling")),
                    f.message(f.get("message", str), _REFERENCE_FIELDS))


def _parse_advisory(where: str, table: dict[str, Any]) -> Advisory:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    f = _Fields(where, table)
    f.only({"id", "aliases", "package", "affected", "fixed", "summary", "source"})
    affected = f.get("affected", str)
    try:
        SpecifierSet(affected)
    except InvalidSpecifier as exc:
        raise f.fail(f"affected '{affected}' is not a version specifier: {exc}") from exc
    source = f.get("source", str)
    if not source.startswith("https://"):
        raise f.fail("source must be an https:// URL")
    return Advisory(
        f.get("id", str), f.strings("aliases", required=False), f.get("package", str), affected,
        f.get("fixed", str), f.get("summary", str), source,
    )


def _parse_identity(f: _Fields, path: Path, families: dict[str, Family]) -> tuple[str, str, str]:
    """id, name and family, consistent with each other and with the file's place under rules/."""
    rule_id = f.get("id", str)
    name = f.get("name", str)
    family = f.get("family", str)
    if not _ID_RE.match(rule_id):
        raise f.fail(f"id '{rule_id}' must look like LOAD001 (capitals then three digits)")
    if not _NAME_RE.match(name):
        raise f.fail(f"name '{name}' must be kebab-case")
    if family not in families:
        raise f.fail(f"unknown family '{family}' (known: {', '.join(sorted(families))})")
    if not rule_id.startswith(families[family].prefix):
        raise f.fail(f"id '{rule_id}' must start with the family prefix '{families[family].prefix}'")
    if path.stem != name or path.parent.name != family:
        raise f.fail(f"file must be rules/{family}/{name}.toml")
    return rule_id, name, family


def _parse_docs(f: _Fields, path: Path) -> _Fields:
    docs = _Fields(f"{path} [docs]", f.get("docs", dict))
    docs.only(_DOC_FIELDS)
    for key in ("what", "why", "unsafe", "safe"):
        docs.get(key, str)
    if not docs.strings("references"):
        raise docs.fail("needs at least one reference")
    return docs


def _check_matches(
    f: _Fields, matches: list[AnyMatch], advisories: tuple[Advisory, ...], families: dict[str, Family]
) -> None:
    """A match may name only advisories the rule declares and families or sink kinds that exist."""
    known_packages = {a.package for a in advisories}
    for match in matches:
        if isinstance(match, CallMatch) and match.package is not None and match.package not in known_packages:
            raise f.fail(f"a match names package '{match.package}' but no [[advisory]] concerns it")
        if isinstance(match, FlowMatch) and match.family not in families and match.family not in SINK_KINDS:
            sink_kinds = ", ".join(SINK_KINDS)
            raise f.fail(f"flows_into names neither a family nor a sink kind ({sink_kinds}): '{match.family}'")


def _parse_examples(f: _Fields, path: Path) -> tuple[Example, ...]:
    examples = []
    for i, raw in enumerate(f.get("example", list, required=False, default=[])):
        ex = _Fields(f"{path} example[{i}]", raw)
        ex.only({"verdict", "code", "path", "files"})
        verdict = ex.get("verdict", str)
        if verdict not in VERDICTS:
            raise ex.fail(f"verdict '{verdict}' is not one of {', '.join(VERDICTS)}")
        files = ex.get("files", dict, required=False, default={})
        if not all(isinstance(v, str) for v in files.values()):
            raise ex.fail("files must map paths to file contents")
        examples.append(Example(verdict, ex.get("code", str), ex.get("path", str, required=False, default="example.py"),
                                tuple(sorted(files.items()))))
    return tuple(examples)


def _parse_rule(
    path: Path, data: dict[str, Any], families: dict[str, Family], taxonomy: dict[str, dict[str, str]]
) -> Rule:
    f = _Fields(str(path), data)
    f.only(_RULE_FIELDS)
    rule_id, name, family = _parse_identity(f, path, families)
    severity = f.get("severity", str)
    if severity not in set(Severity):
        raise f.fail(f"severity '{severity}' is not one of {', '.join(Severity)}")
    precision = f.get("precision", str)
    if precision not in PRECISIONS:
        raise f.fail(f"precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    cwe, atlas, owasp = f.strings("cwe"), f.strings("atlas"), f.strings("owasp_ml")
    for key, ids in (("cwe", cwe), ("atlas", atlas), ("owasp_ml", owasp)):
        for ident in ids:
            if ident not in taxonomy[key]:
                raise f.fail(f"{key} id '{ident}' is not declared in rules/taxonomy.toml")
    docs = _parse_docs(f, path)
    match_tables = f.get("match", list, required=False, default=[])
    matches = [_parse_match(f"{path} match[{i}]", m) for i, m in enumerate(match_tables)]
    advisory_tables = f.get("advisory", list, required=False, default=[])
    advisories = tuple(_parse_advisory(f"{path} advisory[{i}]", a) for i, a in enumerate(advisory_tables))
    _check_matches(f, matches, advisories, families)
    return Rule(
        id=rule_id,
        name=name,
        family=family,
        severity=Severity(severity),
        precision=precision,
        cwe=cwe,
        atlas=atlas,
        owasp_ml=owasp,
        sdl=f.get("sdl", str),
        summary=f.get("summary", str),
        docs=dict(docs.table),
        calls=tuple(m for m in matches if isinstance(m, CallMatch)),
        subclasses=tuple(m for m in matches if isinstance(m, SubclassMatch)),
        env=tuple(m for m in matches if isinstance(m, EnvMatch)),
        dependencies=tuple(m for m in matches if isinstance(m, DependencyMatch)),
        artifacts=tuple(m for m in matches if isinstance(m, ArtifactMatch)),
        provenance=tuple(m for m in matches if isinstance(m, ProvenanceMatch)),
        flows=tuple(m for m in matches if isinstance(m, FlowMatch)),
        advisories=advisories,
        examples=_parse_examples(f, path),
        path=str(path),
        default_enabled=f.get("enabled_by_default", bool, required=False, default=True),
    )


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Load and validate every rule; raise CatalogueError on the first malformed file."""
    root = directory or catalogue_dir()
    families = {}
    for name, table in read_toml(root / "families.toml").items():
        f = _Fields(f"{root / 'families.toml'} [{name}]", table)
        f.only({"prefix", "title"})
        families[name] = Family(name, f.get("prefix", str), f.get("title", str))
    raw_taxonomy = read_toml(root / "taxonomy.toml")
    taxonomy = {key: dict(raw_taxonomy.get(key, {})) for key in ("cwe", "atlas", "owasp_ml")}
    catalogue = Catalogue(families, taxonomy)
    for path in sorted(root.glob("*/*.toml")):
        rule = _parse_rule(path, read_toml(path), families, taxonomy)
        for other in catalogue.rules.values():
            if other.id == rule.id or other.name == rule.name:
                raise CatalogueError(f"{path}: id or name clashes with {other.path}")
        catalogue.rules[rule.id] = rule
    return catalogue
