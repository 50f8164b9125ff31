"""What each scanned file is analysed as, decided from its name (and, for artifacts, its first bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mllint_sec.core.text_enum import TextEnum

SOURCE_SUFFIXES = (".py", ".ipynb")
# Larger files are not read, only reported (MLS001). A notebook carries its outputs (plots as
# base64) beside the code, so it may be far larger than the code analysed.
MAX_SOURCE_BYTES = 5 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


class FileKind(TextEnum):
    """What a target is analysed as."""

    SOURCE = "source"  # Python source or a notebook
    MANIFEST = "manifest"  # a dependency manifest
    ARTIFACT = "artifact"  # scanned by content
    DATA = "data"  # a data or model file whose provenance is checked
    RECORD = "record"  # a provenance record (DVC files, model cards)


# Files whose format can carry pickles or other loadable code, scanned by content
# (artifacts/). Any other file is an artifact too when its first bytes say so.
ARTIFACT_SUFFIXES = (
    ".pkl", ".pickle", ".p", ".pck", ".dill", ".joblib", ".sav", ".pt", ".pth", ".bin", ".ckpt", ".model",
    ".npy", ".npz", ".mar", ".zip",
)
# Compression and archive suffixes loaders see through: pandas.read_pickle infers the compression
# from the name, joblib.load and torch.load read the bytes (`model.pkl.gz`, `checkpoint.pth.tar`).
WRAPPER_SUFFIXES = (".gz", ".bz2", ".xz", ".lzma", ".zst", ".zstd", ".tar", ".tgz")


def artifact_by_name(name: str) -> bool:
    """An artifact suffix, or one under compression and archive suffixes (`model.joblib.gz`, `m.pth.tar.gz`)."""
    suffixes = [suffix.lower() for suffix in Path(name).suffixes[-4:]]  # four: names are scanned input too
    while suffixes and suffixes[-1] in WRAPPER_SUFFIXES:
        suffixes.pop()
    return bool(suffixes) and suffixes[-1] in ARTIFACT_SUFFIXES


# Data and model files that cannot carry pickles: only their provenance is checked.
DATA_SUFFIXES = (
    ".csv", ".tsv", ".parquet", ".pq", ".feather", ".arrow", ".jsonl", ".avro", ".orc", ".tfrecord", ".tfrecords",
    ".h5", ".hdf5", ".keras", ".onnx", ".safetensors", ".pb", ".tflite", ".gguf", ".ggml", ".msgpack", ".tar",
    ".tgz", ".gz", ".xz", ".bz2", ".7z", ".lmdb",
)
# Among them, model formats: their provenance matters at any size.
MODEL_SUFFIXES = (".keras", ".onnx", ".safetensors", ".pb", ".tflite", ".gguf", ".ggml", ".msgpack")
_NAMES_COMPRESSED_OR_DATA = frozenset(DATA_SUFFIXES + WRAPPER_SUFFIXES)


def wrapping_is_disguise(name: str) -> bool:
    """Whether a compressed stream or an archive under this name hides what it is (discovery sniffs it then).

    Not when the last suffix says compressed or archived (`corpus.gz`, `x.zst`, `data.tar`): the wrapping
    is what the name announces, and what is inside is decided by the name beneath (`artifact_by_name`:
    `model.pkl.gz`). Not when it says data (`.csv`, `.parquet`, `.h5`, `.tfrecord`...): such a file keeps
    its data classification and provenance check (PROV001 reads data targets), and its reader may be told
    the compression (`read_csv(path, compression="gzip")`). Any other name: no suffix, an unknown one, or
    one naming a format with a magic of its own (a PNG starts `\\x89PNG`, a JPEG `\\xff\\xd8`), where a
    compression magic is itself the disguise: `joblib.load` detects compression by magic, whatever the name.
    """
    return Path(name).suffix.lower() not in _NAMES_COMPRESSED_OR_DATA


@dataclass(frozen=True)
class Target:
    path: Path  # absolute
    display: str  # relative to the scan root, POSIX separators
    kind: FileKind = FileKind.SOURCE
