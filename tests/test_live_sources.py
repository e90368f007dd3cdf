"""Live operational databases as sources, against the machine's real PostgreSQL and MariaDB.

Each test works in its own fresh PostgreSQL schema or MariaDB database, so runs never collide.
With CI=true a missing server fails the test; elsewhere it skips with a one-line reason.
The CRM and ERP are served by `simulator.serve_db` from the session's small simulated world.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import LoadedWorld

from orchestration import extract
from orchestration.contracts import LIVE_CONTRACTS_DIR, SystemContract, load_contract
from orchestration.extract import ExtractError, load_live_partition
from orchestration.settings import Settings
from orchestration.watermarks import Watermarks
from simulator import serve_db

PG_ADMIN_URL = os.environ.get("CDW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_ADMIN_URL = os.environ.get("CDW_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
TODAY = datetime.now(UTC).date()
CRM = load_contract(LIVE_CONTRACTS_DIR / "crm_live.yml")
ERP = load_contract(LIVE_CONTRACTS_DIR / "erp_live.yml")


def _unavailable(what: str, exc: Exception) -> None:
    reason = f"{what} not reachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: live-source tests must run)")
    pytest.skip(reason)


@dataclass(frozen=True)
class LiveDb:
    url: str  # what the contract's connection variable would hold
    con: object  # an admin connection into the same schema/database, for setup and checks


@pytest.fixture
def pg() -> Iterator[LiveDb]:
    try:
        admin = serve_db.connect_pg(PG_ADMIN_URL)
    except Exception as exc:  # any driver error means: no server here
        _unavailable(f"PostgreSQL at {extract.masked_url(PG_ADMIN_URL)}", exc)
    schema = f"cdw_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(f"SET search_path TO {schema}")
    admin.commit()
    url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}&application_name={schema}"
    try:
        yield LiveDb(url, admin)
    finally:
        admin.rollback()
        with admin.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.commit()
        admin.close()


@pytest.fixture
def mysql() -> Iterator[LiveDb]:
    try:
        admin = serve_db.connect_mysql(MYSQL_ADMIN_URL)
    except Exception as exc:  # any driver error means: no server here
        _unavailable(f"MariaDB at {extract.masked_url(MYSQL_ADMIN_URL)}", exc)
    database = f"cdw_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {database}")
        cur.execute(f"USE {database}")
    url = MYSQL_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    try:
        yield LiveDb(url, admin)
    finally:
        admin.rollback()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE {database}")
        admin.close()


@pytest.fixture(params=[1, 3], ids=["one connection", "three connections"])
def connections(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """PostgreSQL read over one connection, or over three sharing one exported snapshot (what a
    large table gets; forced here on the small world's tables)."""
    monkeypatch.setattr(extract, "PG_CONNECTIONS", request.param)
    monkeypatch.setattr(extract, "PG_PARALLEL_MIN_BYTES", 0)
    return request.param


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


# --------------------------------------------------------------------------- helpers


def _days(simulated_world: Settings) -> list[date]:
    return serve_db.landed_days(simulated_world.landing_dir)


def _serve_first_day(world: Settings, pg: LiveDb) -> None:
    """The CRM tables as the first simulated day left them, nothing deleted yet."""
    serve_db.create_schemas(pg.con, None)
    serve_db.apply_day(world.landing_dir, _days(world)[0], pg.con, None, deletes=False)


def _serve_days(world: Settings, pg: LiveDb | None, mysql: LiveDb | None, load) -> dict[str, int]:
    """Every simulated day applied in order (deletes from the second day on), calling
    `load(day)` after each; returns the rows deleted per table."""
    pg_con, mysql_con = (pg.con if pg else None), (mysql.con if mysql else None)
    serve_db.create_schemas(pg_con, mysql_con)
    deleted: dict[str, int] = {}
    for index, day in enumerate(_days(world)):
        applied = serve_db.apply_day(world.landing_dir, day, pg_con, mysql_con, seed=3,
                                     deletes=index > 0)  # fmt: skip
        for table, count in applied.deleted.items():
            deleted[table] = deleted.get(table, 0) + count
        load(day)
    return deleted


def _load(settings: Settings, contract: SystemContract, db: LiveDb, day: date, **kw) -> None:
    for entity in contract.entities:
        load_live_partition(settings, contract, entity, day, url=db.url, **kw)


def _norm(value: object) -> object:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


def _raw_rows(settings: Settings, system: str, entity: str) -> list[dict]:
    glob = (settings.raw_dir / system / entity / "*" / "*.parquet").as_posix()
    return duckdb.sql(f"SELECT * FROM read_parquet('{glob}')").to_arrow_table().to_pylist()


def _latest(settings: Settings, contract: SystemContract, entity_name: str) -> dict[str, tuple]:
    """What staging does: the latest version per key from raw/, deleted keys dropped."""
    entity = contract.entity(entity_name)
    key, cursor = entity.primary_key[0], entity.cursor
    latest: dict[str, dict] = {}
    for row in _raw_rows(settings, contract.system, entity_name):
        order = (row[cursor], row["_loaded_at"], row["_source_file"], row["_source_row"])
        kept = latest.get(row[key])
        if kept is None or order > kept["_order"]:
            latest[row[key]] = {**row, "_order": order}
    deleted = entity.deletes.column if entity.deletes else None
    columns = [c for c in entity.column_names if c != deleted]
    return {
        k: tuple(_norm(row[c]) for c in columns)
        for k, row in latest.items()
        if not (deleted and row[deleted])
    }


def _database(db: LiveDb, contract: SystemContract, entity_name: str) -> dict[str, tuple]:
    """The table's current rows, as the same tuples (soft-deleted rows dropped)."""
    entity = contract.entity(entity_name)
    deletes = entity.deletes
    columns = [c for c in entity.column_names if not (deletes and c == deletes.column)]
    where = f" WHERE {deletes.column} IS NULL" if deletes and deletes.mode == "soft" else ""
    with db.con.cursor() as cur:
        cur.execute(f"SELECT {', '.join(columns)} FROM {entity.table}{where}")
        rows = cur.fetchall()
    booleans = {i for i, c in enumerate(columns) if entity.column(c).type == "boolean"}
    return {
        row[0]: tuple(bool(v) if i in booleans else _norm(v) for i, v in enumerate(row))
        for row in rows
    }


def _kill_extraction(db: LiveDb, connections: int) -> None:
    """Once all `connections` of the extraction are reading (their query the COPY of a range;
    the driver also opens a short-lived connection of its own while connecting), from a second
    connection pg_terminate_backend on the newest of them: the only one, or the last to join."""
    schema = db.url.rsplit("application_name=", 1)[1]
    readers = (
        "FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid() "
        "AND query LIKE 'COPY %%'"
    )
    killer = serve_db.connect_pg(PG_ADMIN_URL)
    killer.autocommit = True  # pg_stat_activity is read once per transaction: a fresh one a poll
    try:
        with killer.cursor() as cur:
            for _ in range(100):  # the other ranges' readers may still be connecting
                cur.execute(f"SELECT count(*) {readers}", (schema,))
                if cur.fetchone()[0] == connections:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"the extraction never had {connections} readers")
            cur.execute(
                f"SELECT pg_terminate_backend(pid) {readers} ORDER BY backend_start DESC LIMIT 1",
                (schema,),
            )
            assert [row[0] for row in cur.fetchall()] == [True]
    finally:
        killer.close()


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_full_then_incremental_loads_equal_the_database(
    simulated_world: Settings,
    settings: Settings,
    pg: LiveDb,
    monkeypatch: pytest.MonkeyPatch,
    connections: int,
) -> None:
    deleted = _serve_days(simulated_world, pg, None, lambda day: _load(settings, CRM, pg, day))
    days = _days(simulated_world)
    assert deleted["accounts"] >= 2 and deleted["contacts"] >= 2  # deletes of both kinds happened
    for entity in ("accounts", "contacts"):
        assert _latest(settings, CRM, entity) == _database(pg, CRM, entity), entity
    # incremental: later runs read only rows at or above watermark - overlap, not everything
    first = Watermarks(settings.ledger_path).get("crm_live", "contacts")
    assert first is not None and first.load_date == days[-1].isoformat()
    raw_contacts = _raw_rows(settings, "crm_live", "contacts")
    per_day = {d: sum(r["_load_date"] == d for r in raw_contacts) for d in days}
    assert per_day[days[0]] > 3 * max(per_day[d] for d in days[1:])  # not full reloads
    tombstones = [r for r in raw_contacts if r["is_deleted"]]
    assert len(tombstones) == deleted["contacts"]
    _check_dbt_models(settings, pg, monkeypatch)


