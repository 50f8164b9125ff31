"""The argument checks a call-pattern rule may name, in one registry.

The loader validates rule files against it, and docs/design.md lists every check from it
(tests/test_argument_checks.py fails when the table and the registry differ). What a check
decides is evaluated by python/matching.py: in `[[match.args]]` a check that fires reports
the call; in `[[match.when]]` (conditions the call must meet to count at all) and
`[[match.also]]` (clauses added to the message) it holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArgumentCheck:
    name: str
    doc: str  # completes "reports the call, or holds, when the argument is ..."
    example: str  # where the catalogue uses it
    needs: tuple[str, ...] = ()  # fields of the check's table it cannot do without: "safe", "values"
    string_values: bool = False  # its `values` are strings (suffixes, prefixes)


ARGUMENT_CHECKS: dict[str, ArgumentCheck] = {check.name: check for check in (
    ArgumentCheck("absent-or-falsy", "missing, or resolves to a falsy value", "`torch.load` `weights_only`"),
    ArgumentCheck("absent-or-truthy", "missing, or resolves to a truthy value (a safety flag left on)",
                  "Keras `load_model` `safe_mode` (SUP007)"),
    ArgumentCheck("truthy", "given and truthy", "`numpy.load` `allow_pickle`"),
    ArgumentCheck("falsy", "given and falsy", "Keras `safe_mode`"),
    ArgumentCheck("present", "given and not `None`", "`torch.load` `pickle_module`"),
    ArgumentCheck("not-in", "missing, or not one of `safe` (or a local subclass of one)", "`yaml.load` `Loader`",
                  needs=("safe",)),
    ArgumentCheck("not-literal", "`True`, or computed at run time rather than a literal list of names",
                  "skops `trusted`"),
    ArgumentCheck("one-of", "given as one of `values`", "torch.hub `trust_repo=True`", needs=("values",)),
    ArgumentCheck("not-commit", "missing, or not a full 40-hex commit SHA", "Hugging Face `revision`"),
    ArgumentCheck("unpinned-ref", "an `\"owner/repo[:ref]\"` whose ref is missing or not a commit", "`torch.hub.load`"),
    ArgumentCheck("hub-id", "a hub repository id (`\"org/name\"`), not a local path; `safe` lists names that are "
                  "not downloads", "Hugging Face `from_pretrained` (datasets' `\"csv\"` is safe)"),
    ArgumentCheck("maybe-hub-id", "a hub id or a local path, with nothing to tell which (a command-line argument)",
                  "SUP008"),
    ArgumentCheck("hf-hub-unpinned", "an `\"hf-hub:org/name\"` id without an `@<40-hex commit>` suffix",
                  "timm / open_clip `hf-hub:` ids"),
    ArgumentCheck("suffix", "a string whose known tail ends with one of `values`",
                  "a download of a `.pt` file (SUP004)", needs=("values",), string_values=True),
    ArgumentCheck("prefix", "a string whose known head starts with one of `values`",
                  "pandas readers on `https://` (PROV003)", needs=("values",), string_values=True),
    ArgumentCheck("http", "a plain `http://` URL to a host other than this machine", "SUP005"),
    ArgumentCheck("unhashed-name", "a URL whose file name lacks torch's `-<sha256 prefix>.`",
                  "`load_state_dict_from_url`"),
)}


def docs_table() -> str:
    """The table of every check, as docs/design.md shows it."""
    rows = ["| check | reports the call, or holds, when the argument is... | used by |", "|---|---|---|"]
    rows += [f"| `{check.name}` | {check.doc} | {check.example} |" for check in ARGUMENT_CHECKS.values()]
    return "\n".join(rows) + "\n"
