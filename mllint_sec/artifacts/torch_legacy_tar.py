"""PyTorch's oldest checkpoint layout: a tar of `sys_info`, `pickle`, `tensors` and `storages`.

`torch.load` still reads it (`legacy_load` in torch/serialization.py, tried before anything else on a
file that opens as a tar). `sys_info` and `pickle` are pickles; `storages` and `tensors` interleave
small pickles with raw bytes, and the loader knows where each pickle begins only by reading the record
before it. So they are read here the same way, record by record, every pickle walked:

- `storages`: a pickled count; per storage a pickled `(key, location, storage_type)`, an int64
  element count, that many elements of the type's size; then a pickled list of views;
- `tensors`: a pickled count; per tensor a pickled `(key, storage_id, type)`, an int32 `ndim`, 4
  bytes, `ndim` int64 sizes and strides, an int64 storage offset.
"""

from __future__ import annotations

from mllint_sec.artifacts.pickle_ops import Budget, Import, Ref, walk_one

LEGACY_MEMBERS = frozenset({"sys_info", "pickle", "tensors", "storages"})
# Bytes per element of each storage type torch's legacy writer could name (torch._utils._element_size).
_ELEMENT_SIZES = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexDoubleStorage": 16, "ComplexFloatStorage": 8, "QUInt8Storage": 1, "QInt8Storage": 1,
    "QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
}
_UNPASSABLE = "raw buffer could not be passed: legacy checkpoint"


def is_legacy_layout(names: set[str]) -> bool:
    return {"pickle", "storages", "tensors"} <= names


def read_records(member: str, data: bytes, budget: Budget) -> tuple[list[Import], list[str]]:
    """The imports and problems of a `storages` or `tensors` member, read record by record."""
    reader = _Records(data, budget)
    reader.run(storages=member == "storages")
    return reader.imports, reader.problems


class _Records:
    def __init__(self, data: bytes, budget: Budget):
        self.data, self.budget, self.pos = data, budget, 0
        self.imports: list[Import] = []
        self.problems: list[str] = []

    def run(self, storages: bool) -> None:
        count = self._pickle()
        if count is None:
            return
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            self.problems.append(f"{_UNPASSABLE}: the record count is not a number")
            return
        for _ in range(count):  # each record takes bytes, so a huge count ends at the end of the data
            record = self._pickle()
            if record is None:
                return
            if not (isinstance(record, tuple) and len(record) == 3):
                self.problems.append(f"{_UNPASSABLE}: a record at byte {self.pos} is not understood")
                return
            if not (self._storage(record[2]) if storages else self._tensor()):
                return
        if storages and self._pickle() is None:  # the views that follow the storages
            return
        if self.pos != len(self.data):
            self.problems.append(f"trailing data after pickle: {len(self.data) - self.pos} bytes at offset {self.pos}")

    def _pickle(self) -> object | None:
        """The next pickle's value; None (its problem recorded) when it cannot be read to its STOP."""
        if self.pos >= len(self.data):
            self.problems.append(f"truncated pickle: the member ends before a record (offset {self.pos})")
            return None
        walked = walk_one(self.data, self.pos, self.budget)
        self.imports += walked.imports
        self.problems += walked.problems
        if walked.end is None:
            return None
        self.pos = walked.end
        return walked.value

    def _storage(self, storage_type: object) -> bool:
        size = _ELEMENT_SIZES.get(storage_type.name.rsplit(".", 1)[-1]) if isinstance(storage_type, Ref) else None
        if size is None:
            self.problems.append(f"{_UNPASSABLE}: unknown storage type before byte {self.pos}")
            return False
        count = self._int(8)
        return count is not None and self._skip(count * size)

    def _tensor(self) -> bool:
        ndim = self._int(4)
        return ndim is not None and self._skip(4 + 16 * ndim + 8)

    def _int(self, width: int) -> int | None:
        raw = self.data[self.pos:self.pos + width]
        value = int.from_bytes(raw, "little", signed=True)
        if len(raw) < width or value < 0:
            self.problems.append(f"{_UNPASSABLE}: a bad length at byte {self.pos}")
            return None
        self.pos += width
        return value

    def _skip(self, length: int) -> bool:
        if self.pos + length > len(self.data):
            self.problems.append(f"{_UNPASSABLE}: raw data runs past the end (byte {self.pos})")
            return False
        self.pos += length
        return True
