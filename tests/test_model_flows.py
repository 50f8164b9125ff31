"""INPUT002-004: request data followed into model inference and training, per framework and sink.

Each source framework is crossed with each sink kind; every validated form is checked to
stay silent, typed-but-unbounded inputs to be reported at low severity only, and the
precision cases (unrelated `.encode`/`.run`/`.transform`, data that is not request data)
to stay silent.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue

CATALOGUE = load_catalogue()
INPUT_RULES = frozenset({"INPUT001", "INPUT002", "INPUT003", "INPUT004"})
ANALYZER = Analyzer(CATALOGUE, INPUT_RULES)

# Each framework hands a handler request data, bound to `data`; `{sink}` is placed where
# the handler uses it (at the handler body's indentation).
FRAMEWORKS = {
    "flask": """
        from flask import Flask, request
        app = Flask(__name__)
        @app.post("/p")
        def handler():
            data = request.get_json()
            {sink}
    """,
    "django": """
        import json
        from django.http import JsonResponse
        def handler(request):
            data = json.loads(request.body)
            {sink}
    """,
    "fastapi-param": """
        from fastapi import FastAPI
        app = FastAPI()
        @app.post("/p")
        def handler(data: dict):
            {sink}
    """,
    "fastapi-request": """
        from fastapi import FastAPI, Request
        app = FastAPI()
        @app.post("/p")
        async def handler(request: Request):
            data = await request.json()
            {sink}
    """,
    "gradio": """
        import gradio as gr
        def handler(data):
            {sink}
        demo = gr.Interface(fn=handler, inputs=gr.Textbox(), outputs="text")
    """,
    "gradio-blocks": """
        import gradio as gr
        def handler(data):
            {sink}
        with gr.Blocks() as demo:
            box = gr.Textbox()
            out = gr.Textbox()
            gr.Button().click(handler, inputs=box, outputs=out)
    """,
    "bentoml": """
        import bentoml
        @bentoml.service
        class Service:
            @bentoml.api
            def handler(self, data: dict) -> dict:
                {sink}
    """,
    "bentoml-legacy": """
        import bentoml
        from bentoml.io import JSON
        svc = bentoml.Service("svc")
        @svc.api(input=JSON(), output=JSON())
        def handler(data):
            {sink}
    """,
    "ray-serve": """
        from ray import serve
        @serve.deployment
        class Deployment:
            async def __call__(self, request):
                data = await request.json()
                {sink}
    """,
    "torchserve": """
        from ts.torch_handler.base_handler import BaseHandler
        class Handler(BaseHandler):
            def handle(self, data, context):
                {sink}
    """,
    "torchserve-preprocess": """
        import json
        from ts.torch_handler.base_handler import BaseHandler
        class Handler(BaseHandler):
            def preprocess(self, data):
                return json.loads(data[0]["body"])
            def inference(self, data):
                {sink}
    """,
    "aws-lambda": """
        import json
        def handler(event, context):
            data = json.loads(event["body"])
            {sink}
    """,
}

MODELS = """
import io
import pickle
import joblib
import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from sentence_transformers import SentenceTransformer
from transformers import AutoModel, AutoModelForCausalLM, pipeline
REV = "0123456789abcdef0123456789abcdef01234567"
model = joblib.load("model.joblib")
llm = AutoModelForCausalLM.from_pretrained("org/llm", revision=REV)
encoder = SentenceTransformer("org/enc", revision=REV)
backbone = AutoModel.from_pretrained("org/backbone", revision=REV).eval()
nlp = pipeline("sentiment-analysis", model="org/sent", revision=REV)
session = ort.InferenceSession("model.onnx")
class Net(nn.Module):
    def forward(self, x):
        return x
net = Net()
def load_scaler():
    return joblib.load("scaler.joblib")
