"""Small helpers for the simulator's tables: a record set is a dict of equally long numpy arrays.

Columns named like contract columns hold the business values (money in integer cents, dates as
day numbers, timestamps as UTC epoch seconds); columns starting with '_' are bookkeeping:
`_day` (the business day the record version appeared), `_key` (primary key as text, to tell
versions apart), `_customer` (index of the true customer, -1 for none).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Records = dict[str, np.ndarray]
NULL_DAY = np.iinfo(np.int64).min  # a date or timestamp that is absent


def take(records: Records, index: np.ndarray) -> Records:
    return {name: values[index] for name, values in records.items()}


def concat(parts: list[Records]) -> Records:
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def length(records: Records) -> int:
    return len(next(iter(records.values()))) if records else 0


def numbered(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """'INV-' + zero-padded number, vectorised."""
    if not len(numbers):
        return np.zeros(0, dtype=object)
    numbers = np.asarray(numbers)
    if numbers.dtype.kind in "iu" and numbers.min() >= 0:  # as zfill pads, in Arrow
        digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=width, padding="0")
        return pc.binary_join_element_wise(prefix, digits, "").to_numpy(zero_copy_only=False)
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width)).astype(object)


def repeat_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts [2, 0, 3]: owners [0, 0, 2, 2, 2] and positions [0, 1, 0, 1, 2]."""
    owners = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    positions = np.arange(len(owners)) - np.repeat(starts, counts)
    return owners, positions


def seconds_in_day(rng: np.random.Generator, n: int, first_hour: int, last_hour: int) -> np.ndarray:
    return rng.integers(first_hour * 3600, last_hour * 3600, n)


def partition(values: np.ndarray, sep: str) -> np.ndarray:
    """np.char.partition that also copes with an empty array (shape (n, 3), str)."""
    values = np.asarray(values).astype(str)
    if not len(values):
        return np.zeros((0, 3), dtype="U1")
    return np.char.partition(values, sep)


def rpartition(values: np.ndarray, sep: str) -> np.ndarray:
    values = np.asarray(values).astype(str)
    if not len(values):
        return np.zeros((0, 3), dtype="U1")
    return np.char.rpartition(values, sep)


# np.char.zfill / replace / ljust fail on empty arrays in numpy 2.4: these wrappers do not.
def zfill(values: np.ndarray, width: int) -> np.ndarray:
    values = np.asarray(values).astype(str)
    return np.char.zfill(values, width) if len(values) else values


def replace(values: np.ndarray, old: str, new: str, count: int = -1) -> np.ndarray:
    values = np.asarray(values).astype(str)
    if not len(values):
        return values
    return (
        np.char.replace(values, old, new)
        if count < 0
        else np.char.replace(values, old, new, count=count)
    )


def ljust(values: np.ndarray, width: int) -> np.ndarray:
    values = np.asarray(values).astype(str)
    return np.char.ljust(values, width) if len(values) else values


def sort_order(*keys: np.ndarray) -> np.ndarray:
    """Stable sort indices by `keys`, the most significant first; text compares as numpy compares
    str (Arrow's UTF-8 byte order is code point order), without numpy string arrays."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    columns = {f"k{i}": pa.array(k) for i, k in enumerate(keys)}
    if any(c.null_count for c in columns.values()) or not all(
        pa.types.is_string(c.type) or pa.types.is_integer(c.type) for c in columns.values()
    ):
        return np.lexsort(tuple(k.astype(str) if k.dtype == object else k for k in keys[::-1]))
    indices = pc.sort_indices(
        pa.table(columns), sort_keys=[(name, "ascending") for name in columns]
    )
    return indices.to_numpy().astype(np.int64)


def first_of_each(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(keys.astype(str), return_index=True): the distinct keys in order and the row of
    each one's first occurrence."""
    order = sort_order(keys)
    ordered = keys[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = ordered[1:] != ordered[:-1]
    return ordered[start], order[start]


def joined(left: np.ndarray, right: np.ndarray, sep: str) -> np.ndarray:
    """left + sep + right as Python strings (numbers written as str() writes them), joined in
    Arrow rather than through numpy string arrays."""
    if not len(left):
        return np.zeros(0, dtype=object)
    parts = [arrow_text(v) if v.dtype.kind in "OU" else pa.array(v) for v in (left, right)]
    if any(
        p.null_count or not (pa.types.is_string(p.type) or pa.types.is_integer(p.type))
        for p in parts
    ):
        return np.char.add(
            np.char.add(np.asarray(left).astype(str), sep), np.asarray(right).astype(str)
        ).astype(object)
    text = [p.cast(pa.string()) for p in parts]
    return pc.binary_join_element_wise(*text, sep).to_numpy(zero_copy_only=False)


def repeated(n: int, value: object) -> np.ndarray:
    """n references to one object (np.full(n, "text", dtype=object) makes n separate strings)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def few_objects(values: np.ndarray) -> np.ndarray:
    """A numpy string array with few distinct values as an object array whose equal values share
    one Python string (astype(object) makes one string per row)."""
    if not len(values):
        return np.asarray(values).astype(object)
    encoded = pc.dictionary_encode(arrow_text(values))
    distinct = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    return distinct[encoded.indices.fill_null(len(distinct) - 1).to_numpy()]


class Rows(MutableMapping):
    """Some rows of a record set, taken column by column when a column is read: a file's rows
    cost one index array until the file is written. Columns that are assigned are kept."""

    def __init__(self, source: Records, index: np.ndarray) -> None:
        self._source, self._index = source, index
        self._changed: Records = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self._changed:
            return self._changed[name]
        return self._source[name][self._index]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self._changed[name] = values

    def __delitem__(self, name: str) -> None:
        raise TypeError("columns of Rows cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter([*self._source, *(k for k in self._changed if k not in self._source)])

    def __len__(self) -> int:
        return len(set(self._source) | set(self._changed))

    def pick(self, name: str, positions: np.ndarray | slice) -> np.ndarray:
        """self[name][positions] without taking the whole column."""
        if name in self._changed:
            return self._changed[name][positions].copy()
        return self._source[name][self._index[positions]]

    @property
    def count(self) -> int:
        if self._changed:
            return len(next(iter(self._changed.values())))
        return len(self._index)


def pick(records: Records | Rows, name: str, positions: np.ndarray | slice) -> np.ndarray:
    """records[name][positions] as a small array of its own (not a view of a whole column)."""
    if isinstance(records, Rows):
        return records.pick(name, positions)
    return records[name][positions].copy()


def arrow_text(values: np.ndarray) -> pa.Array:
    """pa.array(values, string) as one Array (large numpy string arrays convert in chunks)."""
    array = pa.array(values, pa.string())
    if isinstance(array, pa.ChunkedArray):
        if array.nbytes >= 2**31 - 1:
            array = array.cast(pa.large_string())
        array = array.combine_chunks()
    return array
