"""Incremental extraction from live operational databases (PostgreSQL, MariaDB/MySQL).

A live entity (`format: postgres | mysql`, contracts in `sources/live/`) is loaded in five steps
(`load_live_partition`), and then it is an ordinary delivered file:

1. read the entity's watermark (`orchestration/watermarks.py`); the lower bound is the watermark
   minus the contract's `overlap_minutes`, so rows of transactions that committed after a later
   cursor value was extracted are still found;
2. in one REPEATABLE READ transaction (one consistent snapshot) stream the rows with
   `cursor >= lower bound` as Arrow record batches into hidden Parquet chunk files in
   `landing/<system>/<load date>/` (at most `chunk_rows` rows each, so memory stays flat), and,
   for `deletes: {mode: key_diff}`, read every primary key in the same snapshot;
3. after the commit, put the chunks in place (visible to ingest); a failure before that leaves
   only hidden files, which the next run removes;
4. `ingest_partition`: gate, raw partition written atomically, ledger rows, as for files;
5. only then advance the watermark to the highest cursor extracted. A crash anywhere before this
   re-extracts from the old watermark: raw may hold a version twice, never miss one; staging
   takes the latest version per key.

The connection URL comes from the environment variable the contract names; it is never logged and
is masked in every error raised here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from queue import Full, Queue
from typing import Protocol
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orchestration.conform import RowValidator
from orchestration.contracts import Entity, SystemContract
from orchestration.ingest import PartitionResult, ingest_partition
from orchestration.settings import Settings
from orchestration.watermarks import Watermarks

__all__ = [
    "Extract",
    "ExtractError",
    "extract_entity",
    "load_live_partition",
    "mask_secrets",
]

_log = logging.getLogger(__name__)
BATCH_ROWS = 50_000  # rows per fetch from a MySQL server-side cursor
CHUNK_ROWS = 500_000  # rows per landed Parquet extract
PG_BATCH_BYTES = 16 << 20  # ADBC PostgreSQL record batch size hint
# A large PostgreSQL table is read over several connections sharing one exported snapshot, each
# a range of the table's pages (as pg_dump -j shares one snapshot between its workers): the
# driver's conversion to Arrow, not the server, limits one connection. None: two when the machine
# has two cores (on the quiet 2-core development machine two gave 56-67% of COPY's rows/s for the
# wide accounts table, one 38-57%; docs/live-sources.md). Below the size, more connections cost
# more than they save.
PG_CONNECTIONS: int | None = None
PG_PARALLEL_MIN_BYTES = 64 << 20
BatchHook = Callable[[int], None]  # called after each batch with the rows extracted so far


class ExtractError(RuntimeError):
    """An extraction that failed; its message never holds the connection URL or password."""


@dataclass(frozen=True)
class Extract:
    files: tuple[Path, ...]
    rows: int  # rows read from the database
    tombstones: int  # deleted keys found by key diff
    lower_bound: str | None  # None: a full extraction
    high_mark: str | None  # highest cursor value extracted (None: no row)


# --------------------------------------------------------------------------- secrets


def connection_url(contract: SystemContract) -> str:
    name = contract.connection_env or ""
    url = os.environ.get(name, "")
    if not url:
        raise ExtractError(f"{contract.system}: the connection variable {name} is not set")
    return url


def mask_secrets(text: str, url: str) -> str:
    """`text` with the URL and its password replaced by `***`."""
    parts = urlsplit(url)
    secrets = [url, parts.password or "", unquote(parts.password or "")]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def masked_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.username or ''}@{host}{port}{parts.path}"


# --------------------------------------------------------------------------- databases


class _Database(Protocol):
    def begin(self) -> None: ...
    def batches(self, sql: str) -> Iterator[pa.RecordBatch]: ...
    def table(self, sql: str) -> pa.Table: ...
    def now(self) -> datetime: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...
    def quote(self, name: str) -> str: ...
    def literal(self, value: datetime | int) -> str: ...


class _Postgres:
    """ADBC: results arrive as Arrow batches over the binary COPY protocol."""

    def __init__(self, url: str, batch_bytes: int) -> None:
        import adbc_driver_postgresql.dbapi as adbc_pg

        self.con = adbc_pg.connect(url, autocommit=True)
        self.cur = self.con.cursor()
        self.batch_bytes = batch_bytes

    def begin(self, snapshot: str | None = None) -> None:
        """Open the read-only snapshot; `snapshot` (pg_export_snapshot() of an open transaction)
        makes it that transaction's snapshot, row for row."""
        self.cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot is not None:
            self.cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")

    def export_snapshot(self) -> str:
        self.cur.execute("SELECT pg_export_snapshot()")
        return self.cur.fetchone()[0]

    def pages(self, table: str) -> tuple[int, int]:
        """The table's size in bytes and in pages (blocks), as the catalogue has it now."""
        self.cur.execute(
            f"SELECT pg_relation_size({self.literal_text(self.quote(table))}), "
            "current_setting('block_size')::int"
        )
        size, block = self.cur.fetchone()
        return size, size // block

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        self.cur.adbc_statement.set_options(
            **{"adbc.postgresql.batch_size_hint_bytes": str(self.batch_bytes)}
        )
        self.cur.execute(sql)
        yield from self.cur.fetch_record_batch()

    def table(self, sql: str) -> pa.Table:
        self.cur.execute(sql)
        return self.cur.fetch_arrow_table()

    def now(self) -> datetime:
        self.cur.execute("SELECT transaction_timestamp()")
        return self.cur.fetchone()[0].astimezone(UTC)

    def commit(self) -> None:
        self.cur.execute("COMMIT")

    def close(self) -> None:
        for closing in (self.cur.close, self.con.close):
            with contextlib.suppress(Exception):  # a killed connection cannot close cleanly
                closing()

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: datetime | int) -> str:
        if isinstance(value, int):
            return str(value)
        return f"'{value.astimezone(UTC).isoformat()}'::timestamptz"

    def literal_text(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"


class _MySql:
    """PyMySQL with an unbuffered (server-side) cursor, fetched in batches into Arrow."""

    def __init__(self, url: str, entity: Entity, zone: ZoneInfo, batch_rows: int) -> None:
        import pymysql
        import pymysql.cursors

        parts = urlsplit(url)
        self.con = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or None,
            charset="utf8mb4",
            autocommit=False,
            cursorclass=pymysql.cursors.SSCursor,
        )
        self.entity = entity
        self.zone = zone
        self.batch_rows = batch_rows

    def begin(self) -> None:
        with self.con.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        with self.con.cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            while rows := cur.fetchmany(self.batch_rows):
                yield _rows_to_batch(rows, names, self.entity)

    def table(self, sql: str) -> pa.Table:
        with self.con.cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        return pa.table(
            {
                n: pa.array([_text(v) for v in c], pa.string())
                for n, c in zip(names, columns, strict=True)
            }
        )

    def now(self) -> datetime:
        with self.con.cursor() as cur:
            cur.execute("SELECT UTC_TIMESTAMP(6)")
            return cur.fetchone()[0].replace(tzinfo=UTC)

    def commit(self) -> None:
        self.con.commit()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a killed connection cannot close cleanly
            self.con.close()

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def literal(self, value: datetime | int) -> str:
        if isinstance(value, int):
            return str(value)
        # DATETIME columns are naive: in the column's zone
        local = value.astimezone(self.zone).replace(tzinfo=None)
        return f"'{local.isoformat(sep=' ')}'"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


_ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "boolean": pa.bool_(),
}


def _rows_to_batch(rows: Sequence[tuple], names: list[str], entity: Entity) -> pa.RecordBatch:
    by_source = {c.source_name: c for c in entity.columns}
    arrays = []
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        kind = by_source[name].type if name in by_source else "string"
        if kind == "decimal":
            arrays.append(pa.array([_text(v) for v in values], pa.string()))
        elif kind == "boolean":
            arrays.append(pa.array([None if v is None else bool(v) for v in values], pa.bool_()))
        elif kind == "string":
            arrays.append(pa.array([_text(v) for v in values], pa.string()))
        else:
            arrays.append(pa.array(values, _ARROW_TYPES[kind]))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _open(contract: SystemContract, entity: Entity, url: str, batch_rows: int) -> _Database:
    if entity.format == "postgres":
        return _Postgres(url, PG_BATCH_BYTES)
    cursor = entity.column(entity.cursor or "")
    zone = ZoneInfo(cursor.timezone or contract.timezone)
    return _MySql(url, entity, zone, batch_rows)


# --------------------------------------------------------------------------- SQL


def _select(db: _Database, entity: Entity, where: str | None) -> str:
    deleted = (
        entity.deletes.column if entity.deletes and entity.deletes.mode == "key_diff" else None
    )
    items = []
    for c in entity.columns:
        name = db.quote(c.source_name)
        if c.name == deleted:
            items.append(f"false AS {name}")
        elif c.type == "decimal" and isinstance(db, _Postgres):
            # ADBC hands numeric out as text anyway (an opaque type); the cast is cheaper
            items.append(f"CAST({name} AS text) AS {name}")
        else:
            items.append(name)
    source = db.quote(entity.table) if entity.table else f"({entity.query}) AS src"
    sql = f"SELECT {', '.join(items)} FROM {source}"
    return f"{sql} WHERE {where}" if where else sql


