"""What a string argument is known to look like: its whole value, or its known head and tail.

Supply-chain rules ask questions of strings that are often built at run time:
does `f"{root}/model.pt"` name an artifact (its tail), is `f"http://{host}/w.bin"`
plain HTTP (its head), is `os.path.join(d, "ckpt")` a local path (how it is built).
A `Shape` answers them from constants, f-strings, concatenation, `%` / `.format`
templates, and os.path / pathlib construction. Nothing is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from mllint_sec.python import budget, resolve
from mllint_sec.python.scopes import ASSIGN, Scope

MAX_DEPTH = 8
MAX_SHAPES = 32  # possibilities kept per expression; more says nothing useful and costs time


@dataclass(frozen=True)
class Shape:
    exact: str | None = None  # the whole value, when known
    head: str = ""  # known leading text
    tail: str = ""  # known trailing text
    path: bool = False  # built by os.path or pathlib: a local filesystem path
    obj: bool = False  # certainly not a string: a model or tokenizer object


def _exact(value: str) -> Shape:
    return Shape(exact=value, head=value, tail=value)


# Calls whose result is a local path whatever their arguments are.
_PATH_CALLS = {
    "os.path.join", "os.path.abspath", "os.path.realpath", "os.path.expanduser", "os.path.expandvars",
    "os.path.normpath", "os.path.dirname", "os.path.relpath", "os.getcwd", "os.path.basename",
    "pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath",
    "pathlib.Path.home", "pathlib.Path.cwd", "tempfile.mkdtemp", "tempfile.gettempdir",
}
# Path methods and attributes that keep a value a path (`Path(__file__).parent / "w"`).
_PATH_ATTRS = {
    "parent", "joinpath", "with_suffix", "with_name", "with_stem", "resolve", "absolute", "expanduser",
    "as_posix", "home", "cwd",
}


def shapes(expr: cst.BaseExpression | None, scope: Scope, depth: int = 0) -> list[Shape | None]:
    """Every shape `expr` may have; None stands for a value nothing is known about."""
    budget.check()
    if expr is None or depth > MAX_DEPTH:
        return [None]
    if isinstance(expr, cst.SimpleString):
        value = _string(expr)
        return [None if value is None else _exact(value)]
    if isinstance(expr, cst.ConcatenatedString):
        return _joined(shapes(expr.left, scope, depth + 1), shapes(expr.right, scope, depth + 1))
    if isinstance(expr, cst.FormattedString):
        return _fstring(expr, scope, depth)
    if isinstance(expr, cst.Name):
        bindings, _ = scope.lookup(expr.value)
        found: list[Shape | None] = []
        for binding in bindings:
            if binding.kind == ASSIGN and binding.value is not None:
                found.extend(shapes(binding.value, binding.scope, depth + 1))
            else:
                found.append(None)
        return found or [None]
    if isinstance(expr, cst.BinaryOperation):
        if isinstance(expr.operator, cst.Divide):  # `/` on strings is a TypeError: this is a Path
            right = shapes(expr.right, scope, depth + 1)
            return [Shape(tail=r.tail if r else "", path=True) for r in right]
        if isinstance(expr.operator, cst.Add):
            return _joined(shapes(expr.left, scope, depth + 1), shapes(expr.right, scope, depth + 1))
        if isinstance(expr.operator, cst.Modulo):
            return [_template(s, "%") for s in shapes(expr.left, scope, depth + 1)]
        return [None]
    if isinstance(expr, cst.IfExp):
        return shapes(expr.body, scope, depth + 1) + shapes(expr.orelse, scope, depth + 1)
    if isinstance(expr, cst.Attribute) and expr.attr.value in _PATH_ATTRS and _is_path(expr.value, scope, depth):
        return [Shape(path=True)]
    if isinstance(expr, cst.Call):
        return _call(expr, scope, depth)
    return [None]


def _string(node: cst.SimpleString) -> str | None:
    try:
        value = node.evaluated_value
    except Exception:  # noqa: BLE001 - a malformed literal is unknown
        return None
    return value if isinstance(value, str) else None


def _joined(lefts: list[Shape | None], rights: list[Shape | None]) -> list[Shape | None]:
    found: list[Shape | None] = []
    for left in lefts:
        for right in rights:
            if left is not None and right is not None and left.exact is not None and right.exact is not None:
                found.append(_exact(left.exact + right.exact))
                continue
            head = left.head if left is not None else ""
            if left is not None and left.exact is not None and right is not None:
                head = left.exact + right.head
            tail = right.tail if right is not None else ""
            if right is not None and right.exact is not None and left is not None:
                tail = left.tail + right.exact
            found.append(Shape(head=head, tail=tail, path=bool(left and left.path)) if head or tail else None)
    unique = list(dict.fromkeys(found))
    return unique if len(unique) <= MAX_SHAPES else [None]


def _fstring(node: cst.FormattedString, scope: Scope, depth: int) -> list[Shape | None]:
    """Text parts are known; a `{name}` part is known when the name is a constant."""
    result: list[Shape | None] = [_exact("")]
    for part in node.parts:
        piece: list[Shape | None]
        if isinstance(part, cst.FormattedStringText):
            piece = [_exact(part.value)]  # raw text: escapes are rare in ids and URLs
        elif isinstance(part, cst.FormattedStringExpression) and part.format_spec is None and part.conversion is None:
            piece = shapes(part.expression, scope, depth + 1)
        else:
            piece = [None]
        result = _joined(result, piece)
    return result


# A width never starts with 0 (a leading 0 is a flag), so flags and width cannot share a run of
# zeros: `%` and 10,000 zeros is one pass, not a quadratic number of ways to split them.
_FIELD = {"%": re.compile(r"%[-#0 +]*(\*|[1-9]\d*)?(\.(\*|\d+))?[a-zA-Z%]"), "{": re.compile(r"\{[^{}]*\}")}


def _template(shape: Shape | None, kind: str) -> Shape | None:
    """A `%` or `.format` template's known head and tail."""
    if shape is None or shape.exact is None:
        return None
    fields = list(_FIELD[kind].finditer(shape.exact))
    if not fields:
        return shape
    head, tail = shape.exact[: fields[0].start()], shape.exact[fields[-1].end():]
    return Shape(head=head, tail=tail) if head or tail else None


