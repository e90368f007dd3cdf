"""Read one landed file into Arrow, every value as text, per its entity's contract.

The output of every reader is the same shape, whatever the format: one `string` column per
contract column (named by the contract, filled from the column's `source` name in the file) and
the 1-based `_source_row`. Typing happens later, in `conform.py`, so that a bad value becomes a
quarantined row with a reason instead of a failed load.

Records that cannot even be split into fields (a malformed CSV line, an invalid JSON line, bytes
that are not valid in the declared encoding) are returned as `ReadRejects`; a file that cannot be
read at all raises `UnreadableFile`.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orchestration.contracts import Entity

SOURCE_ROW = "_source_row"
_SAMPLE_RECORDS = 1000  # JSON records inspected for undeclared keys (a warning, not a rule)
_SQLITE_BATCH = 100_000


class UnreadableFile(Exception):
    """The file cannot be read at all (truncated Parquet, not a database, binary garbage...)."""


@dataclass(frozen=True)
class ReadReject:
    """One record that could not be split into fields."""

    source_row: int
    column_name: str | None
    rule: str  # malformed_record | encoding
    reason: str
    raw_record: str


@dataclass
class ReadResult:
    rows: pa.Table  # contract column names as string + _source_row (int64)
    rejects: list[ReadReject]
    source_names: dict[str, str]  # contract column name -> name in the file
    found_columns: tuple[str, ...]
    missing_columns: tuple[str, ...] = ()  # contract columns absent from the file
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.rows.num_rows + len(self.rejects)


def read_landed_file(
    path: Path, entity: Entity, *, shared_fields: frozenset[str] = frozenset()
) -> ReadResult:
    """Dispatch on the contract's format; see the module docstring for the result's shape.

    `shared_fields`: top-level JSON fields that other entities read from the same files (an
    order's `lines` feed `order_lines`), so they are not reported as undeclared.
    """
    if entity.format == "jsonl":
        return _read_jsonl(path, entity, shared_fields)
    readers = {"csv": _read_csv, "parquet": _read_parquet, "sqlite": _read_sqlite}
    # live databases land as Parquet extracts (orchestration/extract.py)
    readers |= {"postgres": _read_parquet, "mysql": _read_parquet}
    return readers[entity.format](path, entity)


# --------------------------------------------------------------------------- shared helpers


def _source_map(entity: Entity) -> dict[str, str]:
    return {c.name: c.source_name for c in entity.columns}


def _text_table(
    columns: dict[str, pa.Array | pa.ChunkedArray], entity: Entity, source_row: pa.Array
) -> pa.Table:
    """Contract-ordered string columns (nulls for absent ones) plus `_source_row`."""
    n = len(source_row)
    arrays = []
    for column in entity.columns:
        values = columns.get(column.name)
        arrays.append(pa.nulls(n, pa.string()) if values is None else values)
    arrays.append(source_row)
    return pa.table(arrays, names=[*entity.column_names, SOURCE_ROW])


def _missing(entity: Entity, present: set[str], *, only_required: bool = False) -> tuple[str, ...]:
    return tuple(
        c.name
        for c in entity.columns
        if c.source_name not in present and not (only_required and c.nullable)
    )


def _extra_warning(found: list[str], expected: set[str]) -> list[str]:
    extra = [name for name in found if name not in expected]
    if not extra:
        return []
    return [f"undeclared column(s) ignored: {', '.join(extra)} (add them to the contract to load)"]


def _raw_line(path: Path, byte_position: int | None) -> str:
    """The delivered bytes of one line, made printable (invalid bytes shown as \\xNN).

    DuckDB reports `line_byte_position` counting from 1.
    """
    if byte_position is None:
        return ""
    with path.open("rb") as handle:
        handle.seek(max(int(byte_position) - 1, 0))
        line = handle.readline(64 * 1024)
    return line.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path, entity: Entity) -> ReadResult:
    options = entity.csv
    with _as_utf8(path, options.encoding) as readable:
        header = _csv_header(readable, options.delimiter, options.quote) if options.header else []
        if options.header and not header:
            raise UnreadableFile("the file is empty: no header row")
        names = _unique(header) if options.header else [c.source_name for c in entity.columns]
        con = duckdb_cursor()
        try:
            table = _duckdb_read_csv(con, readable, names, options)
            bad_lines = _csv_rejects(con, readable)
        finally:
            con.close()
    sources = _source_map(entity)
    by_source = {src: name for name, src in sources.items()}
    source_row, rejects = _record_numbers(table, bad_lines, first_line=2 if options.header else 1)
    rejects = [replace(r, column_name=by_source.get(r.column_name or "")) for r in rejects]
    present = set(table.column_names)
    columns = {name: table[src] for name, src in sources.items() if src in present}
    return ReadResult(
        rows=_text_table(columns, entity, source_row),
        rejects=rejects,
        source_names=sources,
        found_columns=tuple(header or names),
        missing_columns=_missing(entity, present),
        warnings=_extra_warning(header, set(sources.values())),
    )


@contextmanager
def _as_utf8(path: Path, encoding: str) -> Iterator[Path]:
    """The file as DuckDB can read it: UTF-8, with one kind of line ending.

    DuckDB reads UTF-8 only, so other declared encodings are transcoded to a temporary copy.
    Its CSV reader also fails on a file that mixes CRLF and LF (a file concatenated from two
    systems); such a file is read from a copy whose CRLFs are LFs. Each line keeps its number,
    so `_source_row` and the row numbers in rejects stay those of the delivered file.
    """
    with tempfile.TemporaryDirectory() as tmp:
        readable = path
        if codecs.lookup(encoding).name != "utf-8":
            readable = Path(tmp) / f"utf8-{path.name}"
            _transcode(path, readable, encoding)
        if _mixes_line_endings(readable):
            normalised = Path(tmp) / f"lf-{path.name}"
            _crlf_to_lf(readable, normalised)
            readable = normalised
        yield readable


_CHUNK = 1 << 22


def _transcode(source: Path, target: Path, encoding: str) -> None:
    with (
        source.open(encoding=encoding, errors="strict", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        try:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"not valid {encoding}: {exc}") from exc


def _mixes_line_endings(path: Path) -> bool:
    """True when some lines end in CRLF and others in a bare LF."""
    crlf = lf = 0
    after_cr = False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            lf += chunk.count(b"\n")
            crlf += chunk.count(b"\r\n") + (after_cr and chunk.startswith(b"\n"))
            after_cr = chunk.endswith(b"\r")
    return 0 < crlf < lf


def _crlf_to_lf(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        pending = b""
        while chunk := src.read(_CHUNK):
            chunk = pending + chunk
            # A CR at the end of a chunk may start a CRLF split across two chunks.
            pending = b"\r" if chunk.endswith(b"\r") else b""
            dst.write(chunk[: len(chunk) - len(pending)].replace(b"\r\n", b"\n"))
        dst.write(pending)


def _csv_header(path: Path, delimiter: str, quote: str) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline()
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not text.strip():
        return []
    return next(csv.reader([text], delimiter=delimiter, quotechar=quote))


def _unique(names: list[str]) -> list[str]:
    """DuckDB needs distinct column names; a repeated header gets a suffix (and is extra)."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}__{count + 1}")
    return result