scaler = load_scaler()
"""

INFERENCE_SINKS = {
    "predict": "return model.predict(data)",
    "predict_proba": "return model.predict_proba(np.array(data['rows']))",
    "generate": "return llm.generate(torch.tensor(data['ids']))",
    "forward": "return net.forward(torch.tensor(data['x']))",
    "encode": "return encoder.encode(data['text'])",
    "transform": "return scaler.transform([data['row']])",
    "from_pretrained-call": "return backbone(**data)",
    "nn-module-call": "return net(torch.tensor(data['x']))",
    "pipeline-call": "return nlp(data['text'])",
    "onnx-run": "return session.run(None, {'input': np.array(data['x'], dtype=np.float32)})",
}
TRAINING_SINKS = {
    "fit": "model.fit(data['X'], data['y'])",
    "partial_fit": "model.partial_fit([data['x']], [data['y']])",
    "backward": "loss = ((net(torch.tensor(data['x'])) - 1) ** 2).mean(); loss.backward()",
}
DESERIALIZER_SINKS = {
    "pickle": "return pickle.loads(data['blob'])",
    "torch-load": "return torch.load(io.BytesIO(data['blob']))",
    "joblib": "return joblib.load(io.BytesIO(data['blob']))",
}


def handler_code(framework: str, sink: str, header: str = "") -> tuple[str, int]:
    """The file's code and the line where `sink` (one or more lines) starts."""
    lines = (MODELS + header + textwrap.dedent(FRAMEWORKS[framework]).strip("\n")).split("\n")
    (index,) = [i for i, line in enumerate(lines) if "{sink}" in line]
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    lines[index] = textwrap.indent(textwrap.dedent(sink).strip("\n"), indent)
    return "\n".join(lines) + "\n", index + 1


def findings(code: str, analyzer: Analyzer = ANALYZER):
    return [f for f in analyzer.analyze("serve.py", code.encode()).findings if f.rule_id in INPUT_RULES]


def rule_lines(code: str) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.line) for f in findings(code))


SINKS = [
    *((name, code, "INPUT002", "medium") for name, code in INFERENCE_SINKS.items()),
    *((name, code, "INPUT003", "high") for name, code in TRAINING_SINKS.items()),
    *((name, code, "INPUT001", "critical") for name, code in DESERIALIZER_SINKS.items()),
]


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
@pytest.mark.parametrize(("sink", "use", "rule", "severity"), SINKS, ids=[s[0] for s in SINKS])
def test_each_framework_reaches_each_sink(framework, sink, use, rule, severity):
    code, line = handler_code(framework, use)
    # A training sink may also run the model (`net(x)` in a loss): only its own rule is asked about.
    found = [f for f in findings(code) if f.rule_id == rule or rule != "INPUT003"]
    assert [(f.rule_id, f.line) for f in found] == [(rule, line)], code
    assert found[0].severity == severity
    flow = found[0].flow
    assert flow[0].message.startswith("request data enters here")
    assert flow[-1].line == line


# --- validated forms stay silent ----------------------------------------------------------

VALIDATED = {
    "isinstance-raise": """
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise ValueError("bad input")
        return model.predict(data["rows"])
    """,
    "len-return": """
        rows = data["rows"]
        if len(rows) > 100:
            return {"error": "too many rows"}
        return model.predict(rows)
    """,
    "shape-abort": """
        features = np.asarray(data["x"], dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != 4:
            abort(400)
        return model.predict(features)
    """,
    "dtype-raise": """
        features = np.asarray(data["x"])
        if features.dtype != np.float32:
            raise TypeError("float32 expected")
        return model.predict(features)
    """,
    "range-raise": """
        value = float(data["x"])
        if not 0.0 <= value <= 1.0:
            raise ValueError("out of range")
        return model.predict([[value]])
    """,
    "assert": """
        assert isinstance(data["x"], list) and len(data["x"]) == 4
        return model.predict([data["x"]])
    """,
    "guarding-if": """
        if isinstance(data, dict) and len(data.get("x", [])) == 4:
            return model.predict([data["x"]])
        return {"error": "bad input"}
    """,
    "elif-chain": """
        if data is None:
            return {"error": "empty"}
        elif len(data["x"]) != 4:
            return {"error": "four values expected"}
        return model.predict([data["x"]])
    """,
    "allow-list": """
        lang = data["lang"]
        if lang not in ("en", "de"):
            raise ValueError(lang)
        return model.predict([lang])
    """,
    "jsonschema": """
        jsonschema.validate(instance=data, schema=SCHEMA)
        return model.predict(data["rows"])
    """,
    "jsonschema-in-try": """
        try:
            jsonschema.validate(data, SCHEMA)
        except jsonschema.ValidationError as error:
            return {"error": str(error)}
        return model.predict(data["rows"])
    """,
    "validator-object": """
        validator = jsonschema.Draft202012Validator(SCHEMA)
        validator.validate(data)
        return model.predict(data["rows"])
    """,
    "pydantic-model-validate": """
        item = Features.model_validate(data)
        return model.predict([item.values])
    """,
    "pydantic-constructor": """
        item = Features(**data)
        return model.predict([item.values])
    """,
    "marshmallow-load": """
        item = FeatureSchema().load(data)
        return model.predict([item["values"]])
    """,
    "marshmallow-errors": """
        errors = FeatureSchema().validate(data)
        if errors:
            return {"errors": errors}
        return model.predict([data["values"]])
    """,
    "named-validator": """
        rows = validate_rows(data["rows"])
        return model.predict(rows)
    """,
    "check-call": """
        check_payload(data)
        return model.predict(data["rows"])
    """,
    "finite": """
        x = np.asarray(data["x"], dtype=np.float64)
        if not np.isfinite(x).all() or x.size > 64:
            raise ValueError("bad values")
        return model.predict(x)
    """,
}

