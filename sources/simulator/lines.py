"""A delivered text file as one UTF-8 buffer of newline-terminated lines.

Defects change a handful of lines of files that hold millions: only the lines that are read or
changed become Python strings, the rest stay in the buffer and are written as they are.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class Lines:
    def __init__(self, blob: bytes, starts: np.ndarray) -> None:
        """Line i is blob[starts[i]:starts[i + 1] - 1] (without its newline)."""
        self._blob = blob
        self._starts = starts
        self._changed: dict[int, str] = {}
        self._added: list[str] = []

    @classmethod
    def from_bytes(cls, blob: bytes) -> Lines:
        """Text that ends with a newline (or is empty), split at every newline."""
        ends = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == 10) + 1
        return cls(blob, np.concatenate([[0], ends]).astype(np.int64))

    @classmethod
    def from_arrow(cls, values: pa.Array | pa.ChunkedArray) -> Lines:
        """One line per (non-null, newline-free) string."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not len(values):
            return cls(b"", np.zeros(1, dtype=np.int64))
        text = pa.large_string()
        joined = pc.binary_join_element_wise(
            values.cast(text), pa.scalar("", text), pa.scalar("\n", text)
        )
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[
            joined.offset : joined.offset + len(joined) + 1
        ]
        data = joined.buffers()[2]
        blob = data[int(offsets[0]) : int(offsets[-1])].to_pybytes()
        return cls(blob, (offsets - offsets[0]).astype(np.int64))

    def __len__(self) -> int:
        return len(self._starts) - 1 + len(self._added)

    def _index(self, i: int) -> int:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        return i % n

    def __getitem__(self, i: int) -> str:
        i = self._index(i)
        base = len(self._starts) - 1
        if i >= base:
            return self._added[i - base]
        if i in self._changed:
            return self._changed[i]
        return self._blob[self._starts[i] : self._starts[i + 1] - 1].decode("utf-8")

    def __setitem__(self, i: int, value: str) -> None:
        i = self._index(i)
        base = len(self._starts) - 1
        if i >= base:
            self._added[i - base] = value
        else:
            self._changed[i] = value

    def append(self, value: str) -> None:
        self._added.append(value)

    def to_list(self) -> list[str]:
        return [self[i] for i in range(len(self))]

    def to_bytes(self) -> bytes:
        """The file: every line followed by a newline."""
        if not self._changed and not self._added:
            return bytes(self._blob)
        pieces, position = [], 0
        for i in sorted(self._changed):
            pieces.append(self._blob[position : self._starts[i]])
            pieces.append(self._changed[i].encode("utf-8") + b"\n")
            position = int(self._starts[i + 1])
        pieces.append(self._blob[position:])
        pieces.extend(line.encode("utf-8") + b"\n" for line in self._added)
        return b"".join(pieces)