def _keys_select(db: _Database, entity: Entity) -> str:
    keys = ", ".join(db.quote(entity.column(k).source_name) for k in entity.primary_key)
    source = db.quote(entity.table) if entity.table else f"({entity.query}) AS src"
    return f"SELECT {keys} FROM {source}"


def _lower_bound(entity: Entity, watermark: str | None) -> datetime | int | None:
    if watermark is None:
        return None
    if entity.column(entity.cursor or "").type == "integer":
        return int(watermark)
    return datetime.fromisoformat(watermark) - timedelta(minutes=entity.overlap_minutes)


def _cursor_max(batch: pa.RecordBatch, name: str, zone: ZoneInfo) -> datetime | int | None:
    value = pc.max(batch.column(name)).as_py()
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=zone)  # a naive DATETIME, in the column's zone
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _mark_text(value: datetime | int) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


# --------------------------------------------------------------------------- chunks


class _Chunks:
    """Hidden Parquet chunk files, put in place together by `publish()`.

    Batches are written by one background thread (Parquet encoding releases the GIL), so the
    database keeps streaming meanwhile; at most two batches wait, so memory stays flat.
    """

    def __init__(self, folder: Path, entity: Entity, chunk_rows: int) -> None:
        self.folder = folder
        self.prefix = entity.files.split("*")[0]
        self.run = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "_" + uuid.uuid4().hex[:6]
        self.chunk_rows = chunk_rows
        self.hidden: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows_in_chunk = 0
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract-writer")
        self.pending: deque[Future[None]] = deque()
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f".{self.prefix}*.part"):  # left by a failed run
            stale.unlink()

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if not batch.num_rows:
            return
        self.pending.append(self.pool.submit(self._write, batch))
        while len(self.pending) > 2:
            self.pending.popleft().result()

    def _drain(self) -> None:
        try:
            while self.pending:
                self.pending.popleft().result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _write(self, batch: pa.RecordBatch | pa.Table) -> None:
        full = self.rows_in_chunk >= self.chunk_rows
        if self.writer is None or full or batch.schema != self.writer.schema:
            self._roll(batch.schema)
        assert self.writer is not None
        self.writer.write(batch)
        self.rows_in_chunk += batch.num_rows

    def _roll(self, schema: pa.Schema) -> None:
        self._close()
        path = self.folder / f".{self.prefix}{self.run}_{len(self.hidden):04d}.parquet.part"
        self.hidden.append(path)
        # read whole and once (by ingest): no dictionaries or statistics, which cost more CPU
        # than the query engine saves (a 1M-row wide extract: 0.42 s to write with, 0.20 s
        # without, and smaller with zstd alone)
        self.writer = pq.ParquetWriter(
            path, schema, compression="zstd", use_dictionary=False, write_statistics=False
        )
        self.rows_in_chunk = 0

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def publish(self) -> tuple[Path, ...]:
        self._drain()
        self._close()
        placed = []
        for hidden in self.hidden:
            final = hidden.with_name(hidden.name[1:].removesuffix(".part"))
            with hidden.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(hidden, final)
            placed.append(final)
        return tuple(placed)

    def discard(self) -> None:
        with contextlib.suppress(Exception):  # the failure being handled is the one to report
            self._drain()
        self._close()
        for hidden in self.hidden:
            hidden.unlink(missing_ok=True)


# --------------------------------------------------------------------------- extraction


