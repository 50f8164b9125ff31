"""Where request data enters a file: the inputs of web and model-serving frameworks.

- Flask: `request.files/form/json/data/args/values/stream`, `request.get_json()/get_data()`.
- Django views (and REST framework): `request.FILES/POST/GET/body/data/query_params`.
- FastAPI / Starlette: route parameters (levelled by their declared type, input_types.py),
  and `await request.json()/body()/form()`, `request.query_params` on a `Request`.
- Gradio: the parameters of functions wired to `gr.Interface`/`ChatInterface` or to Blocks
  events, levelled by the input component (`gr.Slider` is bounded, `gr.Textbox` is not).
- BentoML: parameters of `@bentoml.api` methods; legacy `@svc.api(input=...)` functions.
- Ray Serve: the request of a `@serve.deployment`'s `__call__`.
- TorchServe: `handle(data, context)`, a handler's `preprocess(self, data)`, and
  `inference(self, data)` when the class has no `preprocess` of its own.
- AWS Lambda: `event` of a module-level `handler(event, context)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import libcst as cst

from mllint_sec.core.input_level import InputLevel
from mllint_sec.flows import input_types as types
from mllint_sec.flows.input_types import RAW, TYPED, VALIDATED, LevelWhy, last_name, qualified
from mllint_sec.python import resolve
from mllint_sec.python.scopes import FileFacts, Scope

# Words one of which a file must name to receive request data (for the prefilter).
PREFILTER_WORDS = frozenset({"request", "fastapi", "starlette", "gradio", "bentoml", "serve", "torch_handler", "event",
                             "handle", "preprocess", "flask", "django", "rest_framework", "quart"})
# Text that a file receiving request data almost always holds (a superset of sources.py's
# sources, cheap to look for): such files get flow summaries
# (flow_summary.py) and are parsed even without a sink word.
_SOURCE_USES = re.compile(
    r"\brequest\.(?:json|form|files|get_json|data|args|values|get_data|stream|input_stream|FILES|POST|GET|body"
    r"|query_params)\b"
    r"|\.(?:json|body|form)\(\)"
    r"|\b(?:UploadFile|File|Form|Body)\("
    r"|@[ \t]*\w+\.(?:get|post|put|patch|delete|api_route|websocket|route|api)\b"
    r"|\b(?:gr|gradio)\.(?:Interface|ChatInterface|Blocks)\b"
    r"|\bserve\.deployment\b"
    r"|\bdef[ \t]+(?:handle|preprocess|inference)[ \t]*\("
    r"|\bdef[ \t]+\w+[ \t]*\([ \t]*event[ \t]*,[ \t]*_?(?:context|ctx)\b"
)
# A serving framework imported, or a handler signature that needs none (Lambda, TorchServe).
# Two expressions, the second behind substring tests: one alternation of both was 7x slower.
_FRAMEWORK_IMPORT = re.compile(
    r"^[ \t]*(?:from|import)[ \t]+(?:flask|fastapi|starlette|django|rest_framework|gradio|bentoml|ray|ts|quart)\b",
    re.MULTILINE,
)
_HANDLER_SIGNATURE = re.compile(
    r"\bdef[ \t]+\w+[ \t]*\([ \t]*event[ \t]*,[ \t]*_?(?:context|ctx)\b|\bdef[ \t]+handle[ \t]*\("
)
# A file receives_requests only if it names one of these as a whole word (the frameworks above, or a
# handler's `event` / `handle`): the prefilter's bytes test skips the regexes for the others.
REQUEST_FILE_WORDS = frozenset({"flask", "fastapi", "starlette", "django", "rest_framework", "gradio", "bentoml", "ray",
                                "ts", "quart", "event", "handle"})


def receives_requests(text: str) -> bool:
    """Whether a file's text shows a serving framework and a use of request data (cheap, superset)."""
    framework = _FRAMEWORK_IMPORT.search(text) or (
        ("event" in text or "def handle" in text) and _HANDLER_SIGNATURE.search(text)
    )
    return bool(framework and _SOURCE_USES.search(text))


