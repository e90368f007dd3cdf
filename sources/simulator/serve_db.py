"""`cdw simulate --serve-db`: the simulated CRM and ERP served as live operational databases.

The CRM lives in PostgreSQL (tables `accounts`, `contacts`), the ERP in MariaDB/MySQL (`customers`,
`invoices`), with the columns of `sources/live/crm_live.yml` and `sources/live/erp_live.yml`. Each
simulated day's deliveries (landing/crm, landing/erp; read and typed with the pipeline's own reader
and conformer, so rows an injected defect broke are left out) are applied as upserts; then a few
existing rows are deleted: accounts softly (`deleted_at`), contacts and ERP customers for real.

Like a real application, the database stamps `updated_at` when it writes: a row delivered late
(with an older change time) is stamped with the latest change time already in its table, so the
cursor only grows and incremental extraction by cursor finds every change.

Connection URLs come from CDW_CRM_PG_URL and CDW_ERP_MYSQL_URL, defaulting to the local servers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pyarrow as pa

PG_URL_ENV = "CDW_CRM_PG_URL"
MYSQL_URL_ENV = "CDW_ERP_MYSQL_URL"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test"
DELETE_SHARE = 0.002  # share of existing rows deleted per simulated day (at least one)

PG_DDL = """
DROP TABLE IF EXISTS contacts;
DROP TABLE IF EXISTS accounts;
CREATE TABLE accounts (
    account_id text PRIMARY KEY,
    account_type text NOT NULL,
    account_name text,
    tax_id text,
    industry text,
    country text,
    spend_potential numeric(18, 2),
    spend_potential_currency text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz
);
CREATE INDEX accounts_updated_at ON accounts (updated_at);
CREATE TABLE contacts (
    contact_id text PRIMARY KEY,
    account_id text NOT NULL,
    first_name text,
    last_name text,
    email text,
    phone text,
    date_of_birth date,
    street text,
    postcode text,
    city text,
    country text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX contacts_updated_at ON contacts (updated_at);
"""

MYSQL_DDL = (
    "DROP TABLE IF EXISTS invoices",
    "DROP TABLE IF EXISTS customers",
    """CREATE TABLE customers (
        customer_no VARCHAR(32) PRIMARY KEY,
        customer_name VARCHAR(255),
        is_company BOOLEAN NOT NULL,
        tax_id VARCHAR(32),
        email VARCHAR(255),
        phone VARCHAR(64),
        street VARCHAR(255),
        postcode VARCHAR(32),
        city VARCHAR(255),
        country VARCHAR(8),
        currency CHAR(3) NOT NULL,
        created_at DATETIME(6) NOT NULL,
        updated_at DATETIME(6) NOT NULL,
        INDEX customers_updated_at (updated_at)
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4""",
    """CREATE TABLE invoices (
        invoice_no VARCHAR(32) PRIMARY KEY,
        customer_no VARCHAR(32) NOT NULL,
        invoice_date DATE NOT NULL,
        currency CHAR(3) NOT NULL,
        total_amount DECIMAL(18, 2) NOT NULL,
        webshop_order_id VARCHAR(32),
        status VARCHAR(16) NOT NULL,
        updated_at DATETIME(6) NOT NULL,
        INDEX invoices_updated_at (updated_at)
    ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4""",
)


@dataclass(frozen=True)
class ServedTable:
    table: str
    system: str  # the delivered-file system whose deliveries fill it
    key: str
    columns: tuple[str, ...]  # written by the application; a soft-delete column is not


@cache
def served_tables(live_system: str) -> tuple[ServedTable, ...]:
    """The tables of a live contract, filled from the deliveries of the system it is the live
    form of (same entity names, same columns)."""
    from orchestration.contracts import LIVE_CONTRACTS_DIR, load_contract

    contract = load_contract(LIVE_CONTRACTS_DIR / f"{live_system}.yml")
    if not contract.live_form_of:
        raise ValueError(f"{contract.path}: `live_form_of` names no delivered-file system")
    return tuple(
        ServedTable(
            entity.table or entity.name,
            contract.live_form_of,
            entity.primary_key[0],
            tuple(c for c in entity.column_names if c != getattr(entity.deletes, "column", None)),
        )
        for entity in contract.entities
    )


@dataclass
class DayApplied:
    day: date
    upserted: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)


def pg_url() -> str:
    return os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL


def mysql_url() -> str:
    return os.environ.get(MYSQL_URL_ENV) or DEFAULT_MYSQL_URL


# --------------------------------------------------------------------------- connections


def connect_pg(url: str):
    import psycopg2

    con = psycopg2.connect(url)
    con.autocommit = False
    return con


def connect_mysql(url: str):
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/") or None,
        charset="utf8mb4",
        autocommit=False,
    )


def create_schemas(pg, mysql) -> None:
    """(Re)create the CRM tables in PostgreSQL and the ERP tables in MariaDB, empty."""
    if pg is not None:
        with pg.cursor() as cur:
            cur.execute(PG_DDL)
        pg.commit()
    if mysql is not None:
        with mysql.cursor() as cur:
            for statement in MYSQL_DDL:
                cur.execute(statement)
        mysql.commit()


# --------------------------------------------------------------------------- reading a day


def _day_rows(landing_dir: Path, system: str, entity_name: str, day: date) -> pa.Table | None:
    """The day's delivered rows of one entity, typed; the last version per key wins."""
    from orchestration.conform import conform
    from orchestration.contracts import load_contracts
    from orchestration.readers import read_landed_file

    contract = next(c for c in load_contracts() if c.system == system)
    entity = contract.entity(entity_name)
    folder = landing_dir / system / day.isoformat()
    tables = []
    for path in sorted(folder.glob(entity.files)) if folder.is_dir() else []:
        try:
            read = read_landed_file(path, entity)
        except Exception:
            continue
        if read.missing_columns:
            continue
        good = conform(read.rows, entity, system_timezone=contract.timezone, source_file=path.name)
        tables.append(good.good.select(entity.column_names))
    if not tables:
        return None
    return _last_per_key(pa.concat_tables(tables), entity.primary_key[0])


def _last_per_key(table: pa.Table, key: str) -> pa.Table:
    keys = table[key].to_numpy(zero_copy_only=False)
    _, first_from_end = np.unique(keys[::-1], return_index=True)
    keep = np.sort(len(keys) - 1 - first_from_end)
    return table.take(pa.array(keep, pa.int64()))


def _stamped(table: pa.Table, floor: datetime | None) -> pa.Table:
    """updated_at never below the table's latest change: the database stamps the write."""
    if floor is None:
        return table
    import pyarrow.compute as pc

    index = table.schema.get_field_index("updated_at")
    scalar = pa.scalar(floor.astimezone(UTC), table.schema.field(index).type)
    column = table["updated_at"]
    stamped = pc.if_else(pc.less(column, scalar), scalar, column)
    return table.set_column(index, "updated_at", stamped)


# --------------------------------------------------------------------------- applying a day


def apply_day(
    landing_dir: Path,
    day: date,
    pg,
    mysql,
    *,
    seed: int = 42,
    deletes: bool = True,
) -> DayApplied:
    """Apply one simulated day: upserts from the day's deliveries, then a few deletes."""
    applied = DayApplied(day)
    rng = np.random.default_rng([seed, day.toordinal()])
    if pg is not None:
        for served in served_tables("crm_live"):
            rows = _day_rows(landing_dir, served.system, served.table, day)
            applied.upserted[served.table] = _upsert_pg(pg, served, rows)
        if deletes:
            applied.deleted["accounts"] = _soft_delete_pg(pg, rng)
            applied.deleted["contacts"] = _hard_delete(pg, "contacts", "contact_id", rng, "%s")
        pg.commit()
    if mysql is not None:
        for served in served_tables("erp_live"):
            rows = _day_rows(landing_dir, served.system, served.table, day)
            applied.upserted[served.table] = _upsert_mysql(mysql, served, rows)
        if deletes:
            applied.deleted["customers"] = _hard_delete(
                mysql, "customers", "customer_no", rng, "%s"
            )
        mysql.commit()
    return applied


def _floor(con, table: str, utc_naive: bool) -> datetime | None:
    with con.cursor() as cur:
        cur.execute(f"SELECT max(updated_at) FROM {table}")
        value = cur.fetchone()[0]
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if utc_naive else value


def _upsert_pg(con, served: ServedTable, rows: pa.Table | None) -> int:
    if rows is None or not rows.num_rows:
        return 0
    from psycopg2.extras import execute_values

    table, key, columns = served.table, served.key, served.columns
    rows = _stamped(rows.select(list(columns)), _floor(con, table, utc_naive=False))
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    sql = f"INSERT INTO {table} ({names}) VALUES %s ON CONFLICT ({key}) DO UPDATE SET {updates}"
    with con.cursor() as cur:
        for batch in rows.to_batches(max_chunksize=5000):
            values = list(zip(*(batch.column(c).to_pylist() for c in columns), strict=True))
            execute_values(cur, sql, values, page_size=5000)
    return rows.num_rows


def _upsert_mysql(con, served: ServedTable, rows: pa.Table | None) -> int:
    if rows is None or not rows.num_rows:
        return 0
    table, key, columns = served.table, served.key, served.columns
    rows = _stamped(rows.select(list(columns)), _floor(con, table, utc_naive=True))
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    updates = ", ".join(f"{c} = VALUES({c})" for c in columns if c != key)
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks}) ON DUPLICATE KEY UPDATE {updates}"
    with con.cursor() as cur:
        for batch in rows.to_batches(max_chunksize=5000):
            lists = [_mysql_values(batch.column(c).to_pylist()) for c in columns]
            cur.executemany(sql, list(zip(*lists, strict=True)))
    return rows.num_rows


def _mysql_values(values: list) -> list:
    # DATETIME columns hold UTC, naive
    return [
        v.astimezone(UTC).replace(tzinfo=None)
        if isinstance(v, datetime) and v.tzinfo is not None
        else v
        for v in values
    ]


def _pick(con, sql: str, rng: np.random.Generator) -> list[str]:
    with con.cursor() as cur:
        cur.execute(sql)
        keys = [row[0] for row in cur.fetchall()]
    if len(keys) < 20:  # too small a table to lose rows every day
        return []
    count = max(1, round(len(keys) * DELETE_SHARE))
    return [keys[i] for i in sorted(rng.choice(len(keys), size=count, replace=False))]


def _soft_delete_pg(con, rng: np.random.Generator) -> int:
    keys = _pick(con, "SELECT account_id FROM accounts WHERE deleted_at IS NULL ORDER BY 1", rng)
    if not keys:
        return 0
    with con.cursor() as cur:
        # stamped like any write: not before the latest change in the table
        cur.execute(
            "UPDATE accounts SET deleted_at = stamp, updated_at = stamp "
            "FROM (SELECT max(updated_at) + interval '1 second' AS stamp FROM accounts) AS s "
            "WHERE account_id = ANY(%s)",
            (keys,),
        )
    return len(keys)


def _hard_delete(con, table: str, key: str, rng: np.random.Generator, mark: str) -> int:
    keys = _pick(con, f"SELECT {key} FROM {table} ORDER BY 1", rng)
    if not keys:
        return 0
    with con.cursor() as cur:
        cur.executemany(f"DELETE FROM {table} WHERE {key} = {mark}", [(k,) for k in keys])
    return len(keys)


# --------------------------------------------------------------------------- whole world


def landed_days(landing_dir: Path) -> list[date]:
    days: set[date] = set()
    for system in ("crm", "erp"):
        folder = landing_dir / system
        for child in folder.iterdir() if folder.is_dir() else []:
            try:
                days.add(date.fromisoformat(child.name))
            except ValueError:
                continue
    return sorted(days)


def serve(
    landing_dir: Path,
    *,
    pg_url_: str | None = None,
    mysql_url_: str | None = None,
    days: Iterable[date] | None = None,
    seed: int = 42,
    deletes: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[DayApplied]:
    """Recreate both schemas and apply every landed day in order (the initial extract first).
    Without `deletes` the databases end holding every delivered record, as the files do."""
    say = progress or (lambda _message: None)
    pg = connect_pg(pg_url_ or pg_url())
    mysql = connect_mysql(mysql_url_ or mysql_url())
    try:
        create_schemas(pg, mysql)
        applied = []
        for index, day in enumerate(days if days is not None else landed_days(landing_dir)):
            applied.append(
                apply_day(landing_dir, day, pg, mysql, seed=seed, deletes=deletes and index > 0)
            )
            say(f"served {day}: upserted {applied[-1].upserted}, deleted {applied[-1].deleted}")
        return applied
    finally:
        pg.close()
        mysql.close()