def extract_entity(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    load_date: date,
    *,
    url: str | None = None,
    batch_rows: int = BATCH_ROWS,
    chunk_rows: int = CHUNK_ROWS,
    on_batch: BatchHook | None = None,
) -> Extract:
    """Steps 1-3 of the module docstring: land the rows changed since the watermark."""
    url = url or connection_url(contract)
    mark = Watermarks(settings.ledger_path).get(contract.system, entity.name)
    lower = _lower_bound(entity, mark.cursor_value if mark else None)
    chunks = _Chunks(
        settings.landing_dir / contract.system / load_date.isoformat(), entity, chunk_rows
    )
    try:
        rows, tombstones, high = _extract(
            settings, contract, entity, url, lower, chunks, batch_rows, on_batch
        )
        files = chunks.publish()
    except ExtractError:
        chunks.discard()
        raise
    except Exception as exc:
        chunks.discard()
        where = f"{contract.system}.{entity.name} from {masked_url(url)}"
        raise ExtractError(
            f"extraction of {where} failed ({mask_secrets(str(exc), url)}); the watermark was "
            "not advanced, re-run to extract again"
        ) from None
    _log.info(
        "extracted %s.%s: %d row(s) since %s, %d deleted key(s), %d file(s)",
        contract.system,
        entity.name,
        rows,
        _mark_text(lower) if lower is not None else "the beginning",
        tombstones,
        len(files),
    )
    return Extract(
        files=files,
        rows=rows,
        tombstones=tombstones,
        lower_bound=_mark_text(lower) if lower is not None else None,
        high_mark=_mark_text(high) if high is not None else None,
    )


def _extract(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    url: str,
    lower: datetime | int | None,
    chunks: _Chunks,
    batch_rows: int,
    on_batch: BatchHook | None,
) -> tuple[int, int, datetime | int | None]:
    cursor = entity.column(entity.cursor or "")
    zone = ZoneInfo(cursor.timezone or contract.timezone)
    db = _open(contract, entity, url, batch_rows)
    try:
        db.begin()
        snapshot_at = db.now()
        where = None if lower is None else f"{db.quote(cursor.source_name)} >= {db.literal(lower)}"
        rows, high = 0, None
        # closed before `db` is, even when a batch fails: its readers may be using `db`
        with contextlib.closing(_scan(db, entity, url, where)) as batches:
            for batch in batches:
                chunks.write(batch)
                rows += batch.num_rows
                top = _cursor_max(batch, cursor.source_name, zone)
                high = top if high is None or (top is not None and top > high) else high
                if on_batch:
                    on_batch(rows)
        tombstones = 0
        if entity.deletes and entity.deletes.mode == "key_diff":
            keys = db.table(_keys_select(db, entity))
            # stamped in the table's own clock: its latest change seen, else the snapshot time
            seen = high if isinstance(high, datetime) else lower
            stamp = seen if isinstance(seen, datetime) else snapshot_at
            deleted = _tombstones(settings, contract, entity, keys, stamp)
            chunks.write(deleted)
            tombstones = deleted.num_rows
        db.commit()
    finally:
        db.close()
    return rows, tombstones, high


def pg_connections() -> int:
    """Connections a large PostgreSQL table is read over (PG_CONNECTIONS)."""
    return PG_CONNECTIONS or min(2, len(os.sched_getaffinity(0)))


def _scan(db: _Database, entity: Entity, url: str, where: str | None) -> Iterator[pa.RecordBatch]:
    """The selected rows as record batches: over one connection, or, for a large PostgreSQL
    table, over PG_CONNECTIONS connections in one snapshot (`_page_ranges`)."""
    connections = pg_connections()
    if isinstance(db, _Postgres) and entity.table and connections > 1:
        size, pages = db.pages(entity.table)
        if size >= PG_PARALLEL_MIN_BYTES:
            yield from _page_ranges(db, entity, url, where, pages, connections)
            return
    yield from db.batches(_select(db, entity, where))


_DONE = object()  # a range's last item in the queue