_DATABASES: dict[int, duckdb.DuckDBPyConnection] = {}


def duckdb_cursor() -> duckdb.DuckDBPyConnection:
    """A fresh connection (own temp tables) to this process's in-memory DuckDB.

    Opening a database costs ~15 ms, a cursor ~0.3 ms; one database per process id, because a
    DuckDB instance must not be shared across a fork.
    """
    pid = os.getpid()
    if pid not in _DATABASES:
        _DATABASES[pid] = duckdb.connect()
    con = _DATABASES[pid].cursor()
    con.execute("SET TimeZone = 'UTC'")  # timestamptz come back as timestamp[us, tz=UTC]
    return con


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _duckdb_read_csv(
    con: duckdb.DuckDBPyConnection, path: Path, names: list[str], options
) -> pa.Table:
    columns = "{" + ", ".join(f"{_sql_str(n)}: 'VARCHAR'" for n in names) + "}"
    query = (
        f"SELECT * FROM read_csv({_sql_str(str(path))}, header = {str(options.header).lower()}, "
        f"delim = {_sql_str(options.delimiter)}, quote = {_sql_str(options.quote)}, "
        f"escape = {_sql_str(options.quote)}, columns = {columns}, auto_detect = false, "
        "all_varchar = true, store_rejects = true, strict_mode = true, null_padding = false)"
    )
    try:
        return con.sql(query).to_arrow_table()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFile(f"CSV could not be parsed: {first}") from exc


