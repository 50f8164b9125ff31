"""Files named on the command line, as pre-commit names every file of a commit, are read as what they are."""

from __future__ import annotations

# Built by hand and never loaded: a protocol 0 pickle that imports os.system and calls it.
MALICIOUS_PICKLE = b"cos\nsystem\n(S'echo hi'\ntR."


def test_named_artifacts_manifests_and_python_scripts_are_read_and_other_files_ignored(scan, write, tmp_path, monkeypatch):
    write(tmp_path, {
        "requirements.txt": "torch>=2.0\n",
        "bin/train": "#!/usr/bin/env python3\nimport torch\ntorch.load('c.pt')\n",
        # Neither is Python, though each holds words a loader rule looks for: no MLS001 "syntax error".
        "notes.txt": "Do not import pickle here: pickle.loads runs code.\n",
        "bin/deploy": "#!/bin/sh\npython -c 'import pickle; pickle.loads(blob)'\n",
    })
    (tmp_path / "weights.bin").write_bytes(MALICIOUS_PICKLE)
    names = ["requirements.txt", "bin/train", "notes.txt", "bin/deploy", "weights.bin"]
    monkeypatch.chdir(tmp_path)  # pre-commit runs in the repository, naming files relative to it
    report, code = scan("--no-cache", *names)
    assert sorted((f["path"], f["line"], f["rule_id"]) for f in report["findings"]) == [
        ("bin/train", 3, "LOAD003"),
        ("requirements.txt", 1, "SUP006"),
        ("weights.bin", 1, "ART001"),
        ("weights.bin", 1, "PROV001"),
    ]
    assert report["summary"]["files_scanned"] == 3
    assert code == 1