def _check_dbt_models(settings: Settings, pg: LiveDb, monkeypatch: pytest.MonkeyPatch) -> None:
    """Staging = the database now; the history has one current row per existing account."""
    from test_dbt_build import run_dbt

    monkeypatch.setenv("CDW_CRM_PG_URL", pg.url)  # enables the live models
    models = "stg_crm_live__accounts stg_crm_live__contacts int_crm_live__account_history"
    result = run_dbt(settings.data_dir, "build", "--select", *models.split())
    assert result.success, result.exception
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        staged = dict(
            con.sql("SELECT account_id, updated_at FROM staging.stg_crm_live__accounts").fetchall()
        )
        contacts = {
            r[0]
            for r in con.sql("SELECT contact_id FROM staging.stg_crm_live__contacts").fetchall()
        }
        history = con.sql(
            "SELECT account_id, valid_from, valid_to, is_current "
            "FROM intermediate.int_crm_live__account_history ORDER BY account_id, valid_from"
        ).fetchall()
    database = _database(pg, CRM, "accounts")
    assert {k: _norm(v.replace(tzinfo=UTC)) for k, v in staged.items()} == {
        k: row[CRM.entity("accounts").column_names.index("updated_at")]
        for k, row in database.items()
    }
    assert contacts == set(_database(pg, CRM, "contacts"))
    current = [row[0] for row in history if row[3]]
    assert sorted(current) == sorted(database)  # one current row per existing account, no more
    for earlier, later in itertools.pairwise(history):
        if earlier[0] == later[0]:
            assert earlier[2] == later[1] and not earlier[3]  # contiguous, closed


