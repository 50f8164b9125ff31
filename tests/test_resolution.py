"""Name and value resolution: what real code does that the rule examples do not cover.

Each case is source plus the exact (rule, line) findings expected.
"""

from __future__ import annotations

import textwrap

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue

CATALOGUE = load_catalogue()
# Advisory rules report candidates that only a repository scan settles (see project.py).
ANALYZER = Analyzer(CATALOGUE, frozenset(r.id for r in CATALOGUE.rules.values() if not any(m.package for m in r.calls)))


def findings(code: str) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.line) for f in ANALYZER.analyze("case.py", textwrap.dedent(code).encode()).findings)


CASES = {
    "star-import": ("from pickle import *\nloads(b)\n", [("LOAD001", 2)]),
    "relative-star-import-is-local": ("from .pickle import *\nloads(b)\n", []),
    "conditional-import-any-of": (
        """
        try:
            import cPickle as pickle
        except ImportError:
            import pickle
        pickle.load(f)
        """,
        [("LOAD001", 6)],
    ),
    "import-inside-function": ("def f(p):\n    import torch as th\n    return th.load(p)\n", [("LOAD003", 3)]),
    "function-import-not-visible-outside": ("def f():\n    import pickle\npickle.loads(b)\n", []),
    "global-declaration": (
        "import json as pickle\ndef setup():\n    global pickle\n    import pickle\npickle.loads(b)\n",
        [("LOAD001", 5)],
    ),
    "class-attribute-not-visible-in-method": (
        "import pickle\nclass A:\n    pickle = None\n    def m(self, b):\n        return pickle.loads(b)\n",
        [("LOAD001", 5)],
    ),
    "method-named-load-on-object": ("import torch\nclass M:\n    def go(self):\n        self.load(p)\n        cfg.load(p)\n", []),
    "loader-in-lambda-and-comprehension": (
        "import pickle\nf = lambda b: pickle.loads(b)\nxs = [pickle.loads(b) for b in blobs]\n",
        [("LOAD001", 2), ("LOAD001", 3)],
    ),
    "comprehension-variable-shadows": ("import pickle\nxs = [pickle.loads(b) for pickle in objs]\n", []),
    "loader-passed-as-value": ("import pickle\nobjs = list(map(pickle.loads, blobs))\n", [("LOAD001", 2)]),
    "alias-never-called-is-reported": ("import dill\ndeserialize = dill.loads\n", [("LOAD001", 2)]),
    "alias-called-reported-at-call": ("import dill\nd = dill.loads\nd(b)\n", [("LOAD001", 3)]),
    "partial-from-import": (
        "from functools import partial\nimport torch\nload = partial(torch.load, map_location='cpu')\nload(p)\n",
        [("LOAD003", 4)],
    ),
    "partial-call-supplies-safe-value": (
        "from functools import partial\nimport torch\nload = partial(torch.load, map_location='cpu')\nload(p, weights_only=True)\n",
        [],
    ),
    "positional-pickle-module": ("import torch, dill\ntorch.load(p, 'cpu', dill, weights_only=True)\n", [("LOAD003", 2)]),
    "kwargs-unknown-is-not-reported": ("import torch\ndef f(p, **kw):\n    return torch.load(p, **kw)\n", []),
    "kwargs-dict-variable": ("import torch\nKW = dict(weights_only=False)\ntorch.load(p, **KW)\n", [("LOAD003", 3)]),
    "weights-only-parameter-is-callers-choice": (
        "import torch\ndef f(p, weights_only=False):\n    return torch.load(p, weights_only=weights_only)\n",
        [],
    ),
    "weights-only-negated-constant": ("import torch\nUNSAFE = True\ntorch.load(p, weights_only=not UNSAFE)\n", [("LOAD003", 3)]),
    "weights-only-conditional-mixed": ("import torch\ntorch.load(p, weights_only=True if a else False)\n", []),
    "numpy-positional-allow-pickle": ("import numpy as np\nnp.load(p, None, True)\n", [("LOAD004", 2)]),
    "yaml-getattr-fallback-safe": (
        "import yaml\nL = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)\nyaml.load(s, Loader=L)\n",
        [],
    ),
    "yaml-try-import-safe-loaders": (
        (
            "try:\n    from yaml import CSafeLoader as Loader\nexcept ImportError:\n    from yaml import SafeLoader as Loader\n"
            "import yaml\nyaml.load(s, Loader=Loader)\n"
        ),
        [],
    ),
    "yaml-try-import-unsafe-loader": (
        (
            "try:\n    from yaml import CLoader as Loader\nexcept ImportError:\n    from yaml import Loader\n"
            "import yaml\nyaml.load(s, Loader=Loader)\n"
        ),
        [("LOAD008", 6)],
    ),
    "yaml-subclass-of-subclass": (
        "import yaml\nclass A(yaml.SafeLoader): pass\nclass B(A): pass\nyaml.load(s, Loader=B)\n",
        [],
    ),
    "yaml-missing-loader": ("import yaml\nyaml.load(s)\n", [("LOAD008", 2)]),
    "strings-and-comments": ('import pickle\n"pickle.loads(b)"\n# pickle.loads(b)\nx = f"{y}"\n', []),
    "doctest-only-mentions": ('def f():\n    """\n    >>> import pickle\n    >>> pickle.loads(b)\n    """\n', []),
    "decorator-argument": ("import pickle\n@register(pickle.loads)\ndef f(): pass\n", [("LOAD001", 2)]),
    "walrus-alias": ("import pickle\nif (ld := pickle.loads):\n    ld(b)\n", [("LOAD001", 3)]),
    "env-setdefault": ("import os\nos.environ.setdefault('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', 'true')\n", [("LOAD003", 2)]),
    "env-update-dict": ("import os\nos.environ.update({'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD': '1'})\n", [("LOAD003", 2)]),
    "env-safe-variable": ("import os\nos.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] = '1'\n", []),
    "unpickler-subclass-restricted": (
        "import pickle\nclass Safe(pickle.Unpickler):\n    def find_class(self, m, n):\n        raise ValueError\nSafe(f).load()\n",
        [],
    ),
    "unpickler-subclass-unrestricted": ("import pickle\nclass U(pickle.Unpickler):\n    pass\nU(f).load()\n", [("LOAD001", 2)]),
    "torch-save-and-dump-are-fine": ("import torch, pickle\ntorch.save(m, p)\npickle.dump(o, f)\npickle.dumps(o)\n", []),
    "chained-attribute": ("import torch\nstate = torch.serialization.load(p)\n", [("LOAD003", 2)]),
    "monkeypatch-setenv": (
        "def test_old(monkeypatch):\n    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')\n",
        [("LOAD003", 2)],
    ),
    "reduce-reconstructor-not-reported": (
        "import cloudpickle\nclass A:\n    def __reduce__(self):\n        return cloudpickle.loads, (cloudpickle.dumps(self.x),)\n",
        [],
    ),
    "keras-src-saving-alias": (
        "from keras.src import saving\nm = saving.load_model('m.keras', safe_mode=False)\n",
        [("LOAD009", 2)],
    ),
    "long-rebinding-chain-stays-fast": (
        "import torch\ndef f(k):\n" + "".join(f"    k = k.replace('a{i}', 'b')\n" for i in range(300))
        + "    return torch.load(k)\n",
        [("LOAD003", 303)],
    ),
    "dunder-import": ("__import__('pickle').loads(b)\nx = __import__('os.path')\n", [("LOAD001", 1)]),
    "importlib-import-module": ("import importlib\nimportlib.import_module('torch').load(p)\n", [("LOAD003", 2)]),
    "getattr-loader": ("import pickle\nfn = getattr(pickle, 'loads')\nfn(b)\ngetattr(pickle, 'dumps')(o)\n", [("LOAD001", 3)]),
    "getattr-in-a-long-function": (
        "import pickle\ndef f(b):\n" + "".join(f"    x{i} = {i}\n" for i in range(12)) + "    return getattr(pickle, 'loads')(b)\n",
        [("LOAD001", 15)],
    ),
    "local-dunder-import-shadowed": ("def __import__(n):\n    return n\n__import__('pickle').loads(b)\n", []),
    "reassigned-module-name": ("import pickle\npickle = Safe()\npickle.loads(b)\n", [("LOAD001", 3)]),
}


@pytest.mark.parametrize(("code", "expected"), list(CASES.values()), ids=list(CASES))
def test_resolution(code, expected):
    assert findings(code) == expected