VALIDATION_HEADER = """
import jsonschema
from flask import abort
from marshmallow import Schema, fields, validate
from pydantic import BaseModel, Field
SCHEMA = {"type": "object"}
class Features(BaseModel):
    values: list[float] = Field(min_length=4, max_length=4)
class FeatureSchema(Schema):
    values = fields.List(fields.Float(), validate=validate.Length(equal=4))
"""


@pytest.mark.parametrize("framework", ["flask", "django", "fastapi-request", "aws-lambda", "ray-serve"])
@pytest.mark.parametrize("form", sorted(VALIDATED))
def test_validated_forms_stay_silent(framework, form):
    code, _ = handler_code(framework, VALIDATED[form], VALIDATION_HEADER)
    assert rule_lines(code) == [], code


def test_the_same_handlers_without_validation_are_reported():
    # The validated forms above are silent because of the check, not because the flow is lost.
    code, line = handler_code("flask", "rows = data['rows']\nreturn model.predict(rows)")
    assert rule_lines(code) == [("INPUT002", line + 1)]


def test_a_check_after_the_use_or_in_another_branch_does_not_count():
    code = MODELS + textwrap.dedent("""
        from flask import request
        def handler():
            data = request.get_json()
            if request.method == "PUT":
                if len(data) > 4:
                    raise ValueError()
            out = model.predict(data)
            if len(data) > 4:
                raise ValueError()
            return out
    """)
    assert [r for r, _ in rule_lines(code)] == ["INPUT002"]


def test_truthiness_and_presence_are_not_validation():
    code = MODELS + textwrap.dedent("""
        from flask import request
        def handler():
            data = request.get_json()
            if not data or "x" not in data or data is None:
                return {"error": "missing"}
            return model.predict(data["x"])
    """)
    assert [r for r, _ in rule_lines(code)] == ["INPUT002"]


FASTAPI_PARAMS = {
    # annotation and default -> expected rule (None: silent)
    "k: int = Query(5, ge=1, le=100)": None,
    "k: Annotated[int, Query(ge=1, le=100)]": None,
    "text: str = Query(..., max_length=200)": None,
    "text: Annotated[str, Field(max_length=200)]": None,
    "flag: bool": None,
    "mode: Literal['fast', 'slow']": None,
    "color: Color": None,
    "item: Bounded": None,
    "item: Imported": None,
    "k: int": "INPUT004",
    "x: float = Query(0.5)": "INPUT004",
    "rows: list[float]": "INPUT004",
    "item: Unbounded": "INPUT004",
    "item: Optional[Unbounded] = None": "INPUT004",
    "text: str": "INPUT002",
    "payload: dict": "INPUT002",
    "payload: Any": "INPUT002",
    "blob: bytes = File(...)": "INPUT002",
    "payload": "INPUT002",
    "rows: list": "INPUT002",
}


@pytest.mark.parametrize("param", sorted(FASTAPI_PARAMS))
def test_fastapi_parameters_are_levelled_by_their_declared_bounds(param):
    name = param.split(":")[0].split("=")[0].strip()
    code = MODELS + textwrap.dedent(f"""
        import enum
        from typing import Annotated, Any, Literal, Optional
        from fastapi import FastAPI, File, Query
        from pydantic import BaseModel, Field, conlist
        from .schemas import Imported
        app = FastAPI()
        class Color(enum.Enum):
            RED = 1
        class Bounded(BaseModel):
            values: conlist(float, min_length=1, max_length=8)
            scale: float = Field(1.0, gt=0, lt=10)
        class Unbounded(BaseModel):
            values: list[float]
        @app.post("/p")
        def handler({param}):
            return model.predict([{name}])
    """)
    expected = FASTAPI_PARAMS[param]
    found = findings(code)
    assert [f.rule_id for f in found] == ([expected] if expected else []), code
    if expected == "INPUT004":
        assert found[0].severity == "low"