def _page_ranges(
    db: _Postgres, entity: Entity, url: str, where: str | None, pages: int, connections: int
) -> Iterator[pa.RecordBatch]:
    """Batches of `connections` page ranges of the table (TID range scans), read in parallel.

    `db` (in its snapshot already) reads the first range and exports its snapshot; each other
    connection imports it (SET TRANSACTION SNAPSHOT), so all see exactly the rows `db` sees. The
    last range is open-ended: a row visible in the snapshot is in a page that existed when it
    was taken. The batches pass through a queue of a few, so memory stays flat; the first
    failure stops the rest and is raised here, so nothing is published.
    """
    snapshot = db.export_snapshot()
    bounds = [pages * i // connections for i in range(connections)]
    ranges = [
        f"ctid >= '({start},0)'::tid"
        + (f" AND ctid < '({bounds[i + 1]},0)'::tid" if i + 1 < connections else "")
        for i, start in enumerate(bounds)
    ]
    queue: Queue[object] = Queue(maxsize=2 * connections)
    stop = threading.Event()

    def put(item: object) -> None:
        while not stop.is_set():
            with contextlib.suppress(Full):
                queue.put(item, timeout=0.1)
                return

    def read(index: int) -> None:
        reader = db
        try:
            if index:
                reader = _Postgres(url, db.batch_bytes)
                reader.begin(snapshot)
            condition = ranges[index] if where is None else f"({where}) AND {ranges[index]}"
            for batch in reader.batches(_select(reader, entity, condition)):
                put(batch)
                if stop.is_set():
                    return
            if reader is not db:
                reader.commit()
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)
        finally:
            if reader is not db:
                reader.close()

    pool = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="extract-range")
    try:
        for index in range(connections):
            pool.submit(read, index)
        running = connections
        while running:
            item = queue.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        pool.shutdown(wait=True)


def _tombstones(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    keys: pa.Table,
    stamp: datetime,
) -> pa.Table:
    """A deleted version of every key current in raw/ but no longer in the table.

    Its cursor is `stamp`, or just after the key's last version when that is later, so the
    deleted version is the latest one.
    """
    assert entity.deletes is not None and entity.cursor is not None
    raw = settings.raw_dir / contract.system / entity.name
    if not any(raw.glob("*/*.parquet")):
        return pa.table({})
    q = _duck_quote
    key_names = [q(k) for k in entity.primary_key]
    cursor, deleted = q(entity.cursor), q(entity.deletes.column)
    order = f"{cursor} DESC, _loaded_at DESC, _source_file DESC, _source_row DESC"
    items = []
    for column in entity.columns:
        if column.name == entity.deletes.column:
            value = "true"
        elif column.name == entity.cursor:
            # later than the deleted key's last version and not before the snapshot
            value = f"greatest({cursor} + INTERVAL 1 MICROSECOND, ?::TIMESTAMPTZ)"
        else:
            value = q(column.name)
        items.append(f"{value} AS {q(column.source_name)}")
    source_keys = [entity.column(k).source_name for k in entity.primary_key]
    db_keys = keys.rename_columns([f"k{i}" for i in range(len(source_keys))])
    db_keys = pa.table({n: pc.cast(db_keys[n], pa.string()) for n in db_keys.column_names})
    match = " AND ".join(
        f"d.k{i} = CAST(latest.{name} AS VARCHAR)" for i, name in enumerate(key_names)
    )
    glob = (raw / "*" / "*.parquet").as_posix().replace("'", "''")
    sql = f"""
        WITH latest AS (
            SELECT * FROM read_parquet('{glob}', union_by_name = true)
            QUALIFY row_number() OVER (PARTITION BY {", ".join(key_names)} ORDER BY {order}) = 1
        )
        SELECT {", ".join(items)} FROM latest
        WHERE NOT coalesce({deleted}, false)
          AND NOT EXISTS (SELECT 1 FROM db_keys AS d WHERE {match})
    """
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("db_keys", db_keys)
        return con.sql(sql, params=[stamp.isoformat()]).to_arrow_table()
    finally:
        con.close()


def _duck_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- load


def load_live_partition(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    load_date: date,
    *,
    url: str | None = None,
    validators: Sequence[RowValidator] | None = None,
    on_batch: BatchHook | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> PartitionResult:
    """Extract, ingest (gate + raw + ledger), then advance the watermark: all five steps."""
    extract = extract_entity(
        settings, contract, entity, load_date, url=url, on_batch=on_batch, chunk_rows=chunk_rows
    )
    result = ingest_partition(settings, contract, entity, load_date, validators=validators)
    names = {p.name for p in extract.files}
    rejected = [
        f.path for f in result.files if Path(f.path).name in names and f.outcome == "rejected"
    ]
    if extract.high_mark is None:
        return result
    if rejected:
        _log.warning(
            "%s.%s: the gate rejected %s; the watermark stays so the rows are extracted again",
            contract.system,
            entity.name,
            ", ".join(rejected),
        )
        return result
    Watermarks(settings.ledger_path).advance(
        contract.system, entity.name, extract.high_mark, load_date.isoformat(), extract.rows
    )
    return result