def test_a_crash_after_the_raw_write_re_extracts_and_stays_exact(
    simulated_world: Settings, settings: Settings, pg: LiveDb
) -> None:
    _serve_first_day(simulated_world, pg)
    day = TODAY  # changes made now (updated_at = now()) belong to today's load
    entity = CRM.entity("accounts")
    # steps 1-4 done, the process dies before the watermark is advanced
    extract.extract_entity(settings, CRM, entity, day, url=pg.url)
    extract.ingest_partition(settings, CRM, entity, day)
    assert Watermarks(settings.ledger_path).get("crm_live", "accounts") is None
    load_live_partition(settings, CRM, entity, day, url=pg.url)
    assert _latest(settings, CRM, "accounts") == _database(pg, CRM, "accounts")


def test_a_connection_killed_mid_extraction_then_a_rerun_loses_and_duplicates_nothing(
    simulated_world: Settings,
    settings: Settings,
    pg: LiveDb,
    monkeypatch: pytest.MonkeyPatch,
    connections: int,
) -> None:
    _serve_first_day(simulated_world, pg)
    day = TODAY  # changes made now (updated_at = now()) belong to today's load
    entity = CRM.entity("contacts")
    # many batches from a small table: more per range than the readers' queue holds, so no
    # reader can have finished (and committed) when the first batch triggers the kill
    monkeypatch.setattr(extract, "PG_BATCH_BYTES", 512)
    batches: list[int] = []

    killed: list[BaseException | None] = []

    def kill_on_first_batch(rows: int) -> None:
        batches.append(rows)
        if len(batches) == 1:
            try:
                _kill_extraction(pg, connections)
                killed.append(None)
            except BaseException as exc:  # the extraction would report it as its own failure
                killed.append(exc)

    with pytest.raises(ExtractError, match="watermark was not advanced") as failure:
        load_live_partition(settings, CRM, entity, day, url=pg.url, on_batch=kill_on_first_batch)
    assert killed == [None]  # every range's reader was open, and one of them was killed
    assert "postgresql://" not in str(failure.value).replace("postgresql://postgres@", "")
    folder = settings.landing_dir / "crm_live" / day.isoformat()
    assert [p.name for p in folder.iterdir()] == []  # nothing landed, no hidden part left
    assert not (settings.raw_dir / "crm_live" / "contacts").exists()
    assert Watermarks(settings.ledger_path).get("crm_live", "contacts") is None

    load_live_partition(settings, CRM, entity, day, url=pg.url)
    raw = _raw_rows(settings, "crm_live", "contacts")
    keys = [r["contact_id"] for r in raw]
    assert len(keys) == len(set(keys))  # no duplicate
    assert _latest(settings, CRM, "contacts") == _database(pg, CRM, "contacts")  # no loss