_FLASK_REQUEST = {"flask.request", "flask.globals.request", "quart.request"}
_FLASK_INPUTS = {"files", "form", "json", "data", "args", "values", "get_json", "get_data", "stream", "input_stream"}
_DJANGO_INPUTS = {"FILES", "POST", "GET", "body", "data", "query_params"}  # data, query_params: REST framework
_REQUEST_TYPES = {"fastapi.Request", "starlette.requests.Request", "fastapi.requests.Request"}
_REQUEST_BODY = {"body", "json", "form", "stream"}
_REQUEST_FIELDS = {"query_params", "path_params"}
_NOT_INPUTS = {"Request", "Response", "BackgroundTasks", "WebSocket", "Context", "HTTPConnection",
               "SecurityScopes", "Session", "AsyncSession"}
_INJECTED_DEFAULTS = {"Depends", "Security"}
_ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "options", "head", "api_route", "websocket", "route"}
_GRADIO_APPS = {"gradio.Interface", "gradio.ChatInterface", "gradio.TabbedInterface"}
_GRADIO_EVENTS = {"click", "change", "submit", "upload", "input", "select", "release", "then", "load", "stream"}
_GRADIO_BOUNDED = {"Slider", "Dropdown", "Radio", "Checkbox", "CheckboxGroup", "ColorPicker"}
_GRADIO_TYPED = {"Number", "Image", "Audio", "Video", "Dataframe", "DataFrame", "Model3D", "Gallery", "Sketchpad",
                 "ImageEditor", "Paint", "Webcam", "Microphone"}
_GRADIO_SHORTCUTS = {"slider": VALIDATED, "checkbox": VALIDATED, "dropdown": VALIDATED, "radio": VALIDATED,
                     "image": TYPED, "audio": TYPED, "video": TYPED, "number": TYPED, "dataframe": TYPED}
_BENTOML_STRICT = {"enforce_shape", "enforce_dtype", "pydantic_model"}
_TORCHSERVE_DATA = {"preprocess", "handle"}


@dataclass(frozen=True)
class Source:
    text: str  # what the data is, for messages: "Flask `request.json`"
    level: InputLevel = RAW  # RAW, TYPED or VALIDATED (input_types.py)
    why: str = ""  # for TYPED: what is unbounded
    scalar: bool = False  # a number, flag or choice: cannot carry a serialized object
    entry: str = ""  # the path step's text, when not "request data enters here: <text>"


