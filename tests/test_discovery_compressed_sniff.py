"""Discovery looks through compression and archives by content (issue 19, item 2): a gzip, bz2, xz, lzma,
zlib, lz4 or zstd stream, or a tar, under a name that does not say so (`weights.png`, `blob`) is an artifact,
and its scan reads the decompressed content. Names that say compressed or data keep what they were."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import pytest

from mllint_sec.core.file_kinds import FileKind, wrapping_is_disguise
from mllint_sec.engine import discovery
from mllint_sec.engine.config import Config
from mllint_sec.engine.discovery import Discovery, _wrapped


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


PAYLOAD = pickle.dumps(Evil(), protocol=4)
CSV = b"id,label,text\n" + b"".join(b"%d,%d,sample text number %d\n" % (i, i % 2, i) for i in range(200))
# A zstd frame (magic, a single-segment header, one raw block): no decompressor needed to build it.
ZSTD = b"\x28\xb5\x2f\xfd\x20\x05\x29\x00\x00hello"


def tar_of(name: str, data: bytes, fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def kind(tmp_path: Path, name: str, data: bytes) -> FileKind | None:
    path = tmp_path / name
    path.write_bytes(data)
    return Discovery(Config(), tmp_path).kind_of(path)


WRAPPED = {
    "gzip": gzip.compress(PAYLOAD),
    "bz2": bz2.compress(PAYLOAD),
    "xz": lzma.compress(PAYLOAD),
    "lzma": lzma.compress(PAYLOAD, format=lzma.FORMAT_ALONE),
    "zlib": zlib.compress(PAYLOAD),
    "zstd": ZSTD,
    "tar": tar_of("data.pkl", PAYLOAD),
    "gnu tar": tar_of("data.pkl", PAYLOAD, tarfile.GNU_FORMAT),
}


@pytest.mark.parametrize("fmt", sorted(WRAPPED))
@pytest.mark.parametrize("name", ["weights.png", "photo.jpg", "blob", "model.dat", "notes.txt", "archive.docx"])
def test_a_compressed_stream_or_tar_under_a_name_that_does_not_say_so_is_an_artifact(tmp_path, fmt, name):
    assert kind(tmp_path, name, WRAPPED[fmt]) == FileKind.ARTIFACT


@pytest.mark.parametrize("fmt", sorted(WRAPPED))
@pytest.mark.parametrize("name", ["train.csv", "table.parquet", "model.safetensors", "corpus.gz", "data.tar",
                                  "shards.tgz", "dump.xz", "dump.bz2"])
def test_a_data_or_compressed_name_keeps_its_data_classification(tmp_path, fmt, name):
    assert kind(tmp_path, name, WRAPPED[fmt]) == FileKind.DATA


@pytest.mark.parametrize("name", ["corpus.zst", "corpus.zstd", "corpus.lzma"])
def test_a_compression_suffix_that_is_not_data_stays_unread(tmp_path, name):
    # The name says compressed: no disguise, and no data suffix either (as before the sniff).
    assert kind(tmp_path, name, WRAPPED["zstd"]) is None


def test_a_source_file_is_never_an_artifact_whatever_its_bytes(tmp_path):
    assert kind(tmp_path, "train.py", WRAPPED["gzip"]) == FileKind.SOURCE


@pytest.mark.parametrize(
    "name, data",
    [
        ("notes.md", b"BZh91AY&SY is how a bzip2 stream starts; this file only says so.\n"),
        ("formula", b"x^2 + y^2 = z^2\n" * 40),  # a zlib header (0x78 0x5e) in plain text
        ("ZF0x.txt", b"ZF0x12 is joblib's old header\n"),
        ("readme.rst", (b"=" * 100 + b"\n" + b" " * 400)[:600]),  # spaces where a tar header has its checksum
    ],
)
def test_text_is_never_taken_for_a_compressed_stream(tmp_path, name, data):
    assert kind(tmp_path, name, data) is None


@pytest.mark.parametrize(
    "name, data",
    [
        ("logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(600)),  # zeros over the tar checksum field
        ("short", b"\x1f"),
        ("empty", b""),
        ("bz2ish", b"BZh9" + bytes(20)),  # no block magic after the level
    ],
)
def test_other_binary_files_stay_unread(tmp_path, name, data):
    assert kind(tmp_path, name, data) is None


def test_a_checksum_written_with_seven_digits_is_still_a_tar():
    header = bytearray(tar_of("data.pkl", PAYLOAD)[:512])
    header[148:156] = b" " * 8
    header[148:156] = b"%07o\0" % sum(header)  # as some writers pad it, instead of tarfile's `%06o\0 `
    tarfile.TarInfo.frombuf(bytes(header), "utf-8", "surrogateescape")  # raises if tarfile refuses it
    assert _wrapped(bytes(header))
    header[148:156] = b"0 06101\0"  # a space inside the digits: tarfile refuses the field
    assert not _wrapped(bytes(header))


def test_a_tar_header_whose_signed_checksum_is_zero_is_still_found():
    # tarfile accepts a checksum field of 0 when the signed byte sum is 0: two 0x80 bytes cancel the
    # field's eight spaces. Discovery's cheap pre-check must not drop it.
    header = bytearray(512)
    header[10] = header[11] = 0x80
    tarfile.TarInfo.frombuf(bytes(header), "utf-8", "surrogateescape")  # raises if tarfile refuses it
    assert _wrapped(bytes(header))
    assert not _wrapped(bytes(512))  # all zeros: the end of an archive, nothing to read


def test_the_sniff_reads_one_head_of_a_tar_block(tmp_path, monkeypatch):
    asked: list[int] = []
    original = discovery.read_head

    def counting(path, count):
        asked.append(count)
        return original(path, count)

    monkeypatch.setattr(discovery, "read_head", counting)
    path = tmp_path / "weights.png"
    path.write_bytes(gzip.compress(os.urandom(100_000)))
    assert Discovery(Config(), tmp_path).kind_of(path) == FileKind.ARTIFACT
    assert asked == [512]


def test_a_zero_padded_image_does_not_load_the_artifact_scanner(tmp_path):
    # The tar check lives in the artifacts package; discovery imports it only for a plausible tar header.
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(1000))
    code = ("import sys; from pathlib import Path; from mllint_sec.engine.config import Config; "
            "from mllint_sec.engine.discovery import Discovery; "
            f"assert Discovery(Config(), Path({str(tmp_path)!r})).kind_of(Path({str(tmp_path / 'photo.jpg')!r})) is None; "
            "assert 'mllint_sec.artifacts' not in sys.modules, 'artifacts loaded'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_names_that_are_looked_through():
    assert wrapping_is_disguise("weights.png") and wrapping_is_disguise("blob") and wrapping_is_disguise("a.JPG")
    assert not wrapping_is_disguise("data.csv.gz") and not wrapping_is_disguise("x.TAR")
    assert not wrapping_is_disguise("t.parquet") and not wrapping_is_disguise("m.zst")


# --- end to end: the scan reads what discovery found -----------------------------------------------


def shown_as(cli, root: Path, name: str) -> str:
    """What `check --show-files` says of `name` (the columns are aligned: split on the name)."""
    lines = cli("check", root, "--show-files").stdout.splitlines()
    return next(line.split(maxsplit=1)[1] for line in lines if line.split(maxsplit=1)[0] == name)


def rules(report: dict) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["path"]) for f in report["findings"]}


@pytest.mark.parametrize("fmt", ["gzip", "bz2", "xz", "lzma", "zlib", "tar"])
@pytest.mark.parametrize("name", ["weights.png", "model_weights"])
def test_a_disguised_compressed_payload_is_art001_end_to_end(scan, tmp_path, fmt, name):
    (tmp_path / name).write_bytes(WRAPPED[fmt])
    report, code = scan(tmp_path)
    assert ("ART001", name) in rules(report)
    assert code == 1


def test_a_gzipped_payload_named_png_fails_check_in_text_output_too(cli, tmp_path):
    (tmp_path / "weights.png").write_bytes(gzip.compress(PAYLOAD))
    result = cli("check", tmp_path)
    assert result.exit_code == 1
    assert "weights.png:1:1: ART001 [critical]" in result.stdout


def test_a_disguised_compressed_file_with_no_pickle_inside_is_clean(scan, tmp_path):
    (tmp_path / "logo.svgz").write_bytes(gzip.compress(b"<svg xmlns='http://www.w3.org/2000/svg'/>" * 20))
    report, code = scan(tmp_path)
    assert report["findings"] == [] and code == 0


def test_a_truncated_stream_is_a_diagnostic_not_a_crash(scan, tmp_path):
    (tmp_path / "weights.png").write_bytes(gzip.compress(PAYLOAD)[:12])
    report, _ = scan(tmp_path)
    assert rules(report) == {("ART003", "weights.png")}


def test_a_disguised_zstd_stream_is_scanned_or_said_unscanned(scan, tmp_path):
    # Python < 3.14 has no zstd decompressor: the file is then reported as not scanned, never passed as clean.
    (tmp_path / "blob").write_bytes(ZSTD)
    report, _ = scan(tmp_path)
    try:
        from compression import zstd  # noqa: F401 - Python 3.14+
    except ImportError:
        assert rules(report) == {("ART003", "blob")}
        assert "zstd" in report["findings"][0]["message"]
    else:
        assert report["findings"] == []  # `hello` is no pickle


def test_a_gzipped_csv_keeps_its_data_and_provenance_behaviour(scan, cli, tmp_path):
    (tmp_path / "data.csv.gz").write_bytes(gzip.compress(CSV))
    (tmp_path / "pyproject.toml").write_text("[tool.mllint-sec]\nprovenance-min-bytes = 0\n")
    assert shown_as(cli, tmp_path, "data.csv.gz") == "scanned as data (its provenance is checked)"
    report, _ = scan(tmp_path)
    assert rules(report) == {("PROV001", "data.csv.gz")}
    (tmp_path / "SHA256SUMS").write_text("e" * 64 + "  data.csv.gz\n")  # a record: no finding at all
    report, _ = scan(tmp_path)
    assert report["findings"] == []


def test_a_gzipped_csv_under_a_disguising_name_is_scanned_and_clean(scan, cli, tmp_path):
    (tmp_path / "chart.png").write_bytes(gzip.compress(CSV))
    assert shown_as(cli, tmp_path, "chart.png") == "scanned as artifact"
    report, _ = scan(tmp_path)
    assert report["findings"] == []
