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
# Data and model files that cannot carry pickles: only their provenance is checked.
DATA_SUFFIXES = (
    ".csv", ".tsv", ".parquet", ".pq", ".feather", ".arrow", ".jsonl", ".avro", ".orc", ".tfrecord", ".tfrecords",
    ".h5", ".hdf5", ".keras", ".onnx", ".safetensors", ".pb", ".tflite", ".gguf", ".ggml", ".msgpack", ".tar",
    ".tgz", ".gz", ".xz", ".bz2", ".7z", ".lmdb",
)
# Among them, model formats: their provenance matters at any size.
MODEL_SUFFIXES = (".keras", ".onnx", ".safetensors", ".pb", ".tflite", ".gguf", ".ggml", ".msgpack")


@dataclass(frozen=True)
class Target:
    path: Path  # absolute
    display: str  # relative to the scan root, POSIX separators
    kind: FileKind = FileKind.SOURCE
