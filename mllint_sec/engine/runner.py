"""One `check` run: configuration, rule selection, discovery, analysis, ordering."""

from __future__ import annotations

import gc
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mllint_sec.catalogue.loading import catalogue_dir, load_catalogue
from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core.file_kinds import ARTIFACT, DATA, MANIFEST, RECORD, SOURCE
from mllint_sec.core.finding import (
    SEVERITY_RANK,
    SUMMARY_ID,
    Finding,
    assign_fingerprints,
)
from mllint_sec.engine import baseline as baselines
from mllint_sec.engine import cache as result_cache
from mllint_sec.engine import gitdiff
from mllint_sec.engine.config import (
    Config,
    ConfigError,
    PathPatterns,
    check_severity,
    find_config,
    load_config,
    resolve_tokens,
)
from mllint_sec.engine.discovery import Discovery
from mllint_sec.engine.repository import Project


@dataclass
class Options:
    paths: list[Path] = field(default_factory=lambda: [Path(".")])
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    config_file: Path | None = None
    fail_on: str | None = None
    jobs: int | None = None  # None: one process per CPU
    use_cache: bool = True
    cache_dir: Path | None = None
    diff_base: str | None = None  # report only lines changed since this git revision
    baseline: Path | None = None  # report only findings whose fingerprint it does not list


@dataclass
class RunResult:
    catalogue: Catalogue
    findings: list[Finding]
    files_scanned: int
    problems: list[str]
    fail_on: str
    enabled: frozenset[str]
    scan_root: Path  # display paths are relative to it
    not_scanned: list[str] = field(default_factory=list)  # artifacts left unread on purpose (Git LFS pointers)

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def failing(self) -> list[Finding]:
        threshold = SEVERITY_RANK[self.fail_on]
        return [f for f in self.active if SEVERITY_RANK[f.severity] >= threshold]


def scan_root_of(paths: list[Path]) -> Path:
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0].resolve()
    return Path.cwd().resolve()


def resolve_config(options: Options, catalogue: Catalogue) -> Config:
    if options.config_file is not None:
        if not options.config_file.is_file():
            raise ConfigError(f"{options.config_file}: configuration file not found")
        return load_config(options.config_file, catalogue, explicit=True)
    return load_config(find_config(options.paths[0]), catalogue)


def enabled_rules(options: Options, config: Config, catalogue: Catalogue) -> frozenset[str]:
    select = options.select if options.select is not None else config.select
    chosen = resolve_tokens(select, catalogue, "--select") if select else catalogue.defaults()
    chosen |= resolve_tokens(config.extend_select, catalogue, "extend-select")
    chosen |= resolve_tokens(options.extend_select, catalogue, "--extend-select")
    chosen -= resolve_tokens(config.ignore, catalogue, "ignore")
    chosen -= resolve_tokens(options.ignore, catalogue, "--ignore")
    return frozenset(chosen)


