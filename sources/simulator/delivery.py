"""When each record version is delivered: the load date of the folder it lands in.

Everything up to the first load date goes into the initial extract; later versions land in the
folder of the day they appeared, a few of them one to three days late. A delivery holds the state
of a record at extraction time, so a key appears at most once per file: earlier versions of the
same key in the same delivery are dropped (the initial extract holds only the latest state).
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from simulator.frames import Records, arrow_text, take
from simulator.timeline import Timeline

LATE_SHARE = 0.02


def assign_load_days(
    records: Records, timeline: Timeline, rng: np.random.Generator, late_share: float = LATE_SHARE
) -> Records:
    day = records["_day"]
    load = np.maximum(day, timeline.first_load_day)
    late = (day > timeline.first_load_day) & (rng.random(len(day)) < late_share)
    load = np.minimum(load + np.where(late, rng.integers(1, 4, len(day)), 0), timeline.end_day)
    records = dict(records)
    records["_load_day"] = load
    keep = _latest_per_delivery(records["_key"], load, records["_seq"])
    delivered = take(records, keep)
    delivered["_row"] = np.arange(len(keep))
    return delivered


def _latest_per_delivery(key: np.ndarray, load: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Rows to keep: the last version (by seq, then position) of each key in each delivery,
    in the original row order."""
    position = np.arange(len(key))
    codes = key_codes(key)
    order = np.lexsort((position, seq, load, codes))
    k, ld = codes[order], load[order]
    last = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        last[:-1] = (k[1:] != k[:-1]) | (ld[1:] != ld[:-1])
    return np.sort(order[last])


def versions_per_key(records: Records) -> np.ndarray:
    """For every row, how many delivered rows share its key (1 = a single delivered version)."""
    codes = key_codes(records["_key"])
    return np.bincount(codes)[codes] if len(codes) else np.zeros(0, dtype=np.int64)


def key_codes(keys: np.ndarray) -> np.ndarray:
    """One integer per distinct key (equal keys, equal codes; codes are not ordered).

    Groups by Python's (cached) string hash and then checks every key against its group's first
    key, so a hash collision can never merge two keys: it falls back to Arrow's dictionary."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    if keys.dtype == object:
        values = keys.tolist()
        if all(type(v) is str for v in values[:1000]):
            hashes = np.fromiter(map(hash, values), dtype=np.int64, count=len(values))
            _, first, codes = np.unique(hashes, return_index=True, return_inverse=True)
            if (keys[first[codes]] == keys).all():
                return codes.astype(np.int64)
    array = arrow_text(keys if keys.dtype == object else keys.astype(str))
    indices = pc.dictionary_encode(array, null_encoding="encode").indices
    return indices.to_numpy(zero_copy_only=False).astype(np.int64)


def first_rows(keys: np.ndarray) -> np.ndarray:
    """For every row, the position of the first row with the same key."""
    codes = key_codes(keys)
    if not len(codes):
        return codes
    _, first = np.unique(codes, return_index=True)
    return first[codes]
