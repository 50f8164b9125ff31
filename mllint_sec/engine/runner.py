"""One `check` run: configuration, rule selection, discovery, analysis, ordering."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from mllint_sec.catalogue.loading import catalogue_dir, load_catalogue
from mllint_sec.catalogue.model import Catalogue
from mllint_sec.core import stage_times
from mllint_sec.core.bounded_read import NotRegular, Refusal, TooLarge, read_limited
from mllint_sec.core.code_context import DEFAULT_POLICY, CodeContext, ContextPolicy
from mllint_sec.core.engine_rules import PARSE_ERROR
from mllint_sec.core.file_kinds import MAX_NOTEBOOK_BYTES, MAX_SOURCE_BYTES, FileKind, Target
from mllint_sec.core.file_result import FileResult
from mllint_sec.core.finding import Finding, assign_fingerprints
from mllint_sec.core.lfs_pointer import is_lfs_pointer_file
from mllint_sec.core.severity import Severity
from mllint_sec.core.suppressions import NO_POLICY, SuppressionPolicy
from mllint_sec.engine import baseline as baselines
from mllint_sec.engine import cache as result_cache
from mllint_sec.engine import gitdiff
from mllint_sec.engine.code_contexts import CodeContexts
from mllint_sec.engine.config import (
    AppliedConfig,
    Config,
    ConfigError,
    applied_config,
    check_severity,
    find_config,
    load_config,
    per_file_pattern,
    resolve_tokens,
)
from mllint_sec.engine.discovery import Discovered, Discovery, TargetError
from mllint_sec.engine.repository import Project
from mllint_sec.engine.repository_checks import RepositoryScan, run_repository_checks
from mllint_sec.python.budget import DEFAULT_SECONDS


@dataclass
class Options:
    paths: list[Path] = field(default_factory=lambda: [Path(".")])
    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    config_file: Path | None = None
    fail_on: str | None = None
    jobs: int | None = None  # None: one process per CPU; never more than that
    use_cache: bool = True
    cache_dir: Path | None = None
    diff_base: str | None = None  # report only lines changed since this git revision
    baseline: Path | None = None  # report only findings whose fingerprint it does not list
    file_timeout: float | None = None  # seconds per file; None: the configuration's
    isolated: bool = False  # no configuration file at all: defaults and the options above (untrusted code)
    progress: Callable[[int, int], None] | None = None  # called with (files done, files to analyse) as they complete
    # `check - --stdin-filename PATH` (editors): this source, analysed as the file at PATH (which need not exist).
    stdin: tuple[Path, bytes] | None = None


@dataclass
class RunResult:
    catalogue: Catalogue
    findings: list[Finding]
    files_scanned: int
    problems: list[str]
    fail_on: Severity
    enabled: frozenset[str]
    scan_root: Path  # display paths are relative to it
    not_scanned: list[str] = field(default_factory=list)  # artifacts left unread on purpose (Git LFS pointers)
    submodules: list[str] = field(default_factory=list)  # git submodules under the scanned paths, not entered
    configuration: AppliedConfig | None = None  # the configuration file used and what it turned off
    ignored: list[Finding] = field(default_factory=list)  # dropped by their context's policy (`ignore`), counted
    context_policy: dict[CodeContext, ContextPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICY))
    baseline_hidden: int | None = None  # unsuppressed findings --baseline dropped; None without a baseline
    stage_times: dict[str, float] = field(default_factory=dict)  # seconds by stage (core/stage_times.py), not reported

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def failing(self) -> list[Finding]:
        return [f for f in self.active if f.severity.rank >= self.fail_on.rank]


def scan_root_of(paths: list[Path]) -> Path:
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0].resolve()
    return Path.cwd().resolve()


def resolve_config(options: Options, catalogue: Catalogue) -> Config:
    if options.isolated:
        if options.config_file is not None:
            raise ConfigError("--isolated ignores every configuration file; it cannot be combined with --config")
        return Config()
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
    stage_times.take()  # what an earlier run in this process left over
    since = perf_counter()
    catalogue = load_catalogue()
    config = resolve_config(options, catalogue)
    enabled = enabled_rules(options, config, catalogue)
    fail_on = check_severity(options.fail_on, "--fail-on") if options.fail_on else config.fail_on
    scan_root = scan_root_of(options.paths)
    since = stage_times.add("setup", since)
    discovery = Discovery(config, scan_root)
    # Set for every run: one process (a test, an editor's server) may run again without stdin.
    _STATE["stdin"] = None if options.stdin is None else (str(options.stdin[0].absolute()), options.stdin[1])
    discovered = discovery.targets(options.paths) if options.stdin is None else _stdin_target(discovery, options.stdin)
    targets, problems = discovered.targets, discovered.notices
    changed = None
    if options.diff_base is not None:
        changed_lines = gitdiff.changed_lines(scan_root, options.diff_base)
        changed = {os.path.realpath(p): lines for p, lines in changed_lines.items()}
        targets = [t for t in targets if os.path.realpath(t.path) in changed]
    known = baselines.read(options.baseline) if options.baseline is not None else None
    rules_for = _rules_per_file(targets, enabled, config, catalogue, discovery)
    lfs_pointers = [t.display for t in targets if t.kind == FileKind.ARTIFACT and is_lfs_pointer_file(t.path)]
    work: list[_Work] = [
        (str(t.path), t.display, rules_for[t.display], t.kind)
        for t in targets if t.kind in (FileKind.SOURCE, FileKind.ARTIFACT) and t.display not in lfs_pointers
    ]
    since = stage_times.add("discovery", since)
    cache = _open_cache(options, catalogue)
    jobs = effective_jobs(options.jobs)
    file_timeout = options.file_timeout if options.file_timeout is not None else config.file_timeout
    policy = SuppressionPolicy(config.require_suppression_reason, config.forbid_blanket_suppression)
    before = stage_times.take()  # forked workers start from zero and the chunks bring back their own counters
    results, read_problems = _analyze_all(work, catalogue, cache, jobs, tuple(config.artifact_allow), file_timeout,
                                          policy, options.progress)
    per_file = stage_times.take()
    since = stage_times.add("files (wall)", since)
    problems.extend(read_problems)
    project = Project(discovery, catalogue)
    findings = project.settle([f for result in results.values() for f in result.findings])
    stage_times.add("project facts", since)
    summaries = {path: result.summary for path, result in results.items() if result.summary is not None}
    wrappers = {path: result.wrappers for path, result in results.items() if result.wrappers}
    imports = {path: result.imports for path, result in results.items() if result.imports}
    scan = RepositoryScan(project, [(t, rules_for[t.display]) for t in targets], summaries, config.provenance_min_bytes,
                          wrappers, imports)
    findings, check_problems = run_repository_checks(scan, findings)
    problems.extend(check_problems)
    since = perf_counter()
    # Contexts depend on the configuration, not the bytes: applied after the cache. A context is a
    # file's, so dropping the ignored ones leaves the other findings' fingerprints as they were.
    findings, ignored = CodeContexts(config, scan_root, discovery.config_relative).apply(findings)
    findings.sort(key=Finding.sort_key)
    assign_fingerprints(findings)  # over whole files, before any filtering, so they stay stable
    assign_fingerprints(ignored)  # so that `baseline` can record them too
    findings, baseline_hidden = _only_reported(findings, targets, changed, known)
    ignored, _ = _only_reported(sorted(ignored, key=Finding.sort_key), targets, changed, known)
    disabled = enabled_rules(options, Config(), catalogue) - enabled
    configuration = applied_config(config, catalogue, disabled, fail_on_given=bool(options.fail_on))
    stage_times.add("ordering", since)
    # A cross-module pass parses and prefilters again: its time is its stage's, not the files'.
    later = {stage: seconds for stage, seconds in stage_times.take().items() if stage not in stage_times.PER_FILE}
    return RunResult(catalogue, findings, len(targets), problems, fail_on, enabled, scan_root, lfs_pointers,
                     discovered.submodules, configuration, ignored, dict(config.context_policy), baseline_hidden,
                     {**before, **per_file, **later})

def _stdin_target(discovery: Discovery, stdin: tuple[Path, bytes]) -> Discovered:
    """The one target of a stdin run: `_read` gives its bytes from `_STATE["stdin"]`, not from the disk."""
    path = stdin[0].absolute()
    if path.suffix not in (".py", ".pyi", ".ipynb", ""):  # manifests and artifacts are read where they lie
        raise TargetError(f"--stdin-filename {path.name}: only Python source or a notebook can be read from stdin")
    return Discovered([Target(path, discovery.display(path), FileKind.SOURCE)])


def _open_cache(options: Options, catalogue: Catalogue) -> result_cache.ResultCache | None:
    """The result cache, keyed by the catalogue's content; None when disabled or no user secret exists."""
    secret = result_cache.user_secret() if options.use_cache else None
    if secret is None:  # without one, no entry could be told from a forged one
        return None
    directory = options.cache_dir or result_cache.default_directory()
    return result_cache.ResultCache(directory, catalogue_digest(catalogue), secret)


