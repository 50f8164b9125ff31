"""Origins one call deep across modules (analysis/cross_module_origins.py): a load of what a
function of another scanned module returns takes that function's origin, found in its file."""

from __future__ import annotations


def _load_file(import_line: str, call: str) -> str:
    return f"import torch\n{import_line}\ndef restore_model(name):\n    return torch.load({call})\n"


def test_a_function_of_another_module_that_returns_a_download_is_network(scan, write, tmp_path):
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/hub_utils.py": "from huggingface_hub import hf_hub_download\n\n"
                            "def download_weights(name):\n    return hf_hub_download('org/' + name, 'w.pt')\n",
        "pkg/model.py": _load_file("from .hub_utils import download_weights", "download_weights(name)"),
    })
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    (finding,) = report["findings"]
    assert finding["severity"] == "high"
    assert "it loads the file `hf_hub_download` fetched at line 4 of `pkg/hub_utils.py`" in finding["message"]


def test_a_function_of_another_module_that_returns_a_constant_is_a_constant(scan, write, tmp_path):
    write(tmp_path, {
        "paths.py": "def weights_path(name):\n    return 'weights/model.pt'\n",
        "model.py": _load_file("import paths", "paths.weights_path(name)"),
    })
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    (finding,) = report["findings"]
    assert finding["severity"] == "medium" and "a repository file, `weights/model.pt`" in finding["message"]


def test_an_outside_library_or_a_parameter_passed_through_stays_unknown(scan, write, tmp_path):
    write(tmp_path, {
        "paths.py": "def same(name):\n    return name\n",
        "model.py": "import torch, paths, somelib\n"
                    "def _a(n):\n    return torch.load(paths.same(n))\n"
                    "def _b(n):\n    return torch.load(somelib.resolve(n))\n",
    })
    report, _ = scan(tmp_path, "--no-cache", "--select", "LOAD003")
    assert [f["severity"] for f in report["findings"]] == ["high", "high"]
    assert not any("comes from" in f["message"] or "it loads" in f["message"] for f in report["findings"])
