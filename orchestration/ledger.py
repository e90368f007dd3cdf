"""The load ledger (`ledger.sqlite`): every landed file per entity, and every partition run.

SQLite in WAL mode with a busy timeout, short transactions and `BEGIN IMMEDIATE` for writes, so
several processes (Dagster runs, the CLI) can use it at once. Columns follow docs/zones.md; one
column is added to `landed_files`: `partition_date`, the load date of the raw partition holding
the file's rows (a corrected re-delivery lands in a later folder but its rows go to the partition
of the file it corrects); and `gate`, the Great Expectations gate's summary of the file (JSON:
expectations evaluated and failed, rows failed, the rule that rejected it), null when no gate ran.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS landed_files (
    system TEXT NOT NULL,
    entity TEXT NOT NULL,
    load_date TEXT NOT NULL,
    path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('loaded', 'duplicate', 'superseded', 'rejected')),
    rows_read INTEGER NOT NULL,
    rows_loaded INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    reason TEXT,
    processed_at TEXT NOT NULL,
    partition_date TEXT,
    gate TEXT,
    PRIMARY KEY (system, entity, path),
    CHECK (rows_read = rows_loaded + rows_quarantined)
);
CREATE INDEX IF NOT EXISTS landed_files_sha ON landed_files (system, entity, sha256);
CREATE INDEX IF NOT EXISTS landed_files_name ON landed_files (system, entity, file_name);
CREATE TABLE IF NOT EXISTS loads (
    load_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system TEXT NOT NULL,
    entity TEXT NOT NULL,
    load_date TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_loaded INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    files INTEGER NOT NULL
);
"""
_KEPT = ("loaded", "superseded")  # outcomes whose bytes made it into a partition at some point


@dataclass(frozen=True)
class LandedFileRow:
    system: str
    entity: str
    load_date: str
    path: str
    file_name: str
    size_bytes: int
    sha256: str
    outcome: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    reason: str | None
    processed_at: str
    partition_date: str | None
    gate: str | None = None  # the gate's summary of the file (JSON), when a gate ran


@dataclass(frozen=True)
class LoadRow:
    system: str
    entity: str
    load_date: str
    started_at: str
    finished_at: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    files: int