def test_unbounded_fields_are_named_in_the_message():
    code = MODELS + textwrap.dedent("""
        from fastapi import FastAPI
        from pydantic import BaseModel, Field
        app = FastAPI()
        class Prompt(BaseModel):
            text: str
            history: list[str] = Field(max_length=10)
            top_k: int
        @app.post("/p")
        def handler(prompt: Prompt):
            return llm.generate(prompt.text)
    """)
    (finding,) = findings(code)
    assert finding.rule_id == "INPUT004"
    assert "`text`" in finding.message and "`top_k`" in finding.message and "history" not in finding.message


def test_a_validated_but_unbounded_schema_from_model_validate_is_low():
    code = MODELS + textwrap.dedent("""
        from flask import request
        from pydantic import BaseModel
        class Rows(BaseModel):
            rows: list[list[float]]
        def handler():
            item = Rows.model_validate(request.get_json())
            return model.predict(item.rows)
    """)
    assert rule_lines(code) == [("INPUT004", code.count("\n"))]


def test_gradio_components_set_the_level():
    code = MODELS + textwrap.dedent("""
        import gradio as gr
        def bounded(k, choice):
            return model.predict([[k, choice]])
        def image(img):
            return model.predict(img)
        def text(prompt):
            return llm.generate(prompt)
        gr.Interface(fn=bounded, inputs=[gr.Slider(1, 10), gr.Dropdown(["a", "b"])], outputs="text")
        gr.Interface(fn=image, inputs=gr.Image(), outputs="label")
        gr.Interface(text, "text", "text")
    """)
    assert [r for r, _ in rule_lines(code)] == ["INPUT002", "INPUT004"]


def test_bentoml_validators_and_legacy_descriptors():
    code = MODELS + textwrap.dedent("""
        import bentoml
        import numpy as np
        from typing import Annotated
        from bentoml.io import NumpyNdarray
        from bentoml.validators import Shape, DType
        svc = bentoml.Service("svc")
        @svc.api(input=NumpyNdarray(shape=(-1, 4), enforce_shape=True), output=NumpyNdarray())
        def strict(rows):
            return model.predict(rows)
        @svc.api(input=NumpyNdarray(), output=NumpyNdarray())
        def loose(rows):
            return model.predict(rows)
        @bentoml.service
        class Service:
            @bentoml.api
            def shaped(self, rows: Annotated[np.ndarray, Shape((-1, 4)), DType("float32")]) -> np.ndarray:
                return model.predict(rows)
            @bentoml.api
            def array(self, rows: np.ndarray, ctx: bentoml.Context) -> np.ndarray:
                return model.predict(rows)
    """)
    found = findings(code)
    assert sorted(f.rule_id for f in found) == ["INPUT004", "INPUT004"]


def test_torchserve_preprocess_that_validates_clears_inference():
    code = MODELS + textwrap.dedent("""
        import json
        from ts.torch_handler.base_handler import BaseHandler
        class Handler(BaseHandler):
            def preprocess(self, data):
                rows = json.loads(data[0]["body"])
                if len(rows) > 64:
                    raise ValueError("batch too large")
                return torch.tensor(rows)
            def inference(self, data):
                return self.model(data)
    """)
    assert rule_lines(code) == []


def test_torchserve_self_model_set_in_initialize_is_a_model():
    code = MODELS + textwrap.dedent("""
        from ts.torch_handler.base_handler import BaseHandler
        class Handler(BaseHandler):
            def initialize(self, context):
                self.model = torch.jit.load("model.pt")
            def preprocess(self, data):
                return torch.tensor(data[0]["body"])
            def inference(self, data):
                return self.model(data)
    """)
    found = findings(code)
    assert [f.rule_id for f in found] == ["INPUT002"]
    assert any("preprocess" in step.message for step in found[0].flow)


# --- flow --------------------------------------------------------------------------------


