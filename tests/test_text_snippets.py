"""The source line under a text finding: whole when short, the part around the finding when long
(a minified or generated line must not fill the terminal); JSON keeps the line whole."""

from __future__ import annotations

import json

from mllint_sec.report.text import SNIPPET_WIDTH


def _long_line(prefix_items: int) -> str:
    return "x = [" + ", ".join(str(i) for i in range(prefix_items)) + "]; torch.load(path)\n"


def test_a_short_line_is_shown_whole(cli, write, tmp_path):
    write(tmp_path, {"a.py": "import torch\n    \nstate = torch.load(path)  # resume\n"})
    out = cli("check", "--select", "LOAD003", str(tmp_path)).stdout
    assert "    state = torch.load(path)  # resume\n" in out


def test_a_long_line_shows_the_part_around_the_finding(cli, write, tmp_path):
    write(tmp_path, {"a.py": "import torch\n" + _long_line(40_000)})
    out = cli("check", "--select", "LOAD003", str(tmp_path)).stdout
    (shown,) = [line for line in out.splitlines() if line.startswith("    ...")]
    assert "torch.load(path)" in shown
    assert len(shown) <= 4 + 3 + SNIPPET_WIDTH + 3
    assert not shown.endswith("...")  # the line ends within the window


def test_a_long_line_cut_on_both_sides(cli, write, tmp_path):
    line = "x = [" + ", ".join(map(str, range(20_000))) + "]; y = torch.load(p); z = [" + "0, " * 20_000 + "]\n"
    write(tmp_path, {"a.py": "import torch\n" + line})
    out = cli("check", "--select", "LOAD003", str(tmp_path)).stdout
    (shown,) = [line for line in out.splitlines() if line.startswith("    ...")]
    assert "torch.load(p)" in shown and shown.endswith("...")


def test_json_keeps_the_whole_line(cli, write, tmp_path):
    write(tmp_path, {"a.py": "import torch\n" + _long_line(40_000)})
    report = json.loads(cli("check", "--select", "LOAD003", "--format", "json", str(tmp_path)).stdout)
    (finding,) = report["findings"]
    assert finding["snippet"] == _long_line(40_000).strip()