def catalogue_digest(catalogue: Catalogue) -> str:
    """SHA-256 over the rule files and the data tables beside them (model sinks, pickle callables), which
    shape results; the same wherever the catalogue is installed (the result cache and the JSON report use it)."""
    rule_paths = [rule.path for rule in catalogue.rules.values()]
    rule_paths += [str(table) for table in catalogue_dir().glob("*.toml")]
    return result_cache.catalogue_digest(rule_paths, root=catalogue_dir())


def _rules_per_file(
    targets: list[Target], enabled: frozenset[str], config: Config, catalogue: Catalogue, discovery: Discovery,
) -> dict[str, frozenset[str]]:
    """The enabled rules less those `per-file-ignores` turns off, for each target."""
    ignores = [
        (per_file_pattern(pattern), frozenset(resolve_tokens(tokens, catalogue, f"per-file-ignores '{pattern}'")))
        for pattern, tokens in config.per_file_ignores.items()
    ]
    return {t.display: enabled - _per_file_ignored(ignores, discovery, t.path) for t in targets}


def _only_reported(
    findings: list[Finding], targets: list[Target], changed: dict[str, set[int] | None] | None, known: set[str] | None,
) -> tuple[list[Finding], int | None]:
    """What --diff-base and --baseline leave: findings on changed lines, then those not in the baseline; and
    how many unsuppressed findings the baseline hid (None without one)."""
    if changed is not None:
        lines_of = {t.display: changed[os.path.realpath(t.path)] for t in targets}
        findings = [f for f in findings if _on_changed_line(f, lines_of.get(f.path, set()))]
    if known is None:
        return findings, None
    kept = baselines.new_only(findings, known)
    return kept, sum(not f.suppressed for f in findings) - sum(not f.suppressed for f in kept)



