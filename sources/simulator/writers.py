"""Render records into the files each system delivers, exactly as its contract declares.

Money is carried in integer cents and turned into Arrow decimals without floating point; dates
and times are rendered per system: ERP/CRM naive Europe/Berlin text, webshop/support ISO 8601
with the customer's offset, POS basket times naive local store time, the rest naive UTC.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulator.frames import NULL_DAY, Records, repeat_index
from simulator.lines import Lines
from simulator.specs import ColumnSpec, EntitySpec
from simulator.timeline import Timeline
from simulator.timezones import iso_with_offset, naive_text, offsets_by_zone, utc_offsets


def decimal_array(cents: np.ndarray, scale: int = 2) -> pa.Array:
    """Integer hundredths to decimal128(18, scale) without floats; NULL_DAY marks null."""
    cents = np.asarray(cents, dtype=np.int64)
    valid = cents != NULL_DAY
    raw = (
        np.where(valid, cents, 0) * (10 ** (scale - 2))
        if scale >= 2
        else np.where(valid, cents, 0) // 10 ** (2 - scale)
    )
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = raw
    words[:, 1] = np.where(raw < 0, -1, 0)
    mask = pa.array(~valid) if not valid.all() else None
    data = pa.py_buffer(words.tobytes())
    validity = None if mask is None else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(
        pa.decimal128(18, scale), len(cents), [validity, data], null_count=int((~valid).sum())
    )


def _int_array(values: np.ndarray) -> pa.Array:
    values = np.asarray(values, dtype=np.int64)
    return pa.array(values, mask=values == NULL_DAY, type=pa.int64())


def _date_array(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype("datetime64[D]"), mask=days == NULL_DAY, type=pa.date32())


def _string_array(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string(), from_pandas=True)


class Renderer:
    """Typed and text renderings of one entity's records."""

    def __init__(self, entity: EntitySpec, timeline: Timeline) -> None:
        self.entity = entity
        self.last_day = timeline.end_day + 3

    def local_seconds(self, column: str, records: Records) -> np.ndarray:
        seconds = np.asarray(records[column], dtype=np.int64)
        if self.entity.system == "pos" and column == "purchased_at":
            return seconds  # already local store time
        if self.entity.timezone == "UTC":
            return seconds
        return seconds + utc_offsets(self.entity.timezone, seconds, self.last_day)

    def timestamp_text(self, column: str, records: Records) -> pa.Array:
        seconds = np.asarray(records[column], dtype=np.int64)
        valid = seconds != NULL_DAY
        safe = np.where(valid, seconds, 0)
        if self.entity.system in ("webshop", "support"):
            text = iso_with_offset(safe, offsets_by_zone(records["_zone"], safe, self.last_day))
        else:
            text = naive_text(self.local_seconds(column, {column: safe}))
        return pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))

    def text(self, column: ColumnSpec, records: Records) -> pa.Array:
        values = records[column.name]
        if column.type == "timestamp":
            return self.timestamp_text(column.name, records)
        if column.type == "decimal":
            text = decimal_array(values, column.scale).cast(pa.string())
            if self.entity.decimal_separator == ",":
                text = pc.replace_substring(text, ".", ",")
            return text
        if column.type == "date":
            return _date_array(values).cast(pa.string())
        if column.type == "integer":
            return _int_array(values).cast(pa.string())
        if column.type == "boolean":
            return pa.array(np.where(values.astype(bool), "true", "false"), type=pa.string())
        if column.type == "double":
            return pa.array(np.asarray(values, dtype=np.float64)).cast(pa.string())
        return _string_array(values)

    def typed(self, column: ColumnSpec, records: Records, json: bool = False) -> pa.Array:
        values = records[column.name]
        if column.type == "timestamp":
            if json:
                return self.timestamp_text(column.name, records)
            seconds = self.local_seconds(column.name, records)
            return pa.array(
                seconds.astype("datetime64[s]").astype("datetime64[us]"), type=pa.timestamp("us")
            )
        if column.type == "date":
            return _date_array(values).cast(pa.string()) if json else _date_array(values)
        if column.type == "decimal":
            return decimal_array(values, column.scale)
        if column.type == "integer":
            return _int_array(values)
        if column.type == "boolean":
            return pa.array(values.astype(bool), type=pa.bool_())
        if column.type == "double":
            return pa.array(np.asarray(values, dtype=np.float64), type=pa.float64())
        return _string_array(values)


def csv_bytes(entity: EntitySpec, records: Records, timeline: Timeline) -> bytes:
    """Numbers, dates and booleans unquoted; text, timestamps and decimal-comma money quoted."""
    renderer = Renderer(entity, timeline)
    typed = {"integer", "boolean", "double", "date"}
    if entity.decimal_separator == ".":
        typed.add("decimal")
    table = pa.table(
        {
            c.source: renderer.typed(c, records) if c.type in typed else renderer.text(c, records)
            for c in entity.columns
        }
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(delimiter=entity.delimiter))
    return sink.getvalue()


