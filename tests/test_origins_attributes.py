"""Attributes of `self` followed to their assignments in the class (flows/origins.py): a dataset that
pickles its items once into an attribute and unpickles one per `__getitem__` loads a round trip, which
is not reported; one other value of the attribute anywhere (a parameter, a file, another object,
`setattr`, a subclass) keeps the finding."""

from __future__ import annotations

import textwrap

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.core.origin import OriginKind
from mllint_sec.core.severity import Severity

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.defaults()))


def findings(code: str, rule: str = "LOAD001"):
    result = ANALYZER.analyze_text("dataset.py", textwrap.dedent(code))
    return sorted((f for f in result.findings if f.rule_id == rule), key=lambda f: f.line)


def lines(code: str, rule: str = "LOAD001") -> list[int]:
    return [f.line for f in findings(code, rule)]


# detectron2's shape: a local lambda serializes, `__init__` packs the items into one array.
DETECTRON2 = """
import pickle
import numpy as np
import torch

class ListDataset:
    def __init__(self, items):
        _serialize = lambda data: np.frombuffer(pickle.dumps(data, protocol=-1), dtype=np.uint8)
        self._lst = [_serialize(x) for x in items]
        self._addr = np.asarray([len(x) for x in self._lst], dtype=np.int64)
        self._addr = np.cumsum(self._addr)
        self._lst = torch.from_numpy(np.concatenate(self._lst))
{extra}
    def __getitem__(self, idx):
        start = 0 if idx == 0 else self._addr[idx - 1].item()
        end = self._addr[idx].item()
        bytes = memoryview(self._lst[start:end].numpy())
        return pickle.loads(bytes)
"""

# mmengine's shape: a method returns the packed bytes and their addresses, unpacked into two attributes.
MMENGINE = """
import pickle
import numpy as np

class BaseDataset:
    def __init__(self, ann_file):
        self.ann_file = ann_file
        self.data_list = []

    def _serialize_data(self):
        def _serialize(data):
            buffer = pickle.dumps(data, protocol=4)
            return np.frombuffer(buffer, dtype=np.uint8)
        data_list = [_serialize(x) for x in self.data_list]
        address_list = np.asarray([len(x) for x in data_list], dtype=np.int64)
        data_address = np.cumsum(address_list)
        data_bytes = np.concatenate(data_list)
        return data_bytes, data_address

    def full_init(self):
        self.data_list = self.load_data_list()
        self.data_bytes, self.data_address = self._serialize_data()
{extra}
    def get_data_info(self, idx):
        start = 0 if idx == 0 else self.data_address[idx - 1].item()
        end = self.data_address[idx].item()
        bytes = memoryview(self.data_bytes[start:end])
        return pickle.loads(bytes)
"""


def shaped(template: str, extra: str = "") -> str:
    return template.replace("{extra}", textwrap.indent(textwrap.dedent(extra), "    "))


@pytest.mark.parametrize("template", [DETECTRON2, MMENGINE], ids=["detectron2", "mmengine"])
def test_items_the_class_pickled_itself_are_a_round_trip(template):
    assert findings(shaped(template)) == []


@pytest.mark.parametrize("template", [DETECTRON2, MMENGINE], ids=["detectron2", "mmengine"])
@pytest.mark.parametrize("extra", [
    # another method reads the attribute from a file
    """
    def reload(self, path):
        self._lst = open(path, "rb").read()
        self.data_bytes = open(path, "rb").read()
    """,
    # a constructor parameter, in a branch
    """
    def reset(self, lst, raw=False):
        if raw:
            self._lst = lst
            self.data_bytes = lst
    """,
    # an unknown call
    """
    def restore(self):
        self._lst = fetch_items()
        self.data_bytes = fetch_items()
    """,
    # `+=`, a subscript store, a mutating method, `setattr` with a computed name
    "def grow(self, more):\n    self._lst += more\n    self.data_bytes += more\n",
    "def patch(self, blob):\n    self._lst[0:4] = blob\n    self.data_bytes[0:4] = blob\n",
    "def add(self, blob):\n    self._lst.append(blob)\n    self.data_bytes.append(blob)\n",
    "def configure(self, **kw):\n    for key, value in kw.items():\n        setattr(self, key, value)\n",
    "def configure(self, state):\n    self.__dict__.update(state)\n",
], ids=["file", "parameter", "unknown-call", "aug-assign", "subscript", "append", "setattr", "dict"])
def test_one_other_value_anywhere_in_the_class_keeps_the_finding(template, extra):
    found = findings(shaped(template, extra))
    assert [f.origin.kind for f in found] == [OriginKind.UNKNOWN]
    assert found[0].severity == Severity.HIGH


@pytest.mark.parametrize("template", [DETECTRON2, MMENGINE], ids=["detectron2", "mmengine"])
def test_an_assignment_from_outside_the_class_keeps_the_finding(template):
    code = shaped(template) + "\nds = make()\nds._lst = open('x.bin', 'rb').read()\nds.data_bytes = ds._lst\n"
    assert len(findings(code)) == 1