class Sources:
    """The request inputs of one file."""

    def __init__(self, facts: FileFacts):
        self.facts = facts
        self.frameworks = _imported_packages(facts.scope)
        self.gradio_inputs = self._gradio_inputs() if "gradio" in self.frameworks else {}
        self._kinds: dict[int, str] = {}
        # (id(FunctionDef), parameter) -> the source another module passes in (cross_module.py)
        self.injected: dict[tuple[int, str], Source] = {}

    def of(self, expr: cst.BaseExpression, scope: Scope) -> Source | None:
        """The source `expr` itself is, if any."""
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, scope)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            method, receiver = expr.func.attr.value, expr.func.value
            if (method in _REQUEST_BODY and isinstance(receiver, cst.Name)
                    and self._is_request_object(receiver.value, scope)):
                return Source(f"the request body (`{receiver.value}.{method}()`)")
        if isinstance(expr, cst.Name):
            return self._parameter(expr.value, scope)
        return None

    def _attribute(self, expr: cst.Attribute, scope: Scope) -> Source | None:
        attr, base = expr.attr.value, expr.value
        if attr in _FLASK_INPUTS and qualified(base, scope) & _FLASK_REQUEST:
            return Source(f"Flask `request.{attr}`")
        if not isinstance(base, cst.Name) or not _is_parameter(base.value, scope):
            return None
        if attr in _DJANGO_INPUTS and base.value == "request" and self.frameworks & {"django", "rest_framework"}:
            return Source(f"Django `request.{attr}`")
        if attr in _REQUEST_FIELDS and self._is_request_object(base.value, scope):
            return Source(f"the request's `{attr}`")
        return None

    def _is_request_object(self, name: str, scope: Scope) -> bool:
        found = parameter_of(name, scope)
        if found is None:
            return False
        function, param, owner = found
        if param.annotation is not None and qualified(types_root(param.annotation.annotation), owner) & _REQUEST_TYPES:
            return True
        if param.annotation is not None:
            return False
        # Ray Serve's `__call__(self, request)`; a Starlette endpoint takes `request` unannotated.
        return self.kind(function, owner) == "ray" or (name == "request" and "starlette" in self.frameworks)

    # --- parameters ----------------------------------------------------------------
    def _parameter(self, name: str, scope: Scope) -> Source | None:
        found = parameter_of(name, scope)
        if found is None or name in ("self", "cls"):
            return None
        function, param, owner = found
        if (id(function), name) in self.injected:
            return self.injected[(id(function), name)]
        upload = _upload(param, owner)
        if upload is not None:
            return upload
        kind = self.kind(function, owner)
        if kind in ("fastapi", "bentoml"):
            return self._typed_parameter(name, param, owner, kind)
        if kind == "bentoml-legacy":
            return self._bentoml_legacy(name, function, param, owner)
        if kind == "gradio":
            return self._gradio_parameter(name, function)
        if kind == "lambda" and _position(function, name) == 0:
            return Source(f"the AWS Lambda `{name}`")
        if (kind == "torchserve" and function.name.value in _TORCHSERVE_DATA
                and _position(function, name) == _first_data(function)):
            return Source(f"the TorchServe request `{name}` of `{function.name.value}`")
        if kind == "torchserve-inference" and _position(function, name) == _first_data(function):
            return Source(f"the TorchServe request `{name}` (the handler has no `preprocess` of its own)")
        if kind == "ray" and _position(function, name) == _first_data(function) and param.annotation is not None:
            return self._typed_parameter(name, param, owner, "ray")
        return None

    def _typed_parameter(self, name: str, param: cst.Param, owner: Scope, kind: str) -> Source | None:
        annotation = param.annotation.annotation if param.annotation is not None else None
        if isinstance(param.default, cst.Call) and last_name(param.default.func) in _INJECTED_DEFAULTS:
            return None
        if annotation is not None and last_name(types_root(annotation)) in _NOT_INPUTS:
            return None
        level, why = types.level_of(annotation, param.default, owner)
        framework = {"fastapi": "FastAPI", "bentoml": "BentoML", "ray": "Ray Serve"}[kind]
        return Source(f"the {framework} request parameter `{name}`", level, why, scalar=_is_scalar(annotation))

    def _bentoml_legacy(self, name: str, function: cst.FunctionDef, param: cst.Param, owner: Scope) -> Source | None:
        if _position(function, name) != 0:
            return None
        for decorator in function.decorators:
            call = decorator.decorator
            if not isinstance(call, cst.Call):
                continue
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "input":
                    descriptor = types.assigned_call(arg.value, owner)
                    if descriptor is not None and any(
                        a.keyword is not None and a.keyword.value in _BENTOML_STRICT
                        and not (isinstance(a.value, cst.Name) and a.value.value == "False")
                        for a in descriptor.args
                    ):
                        return Source(f"the BentoML input `{name}`", VALIDATED)
                    kind = last_name(descriptor.func) if descriptor is not None else ""
                    if kind in ("NumpyNdarray", "PandasDataFrame", "Image"):
                        why = f"`{kind}()` without enforce_shape/enforce_dtype"
                        return Source(f"the BentoML input `{name}`", TYPED, why)
        return Source(f"the BentoML input `{name}`")

    def _gradio_parameter(self, name: str, function: cst.FunctionDef) -> Source | None:
        position = _position(function, name)
        wirings = self.gradio_inputs.get(function.name.value, [])
        levels: list[LevelWhy] = []
        for components in wirings:
            if components is None or position is None or position >= len(components):
                levels.append((RAW, ""))
            else:
                levels.append(components[position])
        level, why = min(levels, key=lambda lw: {RAW: 0, TYPED: 1, VALIDATED: 2}[lw[0]]) if levels else (RAW, "")
        return Source(f"the Gradio input `{name}`", level, why, scalar=level == VALIDATED)

    # --- which framework calls a function ---------------------------------------------
    def kind(self, function: cst.FunctionDef, owner: Scope) -> str:
        """How request data reaches `function`'s parameters: "fastapi", "gradio", "lambda", ... or ""."""
        key = id(function)
        if key not in self._kinds:
            self._kinds[key] = self._kind(function, owner)
        return self._kinds[key]

    def _kind(self, function: cst.FunctionDef, owner: Scope) -> str:
        decorators = [d.decorator for d in function.decorators]
        frameworks = self.frameworks
        for decorator in decorators:
            func = decorator.func if isinstance(decorator, cst.Call) else decorator
            names = qualified(func, owner)
            if "bentoml.api" in names:
                return "bentoml"
            if (isinstance(func, cst.Attribute) and func.attr.value in _ROUTE_DECORATORS
                    and frameworks & {"fastapi", "starlette"}):
                return "fastapi"
            if isinstance(func, cst.Attribute) and func.attr.value == "api" and "bentoml" in frameworks \
                    and isinstance(decorator, cst.Call):
                return "bentoml-legacy"
            if {"ray.serve.deployment"} & names:
                return "ray"
        if function.name.value in self.gradio_inputs:
            return "gradio"
        params = positional_names(function)
        classdef = owner.classdef
        if classdef is None and owner.parent is None:
            if params[:1] == ["event"] and params[1:2] in (["context"], ["_context"], ["ctx"]):
                return "lambda"
            if function.name.value == "handle" and len(params) == 2 and params[1] in ("context", "ctx"):
                return "torchserve"
            return ""
        if classdef is not None:
            class_names = {n for d in classdef.decorators for n in qualified(
                d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator, owner.parent or owner)}
            if "ray.serve.deployment" in class_names and function.name.value == "__call__":
                return "ray"
            if "bentoml.service" in class_names and function.name.value == "__call__":
                return "bentoml"
            if self._is_torchserve_handler(classdef, owner):
                if function.name.value in _TORCHSERVE_DATA:
                    return "torchserve"
                if function.name.value == "inference":
                    return "torchserve-preprocessed" if _defines(classdef, "preprocess") else "torchserve-inference"
        return ""

    def _is_torchserve_handler(self, classdef: cst.ClassDef, owner: Scope) -> bool:
        bases = resolve.class_bases(resolve.LocalClass(classdef, owner.parent or owner))
        return any(b.startswith("ts.") for b in bases)

    def _gradio_inputs(self) -> dict[str, list[list[LevelWhy] | None]]:
        """Function name -> for each place it is wired, the level of each input component (None: unknown)."""
        found: dict[str, list[list[LevelWhy] | None]] = {}
        for site in self.facts.calls:
            call, scope = site.node, site.scope
            is_app = bool(qualified(call.func, scope) & _GRADIO_APPS)
            is_event = isinstance(call.func, cst.Attribute) and call.func.attr.value in _GRADIO_EVENTS
            if not (is_app or is_event):
                continue
            fn, inputs = None, None
            for position, arg in enumerate(call.args):
                keyword = arg.keyword.value if arg.keyword is not None else None
                if keyword == "fn" or (keyword is None and position == 0):
                    fn = arg.value
                elif keyword == "inputs" or (keyword is None and position == 1):
                    inputs = arg.value
            if isinstance(fn, cst.Name):
                chat = "ChatInterface" in {q.rsplit(".", 1)[-1] for q in qualified(call.func, scope)}
                found.setdefault(fn.value, []).append(None if chat else _component_levels(inputs, scope))
        return found


