"""Atomic partition files in raw/ and quarantine/ (layout and columns: docs/zones.md).

A partition is written aside (a temporary file in the same folder), fsynced, and only then put
in place with `os.replace`, so a reader or a crash sees either the previous partition or the new
one, never half of one. Data is streamed file by file into the writer, so only one landed file's
rows are in memory at a time. A temporary file is named after the process writing it: a killed
process leaves its file behind, and the next writer of the same file removes it, but never the
file of a process still running (a concurrent load).
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import date, datetime
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.conform import QUARANTINE_CORE, typed_schema
from orchestration.contracts import Entity
from orchestration.readers import SOURCE_ROW
from orchestration.settings import Settings

PART_FILE = "part-0.parquet"
_UTC_US = pa.timestamp("us", tz="UTC")


def raw_schema(entity: Entity) -> pa.Schema:
    """Contract columns (typed, in contract order), then the lineage columns."""
    typed = typed_schema(entity)
    contract_fields = [typed.field(name) for name in entity.column_names]
    return pa.schema(
        [
            *contract_fields,
            pa.field("_source_file", pa.string(), nullable=False),
            pa.field(SOURCE_ROW, pa.int64(), nullable=False),
            pa.field("_load_date", pa.date32(), nullable=False),
            pa.field("_loaded_at", _UTC_US, nullable=False),
        ]
    )


QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("_source_file", pa.string()),
        QUARANTINE_CORE.field(SOURCE_ROW),
        QUARANTINE_CORE.field("column_name"),
        QUARANTINE_CORE.field("rule"),
        QUARANTINE_CORE.field("reason"),
        QUARANTINE_CORE.field("raw_record"),
        pa.field("_load_date", pa.date32()),
        pa.field("_quarantined_at", _UTC_US),
    ]
)


def partition_dir(root: Path, system: str, entity: str, load_date: date) -> Path:
    return root / system / entity / f"load_date={load_date.isoformat()}"


def raw_partition_path(settings: Settings, system: str, entity: str, load_date: date) -> Path:
    return partition_dir(settings.raw_dir, system, entity, load_date) / PART_FILE


def quarantine_partition_path(
    settings: Settings, system: str, entity: str, load_date: date
) -> Path:
    return partition_dir(settings.quarantine_dir, system, entity, load_date) / PART_FILE


def with_lineage(
    good: pa.Table, entity: Entity, source_file: str, load_date: date, loaded_at: datetime
) -> pa.Table:
    n = good.num_rows
    columns = [good[name] for name in entity.column_names]
    columns += [
        pa.repeat(pa.scalar(source_file, pa.string()), n),
        good[SOURCE_ROW],
        pa.repeat(pa.scalar(load_date, pa.date32()), n),
        pa.repeat(pa.scalar(loaded_at, _UTC_US), n),
    ]
    return pa.Table.from_arrays(columns, schema=raw_schema(entity))


def quarantine_rows(
    core: pa.Table, source_file: str, load_date: date, quarantined_at: datetime
) -> pa.Table:
    n = core.num_rows
    return pa.Table.from_arrays(
        [
            pa.array([source_file] * n, pa.string()),
            *(core[name] for name in QUARANTINE_CORE.names),
            pa.array([load_date] * n, pa.date32()),
            pa.array([quarantined_at] * n, _UTC_US),
        ],
        schema=QUARANTINE_SCHEMA,
    )


class PartitionWriter:
    """Streams tables into a temporary Parquet file; `commit` puts it in place atomically."""

    def __init__(self, final_path: Path, schema: pa.Schema, *, keep_empty: bool = True) -> None:
        self.final_path = final_path
        self.schema = schema
        self.keep_empty = keep_empty  # False: an empty partition removes the old file instead
        self.rows = 0
        self.temp_path = temp_path_for(final_path)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.temp_path, schema, compression="zstd"
        )

    def write(self, table: pa.Table) -> None:
        if table.num_rows and self._writer is not None:
            self._writer.write_table(table.cast(self.schema), row_group_size=1 << 20)
            self.rows += table.num_rows

    def finish(self) -> None:
        """Close and fsync the aside file (step one of two; nothing visible has changed)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            _fsync_file(self.temp_path)

    def publish(self) -> None:
        """Step two: replace the visible partition (or remove it, when empty and not kept)."""
        self.finish()
        if self.rows == 0 and not self.keep_empty:
            self.temp_path.unlink(missing_ok=True)
            if self.final_path.exists():
                self.final_path.unlink()
                _fsync_dir(self.final_path.parent)
            return
        replace(self.temp_path, self.final_path)
        _fsync_dir(self.final_path.parent)

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
        self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()


def commit_partition(raw: PartitionWriter, quarantine: PartitionWriter) -> None:
    """Make both files durable aside first, then swap them in (raw first, quarantine next)."""
    raw.finish()
    quarantine.finish()
    raw.publish()
    quarantine.publish()


def replace(source: Path, target: Path) -> None:
    # A seam for tests that simulate a crash between writing aside and publishing.
    os.replace(source, target)


def copy_rejected_file(source: Path, target: Path) -> None:
    """Keep an unreadable landed file for inspection: quarantine/_files/<system>/<date>/<file>."""
    temp = temp_path_for(target)
    shutil.copyfile(source, temp)
    _fsync_file(temp)
    os.replace(temp, target)


def temp_path_for(final_path: Path) -> Path:
    """A new temporary file beside `final_path`, after removing those of dead writers."""
    final_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in final_path.parent.glob(f".{final_path.name}.*.tmp"):
        owner = stale.name.removeprefix(f".{final_path.name}.").split(".")[0]
        if owner.isdigit() and not _process_alive(int(owner)):
            stale.unlink(missing_ok=True)
    return final_path.with_name(f".{final_path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not supported on every platform, hence best effort.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