def test_a_file_path_attribute_loaded_by_torch_load_is_not_a_round_trip():
    code = """
        import pickle, torch
        class Cache:
            def __init__(self, path, obj):
                self.blob = pickle.dumps(obj)
                self.path = path
            def restore(self):
                return torch.load(self.path)
            def copy(self):
                return pickle.loads(self.blob)
    """
    found = findings(code, "LOAD003")
    assert [f.origin.kind for f in found] == [OriginKind.UNKNOWN]
    assert findings(code) == []  # (the blob is the class's own)


def test_another_class_or_a_subclass_assigning_the_attribute_does_not_make_a_round_trip():
    code = """
        import pickle
        class Reader:
            def get(self):
                return pickle.loads(self._blob)
        class Writer:
            def __init__(self, obj):
                self._blob = pickle.dumps(obj)
        class SubReader(Reader):
            def __init__(self, obj):
                self._blob = pickle.dumps(obj)
    """
    assert lines(code) == [5]


def test_a_subclass_assigning_something_else_keeps_the_finding():
    base = """
        import pickle
        class Packed:
            def __init__(self, obj):
                self._blob = pickle.dumps(obj)
            def get(self):
                return pickle.loads(self._blob)
    """
    assert findings(base) == []
    subclass = base + """
        class FromFile(Packed):
            def __init__(self, path):
                self._blob = open(path, "rb").read()
    """
    assert lines(subclass) == [7]
    unrelated = base + """
        class Other:
            def __init__(self, path):
                self._blob = open(path, "rb").read()
    """
    assert findings(unrelated) == []  # another class's `self` is another object


def test_a_base_class_in_the_file_counts_like_the_class():
    code = """
        import pickle
        class Base:
            def __init__(self, path):
                self._blob = open(path, "rb").read()
        class Packed(Base):
            def pack(self, obj):
                self._blob = pickle.dumps(obj)
            def get(self):
                return pickle.loads(self._blob)
    """
    assert lines(code) == [10]


@pytest.mark.parametrize(("imports", "dumps", "loads", "rule"), [
    ("import pickle", "pickle.dumps", "pickle.loads", "LOAD001"),
    ("import pickle as pkl", "pkl.dumps", "pkl.loads", "LOAD001"),
    ("from pickle import loads, dumps", "dumps", "loads", "LOAD001"),
    ("import cloudpickle", "cloudpickle.dumps", "cloudpickle.loads", "LOAD001"),
])
def test_import_spellings(imports, dumps, loads, rule):
    code = f"""
        {imports}
        class Packed:
            def __init__(self, items):
                self._items = [{dumps}(x) for x in items]
            def __getitem__(self, i):
                return {loads}(self._items[i])
    """
    assert findings(code, rule) == []
    leaked = code + """
            def load(self, path):
                self._items = [open(path, "rb").read()]
    """
    assert lines(leaked, rule) == [7]


def test_class_level_values_and_cls_attributes_count_as_assignments():
    code = """
        import pickle
        class Registry:
            _cache = None
            @classmethod
            def remember(cls, obj):
                cls._cache = pickle.dumps(obj)
            @classmethod
            def recall(cls):
                return pickle.loads(cls._cache)
    """
    assert findings(code) == []
    assert lines(code.replace("_cache = None", "_cache = open('c.bin', 'rb').read()")) == [10]


def test_a_dataclass_field_is_a_constructor_parameter():
    code = """
        import pickle
        from dataclasses import dataclass
        @dataclass
        class Packed:
            blob: bytes = b""
            def pack(self, obj):
                self.blob = pickle.dumps(obj)
            def get(self):
                return pickle.loads(self.blob)
    """
    assert lines(code) == [10]


def test_an_attribute_built_only_from_itself_is_unknown():
    code = """
        import pickle
        import numpy as np
        class Packed:
            def compact(self):
                self._lst = np.concatenate(self._lst)
            def get(self, i):
                return pickle.loads(memoryview(self._lst[i:i + 4]))
    """
    assert lines(code) == [8]


def test_a_method_that_is_not_the_objects_own_is_not_followed():
    code = """
        import pickle
        class Packed:
            def __init__(self, obj):
                self._blob = pickle.dumps(obj)
            @staticmethod
            def get(self):
                return pickle.loads(self._blob)
    """
    assert lines(code) == [8]


def test_the_answer_does_not_depend_on_the_order_of_the_methods():
    reordered = shaped(DETECTRON2).split("    def __getitem__")
    moved = reordered[0].replace("class ListDataset:\n", "class ListDataset:\n    def __getitem__" + reordered[1])
    for code in (shaped(DETECTRON2), moved, shaped(DETECTRON2, "def reload(self, path):\n    self._lst = path\n")):
        first = [(f.line, f.message, f.severity) for f in findings(code)]
        again = [(f.line, f.message, f.severity) for f in findings(code)]
        assert first == again
    assert findings(moved) == []
