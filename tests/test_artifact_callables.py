"""The deny- and allow-lists in rules/pickle-callables.toml and how names match them."""

from __future__ import annotations

import pytest

from mllint_sec.artifacts.callables import (
    ALLOWED,
    DANGEROUS,
    UNKNOWN,
    classify,
    default_lists,
)


@pytest.mark.parametrize(
    "module, name",
    [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("os.path", "join"),  # the whole module: nothing in os belongs in a model file
        ("subprocess", "Popen"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("__builtin__", "set"),  # the Python 2 name survives only in crafted protocol 3+ files
        ("importlib", "import_module"),
        ("runpy", "_run_code"),
        ("numpy.testing._private.utils", "runstring"),
        ("torch.hub", "load"),
        ("torch", "hub.load"),  # the same through an attribute path
        ("torch", "os.system"),  # torch imports os
        ("sklearn.utils", "fixes.sys.modules"),
        ("collections", "__builtins__"),  # a module's builtins dict: eval and friends
        ("torch.nn.modules.module", "Module.__init__.__globals__"),
        ("pathlib", "Path.write_text"),
        ("code", "InteractiveInterpreter.runsource"),
        ("os", ""),  # the module object itself (from __import__("os"))
    ],
)
def test_dangerous(module, name):
    assert classify(module, name) == DANGEROUS


@pytest.mark.parametrize(
    "module, name",
    [
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch", "FloatStorage"),
        ("torch", "bfloat16"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "dtype"),
        ("numpy.dtypes", "Float64DType"),  # a package entry: numpy.dtypes.*
        ("_codecs", "encode"),
        ("builtins", "set"),
        ("copyreg", "__newobj__"),  # an allowed dunder name
        ("copyreg", "_reconstructor"),
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("pathlib", "PosixPath"),
    ],
)
def test_allowed(module, name):
    assert classify(module, name) == ALLOWED


@pytest.mark.parametrize(
    "module, name",
    [
        ("sklearn.linear_model._logistic", "LogisticRegression"),
        ("__main__", "MyModel"),
        ("functools", "partial"),
        ("numpy.dtypes", "Float64DType.mro"),  # package entries never allow attribute paths
        ("torch.nn.modules.linear", "Linear"),
        ("builtins", "type"),
        ("code.model", "Net"),  # a project's own `code` package, not the standard library's
        ("profile", "UserProfile"),
    ],
)
def test_unknown(module, name):
    assert classify(module, name) == UNKNOWN


def test_extra_allow_list():
    assert classify("sklearn.linear_model", "LogisticRegression", ("sklearn.*",)) == ALLOWED
    assert classify("sklearn", "LogisticRegression.fit", ("sklearn.*",)) == UNKNOWN
    assert classify("mypkg.model", "Net", ("mypkg.model.Net",)) == ALLOWED
    assert classify("sklearn", "os.system", ("sklearn.*",)) == DANGEROUS  # deny wins
    assert classify("os", "system", ("os.*",)) == DANGEROUS
    with pytest.raises(ValueError):
        classify("a", "b", ("a b",))


def test_the_lists_do_not_contradict_each_other():
    lists = default_lists()
    assert len(lists.deny) > 50 and len(lists.allow) > 50
    for qualified in lists.allow:
        module, _, name = qualified.rpartition(".")
        assert classify(module, name) == ALLOWED, qualified