# --- helpers ---------------------------------------------------------------------------


def _component_levels(inputs: cst.BaseExpression | None, scope: Scope) -> list[LevelWhy] | None:
    if inputs is None:
        return None
    elements = [e.value for e in inputs.elements] if isinstance(inputs, (cst.List, cst.Tuple)) else [inputs]
    return [_component_level(e, scope) for e in elements]


def _component_level(expr: cst.BaseExpression, scope: Scope) -> LevelWhy:
    if isinstance(expr, cst.SimpleString):
        return _GRADIO_SHORTCUTS.get(str(expr.evaluated_value).lower(), RAW), ""
    call = types.assigned_call(expr, scope)
    if call is None:
        return RAW, ""
    name = last_name(call.func)
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    if name in _GRADIO_BOUNDED or (name == "Number" and {"minimum", "maximum"} <= keywords):
        return VALIDATED, ""
    if name in ("Textbox", "Text", "TextArea") and "max_length" in keywords:
        return VALIDATED, ""
    if name in _GRADIO_TYPED:
        return TYPED, f"a `gr.{name}` without bounds"
    return RAW, ""


def _imported_packages(scope: Scope) -> set[str]:
    packages = {b.qname.split(".")[0] for bindings in scope.bindings.values() for b in bindings if b.qname}
    return packages | {star.split(".")[0] for star in scope.star_imports}


