"""Supply-chain specifics the rule examples cannot express: string shapes, hub-id decisions,
message clauses, repository directories, opt-in selection, and digest mentions."""

from __future__ import annotations

import libcst as cst
import pytest

from mllint_sec.analysis.file_analyzer import Analyzer
from mllint_sec.catalogue.loading import load_catalogue
from mllint_sec.python import scopes, strings

CATALOGUE = load_catalogue()
ANALYZER = Analyzer(CATALOGUE, frozenset(CATALOGUE.rules))
COMMIT = "86b5e0934494bd15c9632b12f734a8a67f723594"


def shapes_of(code: str) -> list:
    """Shapes of the value of the last line's expression (`value = <expr>`)."""
    facts = scopes.collect(cst.parse_module(code))
    last = facts.module.body[-1].body[0]
    return strings.shapes(last.value, facts.scope)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('value = "org/model"', strings.Shape(exact="org/model", head="org/model", tail="org/model")),
        ('BASE = "https://h.org"\nvalue = BASE + "/m.pt"', strings.Shape(exact="https://h.org/m.pt", head="https://h.org/m.pt", tail="https://h.org/m.pt")),
        ('value = f"{root}/model.pt"', strings.Shape(head="", tail="/model.pt")),
        ('value = f"facebook/opt-{size}"', strings.Shape(head="facebook/opt-", tail="")),
        ('value = "https://h.org/{}.bin".format(name)', strings.Shape(head="https://h.org/", tail=".bin")),
        ('value = "http://h.org/%s.ckpt" % name', strings.Shape(head="http://h.org/", tail=".ckpt")),
        ('import os\nvalue = os.path.join(d, "model.pt")', strings.Shape(tail="model.pt", path=True)),
        ('from pathlib import Path\nvalue = Path(__file__).parent / "ckpt"', strings.Shape(tail="ckpt", path=True)),
        ("value = args.model", None),
    ],
)
def test_shapes(code, expected):
    assert shapes_of(code) == [expected]


def test_shapes_follow_every_binding_and_stop_growing():
    assert len(shapes_of('name = "a/b" if x else "./c"\nvalue = name')) == 2
    parts = "".join(f'{{p{i}}}' for i in range(8))
    bound = "".join(f'p{i} = "a" if x else "b"\n' for i in range(8))
    found = shapes_of(f'{bound}value = f"{parts}"')  # 256 combinations: capped, not slow
    assert len(found) <= strings.MAX_SHAPES and all(s is None or s.exact is None for s in found)


@pytest.mark.parametrize(
    ("text", "hub"),
    [
        ("gpt2", True), ("bert-base-uncased", True), ("org/model", True), ("org/model.v2", True),
        ("./org/model", False), ("../model", False), ("/models/bert", False), ("~/bert", False),
        ("C:\\models\\bert", False), ("a/b/c", False), ("model.bin", False), ("config.json", False),
        ("output/checkpoint-500", False), ("checkpoint-1200", False), ("runs/exp", False), ("", False),
        ("org/model with space", False),
    ],
)
def test_hub_id_decision(text, hub):
    assert strings.hub_id(strings.Shape(exact=text, head=text, tail=text)) is hub


@pytest.mark.parametrize(
    ("url", "http"),
    [
        ("http://example.com/m.pt", True), ("HTTP://Example.com/m.pt", True), ("https://example.com/m.pt", False),
        ("http://localhost:8000/m.pt", False), ("http://127.0.0.1/m.pt", False), ("http://box.local/m", False),
        ("ftp://example.com/m.pt", False),
    ],
)
def test_plain_http(url, http):
    assert strings.plain_http(strings.Shape(exact=url, head=url, tail=url)) is http


def test_plain_http_needs_the_host():
    assert strings.plain_http(strings.Shape(head="http://", tail="/m.pt")) is None


@pytest.mark.parametrize(
    ("revision", "pinned"),
    [(COMMIT, True), (COMMIT.upper(), True), (COMMIT[:7], False), ("20240101", False), ("main", False),
     ("refs/pr/1", False), ("v1.0.0", False), (COMMIT + "0", False)],
)
def test_only_a_full_commit_pins(revision, pinned):
    code = f'from transformers import AutoModel\nAutoModel.from_pretrained("org/m", revision="{revision}")\n'
    found = [f for f in ANALYZER.analyze("x.py", code.encode()).findings if f.rule_id == "SUP001"]
    assert (found == []) is pinned


def messages(code: str, rule: str) -> list[str]:
    return [f.message for f in ANALYZER.analyze("x.py", code.encode()).findings if f.rule_id == rule]