def run(options: Options) -> RunResult:
    catalogue = load_catalogue()
    config = resolve_config(options, catalogue)
    enabled = enabled_rules(options, config, catalogue)
    fail_on = check_severity(options.fail_on, "--fail-on") if options.fail_on else config.fail_on
    scan_root = scan_root_of(options.paths)
    discovery = Discovery(config, scan_root)
    targets, problems = discovery.targets(options.paths)
    changed = None
    if options.diff_base is not None:
        changed = {os.path.realpath(p): lines for p, lines in gitdiff.changed_lines(scan_root, options.diff_base).items()}
        targets = [t for t in targets if os.path.realpath(t.path) in changed]
    known = baselines.read(options.baseline) if options.baseline is not None else None
    ignores = [
        (PathPatterns([pattern]), frozenset(resolve_tokens(tokens, catalogue, f"per-file-ignores '{pattern}'")))
        for pattern, tokens in config.per_file_ignores.items()
    ]
    rules_for = {t.display: enabled - _per_file_ignored(ignores, discovery, t.path) for t in targets}
    manifest_targets = [(t, rules_for[t.display]) for t in targets if t.kind == MANIFEST]
    lfs_pointers = [t.display for t in targets if t.kind == ARTIFACT and _is_lfs_pointer(t.path)]
    work = [
        (str(t.path), t.display, rules_for[t.display], t.kind)
        for t in targets if t.kind in (SOURCE, ARTIFACT) and t.display not in lfs_pointers
    ]
    record_targets = [(t, rules_for[t.display]) for t in targets if t.kind in (ARTIFACT, DATA, RECORD)]
    cache = None
    if options.use_cache:
        # The rule files and the data tables beside them (model sinks, pickle callables) shape results.
        rule_paths = [rule.path for rule in catalogue.rules.values()]
        rule_paths += [str(table) for table in catalogue_dir().glob("*.toml")]
        directory = options.cache_dir or result_cache.default_directory()
        cache = result_cache.ResultCache(directory, result_cache.catalogue_digest(rule_paths))
    jobs = options.jobs if options.jobs is not None else (os.cpu_count() or 1)
    findings, read_problems = _analyze_all(work, catalogue, cache, jobs, tuple(config.artifact_allow))
    problems.extend(read_problems)
    summaries = {f.path: f.extra["summary"] for f in findings if f.rule_id == SUMMARY_ID}
    findings = [f for f in findings if f.rule_id != SUMMARY_ID]
    project = Project(discovery, catalogue)
    findings = project.settle(findings) + project.manifest_findings(manifest_targets)
    findings += project.provenance_findings(record_targets, config.provenance_min_bytes)
    sources = [(t, rules_for[t.display]) for t in targets if t.kind == SOURCE and t.display.endswith(".py")]
    crossing, cross_problems = project.cross_module_findings(sources, findings, summaries)
    findings += crossing
    problems.extend(cross_problems)
    findings.sort(key=Finding.sort_key)
    assign_fingerprints(findings)  # over whole files, before any filtering, so they stay stable
    if changed is not None:
        lines_of = {t.display: changed[os.path.realpath(t.path)] for t in targets}
        findings = [f for f in findings if _on_changed_line(f, lines_of.get(f.path, set()))]
    if known is not None:
        findings = baselines.new_only(findings, known)
    return RunResult(catalogue, findings, len(targets), problems, fail_on, enabled, scan_root, lfs_pointers)


def _is_lfs_pointer(path: Path) -> bool:
    """A Git LFS pointer: the artifact's content is not checked out, its oid is its provenance."""
    from mllint_sec.artifacts.artifact_findings import is_lfs_pointer

    try:
        if path.stat().st_size >= 1024:
            return False
        return is_lfs_pointer(path.read_bytes())
    except OSError:
        return False


def _too_large(path: str, kind: str) -> int | None:
    """An artifact's size when it is over the scan limit (it is then never read whole)."""
    if kind != ARTIFACT:
        return None
    from mllint_sec.artifacts import artifact_findings as artifact_analysis

    size = os.path.getsize(path)
    return size if size > artifact_analysis.LIMITS.max_file_bytes else None


def _on_changed_line(finding: Finding, lines: set[int] | None) -> bool:
    if lines is gitdiff.ALL_LINES:
        return True
    return finding.line in lines or finding.rule_id == "MLS001"  # a file that no longer parses


# Below this many files a process pool costs more than it saves.
PARALLEL_MIN_FILES = 64
_CHUNK = 16
_STATE: dict = {}  # set before forking: workers inherit the catalogue and cache instead of unpickling them