def _upload(param: cst.Param, owner: Scope) -> Source | None:
    """FastAPI `UploadFile` parameters and `= File(...)`/`Form(...)`/`Body(...)` fields, whatever the route."""
    if param.annotation is not None:
        names = qualified(types_root(param.annotation.annotation), owner)
        if any(n.endswith(".UploadFile") for n in names) and any(n.startswith(("fastapi", "starlette")) for n in names):
            return Source(f"the uploaded file `{param.name.value}`")
    if isinstance(param.default, cst.Call):
        names = qualified(param.default.func, owner)
        if names & {"fastapi.File", "fastapi.Form", "fastapi.Body", "fastapi.params.File", "fastapi.params.Body"}:
            level, why = types.level_of(param.annotation.annotation if param.annotation else None, param.default, owner)
            return Source(f"the request field `{param.name.value}`", level, why)
    return None


def _is_scalar(annotation: cst.BaseExpression | None) -> bool:
    if annotation is None:
        return False
    root = types_root(annotation)
    return last_name(root) in ("int", "float", "bool", "Decimal", "Literal", "complex", "date", "datetime")


def _defines(classdef: cst.ClassDef, method: str) -> bool:
    body = classdef.body.body if isinstance(classdef.body, cst.IndentedBlock) else ()
    return any(isinstance(s, cst.FunctionDef) and s.name.value == method for s in body)


def _position(function: cst.FunctionDef, name: str) -> int | None:
    params = positional_names(function)
    return params.index(name) if name in params else None


def first_data_parameter(function: cst.FunctionDef) -> str | None:
    """The first parameter after `self`/`cls`: where a handler receives its data."""
    params = positional_names(function)
    index = _first_data(function)
    return params[index] if index < len(params) else None


def _first_data(function: cst.FunctionDef) -> int:
    params = positional_names(function)
    return 1 if params[:1] in (["self"], ["cls"]) else 0


def positional_names(function: cst.FunctionDef) -> list[str]:
    """The names of the parameters a call can pass by position, in order."""
    return [p.name.value for p in (*function.params.posonly_params, *function.params.params)]


def parameter(function: cst.FunctionDef | None, name: str) -> cst.Param | None:
    if function is None:
        return None
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return param
    return None


class ParameterOf(NamedTuple):
    function: cst.FunctionDef
    param: cst.Param
    owner: Scope  # the scope the function is defined in


def parameter_of(name: str, scope: Scope) -> ParameterOf | None:
    """The function whose parameter `name` is, as seen from `scope` (closures and lambdas
    inside it included), the parameter, and the scope the function is defined in; None when
    `name` is not a parameter."""
    _, owner = scope.lookup(name)
    function = owner.node if isinstance(owner.node, cst.FunctionDef) else None
    param = parameter(function, name)
    if function is None or param is None:
        return None
    return ParameterOf(function, param, owner.parent or owner)


def _is_parameter(name: str, scope: Scope) -> bool:
    return parameter_of(name, scope) is not None


def types_root(annotation: cst.BaseExpression) -> cst.BaseExpression:
    """`UploadFile` in `UploadFile`, `Annotated[UploadFile, File()]`, `Optional[UploadFile]`, `list[UploadFile]`."""
    while isinstance(annotation, cst.Subscript) and annotation.slice:
        first = annotation.slice[0].slice
        if not isinstance(first, cst.Index):
            break
        annotation = first.value
    return annotation
