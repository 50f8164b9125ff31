"""Calls of another module's loader wrapper, once per run.

Per-file analysis reports the calls of a file's own wrappers (python/loader_wrappers.py) and
exports its module-level ones (core/loader_wrapper.py, cached with the findings). Here the other
scanned files that may call them are found cheaply: their text names the wrapper and imports a
module that resolves (analysis/cross_module.py's ModuleIndex, relative imports included) to the
wrapper's file. Only those are parsed (the prefilter may have skipped them: they need not name a
loader), and each call whose callee resolves to the wrapper is judged by the same evaluation as
in the wrapper's own file, which is parsed again for it. A function of the calling file that
passes its own parameter to such a wrapper is a wrapper too, so its importers are looked at in
the next round (up to MAX_DEPTH). Files are taken in sorted order; of two modules importing each
other's wrappers, the first one's are not seen from the second while the first is being read.
These findings depend on two files, so they are never cached per file.
"""

from __future__ import annotations

import libcst as cst

from mllint_sec.analysis.cross_module import CrossModule, Parsed
from mllint_sec.core.engine_rules import UNUSED_SUPPRESSION
from mllint_sec.core.finding import Finding, normalise
from mllint_sec.core.flow_step import FlowStep
from mllint_sec.core.loader_wrapper import LoaderWrapper
from mllint_sec.core.suppressions import apply_line_comments
from mllint_sec.python import decode as source
from mllint_sec.python import positions
from mllint_sec.python.imports import imported_names
from mllint_sec.python.lines import physical_lines
from mllint_sec.python.loader_wrappers import MAX_DEPTH, Wrapper, WrapperCall, Wrappers