def test_remote_code_message_says_when_also_unpinned():
    head = "from transformers import AutoModel\n"
    unpinned = messages(head + 'AutoModel.from_pretrained("org/m", trust_remote_code=True)\n', "SUP002")
    pinned = messages(head + f'AutoModel.from_pretrained("org/m", trust_remote_code=True, revision="{COMMIT}")\n', "SUP002")
    local = messages(head + 'AutoModel.from_pretrained("./m", trust_remote_code=True)\n', "SUP002")
    runtime = messages(head + "AutoModel.from_pretrained(args.m, trust_remote_code=True)\n", "SUP002")
    assert "not pinned to a commit either" in unpinned[0]
    assert "not pinned" not in pinned[0] and "not pinned" not in local[0]
    assert "not pinned to a commit either" in runtime[0]  # it may name a hub repository


def test_message_names_the_model():
    found = messages('from transformers import AutoModel\nAutoModel.from_pretrained("org/m")\n', "SUP001")
    assert '"org/m"' in found[0]


def test_a_directory_of_the_repository_is_not_a_hub_id(scan, write, tmp_path):
    write(tmp_path, {
        "train.py": 'from transformers import AutoModel\nAutoModel.from_pretrained("models/bert")\n'
                    'AutoModel.from_pretrained("org/bert")\n',
        "models/bert/config.json": "{}",
    })
    report, _ = scan(tmp_path, "--select", "SUP001")
    assert [f["line"] for f in report["findings"]] == [3]


def test_a_directory_beside_the_file_is_not_a_hub_id(scan, write, tmp_path):
    write(tmp_path, {
        "src/app/serve.py": 'from transformers import AutoModel\nAutoModel.from_pretrained("weights/v1")\n',
        "src/app/weights/v1/config.json": "{}",
    })
    report, _ = scan(tmp_path, "--select", "SUP001")
    assert report["findings"] == []


def test_the_directory_check_runs_after_the_cache_too(scan, write, tmp_path):
    write(tmp_path, {"train.py": 'from transformers import AutoModel\nAutoModel.from_pretrained("models/bert")\n'})
    first, _ = scan(tmp_path, "--select", "SUP001")
    write(tmp_path, {"models/bert/config.json": "{}"})
    second, _ = scan(tmp_path, "--select", "SUP001")  # same file bytes: answered from the cache
    assert len(first["findings"]) == 1 and second["findings"] == []


RUNTIME = "from transformers import AutoModel\ndef main(args):\n    return AutoModel.from_pretrained(args.model)\n"


@pytest.mark.parametrize(
    ("options", "enabled"),
    [
        ((), False), (("--select", "SUP"), False), (("--select", "supply-chain"), False),
        (("--select", "SUP008"), True), (("--select", "hf-runtime-model-source"), True),
        (("--extend-select", "SUP008"), True), (("--extend-select", "SUP008", "--ignore", "SUP008"), False),
    ],
)
def test_opt_in_rule_runs_only_when_named(scan, write, tmp_path, options, enabled):
    write(tmp_path, {"train.py": RUNTIME})
    report, _ = scan(tmp_path, *options)
    assert any(f["rule_id"] == "SUP008" for f in report["findings"]) is enabled


def test_opt_in_rule_from_configuration(scan, write, tmp_path):
    write(tmp_path, {"train.py": RUNTIME, "pyproject.toml": '[tool.mllint-sec]\nextend-select = ["SUP008"]\n'})
    report, _ = scan(tmp_path)
    assert [f["rule_id"] for f in report["findings"]] == ["SUP008"]


DOWNLOAD = 'import urllib.request\n{helper}def fetch(dest):\n    urllib.request.urlretrieve("https://h.org/model.pt", dest)\n{check}'


@pytest.mark.parametrize(
    ("helper", "check", "reported"),
    [
        ("", "", True),
        ("", "    assert hashlib.sha256(open(dest, 'rb').read()).hexdigest() == EXPECTED\n", False),
        ("", "    verify_checksum(dest)\n", False),
        ("", "    open(dest).read(check_hash=False)\n", True),  # a keyword name is not a check
        ("def verify(p):\n    return hashlib.sha256(p)\n", "", True),  # another function's check
        ("", "    # TODO: compare the sha256\n", True),  # a comment is not a check
    ],
)
def test_a_digest_check_in_the_same_function_clears_a_download(helper, check, reported):
    code = DOWNLOAD.format(helper=helper, check=check)
    assert bool(messages(code, "SUP004")) is reported


@pytest.mark.parametrize(
    ("head", "answer"),
    [("https://h.org/a.csv", True), ("HTTP://h.org", True), ("s3://bucket/a", False), ("data/a.csv", False),
     ("htt", None), ("", None)],
)
def test_url_scheme_prefix(head, answer):
    shape = strings.Shape(head=head) if head else None
    assert strings.has_prefix(shape, ("http://", "https://")) is answer