# Packages whose calls return models, tokenizers and tensors, never an id (`pipeline(model=model)`).
_OBJECT_PACKAGES = ("transformers.", "diffusers.", "peft.", "sentence_transformers.", "torch.", "timm.", "open_clip.")


def _call(call: cst.Call, scope: Scope, depth: int) -> list[Shape | None]:
    func = call.func
    names = resolve.qualified_names(func, scope)
    if names and all(n.startswith(_OBJECT_PACKAGES) for n in names):
        return [Shape(obj=True)]
    if any(n in _PATH_CALLS for n in names):
        last = call.args[-1].value if call.args and not call.args[-1].star else None
        tail = ""
        if last is not None and "os.path.join" in names:
            tails = {s.tail if s else "" for s in shapes(last, scope, depth + 1)}
            tail = tails.pop() if len(tails) == 1 else ""
        return [Shape(tail=tail, path=True)]
    if isinstance(func, cst.Name) and func.value == "str" and not names and len(call.args) == 1:
        return shapes(call.args[0].value, scope, depth + 1)
    if isinstance(func, cst.Attribute):
        if func.attr.value == "format":
            return [_template(s, "{") for s in shapes(func.value, scope, depth + 1)]
        if func.attr.value in _PATH_ATTRS and _is_path(func.value, scope, depth):
            return [Shape(path=True)]
    return [None]


def _is_path(expr: cst.BaseExpression, scope: Scope, depth: int) -> bool:
    found = shapes(expr, scope, depth + 1)
    if any(s is not None and s.path for s in found):
        return True
    return any(n in _PATH_CALLS or n.startswith("pathlib.") for n in
               (t for t in resolve.callee_targets(expr, scope) if isinstance(t, str)))


# --- questions rules ask -------------------------------------------------------

_COMMIT = re.compile(r"^[0-9a-fA-F]{40}$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_HUB_HEAD = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]*$")
_LOCAL_HEADS = ("/", "./", "../", "~", ".\\", "..\\", "\\")
_FILE_SUFFIXES = (
    ".bin", ".pt", ".pth", ".ckpt", ".safetensors", ".json", ".h5", ".onnx", ".gguf", ".pkl", ".pickle",
    ".yaml", ".yml", ".model", ".msgpack", ".npz", ".txt", ".tar", ".gz", ".zip", ".py",
)
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1")
# First segments that name a training run's output, not a hub organisation (`output/checkpoint-500`).
_LOCAL_DIRS = {
    "output", "outputs", "out", "checkpoint", "checkpoints", "ckpt", "ckpts", "runs", "results", "saved_model",
    "saved_models", "save", "saves", "tmp", "temp", "exp", "exps", "experiments", "logs", "local", "cache",
}
_RUN_CHECKPOINT = re.compile(r"^checkpoint[-_]\d+$")


