"""Calls of another module's loader wrapper (analysis/cross_module_wrappers.py), in every import
spelling the engine resolves; the wrapper's file is named in the message and in the flow."""

from __future__ import annotations

import pytest

from mllint_sec.core.file_result import FileResult
from mllint_sec.core.loader_wrapper import LoaderWrapper
from mllint_sec.engine.cache import ResultCache

PATCHES = {
    "defaulting": (
        "import torch\n\n\n"
        "def torch_load(*args, **kwargs):\n"
        '    kwargs.setdefault("weights_only", False)\n'
        "    return torch.load(*args, **kwargs)\n"
    ),
    "forcing": (
        "import torch as th\n\n\n"
        "def torch_load(*args, **kwargs):\n"
        '    if "weights_only" not in kwargs:\n'
        '        kwargs["weights_only"] = False\n'
        '    kwargs["weights_only"] = False\n'
        "    return th.load(*args, **kwargs)\n"
    ),
    "from-import": (
        "from torch import load\n\n\n"
        "def torch_load(path, **kwargs):\n"
        "    return load(path, **kwargs)\n"
    ),
}

SPELLINGS = {
    "absolute": "from pkg.utils.patches import torch_load\nx = torch_load(p{extra})\n",
    "relative": "from ..utils.patches import torch_load\nx = torch_load(p{extra})\n",
    "module": "from pkg.utils import patches\nx = patches.torch_load(p{extra})\n",
    "relative-module": "from ..utils import patches\nx = patches.torch_load(p{extra})\n",
    "import-as": "import pkg.utils.patches as P\nx = P.torch_load(p{extra})\n",
    "alias": "from pkg.utils.patches import torch_load\ntl = torch_load\nx = tl(p{extra})\n",
}


def _repo(write, root, patches: str, caller: str):
    return write(root, {
        "pkg/__init__.py": "", "pkg/utils/__init__.py": "", "pkg/nn/__init__.py": "",
        "pkg/utils/patches.py": patches, "pkg/nn/tasks.py": caller,
    })


def _calls(report) -> list[dict]:
    return [f for f in report["findings"] if f["path"] == "pkg/nn/tasks.py"]


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
@pytest.mark.parametrize("patches", ["defaulting", "forcing"])
def test_each_import_spelling_of_a_wrapper(scan, write, tmp_path, spelling, patches):
    code = spelling.format(extra="")
    _repo(write, tmp_path, PATCHES[patches], code)
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    (call,) = _calls(report)
    assert call["line"] == code.count("\n")
    assert call["message"].startswith("`torch_load()` (pkg/utils/patches.py:4) passes its argument to `torch.load` with "
                                      "`weights_only=False` " + ("by default" if patches == "defaulting" else "forced"))
    assert [(s.get("path"), s["line"]) for s in call["flow"]] == [
        (None, call["line"]), ("pkg/utils/patches.py", PATCHES[patches].count("\n"))]


@pytest.mark.parametrize(("patches", "reported"), [("defaulting", False), ("forcing", True)])
def test_a_caller_asking_for_weights_only(scan, write, tmp_path, patches, reported):
    _repo(write, tmp_path, PATCHES[patches], SPELLINGS["absolute"].format(extra=", weights_only=True"))
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    assert bool(_calls(report)) is reported


def test_forwarded_kwargs_are_judged_by_what_the_caller_passes(scan, write, tmp_path):
    caller = ("from pkg.utils.patches import torch_load\n"
              "a = torch_load(p)\n"
              "b = torch_load(p, weights_only=False)\n")
    _repo(write, tmp_path, PATCHES["from-import"], caller)
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    assert [(f["path"], f["line"]) for f in report["findings"]] == [("pkg/nn/tasks.py", 3)]


def test_a_wrapper_of_an_imported_wrapper_and_its_importers(scan, write, tmp_path):
    _repo(write, tmp_path, PATCHES["defaulting"], (
        "from pkg.utils.patches import torch_load\n\n\n"
        "def torch_safe_load(weight):\n"
        '    return torch_load(weight, map_location="cpu")\n'
    ))
    write(tmp_path, {"pkg/engine.py": "from pkg.nn.tasks import torch_safe_load\nm = torch_safe_load(w)\n"})
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    found = {(f["path"], f["line"]): f for f in report["findings"]}
    assert sorted(found) == [("pkg/engine.py", 2), ("pkg/nn/tasks.py", 5), ("pkg/utils/patches.py", 6)]
    assert [(s.get("path"), s["line"]) for s in found[("pkg/engine.py", 2)]["flow"]] == [
        (None, 2), ("pkg/nn/tasks.py", 5), ("pkg/utils/patches.py", 6)]


def test_a_module_that_does_not_import_the_wrapper_is_not_reported(scan, write, tmp_path):
    _repo(write, tmp_path, PATCHES["defaulting"], "def torch_load(p):\n    return p\nx = torch_load(p)\n")
    write(tmp_path, {"pkg/other.py": "import pkg.utils.patches\ntorch_load = print\ntorch_load('x')\n"})
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    assert [f["path"] for f in report["findings"]] == ["pkg/utils/patches.py"]


def test_a_suppression_at_the_call_site_and_no_unused_suppression(scan, write, tmp_path):
    code = "from pkg.utils.patches import torch_load\nx = torch_load(p)  # mllint-sec: ignore[LOAD003] -- ours\n"
    _repo(write, tmp_path, PATCHES["defaulting"], code)
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003,MLS002", "--show-suppressed")
    (call,) = _calls(report)
    assert call["suppressed"] is True
    assert [f for f in report["findings"] if f["rule_id"] == "MLS002"] == []


def test_two_modules_importing_each_other_and_the_output_is_deterministic(cli, write, tmp_path):
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "import torch\nfrom pkg.b import wb\n\n\ndef wa(p):\n    return torch.load(p)\n\n\nx = wb(q)\n",
        "pkg/b.py": "from pkg.a import wa\n\n\ndef wb(p):\n    return wa(p)\n\n\ny = wa(q)\n",
    })
    first = cli("check", tmp_path, "--no-cache", "--select", "LOAD003", "--format", "json").stdout
    assert first == cli("check", tmp_path, "--no-cache", "--select", "LOAD003", "--format", "json").stdout
    assert '"pkg/b.py"' in first


def test_the_cache_keeps_the_summaries(tmp_path):
    cache = ResultCache(tmp_path, "catalogue", b"k" * 32)
    wrapper = LoaderWrapper("torch_load", "LOAD003", "torch.load", 4, 12, 0, None, ("inner",))
    key = cache.key(b"data", frozenset({"LOAD003"}))
    cache.put(key, FileResult(wrappers=(wrapper,)))
    assert cache.get(key, "x.py").wrappers == (wrapper,)


def test_only_files_importing_the_wrappers_module_are_read(scan, write, tmp_path, monkeypatch):
    # The analysis records each file's imports, so the pass reads candidates only (not every file, each run).
    from mllint_sec.analysis.cross_module import CrossModule

    _repo(write, tmp_path, PATCHES["defaulting"], SPELLINGS["absolute"].format(extra=""))
    write(tmp_path, {f"pkg/other_{n}.py": "import os\nx = os.getcwd()\n" for n in range(20)})
    read: list[str] = []
    original = CrossModule.text

    def recording(self, display):
        read.append(display)
        return original(self, display)

    monkeypatch.setattr(CrossModule, "text", recording)
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    assert [f["line"] for f in _calls(report)] == [2]
    assert not [path for path in read if "other_" in path]