def now_utc() -> datetime:
    return datetime.now(UTC)


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the ledger file, shared by the load ledger and the live sources'
    watermarks (orchestration/watermarks.py): autocommit, rows by name, and a minute's wait for
    a concurrent writer (parallel partitions) instead of an immediate `database is locked`."""
    con = sqlite3.connect(path, timeout=60, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA busy_timeout = 60000")
    try:
        yield con
    finally:
        con.close()


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with connect(self.path) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            columns = {r["name"] for r in con.execute("PRAGMA table_info(landed_files)")}
            if "gate" not in columns:  # a ledger written before the gate existed
                con.execute("ALTER TABLE landed_files ADD COLUMN gate TEXT")

    # ------------------------------------------------------------------ lookups

    def identical(
        self, system: str, entity: str, sha256: str, path: str, before: date
    ) -> LandedFileRow | None:
        """An earlier delivery of the same bytes under another path (a re-delivery).

        Files without records (a header-only CSV, an empty database: a quiet day) are byte-equal
        every day under new names; they are only re-deliveries under the same file name.
        """
        return self._one(
            "SELECT * FROM landed_files WHERE system = ? AND entity = ? AND sha256 = ? "
            f"AND path <> ? AND load_date < ? AND outcome IN {_KEPT} "
            "AND (file_name = ? OR rows_read > 0) "
            "ORDER BY load_date, path LIMIT 1",
            (system, entity, sha256, path, before.isoformat(), Path(path).name),
        )

    def corrected_original(
        self, system: str, entity: str, file_name: str, sha256: str, before: date
    ) -> LandedFileRow | None:
        """The earliest earlier delivery with this file name and other bytes (it is corrected)."""
        return self._one(
            "SELECT * FROM landed_files WHERE system = ? AND entity = ? AND file_name = ? "
            "AND sha256 <> ? AND load_date < ? "
            "AND outcome IN ('loaded', 'superseded', 'rejected') "
            "ORDER BY load_date, path LIMIT 1",
            (system, entity, file_name, sha256, before.isoformat()),
        )

    def corrections(
        self, system: str, entity: str, file_name: str, partition: date
    ) -> list[LandedFileRow]:
        """Corrected re-deliveries whose rows belong in `partition`, newest first."""
        with connect(self.path) as con:
            rows = con.execute(
                "SELECT * FROM landed_files WHERE system = ? AND entity = ? AND file_name = ? "
                "AND partition_date = ? AND load_date > ? "
                "AND outcome IN ('loaded', 'superseded') ORDER BY load_date DESC, path DESC",
                (system, entity, file_name, partition.isoformat(), partition.isoformat()),
            ).fetchall()
        return [LandedFileRow(**dict(r)) for r in rows]

    def files(self, system: str | None = None, entity: str | None = None) -> list[LandedFileRow]:
        where, params = _filters(system=system, entity=entity)
        with connect(self.path) as con:
            rows = con.execute(
                f"SELECT * FROM landed_files {where} ORDER BY load_date, system, entity, path",
                params,
            ).fetchall()
        return [LandedFileRow(**dict(r)) for r in rows]

    def loads(self, system: str | None = None, entity: str | None = None) -> list[LoadRow]:
        where, params = _filters(system=system, entity=entity)
        with connect(self.path) as con:
            rows = con.execute(f"SELECT * FROM loads {where} ORDER BY load_id", params).fetchall()
        return [LoadRow(**{k: r[k] for k in r.keys() if k != "load_id"}) for r in rows]  # noqa: SIM118

    def _one(self, sql: str, params: tuple) -> LandedFileRow | None:
        with connect(self.path) as con:
            row = con.execute(sql, params).fetchone()
        return LandedFileRow(**dict(row)) if row else None

    # ------------------------------------------------------------------ writes

    def upsert_files(self, rows: Sequence[LandedFileRow]) -> None:
        with self._transaction() as con:
            _upsert(con, rows)

    def record_partition(
        self,
        system: str,
        entity: str,
        load_date: date,
        rows: Sequence[LandedFileRow],
        load: LoadRow,
    ) -> None:
        """Replace the partition's file rows (a re-run replaces, never appends) and log the run.

        Rows of later deliveries (corrections whose rows live in this partition) are updated in
        place; they belong to the load date they were delivered on.
        """
        with self._transaction() as con:
            con.execute(
                "DELETE FROM landed_files WHERE system = ? AND entity = ? AND load_date = ?",
                (system, entity, load_date.isoformat()),
            )
            _upsert(con, rows)
            fields = asdict(load)
            con.execute(
                f"INSERT INTO loads ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                tuple(fields.values()),
            )

    def record_failure(self, load: LoadRow) -> None:
        """Log a failed partition run; the file rows of the last good run stay as they were."""
        fields = asdict(load)
        with self._transaction() as con:
            con.execute(
                f"INSERT INTO loads ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                tuple(fields.values()),
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with connect(self.path) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")


def _upsert(con: sqlite3.Connection, rows: Sequence[LandedFileRow]) -> None:
    if not rows:
        return
    fields = list(asdict(rows[0]))
    updates = ", ".join(
        f"{f} = excluded.{f}" for f in fields if f not in ("system", "entity", "path")
    )
    con.executemany(
        f"INSERT INTO landed_files ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))}) "
        f"ON CONFLICT (system, entity, path) DO UPDATE SET {updates}",
        [tuple(asdict(r).values()) for r in rows],
    )


def _filters(**values: str | None) -> tuple[str, tuple]:
    used = {k: v for k, v in values.items() if v is not None}
    if not used:
        return "", ()
    return "WHERE " + " AND ".join(f"{k} = ?" for k in used), tuple(used.values())