_CSV_RULES = {"INVALID ENCODING": "encoding", "INVALID UNICODE": "encoding"}


@dataclass(frozen=True)
class _BadLine:
    line: int  # physical line where the bad record starts (DuckDB counts from 1)
    span: int  # physical lines it covers
    reject: ReadReject  # source_row still to be numbered


def _csv_rejects(con: duckdb.DuckDBPyConnection, path: Path) -> list[_BadLine]:
    """One reject per bad line (DuckDB may log several errors for one line)."""
    rows = con.sql(
        "SELECT line, min(line_byte_position), string_agg(DISTINCT error_type::VARCHAR, ', '), "
        "first(error_message ORDER BY column_idx), first(column_name ORDER BY column_idx), "
        "first(csv_line) FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    bad = []
    for line, byte_position, types, messages, column, text in rows:
        rule = next((r for t, r in _CSV_RULES.items() if t in types), "malformed_record")
        what = (
            "bytes that are not valid UTF-8"
            if rule == "encoding"
            else f"a malformed record ({types})"
        )
        reason = (
            f"line {line} has {what}: {messages.strip()}; "
            "fix the line in the source system and re-deliver the file"
        )
        column_name = column if rule == "encoding" else None
        raw_record = _raw_line(path, byte_position)
        span = (text or "").rstrip("\r\n").count("\n") + 1
        reject = ReadReject(0, column_name, rule, reason, raw_record)
        bad.append(_BadLine(int(line), span, reject))
    return bad


def _record_numbers(
    table: pa.Table, bad: list[_BadLine], first_line: int
) -> tuple[pa.Array, list[ReadReject]]:
    """1-based record numbers of the good rows and of the rejected ones, in file order.

    DuckDB returns good rows in file order without their line numbers; rejected records come
    with their physical line. When no quoted field spans lines, record = line - header.
    """
    spans = _record_spans(table)
    if spans is None and all(b.span == 1 for b in bad):
        numbers = [b.line - first_line + 1 for b in bad]
        rejects = [replace(b.reject, source_row=n) for b, n in zip(bad, numbers, strict=True)]
        return _interleave_rows(table.num_rows, numbers), rejects
    # Multi-line records: walk the file's lines (Python, but only for such files).
    good_spans = spans if spans is not None else np.ones(table.num_rows, dtype=np.int64)
    good = np.empty(table.num_rows, dtype=np.int64)
    rejects, line, record, g = [], first_line, 0, 0
    for b in bad:
        while g < len(good_spans) and line < b.line:
            record += 1
            good[g] = record
            line += int(good_spans[g])
            g += 1
        record += 1
        rejects.append(replace(b.reject, source_row=record))
        line = b.line + b.span
    good[g:] = record + np.arange(1, len(good_spans) - g + 1)
    return pa.array(good), rejects


def _record_spans(table: pa.Table) -> np.ndarray | None:
    """Physical lines per good record, or None when every record is one line."""
    newlines = None
    for column in table.columns:
        counts = pc.fill_null(pc.count_substring(column, "\n"), 0)
        newlines = counts if newlines is None else pc.add(newlines, counts)
    if newlines is None or pc.max(newlines).as_py() in (None, 0):
        return None
    return np.asarray(newlines.to_numpy(), dtype=np.int64) + 1


def _interleave_rows(n_good: int, rejected: list[int]) -> pa.Array:
    """Record numbers of the good rows: 1..N without the rejected records, in file order.

    DuckDB returns good rows in file order but without their line numbers; the rejected lines
    have numbers. (A quoted field spanning lines shifts the numbers after it: a known gap.)
    """
    if not rejected:
        return pa.array(np.arange(1, n_good + 1, dtype=np.int64))
    bad = np.unique(np.asarray(rejected, dtype=np.int64))
    total = n_good + len(bad)
    remaining = np.setdiff1d(np.arange(1, total + 1, dtype=np.int64), bad, assume_unique=True)
    if len(remaining) < n_good:  # rejected numbers beyond the record count (multi-line fields)
        upper = int(bad.max()) + n_good + 1
        remaining = np.setdiff1d(np.arange(1, upper, dtype=np.int64), bad, assume_unique=True)
    return pa.array(remaining[:n_good])


# --------------------------------------------------------------------------- JSON lines


def _json_path(parts: list[str]) -> str:
    return "$" + "".join('."' + part.replace('"', '\\"') + '"' for part in parts)


def _read_jsonl(path: Path, entity: Entity, shared_fields: frozenset[str]) -> ReadResult:
    lines, rejects = _split_lines(path)
    con = duckdb_cursor()
    try:
        numbered = pa.table(
            {"line": lines, "n": pa.array(np.arange(1, len(lines) + 1, dtype=np.int64))}
        )
        del lines
        con.register("doc", numbered)
        # A blank line is not a record (a trailing newline, an empty line between records).
        nonblank = "trim(line, ' \t\r') <> ''"
        rejects += _json_malformed(con, nonblank)
        con.execute(
            "CREATE TEMP TABLE records AS SELECT n, line::JSON AS js FROM doc "
            f"WHERE {nonblank} AND json_valid(line) AND json_type(line) = 'OBJECT'"
        )
        con.unregister("doc")
        del numbered
        rows, more_rejects, present = _json_fields(con, entity)
        rejects += more_rejects
        sampled = _json_sample_keys(con)
    finally:
        con.close()
    rejects.sort(key=lambda r: r.source_row)
    sources = _source_map(entity)
    heads = {s.split(".")[0] for s in sources.values()} | shared_fields
    return ReadResult(
        rows=rows,
        rejects=rejects,
        source_names=sources,
        found_columns=tuple(sampled),
        missing_columns=_missing(entity, present, only_required=True) if rows.num_rows else (),
        warnings=_extra_warning(sampled, heads),
    )


def _split_lines(path: Path) -> tuple[pa.Array, list[ReadReject]]:
    """The file's lines as an Arrow string array (split in C++, no Python loop).

    Lines that are not valid UTF-8 are blanked out and returned as rejects.
    """
    data = path.read_bytes()
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    blob = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text = blob.cast(pa.large_string())
        rejects: list[ReadReject] = []
    except pa.ArrowInvalid:
        text, rejects = _blank_undecodable(data)
    return pc.split_pattern(text, "\n").flatten(), rejects


def _blank_undecodable(data: bytes) -> tuple[pa.Array, list[ReadReject]]:
    """Slow path, only for a defective file: find the offending lines one by one."""
    lines = data.split(b"\n")
    rejects = []
    for number, raw in enumerate(lines, start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            lines[number - 1] = b""
            rejects.append(
                ReadReject(
                    number,
                    None,
                    "encoding",
                    f"line {number} is not valid UTF-8 (byte {exc.start}: {exc.reason}); "
                    "re-deliver the file encoded as UTF-8",
                    raw.rstrip(b"\r").decode("utf-8", errors="backslashreplace"),
                )
            )
    return pa.array([b"\n".join(lines).decode("utf-8")], pa.large_string()), rejects


def _json_malformed(con: duckdb.DuckDBPyConnection, nonblank: str) -> list[ReadReject]:
    rows = con.sql(
        f"SELECT n, line, json_valid(line) FROM doc WHERE {nonblank} AND "
        "(NOT json_valid(line) OR json_type(line) <> 'OBJECT') ORDER BY n"
    ).fetchall()
    return [
        ReadReject(
            n,
            None,
            "malformed_record",
            f"line {n} is {'not valid JSON' if not valid else 'JSON but not an object'}; "
            "each line must hold one JSON object: fix it and re-deliver the file",
            line[:10_000],
        )
        for n, line, valid in rows
    ]


def _json_fields(
    con: duckdb.DuckDBPyConnection, entity: Entity
) -> tuple[pa.Table, list[ReadReject], set[str]]:
    """Extract every contract column as text; unnest the declared list into one row per item."""
    unnest = entity.unnest
    rejects: list[ReadReject] = []
    # One list-path extraction per JSON value parses it once (not once per column).
    paths: dict[str, list[str]] = {"js": [], "item": []}
    selects, exists = [], []
    for column in entity.columns:
        parts = column.source_name.split(".")
        base = "js"
        if unnest and parts[0] == unnest and len(parts) > 1:
            base, parts = "item", parts[1:]
        paths[base].append(_sql_str(_json_path(parts)))
        selects.append(f"{base}_values[{len(paths[base])}] AS {_ident(column.name)}")
        if not column.nullable:  # only a required field's absence rejects a file
            path = paths[base][-1]
            exists.append((column, f"bool_or(json_exists({base}, {path}))"))
    extracted = ", ".join(
        f"json_extract_string({base}, [{', '.join(listed)}]) AS {base}_values"
        for base, listed in paths.items()
        if listed
    )
    if unnest:
        list_path = _sql_str(_json_path([unnest]))
        bad = con.sql(
            f"SELECT n, js::VARCHAR FROM records WHERE json_type(js, {list_path}) "
            "NOT IN ('ARRAY', 'NULL') ORDER BY n"
        ).fetchall()
        rejects = [
            ReadReject(
                n,
                unnest,
                "malformed_record",
                f"line {n}: field {unnest!r} must be a list (its items become rows); "
                "fix the record and re-deliver the file",
                record[:10_000],
            )
            for n, record in bad
        ]
        items = f"json_extract(js, {_sql_str(_json_path([unnest]) + '[*]')})"
        source = (
            f"(SELECT n, js, unnest({items}) AS item, generate_subscripts({items}, 1) AS idx "
            f"FROM records WHERE json_type(js, {list_path}) = 'ARRAY')"
        )
    else:
        source = "(SELECT n, js, NULL::JSON AS item, 1 AS idx FROM records)"
    table = con.sql(
        f"SELECT {', '.join(selects)}, n AS {SOURCE_ROW}, idx AS _idx "
        f"FROM (SELECT n, idx, {extracted} FROM {source})"
    ).to_arrow_table()
    table = _in_file_order(table)
    present = {c.source_name for c in entity.columns if c.nullable}
    if table.num_rows and exists:
        found = con.sql(f"SELECT {', '.join(e for _, e in exists)} FROM {source}").fetchall()[0]
        present |= {c.source_name for (c, _), hit in zip(exists, found, strict=True) if hit}
    return table.cast(_text_schema(entity)), rejects, present


def _in_file_order(table: pa.Table) -> pa.Table:
    """Scans keep insertion order; sort only if that ever fails (cheap check, rare sort)."""
    rows, items = table[SOURCE_ROW].to_numpy(), table["_idx"].to_numpy()
    if len(rows) > 1:
        ordered = (rows[1:] > rows[:-1]) | ((rows[1:] == rows[:-1]) & (items[1:] > items[:-1]))
        if not bool(np.all(ordered)):
            table = table.sort_by([(SOURCE_ROW, "ascending"), ("_idx", "ascending")])
    return table.drop_columns(["_idx"])


def _text_schema(entity: Entity) -> pa.Schema:
    return pa.schema(
        [pa.field(name, pa.string()) for name in entity.column_names]
        + [pa.field(SOURCE_ROW, pa.int64())]
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_sample_keys(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.sql(
        f"SELECT DISTINCT unnest(json_keys(js)) AS k FROM "
        f"(SELECT js FROM records ORDER BY n LIMIT {_SAMPLE_RECORDS}) ORDER BY k"
    ).fetchall()
    return [k for (k,) in rows]


# --------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path, entity: Entity) -> ReadResult:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile(f"not a readable Parquet file: {exc}") from exc
    if any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()  # nested fields become dotted names, as contracts spell them
    sources = _source_map(entity)
    present = set(table.column_names)
    columns = {name: _as_text(table[src]) for name, src in sources.items() if src in present}
    source_row = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    found = list(table.column_names)
    del table
    return ReadResult(
        rows=_text_table(columns, entity, source_row),
        rejects=[],
        source_names=sources,
        found_columns=tuple(found),
        missing_columns=_missing(entity, present),
        warnings=_extra_warning(found, set(sources.values())),
    )


def _as_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_large_string(values.type) or pa.types.is_dictionary(values.type):
        return pc.cast(values, pa.string())
    try:
        return pc.cast(values, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        # Lists, maps, binary: keep them as JSON text so the conformer can report the value.
        return pa.chunked_array(
            [
                pa.array(
                    [None if v is None else json.dumps(v, default=str) for v in values.to_pylist()],
                    pa.string(),
                )
            ]
        )


# --------------------------------------------------------------------------- SQLite


def _read_sqlite(path: Path, entity: Entity) -> ReadResult:
    table_name = entity.table or entity.name
    con = _sqlite_open(path)
    try:
        found = _sqlite_columns(con, table_name)
        sources = _source_map(entity)
        present = [src for src in sources.values() if src in found]
        try:
            columns = _sqlite_fetch(con, table_name, present)
            rejects: list[ReadReject] = []
        except sqlite3.OperationalError:  # text that is not UTF-8 somewhere in the table
            columns, rejects = _sqlite_fetch_bytes(con, table_name, present, sources)
    finally:
        con.close()
    n = len(columns[present[0]]) if present else _sqlite_count(path, table_name)
    rows = _interleave_rows(n - len(rejects), [r.source_row for r in rejects])
    if rejects:
        keep = np.setdiff1d(np.arange(n), np.asarray([r.source_row - 1 for r in rejects]))
        columns = {k: v.take(pa.array(keep)) for k, v in columns.items()}
    by_name = {name: columns[src] for name, src in sources.items() if src in columns}
    return ReadResult(
        rows=_text_table(by_name, entity, rows),
        rejects=rejects,
        source_names=sources,
        found_columns=tuple(found),
        missing_columns=_missing(entity, set(found)),
        warnings=_extra_warning(found, set(sources.values())),
    )


def _sqlite_open(path: Path) -> sqlite3.Connection:
    # Read-only and immutable: nothing in landing/ is modified (no -wal / -shm files).
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise UnreadableFile(f"not a readable SQLite database: {exc}") from exc
    return con


def _sqlite_columns(con: sqlite3.Connection, table_name: str) -> list[str]:
    try:
        info = con.execute(f"PRAGMA table_info({_ident(table_name)})").fetchall()
    except sqlite3.DatabaseError as exc:
        raise UnreadableFile(f"not a readable SQLite database: {exc}") from exc
    if not info:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        listed = ", ".join(tables) or "none"
        raise UnreadableFile(f"table {table_name!r} not found in the database (tables: {listed})")
    return [row[1] for row in info]


def _sqlite_count(path: Path, table_name: str) -> int:
    con = _sqlite_open(path)
    try:
        return int(con.execute(f"SELECT count(*) FROM {_ident(table_name)}").fetchone()[0])
    finally:
        con.close()


def _sqlite_select(table_name: str, names: list[str]) -> str:
    fields = ", ".join(f"CAST({_ident(n)} AS TEXT)" for n in names) or "1"
    return f"SELECT {fields} FROM {_ident(table_name)} ORDER BY rowid"


def _sqlite_fetch(
    con: sqlite3.Connection, table_name: str, names: list[str]
) -> dict[str, pa.ChunkedArray]:
    try:
        cursor = con.execute(_sqlite_select(table_name, names))
    except sqlite3.OperationalError:  # WITHOUT ROWID table: keep the stored order
        cursor = con.execute(_sqlite_select(table_name, names).replace(" ORDER BY rowid", ""))
    chunks: dict[str, list[pa.Array]] = {n: [] for n in names}
    while batch := cursor.fetchmany(_SQLITE_BATCH):
        if not names:
            continue
        for name, values in zip(names, zip(*batch, strict=True), strict=True):
            chunks[name].append(pa.array(values, pa.string()))
    return {n: pa.chunked_array(c, pa.string()) for n, c in chunks.items()}


def _sqlite_fetch_bytes(
    con: sqlite3.Connection, table_name: str, names: list[str], sources: dict[str, str]
) -> tuple[dict[str, pa.ChunkedArray], list[ReadReject]]:
    """Slow path for a table with undecodable text: find the rows, one by one."""
    con.text_factory = bytes
    by_source = {src: name for name, src in sources.items()}
    values: dict[str, list[str | None]] = {n: [] for n in names}
    rejects = []
    rows = con.execute(_sqlite_select(table_name, names)).fetchall()
    for number, row in enumerate(rows, start=1):
        decoded, bad = [], None
        for name, raw in zip(names, row, strict=True):
            try:
                decoded.append(None if raw is None else raw.decode("utf-8"))
            except UnicodeDecodeError:
                bad = bad or name
                decoded.append(raw.decode("utf-8", errors="backslashreplace"))
        if bad:
            record = json.dumps(dict(zip(names, decoded, strict=True)), ensure_ascii=False)
            rejects.append(
                ReadReject(
                    number,
                    by_source.get(bad, bad),
                    "encoding",
                    f"row {number}, column {bad!r}: text is not valid UTF-8; "
                    "fix the value in the source system and re-deliver the file",
                    record,
                )
            )
        for name, value in zip(names, decoded, strict=True):
            values[name].append(value)
    return {n: pa.chunked_array([pa.array(v, pa.string())]) for n, v in values.items()}, rejects
