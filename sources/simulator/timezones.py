"""Vectorised UTC offsets for IANA zones, and the text renderings the systems use for times.

zoneinfo answers one instant at a time; the simulator needs millions. Offsets only change at a
few transitions a year, so we ask zoneinfo once per day (and hourly on transition days) and look
the rest up with numpy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator.frames import arrow_text
from simulator.timeline import DAY

_FIRST_DAY = 18_000  # 2019-04-14: tables cover this day onwards, far before any world


def _offset(zone: ZoneInfo, seconds: int) -> int:
    delta = datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


@cache
def _hourly_table(zone_name: str, last_day: int) -> np.ndarray:
    zone = ZoneInfo(zone_name)
    days = np.arange(_FIRST_DAY, last_day + 2)
    table = np.empty(len(days) * 24, dtype=np.int64)
    for i, day in enumerate(days):
        start, end = _offset(zone, int(day) * DAY), _offset(zone, int(day) * DAY + DAY - 1)
        if start == end:
            table[i * 24 : (i + 1) * 24] = start
        else:  # a transition day: ask hour by hour
            for hour in range(24):
                table[i * 24 + hour] = _offset(zone, int(day) * DAY + hour * 3600)
    return table


def utc_offsets(zone_name: str, utc_seconds: np.ndarray, last_day: int) -> np.ndarray:
    """Offset in seconds of `zone_name` at each UTC instant (instants up to `last_day`)."""
    table = _hourly_table(zone_name, last_day)
    hours = np.asarray(utc_seconds, dtype=np.int64) // 3600 - _FIRST_DAY * 24
    return table[np.clip(hours, 0, len(table) - 1)]


def offsets_by_zone(zones: np.ndarray, utc_seconds: np.ndarray, last_day: int) -> np.ndarray:
    """Per-row offsets where each row has its own zone."""
    out = np.zeros(len(utc_seconds), dtype=np.int64)
    if not len(zones):
        return out
    encoded = pc.dictionary_encode(arrow_text(np.asarray(zones, dtype=object)))
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    for code, zone in enumerate(encoded.dictionary.to_pylist()):
        mask = codes == code
        out[mask] = utc_offsets(str(zone), utc_seconds[mask], last_day)
    return out


def naive_text(seconds: np.ndarray, sep: str = " ") -> pa.Array:
    """'YYYY-MM-DD HH:MM:SS' for epoch seconds already shifted to the wanted local time."""
    seconds = np.asarray(seconds)
    if seconds.dtype == np.int64 and not (seconds == np.iinfo(np.int64).min).any():
        # Arrow's cast renders 'YYYY-MM-DD HH:MM:SS' as numpy does, many times faster
        array = pa.array(seconds, pa.int64()).cast(pa.timestamp("s")).cast(pa.string())
        return array if sep == " " else pc.replace_substring(array, " ", sep)
    text = np.datetime_as_string(np.asarray(seconds, dtype="datetime64[s]"), unit="s")
    array = pa.array(text, type=pa.string())
    return array if sep == "T" else pc.replace_substring(array, "T", sep)


def offset_text(offsets: np.ndarray) -> pa.Array:
    """'+HH:MM' / '-HH:MM' for offsets in seconds."""
    uniques, inverse = np.unique(offsets, return_inverse=True)
    labels = []
    for value in uniques:
        sign = "-" if value < 0 else "+"
        minutes = abs(int(value)) // 60
        labels.append(f"{sign}{minutes // 60:02d}:{minutes % 60:02d}")
    return pa.array(np.array(labels, dtype=object)[inverse], type=pa.string())


def iso_with_offset(utc_seconds: np.ndarray, offsets: np.ndarray) -> pa.Array:
    """ISO 8601 local time with its offset, e.g. '2026-11-20T14:03:11+01:00'."""
    local = naive_text(np.asarray(utc_seconds) + offsets, sep="T")
    return pc.binary_join_element_wise(local, offset_text(offsets), "")
