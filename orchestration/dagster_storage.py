"""Dagster's SQLite instance storage, with its event-log connections kept open.

Dagster's `SqliteEventLogStorage` opens every statement's connection from scratch: a new SQLAlchemy
engine (`NullPool`), a new SQLite connection that reads the schema again, a commit, a close that
checkpoints the write-ahead log into the database file, and the engine disposed. A `cdw load` of
the tiny world (80 customers, two load dates) stores about 1,900 events through some 5,800 such
connections (every asset and check event is mirrored into the index shard, and the asset and
check bookkeeping reads it there), plus about 1,200 more for Dagster's `has_table` checks. That
was about 16 s of the `cdw` process's 40 s of CPU (the rest of the load is dbt's own process),
and more on a disk, where every close also waited for the checkpoint's fsync.

`PooledSqliteEventLogStorage` is the same storage (same files, tables, statements and
transactions) with one engine per shard and process, whose pool keeps the connection open
between statements. What changes for other processes:
- nothing for correctness: SQLite locks per transaction, not per connection, and a pooled
  connection is returned to the pool after a rollback, so it holds no lock while idle (the
  databases are in WAL mode, as Dagster creates them); the busy timeout is Dagster's;
- a watcher of a run's events (the Dagster UI's live run view) can no longer wait for the run's
  database file to change: with the connection kept open, a commit only appends to the
  write-ahead log (`<run>.db-wal`) and the file itself changes at checkpoints. The storage's
  watcher follows both files.

A process keeps the engines of a few shards (the index and the runs it wrote or read last); a
forked child drops its parent's connections unclosed and opens its own, as SQLite and
SQLAlchemy require. `DagsterPooledSqliteStorage` is Dagster's `storage: sqlite:` layout with this
event log, for `storage: custom:` in `dagster.yaml` (orchestration/cli.py writes it).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from watchdog.events import FileSystemEvent

# Engines kept per process besides the index shard's: the runs a process is writing or reading
# (a load writes one run at a time; the UI reads a few). Each holds three open files.
RUN_SHARD_ENGINES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose connections stay open between statements (module docstring);
    `base_dir` is the directory of the per-run databases and the index."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            if self._engines_pid != os.getpid():
                # A forked child must not use (or close) the parent's SQLite connections.
                for engine in self._engines.values():
                    engine.dispose(close=False)
                self._engines.clear()
                self._engines_pid = os.getpid()
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    pool_size=2,  # has_table's connection beside _connect's
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                event.listen(engine, "connect", _commit_without_fsync_in_wal)
                self._engines[shard] = engine
                self._evict_beyond(RUN_SHARD_ENGINES)
            self._engines.move_to_end(shard)
            return engine

    def _evict_beyond(self, run_shards: int) -> None:
        """Dispose the least recently used run shards' engines beyond `run_shards`."""
        runs = [shard for shard in self._engines if shard != INDEX_SHARD_NAME]
        for shard in runs[: max(0, len(runs) - run_shards)]:
            self._engines.pop(shard).dispose()

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose(close=self._engines_pid == os.getpid())
            self._engines.clear()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's _connect, less the engine made and disposed for every statement.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
                engine.dispose()  # a new database is in WAL mode only now: reconnect
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # Dagster asks before every asset check and asset-tag write (about 1,200 times a load),
        # each time through a new engine and connection. Called inside _connect's transaction too,
        # so it takes the index engine's second connection, not the lock.
        with self._engine(INDEX_SHARD_NAME).connect() as conn:
            return bool(conn.dialect.has_table(conn, table_name))

    def wipe(self) -> None:
        # Dagster's wipe deletes the run databases' files: close them first.
        self._dispose_engines()
        super().wipe()

    def upgrade(self) -> None:
        self._dispose_engines()  # migrations may alter tables under an open connection
        super().upgrade()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        # Dagster's watch, with a watcher that also follows the run's write-ahead log.
        if not self._obs:
            from watchdog.observers import Observer

            self._obs = Observer()
            self._obs.start()
        watchdog = _RunShardWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (
            watchdog,
            self._obs.schedule(watchdog, self._base_dir, recursive=True),
        )


def _commit_without_fsync_in_wal(dbapi_connection: Any, _record: Any) -> None:
    """SQLite's `synchronous=NORMAL` on a database in WAL mode: a commit no longer waits for the
    disk (the log is synced at checkpoints). The database stays consistent, and a commit survives
    its process being killed; only a power loss or OS crash may undo the last commits. Every
    statement of a load commits (about 5,900), so on a disk this saves an fsync each. A database
    not (yet) in WAL mode keeps `FULL`, where NORMAL could corrupt it on a power loss."""
    (mode,) = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    if mode == "wal":
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class _RunShardWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of one run's database, also woken by writes to its write-ahead log."""

    def __init__(self, storage: SqliteEventLogStorage, run_id: str, callback: Any, cursor: Any):
        super().__init__(storage, run_id, callback, cursor)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: FileSystemEvent) -> None:
        self._process_log()


class DagsterPooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite instance storage (`storage: sqlite:`, same files) with the pooled event log.

    In `dagster.yaml`: `storage: {custom: {module: orchestration.dagster_storage,
    class: DagsterPooledSqliteStorage, config: {base_dir: {env: DAGSTER_HOME}}}}`.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)  # its event log is made, then replaced
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> DagsterPooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