def jsonl_lines(
    entity: EntitySpec,
    records: Records,
    timeline: Timeline,
    nested_list: tuple[EntitySpec, Records] | None = None,
) -> Lines:
    """One JSON object per record; dotted `source` paths become nested objects, and the lines
    of an unnested entity become a list (webshop orders carry their `lines`)."""
    renderer = Renderer(entity, timeline)
    fields: dict[str, pa.Array | dict[str, pa.Array]] = {}
    for column in entity.columns:
        array = renderer.typed(column, records, json=True)
        head, _, tail = column.source.partition(".")
        if tail:
            group = fields.setdefault(head, {})
            assert isinstance(group, dict)
            group[tail] = array
        else:
            fields[head] = array
    if nested_list is not None:
        fields["lines"] = _nested_lines(nested_list[0], nested_list[1], records, timeline)
    arrays = {
        name: (
            pa.StructArray.from_arrays(list(v.values()), list(v.keys()))
            if isinstance(v, dict)
            else v
        )
        for name, v in fields.items()
    }
    table = pa.table(arrays)
    if table.num_rows == 0:
        return Lines.from_arrow(pa.array([], pa.string()))
    return Lines.from_arrow(_to_json(table))


def _to_json(table: pa.Table) -> pa.ChunkedArray:
    connection = duckdb.connect()
    try:
        connection.register("records", table)
        rows = connection.sql("select to_json(r) from records r").arrow()
        return rows.column(0) if isinstance(rows, pa.Table) else rows.read_all().column(0)
    finally:
        connection.close()


def _nested_lines(
    line_entity: EntitySpec, lines: Records, orders: Records, timeline: Timeline
) -> pa.Array:
    renderer = Renderer(line_entity, timeline)
    n_orders = int(max(orders["_order"].max(initial=-1), lines["_order"].max(initial=-1))) + 1
    wanted = np.zeros(n_orders, dtype=bool)
    wanted[orders["_order"]] = True
    mine = np.flatnonzero(wanted[lines["_order"]])  # only the lines of this file's orders
    sort = mine[np.lexsort((lines["line_no"][mine], lines["_order"][mine]))]
    ordered = {k: v[sort] for k, v in lines.items()}
    names, arrays = [], []
    for column in line_entity.columns:
        head, _, tail = column.source.partition(".")
        if head == "lines" and tail:
            names.append(tail)
            arrays.append(renderer.typed(column, ordered, json=True))
    values = pa.StructArray.from_arrays(arrays, names)
    counts = np.bincount(ordered["_order"], minlength=n_orders)
    starts = np.concatenate([[0], np.cumsum(counts)])
    take = orders["_order"]
    offsets = np.concatenate([[0], np.cumsum(counts[take])]).astype(np.int32)
    owner, position = repeat_index(counts[take])
    index = starts[take][owner] + position
    return pa.ListArray.from_arrays(pa.array(offsets), values.take(pa.array(index)))


def parquet_table(entity: EntitySpec, records: Records, timeline: Timeline) -> pa.Table:
    renderer = Renderer(entity, timeline)
    return pa.table({c.source: renderer.typed(c, records) for c in entity.columns})


def write_parquet(path: Path | pa.NativeFile, table: pa.Table) -> None:
    # no pandas metadata, fixed writer options: same input, same bytes
    pq.write_table(
        table.replace_schema_metadata(None),
        path,
        compression="zstd",
        use_dictionary=True,
        write_statistics=True,
    )


write_parquet_to = write_parquet


_SQLITE_TYPES = {
    "string": "TEXT",
    "integer": "INTEGER",
    "double": "REAL",
    "decimal": "REAL",
    "date": "TEXT",
    "timestamp": "TEXT",
    "boolean": "INTEGER",
}


def sqlite_rows(entity: EntitySpec, records: Records, timeline: Timeline) -> list[list]:
    """Columns as Python lists: text for dates/times, REAL for money, 0/1 for booleans."""
    renderer = Renderer(entity, timeline)
    columns: list[list] = []
    for column in entity.columns:
        values = records[column.name]
        if column.type in ("string", "date", "timestamp"):
            columns.append(renderer.text(column, records).to_pylist())
        elif column.type == "decimal":
            cents = np.asarray(values, dtype=np.int64)
            columns.append([None if c == NULL_DAY else c / 100 for c in cents.tolist()])
        elif column.type == "boolean":
            columns.append(np.asarray(values, dtype=bool).astype(int).tolist())
        else:
            columns.append(_int_array(values).to_pylist())
    return columns


def write_sqlite(path: Path, tables: list[tuple[EntitySpec, list[list]]]) -> None:
    if path.exists():
        path.unlink()
    connection = sqlite3.connect(path)
    try:
        # a scratch file read back whole: no rollback journal, no syncs (same database bytes)
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        for entity, columns in tables:
            names = [c.source for c in entity.columns]
            declared = ", ".join(f'"{c.source}" {_SQLITE_TYPES[c.type]}' for c in entity.columns)
            connection.execute(f'CREATE TABLE "{entity.table}" ({declared})')
            marks = ", ".join("?" for _ in names)
            quoted = ", ".join(f'"{n}"' for n in names)
            connection.executemany(
                f'INSERT INTO "{entity.table}" ({quoted}) VALUES ({marks})',
                zip(*columns, strict=True),
            )
        connection.commit()
    finally:
        connection.close()
