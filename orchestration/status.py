"""What `cdw status` shows: the last load, freshness per source, rows per zone and per mart.

Everything here only reads: the ledger (`ledger.sqlite`, opened read-only), the raw and quarantine
Parquet zones (through DuckDB), and the warehouse (read-only; a writer's lock is reported, not
waited for).

Freshness of a source entity is the age of its latest delivery: now minus the start (00:00 UTC)
of its latest load date, i.e. of the landing folder it was delivered in. The time the pipeline
wrote it (`_loaded_at`) is shown beside it, but does not make a source fresh: re-running an old
partition must not hide a system that stopped delivering.

Beside that wall-clock view, `at_last_load` holds the freshness checks as the last load judged
them (as of the end of its load date; see `orchestration/freshness.py`): what warned or blocked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import duckdb

from orchestration.contracts import SystemContract, load_contracts
from orchestration.freshness import EntityFreshness, freshness_as_of
from orchestration.settings import Settings
from orchestration.summaries import EntityAccounting, accounting


@dataclass(frozen=True)
class LastLoad:
    load_date: date
    started_at: str
    finished_at: str
    status: str  # success | failed
    partitions: int
    failed_partitions: tuple[str, ...]  # "system/entity" whose latest run for the date failed


@dataclass(frozen=True)
class Freshness:
    system: str
    entity: str
    latest_load_date: date | None
    latest_loaded_at: datetime | None
    age_hours: float | None
    warn_after_hours: int
    error_after_hours: int

    @property
    def state(self) -> str:
        """ok, warn or error; never loaded counts as error."""
        if self.age_hours is None or self.age_hours > self.error_after_hours:
            return "error"
        if self.age_hours > self.warn_after_hours:
            return "warn"
        return "ok"


@dataclass(frozen=True)
class MartRows:
    available: bool
    note: str  # why not available ("no warehouse yet", "being written"), else ""
    rows: tuple[tuple[str, int], ...]  # (schema.table, rows)


@dataclass(frozen=True)
class Status:
    last_load: LastLoad | None
    freshness: tuple[Freshness, ...]
    zones: tuple[EntityAccounting, ...]
    quarantine_by_rule: tuple[tuple[str, int], ...]
    marts: MartRows
    at_last_load: tuple[EntityFreshness, ...] = ()  # freshness checks as of the last load date

    @property
    def loaded_anything(self) -> bool:
        return self.last_load is not None


def collect_status(
    settings: Settings,
    contracts: Sequence[SystemContract] | None = None,
    now: datetime | None = None,
) -> Status:
    contracts = list(contracts) if contracts is not None else load_contracts()
    now = now or datetime.now(UTC)
    last = last_load(settings)
    return Status(
        last_load=last,
        freshness=tuple(freshness(settings, contracts, now)),
        zones=tuple(accounting(settings)),
        quarantine_by_rule=tuple(quarantine_by_rule(settings)),
        marts=mart_rows(settings),
        at_last_load=tuple(freshness_as_of(settings, contracts, last.load_date)) if last else (),
    )


def last_load(settings: Settings) -> LastLoad | None:
    """The latest load date in the ledger's `loads`, judged by each partition's latest run."""
    if not settings.ledger_path.exists():
        return None
    with closing(_ledger(settings.ledger_path)) as ledger:
        latest = ledger.execute("select max(load_date) from loads").fetchone()[0]
        if latest is None:
            return None
        runs = ledger.execute(
            """
            select system, entity, status, started_at, finished_at
            from loads
            where load_date = ?
              and load_id in (select max(load_id) from loads where load_date = ?
                              group by system, entity)
            order by system, entity
            """,
            (latest, latest),
        ).fetchall()
    failed = tuple(f"{s}/{e}" for s, e, status, _, _ in runs if status != "success")
    return LastLoad(
        load_date=date.fromisoformat(latest),
        started_at=min(r[3] for r in runs),
        finished_at=max(r[4] for r in runs),
        status="failed" if failed else "success",
        partitions=len(runs),
        failed_partitions=failed,
    )


def freshness(
    settings: Settings, contracts: Sequence[SystemContract], now: datetime
) -> list[Freshness]:
    """One row per contract entity, loaded or not."""
    result = []
    for contract in contracts:
        for entity in contract.entities:
            latest, loaded_at = _latest_partition(settings, contract.system, entity.name)
            age = (
                (now - datetime.combine(latest, time(), tzinfo=UTC)).total_seconds() / 3600
                if latest
                else None
            )
            result.append(
                Freshness(
                    system=contract.system,
                    entity=entity.name,
                    latest_load_date=latest,
                    latest_loaded_at=loaded_at,
                    age_hours=age,
                    warn_after_hours=entity.freshness.warn_after_hours,
                    error_after_hours=entity.freshness.error_after_hours,
                )
            )
    return result


def _latest_partition(
    settings: Settings, system: str, entity: str
) -> tuple[date | None, datetime | None]:
    folder = settings.raw_dir / system / entity
    dates = []
    for part in folder.glob("load_date=*/part-0.parquet"):
        try:
            dates.append(date.fromisoformat(part.parent.name.removeprefix("load_date=")))
        except ValueError:
            continue
    if not dates:
        return None, None
    pattern = str(folder / "load_date=*" / "part-0.parquet")
    with duckdb.connect() as db:
        db.execute("set TimeZone = 'UTC'")
        loaded_at = db.execute(
            "select max(_loaded_at) from read_parquet(?, union_by_name = true)", [pattern]
        ).fetchone()[0]
    return max(dates), loaded_at


def quarantine_by_rule(settings: Settings) -> list[tuple[str, int]]:
    """Quarantined rows per rule, over every quarantine partition."""
    from orchestration.quarantine import quarantine_relation

    with duckdb.connect() as db:
        if not quarantine_relation(db, settings):
            return []
        return [
            (rule, count)
            for rule, count in db.execute(
                "select rule, count(*) from quarantined group by rule order by 2 desc, 1"
            ).fetchall()
        ]


def mart_rows(settings: Settings) -> MartRows:
    """Rows per table of the `marts` schema of the warehouse, read-only."""
    path = settings.warehouse_path
    if not path.exists():
        return MartRows(False, f"no warehouse yet ({path}); run `cdw load`", ())
    try:
        with duckdb.connect(str(path), read_only=True) as db:
            tables = db.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema = 'marts' and table_type = 'BASE TABLE' order by table_name"
            ).fetchall()
            rows = tuple(
                (
                    f"{schema}.{name}",
                    db.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0],
                )
                for schema, name in tables
            )
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return MartRows(False, "the warehouse is being written by a load; try again later", ())
        raise
    return MartRows(True, "", rows)


def _ledger(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