def _analyze_all(work, catalogue: Catalogue, cache, jobs: int, allow: tuple[str, ...] = ()) -> tuple[list[Finding], list[str]]:
    """Answer from the cache what it holds, then analyse the rest, in a process pool when there are many.

    The analyzer (and libcst, 0.3 s to import) is loaded only when some file misses the cache.
    """
    _STATE.update(catalogue=catalogue, cache=cache, analyzers={}, allow=allow)
    findings: list[Finding] = []
    problems: list[str] = []
    misses = []
    for item in work:
        cached = _from_cache(*item)
        if cached is None:
            misses.append(item)
        else:
            findings.extend(cached)
    if not misses:
        return findings, problems
    from mllint_sec.analysis.file_analyzer import Analyzer  # noqa: F401 - imported before forking, so workers inherit it

    # libcst trees are acyclic (frozen dataclasses without parent links), so reference
    # counting frees them; pausing the cyclic collector saves ~15% of parse time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        chunks = [misses[i:i + _CHUNK] for i in range(0, len(misses), _CHUNK)]
        if jobs > 1 and len(misses) >= PARALLEL_MIN_FILES and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                results = list(pool.map(_scan_chunk, chunks))
        else:
            results = [_scan_chunk(chunk) for chunk in chunks]
    finally:
        if was_enabled:
            gc.enable()
    findings.extend(f for chunk_findings, _ in results for f in chunk_findings)
    problems.extend(p for _, chunk_problems in results for p in chunk_problems)
    return findings, problems


def _cache_key(cache, data: bytes, rules: frozenset[str], kind: str) -> str:
    if kind == ARTIFACT:  # the same bytes mean something else as an artifact, and the allow-list counts
        rules = rules | {"@artifact"} | {f"@allow:{entry}" for entry in _STATE["allow"]}
    return cache.key(data, rules)


def _from_cache(path: str, display: str, rules: frozenset[str], kind: str) -> list[Finding] | None:
    cache = _STATE["cache"]
    if cache is None:
        return None
    try:
        if _too_large(path, kind) is not None:
            return None  # never read whole: reported as too large
        data = Path(path).read_bytes()
    except OSError:
        return None  # reported by the analysis step
    return cache.get(_cache_key(cache, data, rules, kind), display)


def _scan_chunk(chunk) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    problems: list[str] = []
    for path, display, rules, kind in chunk:
        found, problem = _scan_file(path, display, rules, kind)
        findings.extend(found)
        if problem:
            problems.append(problem)
    return findings, problems


def _scan_file(path: str, display: str, rules: frozenset[str], kind: str) -> tuple[list[Finding], str | None]:
    from mllint_sec.analysis.file_analyzer import PARSE_ERROR, Analyzer
    from mllint_sec.python.decode import ParseFailure

    analyzer = _STATE["analyzers"].get(rules)
    if analyzer is None:
        analyzer = _STATE["analyzers"][rules] = Analyzer(_STATE["catalogue"], rules, summaries=True)
    try:
        size = _too_large(path, kind)
        if size is not None:
            from mllint_sec.artifacts.artifact_findings import too_large

            return too_large(display, size, _STATE["catalogue"], rules), None
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        unreadable = analyzer.failure(display, ParseFailure(f"cannot read file: {reason}"), key="unreadable")
        return unreadable, f"{display}: cannot read: {reason}"
    if kind == ARTIFACT:
        from mllint_sec.artifacts.artifact_findings import artifact_findings

        findings = artifact_findings(display, data, _STATE["catalogue"], rules, _STATE["allow"])
    else:
        findings = analyzer.analyze(display, data)
    cache = _STATE["cache"]
    if cache is not None and not any(f.rule_id == PARSE_ERROR and "longer than" in f.message for f in findings):
        cache.put(_cache_key(cache, data, rules, kind), findings)  # a timeout depends on the machine, not on the file
    return findings, None


def _per_file_ignored(ignores, discovery: Discovery, path: Path) -> frozenset[str]:
    """Rules switched off for `path` by per-file-ignores (patterns compiled once per run)."""
    if not ignores:
        return frozenset()
    relative = discovery.config_relative(path)
    if relative is None:
        return frozenset()
    return frozenset(rule for patterns, rules in ignores if patterns.match(relative) for rule in rules)
