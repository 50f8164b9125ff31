"""JUnit XML: each finding a failed test case, for CI test-report viewers (GitLab, Jenkins, Azure DevOps).

Use it with `artifacts:reports:junit` in GitLab CI, the JUnit step in Jenkins, PublishTestResults in Azure.

Layout: one `<testsuite>` per file with findings, named by its path relative to the repository root,
and first a `mllint-sec` suite holding one passing test case, `scan`, whose output is the run's
summary (and whose error output is the run's problems). Per file rather than per rule because
that is what a reader acts on: the viewers group by suite and class, and a group is then one file to
open, its failures in line order, instead of one rule's hits scattered over the repository. The
`scan` case makes a clean run a report with one passing test, which every viewer shows as passed
(an empty report reads as "no tests ran"), and keeps the shape the same in clean and failing runs.

Each finding's test case has `classname` = the path as a dotted module name (`src/app.py` ->
`src.app`: Jenkins splits it at the last dot into package and class, so directories become packages)
and `name` = rule id, rule name and the first 12 characters of the fingerprint. GitLab keys a test
case by suite, class and name: two cases with one key are counted once, and the merge request widget
tells new failures from old by the key. The fingerprint does not move when unrelated lines do, so a
finding stays "existing" rather than "new" plus "resolved"; `_names` makes every name unique in its
suite. The `<failure>`'s `message` is the finding's message and `type` its severity; its text has
`path:line:col` (a notebook's cell and line), the rule, the source line, the flow steps and the
fingerprint. There is no `file` attribute: the Jenkins xunit schema (junit-10.xsd) does not allow one
on a test case. `time` is 0 and there is no timestamp or hostname, so the output is byte-identical
for the same findings. Suppressed findings are not emitted.

XML 1.0 cannot carry most control characters even as character references, nor lone surrogates
or U+FFFE/U+FFFF. Scanned text (paths, messages, source lines) goes through `visible` (which shows
the C0/C1 controls, lone surrogates and bidi controls as `\\xHH`/`\\uHHHH`, as the text report does)
and the two non-characters are shown the same way; ElementTree then escapes `&`, `<`, `>` and
quotes, so `]]>` or `"` in a message is text, never markup.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from itertools import groupby

from mllint_sec.catalogue.model import Rule
from mllint_sec.core.finding import Finding
from mllint_sec.engine.runner import RunResult
from mllint_sec.report import text
from mllint_sec.report.escape import visible
from mllint_sec.report.formats import Format, RenderOptions
from mllint_sec.report.repository_facts import locate_repository
from mllint_sec.report.source_lines import SourceFiles

RUN_SUITE = "mllint-sec"
RUN_CASE = "scan"
FINGERPRINT_CHARS = 12
SNIPPET_WIDTH = 240  # characters of the source line quoted; a minified line must not fill the viewer
# Characters XML 1.0 forbids that `visible` lets through: the non-characters U+FFFE and U+FFFF.
_NON_XML = re.compile("[\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Scanned text as XML 1.0 can carry it, one line: every character a viewer or parser could choke on shown."""
    return _NON_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", visible(value))


def render(result: RunResult, options: RenderOptions = RenderOptions()) -> str:  # noqa: B008 - frozen
    sources = SourceFiles(result.scan_root, locate_repository(result.scan_root).root)
    rules = result.catalogue.rules
    placed = sorted(((sources.display(f.path), f) for f in result.active), key=_place_key)
    root = ET.Element("testsuites", name=RUN_SUITE)
    root.append(_run_suite(result))
    for path, group in groupby(placed, key=lambda pair: pair[0]):
        findings = [finding for _, finding in group]
        suite = _suite(xml_text(path), len(findings))
        classname = xml_text(dotted(path))
        for finding, name in zip(findings, _names(findings, rules), strict=True):
            case = ET.SubElement(suite, "testcase", classname=classname, name=xml_text(name), time="0")
            failure = ET.SubElement(case, "failure", message=xml_text(finding.message), type=str(finding.severity))
            failure.text = "\n".join(xml_text(line) for line in _details(path, finding, rules, sources))
        root.append(suite)
    root.set("tests", str(1 + len(placed)))
    root.set("failures", str(len(placed)))
    root.set("errors", "0")
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _place_key(placed: tuple[str, Finding]) -> tuple[str, int, int, str, str, str]:
    """A total order on what is emitted, so the same findings in any order give the same bytes."""
    path, finding = placed
    return (path, finding.line, finding.column, finding.rule_id, finding.message, finding.fingerprint)


def _suite(name: str, failures: int) -> ET.Element:
    return ET.Element("testsuite", name=name, tests=str(failures), failures=str(failures), errors="0",
                      skipped="0", time="0")


def _run_suite(result: RunResult) -> ET.Element:
    """The passing `scan` case: the summary (which names what the configuration turned off) and the problems."""
    suite = _suite(RUN_SUITE, 0)
    suite.set("tests", "1")
    case = ET.SubElement(suite, "testcase", classname=RUN_SUITE, name=RUN_CASE, time="0")
    ET.SubElement(case, "system-out").text = "\n".join(map(xml_text, text.summary(result).splitlines()))
    if result.problems:
        ET.SubElement(case, "system-err").text = "\n".join(xml_text(problem) for problem in result.problems)
    return suite


def dotted(path: str) -> str:
    """`src/app.py` -> `src.app`: a class name whose packages are the directories."""
    directory, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return ".".join(part for part in (*directory.split("/"), stem) if part)


def _names(findings: list[Finding], rules: Mapping[str, Rule]) -> list[str]:
    """`RULE rule-name [fingerprint head]`, unique within the file's suite (a repeat gets ` #2`, ` #3`...)."""
    names: list[str] = []
    seen: set[str] = set()
    for finding in findings:
        base = f"{finding.rule_id} {_rule_name(finding, rules)}".rstrip()
        if finding.fingerprint:
            base += f" [{finding.fingerprint[:FINGERPRINT_CHARS]}]"
        name, occurrence = base, 1
        while name in seen:
            occurrence += 1
            name = f"{base} #{occurrence}"
        seen.add(name)
        names.append(name)
    return names


def _details(path: str, finding: Finding, rules: Mapping[str, Rule], sources: SourceFiles) -> Iterable[str]:
    """The failure's text, one line each: where, what, the source line, the flow, how to read more."""
    if finding.cell is not None:  # notebooks: the cell and its line, as Jupyter shows them
        cell = finding.cell
        yield f"{path}:cell {cell.cell}:line {cell.line}:{cell.column} (file line {finding.line})"
    else:
        yield f"{path}:{finding.line}:{finding.column}"
    name = _rule_name(finding, rules)
    yield f"{finding.rule_id}{' ' + name if name else ''} [{finding.severity}] {finding.message}"
    snippet = finding.snippet.strip()
    if snippet:
        yield "    " + (snippet if len(snippet) <= SNIPPET_WIDTH else snippet[:SNIPPET_WIDTH] + "...")
    for step in finding.flow:  # the path request data takes (INPUT rules)
        where = sources.display(step.path) if step.path else path
        yield f"    flow {where}:{step.line}:{step.column}: {step.message}"
    if finding.fingerprint:
        yield f"fingerprint: {finding.fingerprint}"
    yield f"details: mllint-sec explain {finding.rule_id}"


def _rule_name(finding: Finding, rules: Mapping[str, Rule]) -> str:
    rule = rules.get(finding.rule_id)
    return rule.name if rule is not None else ""


FORMAT = Format("junit", render)