def effective_jobs(requested: int | None) -> int:
    """The processes a run uses: one per usable CPU unless fewer are asked for; more only adds forks and memory."""
    return min(requested or _usable_cpus(), _usable_cpus())


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, which containers narrow), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def size_limit(path: str, kind: FileKind) -> int:
    """The largest file of this kind that is read; a larger one is reported, never read."""
    if kind == FileKind.ARTIFACT:
        from mllint_sec.artifacts import artifact_findings as artifact_analysis

        return artifact_analysis.LIMITS.max_file_bytes
    return MAX_NOTEBOOK_BYTES if path.endswith(".ipynb") else MAX_SOURCE_BYTES


def _read(path: str, kind: FileKind) -> bytes | Refusal:
    stdin: tuple[str, bytes] | None = _STATE.get("stdin")
    if stdin is not None and stdin[0] == path:
        return stdin[1]
    return read_limited(path, size_limit(path, kind))


def _on_changed_line(finding: Finding, lines: set[int] | None) -> bool:
    if lines is gitdiff.ALL_LINES:
        return True
    return finding.line in lines or finding.rule_id == PARSE_ERROR  # a file that no longer parses


# Below this many files a process pool costs more than it saves.
PARALLEL_MIN_FILES = 64
_CHUNK = 16
_YOUNG_OBJECTS = 20_000  # a parsed file's worth; a file the prefilter dropped makes far fewer
_STATE: dict[str, Any] = {}  # set before forking: workers inherit the catalogue and cache instead of unpickling them
# A file to analyse: (absolute path, display path, the rules enabled for it, its kind).
_Work = tuple[str, str, frozenset[str], FileKind]


