"""The `[done/total files]` progress line: when it shows, how often, how it is cleared, and what feeds it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mllint_sec.engine import runner
from mllint_sec.engine.runner import Options, run
from mllint_sec.report.progress import Progress, wanted

TORCH_LOAD = "import torch\ntorch.load(path)\n"


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal and keeps what was written."""

    def __init__(self, tty: bool = True):
        super().__init__()
        self.tty = tty
        self.flushes = 0

    def isatty(self) -> bool:
        return self.tty

    def flush(self) -> None:
        self.flushes += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


# --- when it is wanted -----------------------------------------------------------


def test_a_terminal_outside_ci_wants_progress():
    assert wanted(FakeTerminal(), environment={})
    assert wanted(FakeTerminal(), environment={"CI": "false"})  # a person opting back in
    assert wanted(FakeTerminal(), environment={"CI": ""})


def test_a_pipe_never_shows_progress():
    assert not wanted(FakeTerminal(tty=False), environment={})
    assert not wanted(io.StringIO(), environment={})


@pytest.mark.parametrize("value", ["true", "1", "True", "yes"])
def test_ci_never_shows_progress(value):
    assert not wanted(FakeTerminal(), environment={"CI": value})


def test_quiet_or_no_progress_never_shows_progress():
    assert not wanted(FakeTerminal(), environment={}, quiet=True)


def test_a_closed_stream_is_not_a_terminal():
    stream = FakeTerminal()
    stream.isatty = _closed  # type: ignore[method-assign]
    assert not wanted(stream, environment={})


def _closed() -> bool:
    raise ValueError("I/O operation on closed file")


def test_the_process_environment_is_read_by_default(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert not wanted(FakeTerminal())
    monkeypatch.delenv("CI")
    assert wanted(FakeTerminal())


# --- what it writes --------------------------------------------------------------


def test_a_short_run_prints_nothing(clock):
    stream = FakeTerminal()
    progress = Progress(stream, clock)
    for done in range(1, 101):
        clock.now += 0.009  # 100 files in 0.9 s
        progress.update(done, 100)
    progress.finish()
    assert stream.getvalue() == ""


def test_a_long_run_shows_the_count_in_place_then_clears_it(clock):
    stream = FakeTerminal()
    progress = Progress(stream, clock)
    clock.now += 1.5
    progress.update(123, 2912)
    assert stream.getvalue() == "\r[123/2912 files]"
    clock.now += 0.2
    progress.update(1000, 2912)
    assert stream.getvalue() == "\r[123/2912 files]\r[1000/2912 files]"
    progress.finish()
    assert stream.getvalue().endswith("\r" + " " * len("[1000/2912 files]") + "\r")
    assert "\n" not in stream.getvalue()  # rewritten in place: the report starts on the cleared line
    assert stream.flushes == 3


def test_updates_are_throttled_to_ten_a_second(clock):
    stream = FakeTerminal()
    progress = Progress(stream, clock)
    clock.now += 1.0
    for done in range(1, 1001):
        clock.now += 0.001  # 1,000 files in one second
        progress.update(done, 2000)
    assert 9 <= stream.getvalue().count("\r") <= 11


def test_the_last_file_is_always_shown(clock):
    stream = FakeTerminal()
    progress = Progress(stream, clock)
    clock.now += 1.0
    progress.update(9, 10)
    progress.update(10, 10)  # within the interval, but the count is complete
    assert stream.getvalue().endswith("\r[10/10 files]")


def test_finish_without_a_line_writes_nothing_and_finishing_twice_is_harmless(clock):
    stream = FakeTerminal()
    progress = Progress(stream, clock)
    progress.finish()
    assert stream.getvalue() == ""
    clock.now += 2
    progress.update(1, 2)
    progress.finish()
    shown = stream.getvalue()
    progress.finish()
    assert stream.getvalue() == shown


# --- what feeds it ---------------------------------------------------------------


def _tree(root: Path, files: int) -> Path:
    root.mkdir()
    for index in range(files):
        (root / f"m{index:02}.py").write_text(TORCH_LOAD + f"# {index}\n")
    return root


def test_the_runner_reports_every_file_as_it_completes(tmp_path):
    root = _tree(tmp_path / "tree", 40)
    calls: list[tuple[int, int]] = []
    run(Options(paths=[root], jobs=1, use_cache=False, progress=lambda done, total: calls.append((done, total))))
    assert [total for _, total in calls] == [40] * len(calls)
    assert [done for done, _ in calls] == [16, 32, 40]  # one call per chunk of files analysed


def test_cache_hits_count_too(tmp_path):
    root = _tree(tmp_path / "tree", 5)
    run(Options(paths=[root], jobs=1, cache_dir=tmp_path / "cache"))
    calls: list[tuple[int, int]] = []
    run(Options(paths=[root], jobs=1, cache_dir=tmp_path / "cache",
                progress=lambda done, total: calls.append((done, total))))
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_a_process_pool_reports_progressively(tmp_path, monkeypatch):
    if runner.effective_jobs(None) < 2:
        pytest.skip("one CPU: no pool")
    monkeypatch.setattr(runner, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(runner, "_CHUNK", 2)
    root = _tree(tmp_path / "tree", 6)
    calls: list[tuple[int, int]] = []
    run(Options(paths=[root], jobs=2, use_cache=False, progress=lambda done, total: calls.append((done, total))))
    assert calls == [(2, 6), (4, 6), (6, 6)]


def test_the_command_line_shows_no_progress_in_a_pipe(cli, tmp_path):
    root = _tree(tmp_path / "tree", 3)
    for extra in ((), ("--no-progress",)):
        result = cli("check", *extra, root)
        assert result.exit_code == 1
        assert "files]" not in result.stderr


def test_the_command_line_draws_and_clears_the_line_on_a_terminal(cli, tmp_path, monkeypatch):
    from mllint_sec import cli as command_line
    from mllint_sec.report import progress

    asked: list[bool] = []

    def terminal(stream, environment=None, quiet=False):  # CliRunner's stderr is no terminal: say it is one
        asked.append(quiet)
        return not quiet

    monkeypatch.setattr(command_line, "wanted", terminal)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    root = _tree(tmp_path / "tree", 3)
    result = cli("check", "--no-cache", root)
    assert result.stderr == "\r[3/3 files]" + "\r" + " " * len("[3/3 files]") + "\r"
    assert "Found 3 findings" in result.stdout
    quiet = cli("check", "--no-progress", root)
    assert quiet.stderr == ""
    assert asked == [False, True]