def test_rows_updated_during_an_extraction_are_picked_up_next_time(
    simulated_world: Settings,
    settings: Settings,
    pg: LiveDb,
    monkeypatch: pytest.MonkeyPatch,
    connections: int,
) -> None:
    _serve_first_day(simulated_world, pg)
    day = TODAY  # changes made now (updated_at = now()) belong to today's load
    with pg.con.cursor() as cur:
        cur.execute("SELECT account_id FROM accounts ORDER BY account_id DESC LIMIT 1")
        last_key = cur.fetchone()[0]
    pg.con.commit()
    entity = CRM.entity("accounts")
    monkeypatch.setattr(extract, "PG_BATCH_BYTES", 2048)

    def update_once(rows: int) -> None:
        if rows and not getattr(update_once, "done", False):
            update_once.done = True
            with pg.con.cursor() as cur:  # a committed change while the snapshot is open
                cur.execute(
                    "UPDATE accounts SET account_name = 'Changed Meanwhile GmbH', "
                    "updated_at = now() WHERE account_id = %s",
                    (last_key,),
                )
            pg.con.commit()

    load_live_partition(settings, CRM, entity, day, url=pg.url, on_batch=update_once)
    assert getattr(update_once, "done", False)
    names = {
        r["account_id"]: r["account_name"] for r in _raw_rows(settings, "crm_live", "accounts")
    }
    assert names[last_key] != "Changed Meanwhile GmbH"  # one consistent snapshot
    assert _latest(settings, CRM, "accounts") != _database(pg, CRM, "accounts")

    load_live_partition(settings, CRM, entity, day, url=pg.url)
    latest = _latest(settings, CRM, "accounts")
    assert latest[last_key][2] == "Changed Meanwhile GmbH"
    assert latest == _database(pg, CRM, "accounts")


def test_the_connection_string_is_masked_in_errors(settings: Settings) -> None:
    url = "postgresql://cdw:s3cr%40t-pw@127.0.0.1:1/nowhere"
    with pytest.raises(ExtractError) as failure:
        load_live_partition(settings, CRM, CRM.entity("accounts"), date(2026, 11, 27), url=url)
    assert "s3cr" not in str(failure.value) and "cdw@127.0.0.1:1/nowhere" in str(failure.value)


# --------------------------------------------------------------------------- MariaDB


def test_mariadb_full_then_incremental_loads_equal_the_database(
    simulated_world: Settings, settings: Settings, mysql: LiveDb
) -> None:
    deleted = _serve_days(
        simulated_world, None, mysql, lambda day: _load(settings, ERP, mysql, day)
    )
    days = _days(simulated_world)
    mysql.con.commit()  # a fresh snapshot for the checks below
    assert deleted["customers"] >= 2
    for entity in ("customers", "invoices"):
        assert _latest(settings, ERP, entity) == _database(mysql, ERP, entity), entity
    raw_invoices = _raw_rows(settings, "erp_live", "invoices")
    assert sum(r["_load_date"] == days[0] for r in raw_invoices) > len(raw_invoices) / 2


# --------------------------------------------------------------------------- downstream

# The entities the live CRM and ERP replace (their contracts' `live_form_of`).
REPLACED = {(CRM.live_form_of, e.name) for e in CRM.entities} | {
    (ERP.live_form_of, e.name) for e in ERP.entities
}