def _analyze_all(work: list[_Work], catalogue: Catalogue, cache: result_cache.ResultCache | None, jobs: int,
                 allow: tuple[str, ...] = (),
                 file_timeout: float = DEFAULT_SECONDS,
                 policy: SuppressionPolicy = NO_POLICY,
                 progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, FileResult], list[str]]:
    """Each file's result, by display path, and the problems met reading files. The cache
    answers what it holds; the rest is analysed, in a process pool when there are many.
    `progress(done, total)` hears of each file answered, cache hits included, as chunks complete.

    The analyzer (and libcst, 0.3 s to import) is loaded only when some file misses the cache.
    """
    _STATE.update(catalogue=catalogue, cache=cache, analyzers={}, allow=allow, file_timeout=file_timeout,
                  policy=policy)
    results: dict[str, FileResult] = {}
    problems: list[str] = []
    misses = []
    report = progress or _no_progress
    for item in work:
        cached = _from_cache(*item)
        if cached is None:
            misses.append(item)
        else:
            results[item[1]] = cached
            report(len(results), len(work))
    if not misses:
        return results, problems
    from mllint_sec.analysis.file_analyzer import Analyzer  # noqa: F401 - imported before forking, so workers inherit it

    # libcst trees are acyclic (frozen dataclasses without parent links), so reference
    # counting frees them; pausing the cyclic collector saves ~15% of parse time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        chunks = [misses[i:i + _CHUNK] for i in range(0, len(misses), _CHUNK)]
        if jobs > 1 and len(misses) >= PARALLEL_MIN_FILES and _can_fork():
            import multiprocessing  # here: a one-file (pre-commit) run never pays for the pool's imports
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                # The executor's map yields each chunk's result as soon as it and those before it are done.
                for chunk_results, chunk_problems, chunk_times in pool.map(_scan_chunk, chunks):
                    _collect(results, problems, chunk_results, chunk_problems, chunk_times)
                    report(len(results), len(work))
        else:
            for chunk in chunks:
                _collect(results, problems, *_scan_chunk(chunk))
                report(len(results), len(work))
    finally:
        if was_enabled:
            gc.enable()
    return results, problems


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _no_progress(done: int, total: int) -> None:
    """The progress callback of a run nobody watches."""


def _collect(results: dict[str, FileResult], problems: list[str], chunk_results: dict[str, FileResult],
             chunk_problems: list[str], chunk_times: dict[str, float]) -> None:
    results.update(chunk_results)
    problems.extend(chunk_problems)
    stage_times.merge(chunk_times)


def _cache_key(cache: result_cache.ResultCache, data: bytes, rules: frozenset[str], kind: FileKind) -> str:
    if kind == FileKind.ARTIFACT:  # the same bytes mean something else as an artifact, and the allow-list counts
        rules = rules | {"@artifact"} | {f"@allow:{entry}" for entry in _STATE["allow"]}
    else:  # the suppression policy decides a source file's MLS002 findings
        rules = rules | _STATE["policy"].cache_tokens()
    return cache.key(data, rules)


