"""The quarantine zone for operators: list and show quarantined rows, release a partition.

Quarantined rows live in `quarantine/<system>/<entity>/load_date=<D>/part-0.parquet`
(docs/zones.md). Releasing a partition means re-ingesting it after a fix: the operator corrected
the contract (`sources/`), the entity's suite (`expectations/`), or a corrected file was dropped
into landing. `ingest_partition` then replaces the raw and quarantine partitions atomically and
records the run in the ledger; the warehouse is rebuilt by the next `cdw load --date D`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from orchestration.contracts import Entity, SystemContract, load_contracts
from orchestration.rawzone import quarantine_partition_path, raw_partition_path
from orchestration.settings import Settings

PARTITION_FILE = "part-0.parquet"


class QuarantineError(ValueError):
    """An operator's request that cannot be served; the message says what to do."""


@dataclass(frozen=True)
class QuarantineGroup:
    system: str
    entity: str
    load_date: date
    rule: str
    rows: int
    example_reason: str


@dataclass(frozen=True)
class QuarantinedRow:
    load_date: date
    source_file: str
    source_row: int | None
    column_name: str | None
    rule: str
    reason: str
    raw_record: str | None


@dataclass(frozen=True)
class PartitionCounts:
    rows_loaded: int
    rows_quarantined: int


@dataclass(frozen=True)
class Release:
    system: str
    entity: str
    load_date: date
    before: PartitionCounts
    after: PartitionCounts
    rebuilt_partitions: tuple[date, ...]


def quarantine_relation(db: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    """Create the view `quarantined` (plus `system`, `entity`) in `db`; False if none."""
    root = settings.quarantine_dir
    if not any(root.glob(f"*/*/load_date=*/{PARTITION_FILE}")):
        return False
    pattern = str(root / "*" / "*" / "load_date=*" / PARTITION_FILE)
    db.execute("set TimeZone = 'UTC'")
    db.execute(
        f"""
        create or replace temp view quarantined as
        select split_part(parts, '/', -4) as system,
               split_part(parts, '/', -3) as entity,
               q.* exclude (parts, filename)
        from (select replace(filename, '\\', '/') as parts, *
              from read_parquet('{_quoted(pattern)}', filename = true, hive_partitioning = false,
                                union_by_name = true)) as q
        """
    )
    return True


def list_groups(
    settings: Settings,
    system: str | None = None,
    entity: str | None = None,
    rule: str | None = None,
) -> list[QuarantineGroup]:
    """Quarantined rows per system/entity/load date/rule, with one example reason."""
    filters = {"system": system, "entity": entity, "rule": rule}
    where = " and ".join(f"{k} = ?" for k, v in filters.items() if v is not None) or "true"
    params = [v for v in filters.values() if v is not None]
    with duckdb.connect() as db:
        if not quarantine_relation(db, settings):
            return []
        rows = db.execute(
            f"""
            select system, entity, _load_date, rule, count(*),
                   arg_min(reason, coalesce(_source_row, 0))
            from quarantined where {where}
            group by all order by system, entity, _load_date, rule
            """,
            params,
        ).fetchall()
    return [QuarantineGroup(*row) for row in rows]


def show_rows(
    settings: Settings,
    system: str,
    entity: str,
    load_date: date | None = None,
    limit: int = 20,
) -> tuple[list[QuarantinedRow], int]:
    """The quarantined rows of one entity (of one load date), first `limit`, and the total."""
    where = "system = ? and entity = ?" + (" and _load_date = ?" if load_date else "")
    params: list[object] = [system, entity, *([load_date] if load_date else [])]
    with duckdb.connect() as db:
        if not quarantine_relation(db, settings):
            return [], 0
        total = db.execute(f"select count(*) from quarantined where {where}", params).fetchone()[0]
        rows = db.execute(
            f"""
            select _load_date, _source_file, _source_row, column_name, rule, reason, raw_record
            from quarantined where {where}
            order by _load_date, _source_file, _source_row nulls first, rule
            limit {int(limit)}
            """,
            params,
        ).fetchall()
    return [QuarantinedRow(*row) for row in rows], total


def partition_counts(
    settings: Settings, system: str, entity: str, load_date: date
) -> PartitionCounts:
    """Rows in the raw and quarantine Parquet partitions of one system/entity/load date."""
    return PartitionCounts(
        rows_loaded=_parquet_rows(raw_partition_path(settings, system, entity, load_date)),
        rows_quarantined=_parquet_rows(
            quarantine_partition_path(settings, system, entity, load_date)
        ),
    )


def find_entity(
    system: str, entity: str, contracts: Sequence[SystemContract] | None = None
) -> tuple[SystemContract, Entity]:
    contracts = list(contracts) if contracts is not None else load_contracts()
    for contract in contracts:
        if contract.system == system:
            names = [e.name for e in contract.entities]
            if entity not in names:
                raise QuarantineError(
                    f"system {system!r} has no entity {entity!r}; it has: {', '.join(names)}"
                )
            return contract, contract.entity(entity)
    raise QuarantineError(
        f"no contract for system {system!r}; known systems: "
        f"{', '.join(c.system for c in contracts)}"
    )


def release(
    settings: Settings,
    system: str,
    entity: str,
    load_date: date,
    contracts: Sequence[SystemContract] | None = None,
) -> Release:
    """Re-ingest one partition with today's contract, suite and landing files."""
    from orchestration.ingest import ingest_partition

    contract, entity_contract = find_entity(system, entity, contracts)
    landed = settings.landing_dir / system / load_date.isoformat()
    if not landed.is_dir() and not raw_partition_path(settings, system, entity, load_date).exists():
        raise QuarantineError(
            f"nothing landed for {system} on {load_date} ({landed} does not exist) and no raw "
            "partition to rebuild; check the system and --load-date (see `cdw quarantine list`)"
        )
    before = partition_counts(settings, system, entity, load_date)
    result = ingest_partition(settings, contract, entity_contract, load_date)
    after = partition_counts(settings, system, entity, load_date)
    return Release(system, entity, load_date, before, after, result.rebuilt_partitions)


def _parquet_rows(path: Path) -> int:
    if not path.exists():
        return 0
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _quoted(text: str) -> str:
    return text.replace("'", "''")
