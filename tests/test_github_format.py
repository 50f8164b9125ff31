"""`check --format github`: GitHub Actions workflow commands (annotations)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mllint_sec.report import github

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo-ml-repo"
COMMAND = re.compile(r"^::(?P<kind>error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")
TORCH_LOAD = 'import torch\nstate = torch.load(path)\n'  # an unknown origin: the rule's own severity


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(item.split("=", 1) for item in match["props"].split(","))
    return match["kind"], props, match["message"]


def test_escaping_follows_the_actions_toolkit():
    assert github.escape_data("100% sure\r\nnext") == "100%25 sure%0D%0Anext"
    assert github.escape_property("a:b,c%d\n") == "a%3Ab%2Cc%25d%0A"
    line = github.command("error", "50% off: a, b\nc", file="x,y:z.py", line=3, title="LOAD001 pickle-load", col=None)
    assert line == "::error file=x%2Cy%3Az.py,line=3,title=LOAD001 pickle-load::50%25 off: a, b%0Ac"


@pytest.mark.skipif(not (DEMO.parent.parent / ".git").exists(), reason="paths relative to the git top level: needs the project's git checkout, not an unpacked sdist")
def test_demo_annotations(cli, scan):
    result = cli("check", "--format", "github", DEMO)
    assert result.exit_code == 1
    report, _ = scan(DEMO)
    kinds = {"critical": "error", "high": "error", "medium": "warning", "low": "notice", "note": "notice"}
    rank = list(kinds)  # the most severe first, then the JSON report's (path) order
    active = sorted((f for f in report["findings"] if not f["suppressed"]), key=lambda f: rank.index(f["severity"]))
    lines = result.stdout.splitlines()
    assert len(lines) == len(active)
    for line, finding in zip(lines, active, strict=True):
        kind, props, message = parse(line)
        assert kind == kinds[finding["severity"]]
        assert props["file"] == f"fixtures/demo-ml-repo/{finding['path']}"  # relative to the repository root
        assert props["line"] == str(finding["line"]) and props["col"] == str(finding["column"])
        assert props["title"] == f"{finding['rule_id']} {finding['rule_name']}"
        assert message == finding["message"].replace("%", "%25")
        if "endLine" in props:
            assert (props["endLine"], props["endColumn"]) == (str(finding["end_line"]), str(finding["end_column"]))


def test_severity_levels_and_problems(cli, tmp_path, write, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    write(tmp_path, {"m.py": TORCH_LOAD, "broken.py": "import pickle\npickle.load(\n", "build/skipped.py": TORCH_LOAD})
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--format", "github", "m.py", "broken.py", "build/skipped.py")  # build/: excluded
    parsed = [parse(line) for line in result.stdout.splitlines()]
    kinds = {props.get("file", ""): kind for kind, props, _ in parsed}
    assert kinds["m.py"] == "error"
    assert kinds["broken.py"] == "notice"
    assert any(kind == "warning" and "build/skipped.py" in message for kind, _, message in parsed)
    [broken] = [props for _, props, _ in parsed if props.get("file") == "broken.py"]
    assert "endColumn" not in broken or int(broken["endColumn"]) > int(broken["col"])


@pytest.mark.parametrize("flag", [[], ["--exit-zero"]])
def test_suppressed_findings_are_not_annotated(cli, tmp_path, write, flag):
    write(tmp_path, {"m.py": 'import torch\ntorch.load("x.pt")  # mllint-sec: ignore[LOAD003] -- ours\n'})
    result = cli("check", "--format", "github", *flag, tmp_path)
    assert result.stdout == ""
    assert result.exit_code == 0