def test_tuple_unpacking_loops_and_comprehensions_carry_the_data():
    code = MODELS + textwrap.dedent("""
        from flask import request
        def unpack():
            x, y = request.json["x"], request.json["y"]
            return model.predict([x])
        def loop():
            out = []
            for key, row in request.json.items():
                out.append(model.predict([row]))
            return out
        def comprehension():
            rows = [float(v) for v in request.json["values"]]
            return model.predict([rows])
        def star():
            (*rows,) = request.json["rows"]
            return model.predict(rows)
    """)
    assert [r for r, _ in rule_lines(code)] == ["INPUT002"] * 4


def test_flow_through_a_helper_of_the_same_file():
    code = MODELS + textwrap.dedent("""
        from flask import Flask, request
        app = Flask(__name__)
        def score(rows, scale=1.0):
            features = np.array(rows) * scale
            return model.predict(features)
        def read_payload():
            return request.get_json()
        @app.post("/a")
        def a():
            return score(request.json["rows"])
        @app.post("/b")
        def b():
            payload = read_payload()
            return model.predict(payload["rows"])
    """)
    found = findings(code)
    assert sorted(f.rule_id for f in found) == ["INPUT002", "INPUT002"]
    messages = [s.message for f in found for s in f.flow]
    assert any("passed to `score()` as `rows`" in m for m in messages)
    assert any("returned by `read_payload()`" in m for m in messages)


def test_a_helper_called_only_with_trusted_data_is_silent():
    code = MODELS + textwrap.dedent("""
        from flask import request
        def score(rows):
            return model.predict(rows)
        def batch():
            return score(np.load("rows.npy"))
        def view():
            return {"n": len(request.json)}
    """)
    assert rule_lines(code) == []


# --- precision -----------------------------------------------------------------------------


def test_unrelated_methods_and_objects_are_not_sinks():
    code = MODELS + textwrap.dedent("""
        import subprocess
        from flask import request
        from torchvision import transforms
        tf = transforms.Compose([])
        def view():
            text = request.json["text"]
            raw = text.encode("utf-8")
            img = tf.transform(raw)
            subprocess.run(["echo", "hi"])
            name = str(request.args.get("name"))
            log.info("request %s", name)
            response = requests.post(URL, json=request.json)
            return {"len": len(raw)}
    """)
    assert rule_lines(code) == []


def test_a_user_variable_named_request_is_not_flask():
    code = MODELS + textwrap.dedent("""
        def view(batch):
            request = {"json": batch}
            return model.predict(request["json"])
        class Api:
            def handle(self, request):
                return model.predict(request.json)
    """)
    assert rule_lines(code) == []


def test_tokenizers_and_processors_are_not_models():
    code = MODELS + textwrap.dedent("""
        from flask import request
        from transformers import AutoTokenizer, AutoProcessor
        tok = AutoTokenizer.from_pretrained("org/llm", revision=REV)
        proc = AutoProcessor.from_pretrained("org/llm", revision=REV)
        def view():
            ids = tok(request.json["text"])
            pixels = proc(images=request.json["image"])
            return {"ids": tok.encode(request.json["text"])}
    """)
    assert rule_lines(code) == []


def test_comments_strings_and_offline_training_are_silent():
    code = MODELS + textwrap.dedent('''
        import pandas as pd
        # model.predict(request.json)
        """model.fit(request.get_json())"""
        frame = pd.read_csv("train.csv")
        model.fit(frame.drop(columns="y"), frame["y"])
        preds = model.predict(frame)
    ''')
    assert rule_lines(code) == []


def test_a_file_with_no_framework_is_not_parsed_for_flows():
    # The flow rules' prefilter needs a request word and a sink word in code.
    code = "def f(x):\n    return model.predict(x)\n"
    assert ANALYZER.prefilter.wants(code) is False
    assert ANALYZER.prefilter.wants("from flask import request\n" + code) is True


def test_sarif_code_flow_of_a_model_finding(tmp_path):
    from click.testing import CliRunner

    from mllint_sec.cli import main

    code, line = handler_code("fastapi-request", "return model.predict(data['rows'])")
    (tmp_path / "serve.py").write_text(code)
    result = CliRunner().invoke(main, ["check", str(tmp_path), "--format", "sarif", "--select", "INPUT"])
    sarif = json.loads(result.output)
    (finding,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "INPUT002"]
    locations = finding["codeFlows"][0]["threadFlows"][0]["locations"]
    assert locations[-1]["location"]["physicalLocation"]["region"]["startLine"] == line
    assert locations[0]["location"]["message"]["text"].startswith("request data enters here")
    assert [loc["executionOrder"] for loc in locations] == list(range(1, len(locations) + 1))