class CrossModuleWrappers:
    def __init__(self, cross: CrossModule, exported: dict[str, tuple[LoaderWrapper, ...]],
                 imports: dict[str, tuple[str, ...]] | None = None):
        """`cross`: the run's CrossModule (its files, parses and module index); `exported`: each
        file's wrapper summaries, by display path; `imports`: what each file's imports name, as its
        analysis recorded them (python/imports.py; a file without a record has its text read)."""
        self.cross = cross
        self.imports = imports
        self.exported = {display: {w.function for w in wrappers} for display, wrappers in exported.items() if wrappers}
        self.defining: dict[str, set[str]] = {}  # the files known to define wrappers, and their names
        self.built: dict[str, Wrappers | None] = {}
        self.building: set[str] = set()
        self.problems: list[str] = []

    def findings(self, known: list[Finding]) -> tuple[list[Finding], list[Finding]]:
        """(the new findings, the earlier ones they show wrong: "unused" suppressions they use)."""
        found: list[Finding] = []
        self.defining = {path: set(names) for path, names in self.exported.items()}
        latest = dict(self.defining)
        for _ in range(MAX_DEPTH):
            # Each round knows the wrappers the last one found; what was built before is rebuilt with them.
            self.built.clear()
            newly: dict[str, set[str]] = {}
            for caller in self._callers(latest):
                calls, wrappers = self._guarded(caller)
                found += calls
                wrappers -= self.defining.get(caller, set())
                if wrappers:
                    newly[caller] = wrappers
            if not newly:
                break
            for path, names in newly.items():
                self.defining.setdefault(path, set()).update(names)
            latest = newly
        seen = {(f.rule_id, f.path, f.line, f.column) for f in known}
        kept = []
        for finding in found:
            key = (finding.rule_id, finding.path, finding.line, finding.column)
            if key not in seen and finding.rule_id in self.cross.enabled.get(finding.path, ()):
                seen.add(key)
                kept.append(finding)
        return kept, _used_suppressions(kept, known)

    def _guarded(self, caller: str) -> tuple[list[Finding], set[str]]:
        try:
            return self._calls_in(caller)
        except (Exception, RecursionError) as exc:  # noqa: BLE001 - never let one file stop the run
            self.problems.append(f"{caller}: calls of other modules' loader wrappers not followed: "
                                 f"{type(exc).__name__}: {exc}")
            return [], set()

    # --- which files to read ---------------------------------------------------------------------
    def _callers(self, defining: dict[str, set[str]]) -> list[str]:
        """Files that import a module resolving to a wrapper's file and whose text names the wrapper.
        The recorded imports pick the candidates, so only they are read."""
        found = []
        for display in sorted(self.cross.by_display):
            if not display.endswith(".py"):
                continue
            names = self._imports_of(display)
            imported = self._imported_files(display, names) & (defining.keys() - {display})
            if not imported:
                continue
            text = self.cross.text(display)
            if any(name in text for path in imported for name in defining[path]):
                found.append(display)
        return found

    def _imports_of(self, display: str) -> tuple[str, ...]:
        if self.imports is not None and display in self.imports:
            return self.imports[display]
        if self.imports is not None:
            return ()  # analysed, and its imports name nothing
        return imported_names(self.cross.text(display))

    def _imported_files(self, display: str, names: tuple[str, ...]) -> set[str]:
        files: set[str] = set()
        index = self.cross.index
        for name in names:
            # `from pkg.utils import patches` (a module) and `from .patches import f` (a function).
            for candidate in (f"{name}.x", name):
                place = index.function_of(candidate, display)
                if place is not None:
                    files.add(place[0].display)
        return files

    # --- the wrappers of a file, with those of the modules it imports ----------------------------
    def _wrappers(self, display: str) -> Wrappers | None:
        if display in self.built:
            return self.built[display]
        if display in self.building:
            return None  # a cycle of imports: this file's wrappers are still being found
        # Only blocks that name a known wrapper (or, in a file that defines some, a loader) hold what
        # this pass looks for.
        words = frozenset().union(*self.defining.values())
        if display in self.defining:
            words |= self.cross.analyzer.index.last_words
        parsed = self.cross.parse(display, words)
        if parsed is None:
            self.built[display] = None
            return None
        self.building.add(display)
        try:
            wrappers = Wrappers(parsed.facts, self.cross.analyzer.index, lambda name: self._external(name, display))
        finally:
            self.building.discard(display)
        for wrapper in wrappers.all():
            wrapper.path = display
        self.built[display] = wrappers
        return wrappers

    def _external(self, qualified: str, importer: str) -> list[Wrapper]:
        place = self.cross.index.function_of(qualified, importer)
        if place is None or place[0].display == importer or place[1] not in self.defining.get(place[0].display, ()):
            return []  # only files known to define that wrapper are parsed
        wrappers = self._wrappers(place[0].display)
        if wrappers is None:
            return []
        return [w for w in wrappers.all() if w.exported and w.name == place[1]]

    # --- a caller's findings ---------------------------------------------------------------------
    def _calls_in(self, caller: str) -> tuple[list[Finding], set[str]]:
        wrappers = self._wrappers(caller)
        parsed = self.cross.parsed.get(caller)
        if wrappers is None or parsed is None:
            return [], set()
        calls = [c for c in wrappers.calls() if any(w.path != caller for w in c.wrapper.chain())]
        newly = {w.name for w in wrappers.all()
                 if w.exported and any(inner.path != caller for inner in w.chain())}
        return self._located(parsed, calls), newly

    def _located(self, parsed: Parsed, calls: list[WrapperCall]) -> list[Finding]:
        if not calls:
            return []
        home = parsed.target.display
        by_file: dict[str, list[cst.CSTNode]] = {home: []}
        for call in calls:
            by_file[home] += [call.node, call.site.statement]
            by_file.setdefault(call.wrapper.path or home, []).append(call.wrapper.function.name)
            for node, _, path in call.steps:
                by_file.setdefault(path or home, []).append(node)
        spans = {}
        for path, nodes in by_file.items():
            here = self.cross.parsed.get(path)
            spans[path], _ = source.run_guarded(positions.ranges, here.module, nodes) if here else (None, None)
        lines = physical_lines(parsed.text)
        found = []
        own = spans[home] or {}
        for call in calls:
            if id(call.node) not in own:
                continue
            line, column, end_line, end_column = own[id(call.node)]
            defined = call.wrapper.path or home
            at = (spans.get(defined) or {}).get(id(call.wrapper.function.name))
            name = f"`{call.wrapper.name}()`"
            message = call.message
            if at is not None and message.startswith(name):
                message = f"{name} ({defined}:{at[0]}){message[len(name):]}"
            statement = call.site.statement
            code = ("".join(parsed.module.code_for_node(s) for s in statement.body)
                    if isinstance(statement, cst.SimpleStatementLine) else parsed.module.code_for_node(call.node))
            finding = Finding(call.wrapper.rule.id, home, line, column + 1, end_line, end_column + 1, message,
                              lines[line - 1].rstrip() if line <= len(lines) else "", call.wrapper.rule.severity,
                              statement_text=normalise(code), unsettled=call.unsettled)
            steps = []
            for node, text, path in call.steps:
                span = (spans.get(path or home) or {}).get(id(node))
                if span is not None:
                    steps.append(FlowStep.at(span, text, None if (path or home) == home else path))
            finding.flow = tuple(steps)
            found.append(finding)
        return apply_line_comments(found, lines, self.cross.analyzer.rule_ids_by_name)


def _used_suppressions(found: list[Finding], known: list[Finding]) -> list[Finding]:
    """The per-file "unused suppression" findings whose comment suppresses one of `found`: that file's
    analysis could not see a finding that needs another module."""
    used = {(f.path, f.line, f.rule_id) for f in found if f.suppressed}
    lines = {(path, line) for path, line, _ in used}
    withdrawn = []
    for finding in known:
        if finding.rule_id != UNUSED_SUPPRESSION or (finding.path, finding.line) not in lines:
            continue
        stale = finding.message.partition(": ")[2]
        rules = {rule for path, line, rule in used if (path, line) == (finding.path, finding.line)}
        if stale == "no finding here" or stale in {f"no {rule} finding here" for rule in rules}:
            withdrawn.append(finding)
    return withdrawn