def _from_cache(path: str, display: str, rules: frozenset[str], kind: FileKind) -> FileResult | None:
    cache: result_cache.ResultCache | None = _STATE["cache"]
    if cache is None:
        return None
    data = _read(path, kind)
    if not isinstance(data, bytes):
        return None  # reported by the analysis step
    return cache.get(_cache_key(cache, data, rules, kind), display)


def _scan_chunk(chunk: list[_Work]) -> tuple[dict[str, FileResult], list[str], dict[str, float]]:
    """The chunk's results, the problems met and the stage times it added (summed over its files)."""
    results: dict[str, FileResult] = {}
    problems: list[str] = []
    since = stage_times.cpu()
    for path, display, rules, kind in chunk:
        results[display], problem = _scan_file(path, display, rules, kind)
        if problem:
            problems.append(problem)
        if gc.get_count()[0] > _YOUNG_OBJECTS:
            # The collector is paused, and a file's scopes and bindings refer to each other (and to its syntax
            # tree): collected here, the young objects are the last file's. Without this, every tree stayed
            # until the end (transformers, --jobs 1: 199 MiB against 127).
            gc.collect(0)
    stage_times.add_cpu("files", since)
    return results, problems, stage_times.take()


def _scan_file(path: str, display: str, rules: frozenset[str], kind: FileKind) -> tuple[FileResult, str | None]:
    from mllint_sec.analysis.file_analyzer import Analyzer
    from mllint_sec.python.decode import ParseFailure

    analyzer = _STATE["analyzers"].get(rules)
    if analyzer is None:
        analyzer = _STATE["analyzers"][rules] = Analyzer(_STATE["catalogue"], rules, summaries=True,
                                                         file_timeout=_STATE["file_timeout"],
                                                         suppression_policy=_STATE["policy"])
    data = _read(path, kind)
    if isinstance(data, NotRegular):  # replaced after discovery looked at it
        return FileResult(), f"{display}: {data.kind}, not a regular file; not read"
    if isinstance(data, TooLarge):
        if kind == FileKind.ARTIFACT:
            from mllint_sec.artifacts.artifact_findings import too_large

            return FileResult(too_large(display, data.size, _STATE["catalogue"], rules)), None
        failure = ParseFailure(f"file is larger than {data.limit // (1024 * 1024)} MiB; not analysed")
        return FileResult(analyzer.failure(display, failure)), None
    if not isinstance(data, bytes):
        if kind == FileKind.ARTIFACT:
            from mllint_sec.artifacts.artifact_findings import cannot_read

            unread = cannot_read(display, data.reason, _STATE["catalogue"], rules)
            return FileResult(unread), f"{display}: cannot read: {data.reason}"
        unreadable = analyzer.failure(display, ParseFailure(f"cannot read file: {data.reason}"), key="unreadable")
        return FileResult(unreadable), f"{display}: cannot read: {data.reason}"
    if kind == FileKind.ARTIFACT:
        from mllint_sec.artifacts.artifact_findings import artifact_findings

        result = FileResult(artifact_findings(display, data, _STATE["catalogue"], rules, _STATE["allow"]))
    else:
        result = analyzer.analyze(display, data)
    cache: result_cache.ResultCache | None = _STATE["cache"]
    if cache is not None and result.cacheable:
        cache.put(_cache_key(cache, data, rules, kind), result)
    return result, None


def _per_file_ignored(
    ignores: list[tuple[Callable[[str], bool], frozenset[str]]], discovery: Discovery, path: Path
) -> frozenset[str]:
    """Rules switched off for `path` by per-file-ignores (patterns compiled once per run)."""
    if not ignores:
        return frozenset()
    relative = discovery.config_relative(path)
    if relative is None:
        return frozenset()
    return frozenset(rule for matches, rules in ignores if matches(relative) for rule in rules)
