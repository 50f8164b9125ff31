"""INPUT001: request data followed into deserializers, with the path shown."""

from __future__ import annotations

import json

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue

CATALOGUE = load_catalogue()
ONLY_INPUT = Analyzer(CATALOGUE, frozenset({"INPUT001"}))


def lines(code: str, analyzer=ONLY_INPUT) -> list[tuple[str, int]]:
    return [(f.rule_id, f.line) for f in analyzer.analyze("app.py", code.encode()).findings]


def test_sink_rules_are_matched_but_not_reported_when_not_selected():
    code = "import pickle\nfrom flask import request\ndef view():\n    return pickle.loads(request.data)\n"
    assert lines(code) == [("INPUT001", 4)]


def test_django_view_and_a_loop_over_uploads():
    code = (
        "import pickle\nfrom django.http import JsonResponse\n"
        "def upload(request):\n"
        "    for name, handle in request.FILES.items():\n"
        "        pass\n"
        "    for blob in request.FILES.values():\n"
        "        obj = pickle.load(blob)\n"
        "    return JsonResponse({})\n"
    )
    assert lines(code) == [("INPUT001", 7)]


def test_request_named_parameter_outside_django_is_not_a_source():
    code = "import pickle\ndef upload(request):\n    return pickle.loads(request.body)\n"
    assert lines(code) == []


def test_flow_steps_are_located_source_first():
    code = (
        "import pickle\nfrom flask import request\n"
        "def view():\n"
        "    upload = request.files['f']\n"
        "    raw = upload.read()\n"
        "    return pickle.loads(raw)\n"
    )
    (finding,) = ONLY_INPUT.analyze("app.py", code.encode()).findings
    steps = finding.flow
    assert [s.line for s in steps] == [4, 4, 5, 6]
    assert steps[0].message.startswith("request data enters here: Flask `request.files`")
    assert (steps[0].column, steps[0].end_column) == (14, 27)


def test_rebinding_chains_are_memoised():
    # Each line's value comes from the previous `data` by two paths (both branches), so a trace
    # that is not memoised per (expression, scope) would take some 2**200 steps: the test
    # finishing at all is the check. (Speed is measured by bench/, never by a clock in a test.)
    body = "".join(f"    data = data.replace(b'{i}', b'') if data else data\n" for i in range(200))
    code = f"import pickle\nfrom flask import request\ndef view():\n    data = request.data\n{body}    return pickle.loads(data)\n"
    assert lines(code) == [("INPUT001", 205)]


def test_sarif_carries_the_code_flow(cli, write, tmp_path):
    write(tmp_path, {"app.py": "import pickle\nfrom flask import request\ndef view():\n    raw = request.get_data()\n"
                               "    return pickle.loads(raw)\n"})
    doc = json.loads(cli("check", "--select", "INPUT001", "--format", "sarif", tmp_path).stdout)
    (result,) = doc["runs"][0]["results"]
    flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [step["location"]["physicalLocation"]["region"]["startLine"] for step in flow] == [4, 4, 5]
    assert [step["executionOrder"] for step in flow] == [1, 2, 3]
    text = cli("check", "--select", "INPUT001", tmp_path).stdout
    assert "flow app.py:4:11: request data enters here" in text
