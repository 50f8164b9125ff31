"""Does request data reach this call? Intra-procedural flow from web-framework inputs.

Sources are what a request handler receives: Flask's `request.files/form/json/data/...`,
Django's `request.FILES/POST/GET/body` in a view, FastAPI parameters typed `UploadFile`
or `bytes = File(...)` and the body of a `Request`, and the parameters of functions a
Gradio app wires to its inputs. An expression is tainted when it is a source or is
built from one: through local assignments, attribute and subscript access, method calls
on it (`upload.read()`), calls that take it (`io.BytesIO(data)`, `np.frombuffer(data)`),
`await`, f-strings and operators. The answer carries the path, source first, so reports
can show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from . import resolve
from .scopes import ASSIGN, FileFacts, Scope

MAX_DEPTH = 12

_FLASK_REQUEST = {"flask.request", "flask.globals.request"}
_FLASK_INPUTS = {"files", "form", "json", "data", "args", "values", "get_json", "get_data", "stream", "input_stream"}
_DJANGO_INPUTS = {"FILES", "POST", "GET", "body", "data", "query_params"}  # data, query_params: Django REST framework
_REQUEST_TYPES = {"fastapi.Request", "starlette.requests.Request"}
_REQUEST_BODY = {"body", "json", "form", "stream"}
_UPLOAD_TYPES = {"fastapi.UploadFile", "starlette.datastructures.UploadFile"}
_BODY_DEFAULTS = {"fastapi.File", "fastapi.Form", "fastapi.Body", "fastapi.params.File", "fastapi.params.Body"}
_GRADIO_APPS = {"gradio.Interface", "gradio.ChatInterface", "gradio.TabbedInterface"}
_GRADIO_EVENTS = {"click", "change", "submit", "upload", "input", "select", "release", "then", "load"}


@dataclass(frozen=True)
class Step:
    node: cst.CSTNode
    text: str  # what happens at this step, for the report


class Taint:
    """Flow questions for one file (its sources are found once)."""

    def __init__(self, facts: FileFacts):
        self.facts = facts
        self.gradio_functions = self._gradio_functions()
        self.uses_django = _imports(facts.scope, ("django", "rest_framework"))
        # One answer per (expression, scope): a name rebound many times (`x = f(x)`) would
        # otherwise be traced along every path, exponentially. In progress counts as clean.
        self.memo: dict[tuple[int, int], list[Step] | None] = {}

    def path_to(self, expr: cst.BaseExpression, scope: Scope) -> list[Step] | None:
        """The steps by which request data reaches `expr`, source first; None when it does not."""
        return self._expr(expr, scope, 0)

    # --- sources ---------------------------------------------------------------------
    def _source(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """A description when `expr` itself is request data."""
        if isinstance(expr, cst.Attribute):
            attr = expr.attr.value
            base = expr.value
            if attr in _FLASK_INPUTS and _FLASK_REQUEST & set(_names(base, scope)):
                return f"Flask `request.{attr}`"
            if attr in _DJANGO_INPUTS and self.uses_django and isinstance(base, cst.Name) and base.value == "request" \
                    and _is_parameter(base.value, scope):
                return f"Django `request.{attr}`"
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            method = expr.func.attr.value
            receiver = expr.func.value
            if method in _REQUEST_BODY and isinstance(receiver, cst.Name) and self._param_type(receiver.value, scope) & _REQUEST_TYPES:
                return f"the request body (`{receiver.value}.{method}()`)"
        if isinstance(expr, cst.Name):
            return self._source_parameter(expr.value, scope)
        return None

    def _source_parameter(self, name: str, scope: Scope) -> str | None:
        function = _function_of(scope)
        if function is None or not _is_parameter(name, scope):
            return None
        param = _param(function, name)
        if param is None:
            return None
        owner = _owner_scope(scope)
        if param.annotation is not None:
            types = {t for t in resolve.callee_targets(_annotation_root(param.annotation.annotation), owner) if isinstance(t, str)}
            if types & _UPLOAD_TYPES:
                return f"the uploaded file `{name}`"
        if param.default is not None and isinstance(param.default, cst.Call):
            defaults = {t for t in resolve.callee_targets(param.default.func, owner) if isinstance(t, str)}
            if defaults & _BODY_DEFAULTS:
                return f"the request field `{name}`"
        if function.name.value in self.gradio_functions:
            return f"the Gradio input `{name}`"
        return None

    def _param_type(self, name: str, scope: Scope) -> set[str]:
        function = _function_of(scope)
        param = _param(function, name) if function is not None and _is_parameter(name, scope) else None
        if param is None or param.annotation is None:
            return set()
        owner = _owner_scope(scope)
        return {t for t in resolve.callee_targets(_annotation_root(param.annotation.annotation), owner) if isinstance(t, str)}

    def _gradio_functions(self) -> set[str]:
        """Names of functions a Gradio app calls with user input: `gr.Interface(fn=f)`, `button.click(f, ...)`."""
        found: set[str] = set()
        for site in self.facts.calls:
            call = site.node
            names = set(_names(call.func, site.scope))
            is_app = bool(names & _GRADIO_APPS)
            is_event = isinstance(call.func, cst.Attribute) and call.func.attr.value in _GRADIO_EVENTS and \
                _imports(site.scope.module(), ("gradio",))
            if not (is_app or is_event):
                continue
            for position, arg in enumerate(call.args):
                if (arg.keyword is None and position == 0) or (arg.keyword is not None and arg.keyword.value == "fn"):
                    if isinstance(arg.value, cst.Name):
                        found.add(arg.value.value)
        return found

    # --- propagation -------------------------------------------------------------------
    def _expr(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> list[Step] | None:
        if depth > MAX_DEPTH:
            return None
        key = (id(expr), id(scope))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = None
        self.memo[key] = result = self._trace(expr, scope, depth)
        return result

    def _trace(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> list[Step] | None:
        described = self._source(expr, scope)
        if described is not None:
            return [Step(expr, f"request data enters here: {described}")]
        if isinstance(expr, cst.Name):
            return self._name(expr, scope, depth)
        if isinstance(expr, (cst.Attribute, cst.Subscript)):
            return self._expr(expr.value, scope, depth + 1)
        if isinstance(expr, cst.Await):
            return self._expr(expr.expression, scope, depth + 1)
        if isinstance(expr, cst.Call):
            parts: list[cst.BaseExpression] = [a.value for a in expr.args]
            if isinstance(expr.func, cst.Attribute):
                parts.insert(0, expr.func)  # request.get_data(), upload.read(), data.decode()
            return self._first(parts, scope, depth)
        if isinstance(expr, cst.BinaryOperation):
            return self._first([expr.left, expr.right], scope, depth)
        if isinstance(expr, cst.FormattedString):
            return self._first([p.expression for p in expr.parts if isinstance(p, cst.FormattedStringExpression)],
                               scope, depth)
        if isinstance(expr, (cst.Tuple, cst.List)):
            return self._first([e.value for e in expr.elements], scope, depth)
        if isinstance(expr, cst.IfExp):
            return self._first([expr.body, expr.orelse], scope, depth)
        return None

    def _first(self, parts, scope: Scope, depth: int) -> list[Step] | None:
        for part in parts:
            path = self._expr(part, scope, depth + 1)
            if path is not None:
                return path
        return None

    def _name(self, name: cst.Name, scope: Scope, depth: int) -> list[Step] | None:
        bindings, _ = scope.lookup(name.value)
        for binding in bindings:
            origin, verb = None, "assigned to"
            if binding.kind == ASSIGN and binding.value is not None:
                origin = binding.value
            elif isinstance(binding.node, cst.For):
                origin, verb = binding.node.iter, "iterated as"  # for upload in request.files.values()
            elif isinstance(binding.node, cst.WithItem):
                origin, verb = binding.node.item, "opened as"
            if origin is None:
                continue
            path = self._expr(origin, binding.scope, depth + 1)
            if path is not None:
                return path + [Step(binding.node or origin, f"{verb} `{name.value}`")]
        return None


# --- helpers ---------------------------------------------------------------------------


def _names(expr: cst.BaseExpression, scope: Scope) -> list[str]:
    return [t for t in resolve.callee_targets(expr, scope) if isinstance(t, str)]


def _imports(scope: Scope, packages: tuple[str, ...]) -> bool:
    module = scope.module()
    return any(
        b.qname and b.qname.split(".")[0] in packages for bindings in module.bindings.values() for b in bindings
    ) or any(star.split(".")[0] in packages for star in module.star_imports)


def _function_of(scope: Scope) -> cst.FunctionDef | None:
    while scope is not None:
        if isinstance(scope.node, cst.FunctionDef):
            return scope.node
        if scope.node is not None:  # a lambda: its parameters are not a handler's
            return None
        scope = scope.parent
    return None


def _owner_scope(scope: Scope) -> Scope:
    """The scope a function's annotations and defaults are evaluated in (where it is defined)."""
    while scope.parent is not None and not isinstance(scope.node, cst.FunctionDef):
        scope = scope.parent
    return scope.parent or scope


def _is_parameter(name: str, scope: Scope) -> bool:
    function = _function_of(scope)
    return function is not None and _param(function, name) is not None


def _param(function: cst.FunctionDef, name: str) -> cst.Param | None:
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return param
    return None


def _annotation_root(annotation: cst.BaseExpression) -> cst.BaseExpression:
    """`UploadFile` in `UploadFile`, `Annotated[UploadFile, File()]`, `Optional[UploadFile]`, `list[UploadFile]`."""
    while isinstance(annotation, cst.Subscript) and annotation.slice:
        first = annotation.slice[0].slice
        if not isinstance(first, cst.Index):
            break
        annotation = first.value
    return annotation