def is_commit(text: str) -> bool:
    return bool(_COMMIT.match(text))


def hub_id(shape: Shape | None, not_downloads: tuple[str, ...] = ()) -> bool | None:
    """Whether the value names a hub repository ("gpt2", "org/name") rather than a local path."""
    if shape is None:
        return None
    if shape.path or shape.obj:
        return False
    if shape.exact is not None:
        text = shape.exact
        if text in not_downloads or text.startswith(_LOCAL_HEADS) or re.match(r"^[A-Za-z]:[\\/]", text):
            return False
        if not _HUB_ID.match(text) or text.lower().endswith(_FILE_SUFFIXES):
            return False
        segments = text.split("/")
        return not (segments[0].lower() in _LOCAL_DIRS or _RUN_CHECKPOINT.match(segments[-1]))
    if shape.head.startswith(_LOCAL_HEADS) or "://" in shape.head:
        return False
    if _HUB_HEAD.match(shape.head) and "/" not in shape.tail:
        return True  # f"facebook/opt-{size}"
    return None


def hf_hub_unpinned(shape: Shape | None) -> bool | None:
    """timm / open_clip ids that download from the Hugging Face Hub ("hf-hub:org/name") with
    no "@<commit>" suffix (timm reads one; open_clip has no way to pin)."""
    if shape is None:
        return None
    if shape.head.startswith(("hf-hub:", "hf_hub:")):
        if shape.exact is None:
            return None if "@" in shape.tail else True
        _, _, revision = shape.exact.partition("@")
        return not is_commit(revision)
    return False if shape.exact is not None or shape.head else None


def unpinned_ref(shape: Shape | None) -> bool | None:
    """torch.hub "owner/repo[:ref]" with no ref, or a ref that is not a full commit SHA."""
    if shape is None or shape.exact is None:
        return None
    text = shape.exact
    repo, _, ref = text.partition(":")
    if repo.count("/") != 1 or repo.startswith(_LOCAL_HEADS):
        return False  # not a GitHub "owner/repo" (a local directory with source="local")
    return not is_commit(ref)


def has_suffix(shape: Shape | None, suffixes: tuple[str, ...]) -> bool | None:
    """Whether the string's known tail ends with one of `suffixes` (URL query and fragment ignored)."""
    if shape is None:
        return None
    text = shape.exact if shape.exact is not None else shape.tail
    if not text:
        return None
    text = text.split("#", 1)[0].split("?", 1)[0].lower()
    return text.endswith(tuple(s.lower() for s in suffixes))


def plain_http(shape: Shape | None) -> bool | None:
    """Whether the value is an http:// URL to a host that is not this machine."""
    if shape is None or not shape.head:
        return None
    if not shape.head.lower().startswith("http://"):
        return False
    rest = shape.head[len("http://"):]
    host_end = re.search(r"[/:?#]", rest)
    if host_end is None and shape.exact is None:
        return None  # the host is still being formatted in: f"http://{host}/..."
    host = (rest[: host_end.start()] if host_end else rest).lower()
    if not host:
        return None
    return host not in _LOCAL_HOSTS and not host.endswith((".local", ".localhost"))


_HASHED_NAME = re.compile(r"-[a-f0-9]{8,}\.")


def unhashed_name(shape: Shape | None) -> bool | None:
    """Whether a URL's file name lacks the `-<sha256 prefix>.` that torch's check_hash reads."""
    if shape is None:
        return None
    text = shape.exact if shape.exact is not None else shape.tail
    if "/" not in text:
        return None  # the file name is not known
    name = text.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[1]
    return not _HASHED_NAME.search(name)


def has_prefix(shape: Shape | None, prefixes: tuple[str, ...]) -> bool | None:
    """Whether the string's known head starts with one of `prefixes` (case-insensitive): a URL scheme."""
    if shape is None or not shape.head:
        return None
    head = shape.head.lower()
    lowered = tuple(p.lower() for p in prefixes)
    if head.startswith(lowered):
        return True
    return None if any(p.startswith(head) for p in lowered) else False