def test_a_truncating_tokenizer_bounds_text():
    code = MODELS + textwrap.dedent("""
        from flask import request
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained("org/llm", revision=REV)
        def bounded():
            ids = tok(request.json["text"], truncation=True, return_tensors="pt")
            return llm.generate(**ids)
        def bounded_by_length():
            ids = tok.encode_plus(request.json["text"], max_length=512, return_tensors="pt")
            return llm.generate(**ids)
        def unbounded():
            ids = tok(request.json["text"], return_tensors="pt")
            return llm.generate(**ids)
    """)
    assert [r for r, _ in rule_lines(code)] == ["INPUT002"]


def test_returns_of_a_shared_helper_follow_the_calling_site_only():
    # `encode` is called with request data in the handler and with training data at module
    # level: the module-level result is not request data (no infeasible call/return pairing).
    code = MODELS + textwrap.dedent("""
        import pandas as pd
        import gradio as gr
        def encode(frame):
            frame["x"] = frame["x"] * 2
            return frame
        train = encode(pd.read_csv("train.csv"))
        model.fit(train.drop(columns="y"), train["y"])
        def predict(x):
            frame = encode(pd.DataFrame({"x": [x]}))
            return model.predict(frame)
        gr.Interface(fn=predict, inputs="text", outputs="text")
    """)
    assert rule_lines(code) == [("INPUT002", code.count("\n") - 1)]


def test_a_model_built_for_one_request_is_not_poisoned():
    code = MODELS + textwrap.dedent("""
        from flask import request
        from prophet import Prophet
        def forecast():
            m = Prophet()
            m.fit(pd.DataFrame(request.json["series"]))
            return m.predict(m.make_future_dataframe(periods=30))
        def update():
            saved = joblib.load("model.joblib")
            saved.partial_fit(request.json["X"], request.json["y"])
            joblib.dump(saved, "model.joblib")
    """)
    assert [r for r, _ in rule_lines(code)] == ["INPUT003"]


def test_prefilter_words_are_real_words():
    # An empty word would match everywhere and admit every file to a full parse.
    for group in ANALYZER.prefilter.groups:
        assert all(word and word.isidentifier() for word in group)
    assert ANALYZER.prefilter.wants("import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n") is False


def test_handler_parameters_seen_from_closures_and_lambdas():
    code = MODELS + textwrap.dedent("""
        import asyncio
        from fastapi import FastAPI
        from pydantic import BaseModel
        from diffusers import StableDiffusion3Pipeline
        app = FastAPI()
        base = StableDiffusion3Pipeline.from_pretrained("org/sd3", revision=REV)
        class Prompt(BaseModel):
            prompt: str
        @app.post("/images")
        async def images(item: Prompt):
            pipe = StableDiffusion3Pipeline.from_pipe(base)
            loop = asyncio.get_event_loop()
            return await loop.run_in_executor(None, lambda: pipe(item.prompt))
        @app.post("/raw")
        def raw(payload: dict):
            def run():
                return model.predict(payload["rows"])
            return run()
    """)
    assert sorted(r for r, _ in rule_lines(code)) == ["INPUT002", "INPUT004"]


def test_one_finding_per_input_and_a_handlers_own_generate_is_not_a_model():
    code = MODELS + textwrap.dedent("""
        from ts.torch_handler.base_handler import BaseHandler
        class Handler(BaseHandler):
            def preprocess(self, requests):
                return [r.get("body") for r in requests]
            def inference(self, prompts):
                return self.generate(prompts)
            def generate(self, prompts):
                first = llm.generate(prompts)
                second = llm(prompts)
                return first, second
    """)
    found = findings(code)
    assert [f.rule_id for f in found] == ["INPUT002"]
    assert "self.generate" not in found[0].message


def test_starlette_endpoint_with_an_unannotated_request():
    code = MODELS + textwrap.dedent("""
        from starlette.applications import Starlette
        from starlette.routing import Route
        async def classify(request):
            body = await request.json()
            return model.predict([body["x"]])
        async def other(req):
            body = await req.json()
            return model.predict([body["x"]])
        app = Starlette(routes=[Route("/", classify, methods=["POST"])])
    """)
    assert [r for r, _ in rule_lines(code)] == ["INPUT002"]