def test_live_crm_and_erp_give_the_customers_and_revenue_their_files_give(
    loaded_world: LoadedWorld,
    settings: Settings,
    pg: LiveDb,
    mysql: LiveDb,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deployment taking CRM accounts and contacts, ERP customers and invoices from the
    databases instead of their files: the same customers, the same records under each, the same
    revenue per customer as the file path (loaded_world), and each entity read once."""
    from test_dbt_build import run_dbt

    files = loaded_world.settings
    assert {("crm", "accounts"), ("crm", "contacts"), ("erp", "customers"),
                        ("erp", "invoices")} == REPLACED  # fmt: skip
    for folder in files.raw_dir.glob("*/*"):  # the other entities as the file path loaded them
        if (folder.parent.name, folder.name) not in REPLACED:
            shutil.copytree(folder, settings.raw_dir / folder.parent.name / folder.name)
    days = _days(files)
    serve_db.create_schemas(pg.con, mysql.con)
    for day in days:  # no deletes: the databases end holding what the files delivered
        serve_db.apply_day(files.landing_dir, day, pg.con, mysql.con, deletes=False)
    _load(settings, CRM, pg, days[-1])
    _load(settings, ERP, mysql, days[-1])
    monkeypatch.setenv(CRM.connection_env, pg.url)
    monkeypatch.setenv(ERP.connection_env, mysql.url)

    result = run_dbt(settings.data_dir, "build")
    failed = [r.node.name for r in result.result or [] if r.status not in ("success", "pass")]
    assert result.success and not failed, (result.exception, failed)
    live, from_files = _customers(settings), _customers(files)
    assert len(live) > 100  # a real world of customers, compared whole
    # their CRM and ERP records can only have come from the databases: no file raw was copied
    assert {key.split(":")[0] for keys in live for key in keys} >= {"crm", "erp"}
    assert live == from_files
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        systems = dict(
            con.sql("SELECT system, count(*) FROM marts.fct_revenue GROUP BY 1").fetchall()
        )
    assert systems["erp"] > 0  # from the live invoices: the file ones were never copied


def _customers(world: Settings) -> dict[frozenset[str], Decimal]:
    """Each customer as the set of its source records -> its lifetime revenue (ids differ between
    builds; the grouping and the money must not)."""
    with duckdb.connect(str(world.warehouse_path), read_only=True) as con:
        rows = con.sql(
            "SELECT list(b.record_key ORDER BY b.record_key), any_value(r.lifetime_revenue) "
            "FROM marts.bridge_customer_source AS b "
            "LEFT JOIN marts.mart_revenue_per_customer AS r USING (customer_id) "
            "GROUP BY b.customer_id"
        ).fetchall()
    return {frozenset(keys): revenue for keys, revenue in rows}


# --------------------------------------------------------------------------- contracts


def test_live_contracts_are_on_only_while_their_variable_is_set(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from orchestration.contracts import load_live_contracts

    monkeypatch.delenv("CDW_CRM_PG_URL", raising=False)
    monkeypatch.setenv("CDW_ERP_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
    with caplog.at_level("INFO", logger="orchestration.contracts"):
        systems = [c.system for c in load_live_contracts()]
    assert systems == ["erp_live"]
    assert "live source crm_live skipped: CDW_CRM_PG_URL is not set" in caplog.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cursor": None}, "needs a `cursor`"),
        ({"table": None}, "needs `table` or `query`"),
        ({"files": "accounts_*.csv"}, "globs its extracts"),
        ({"deletes": {"mode": "soft", "column": "gone_at"}}, "deletes column 'gone_at'"),
    ],
)
def test_a_live_contract_is_validated(tmp_path: Path, change: dict, message: str) -> None:
    import yaml

    from orchestration.contracts import ContractError

    document = yaml.safe_load((LIVE_CONTRACTS_DIR / "crm_live.yml").read_text())
    document["entities"][0] = {**document["entities"][0], **change}
    path = tmp_path / "crm_live.yml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ContractError, match=re.escape(message)):
        load_contract(path)


@pytest.mark.parametrize(
    ("original", "changed", "message"),
    [
        ("live_form_of: crm", "live_form_of: sales", "no such system"),
        ("      - {name: street, type: string, tags: [address, pii], "
         'description: "Street and house number."}\n', "", "needs column 'street'"),
        ("name: date_of_birth, type: date, staged_as: birth_date",
         "name: date_of_birth, type: date", "needs column 'date_of_birth'"),
        ("identity: {trust_rank: 1, group_key: account_id}", "identity: {trust_rank: 3}",
         "identity block of its file twin"),
    ],
)  # fmt: skip
def test_a_live_form_must_be_indistinguishable_from_its_file_twin(
    tmp_path: Path, original: str, changed: str, message: str
) -> None:
    from orchestration.contracts import ContractError, load_contracts
    from orchestration.dbt_sources import check_live_forms

    text = (LIVE_CONTRACTS_DIR / "crm_live.yml").read_text(encoding="utf-8")
    assert original in text
    path = tmp_path / "crm_live.yml"
    path.write_text(text.replace(original, changed), encoding="utf-8")
    check_live_forms(load_contracts(), [CRM])  # the committed one passes
    with pytest.raises(ContractError, match=re.escape(message)):
        check_live_forms(load_contracts(), [load_contract(path)])
