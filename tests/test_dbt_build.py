"""`dbt build` over the hand-made raw zone of tests/raw_fixture.py, asserting mart values."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from raw_fixture import build_raw_zone

PROJECT_DIR = Path(__file__).resolve().parent.parent


# dbt parses a project from scratch when the profile differs from its last parse, and the profile
# holds the data directory (the warehouse path), as the sources hold their raw locations: every
# test's first run in its own directory cost a full parse (about 15 s of CPU, 40 times a suite).
# This process's runs all go through one path instead, a symlink pointed at the run's directory,
# with one target directory per project, so that dbt's partial parsing carries over between
# tests. dbt still re-parses whatever did change (files, variables, env vars it read).
_ALIAS_ROOT: Path | None = None


def _alias_root() -> Path:
    global _ALIAS_ROOT
    if _ALIAS_ROOT is None:
        _ALIAS_ROOT = Path(tempfile.mkdtemp(prefix="cdw-dbt-"))
        atexit.register(shutil.rmtree, _ALIAS_ROOT, ignore_errors=True)
    return _ALIAS_ROOT


def _point_alias_at(data_dir: Path) -> Path:
    alias = _alias_root() / "data"
    staged = alias.with_name("data.next")
    staged.unlink(missing_ok=True)
    staged.symlink_to(data_dir.resolve(), target_is_directory=True)
    staged.replace(alias)
    return alias


def run_dbt(data_dir: Path, *args: str, project_dir: Path = PROJECT_DIR):
    """Run dbt in-process against `data_dir`; logs stay in data_dir, the target directory is
    this process's for the project (see _ALIAS_ROOT)."""
    from dbt.cli.main import dbtRunner

    saved = {key: os.environ.get(key) for key in ("CDW_DATA_DIR", "CDW_REPORTING_CURRENCY")}
    os.environ["CDW_DATA_DIR"] = str(_point_alias_at(data_dir))
    os.environ["CDW_REPORTING_CURRENCY"] = "EUR"
    project = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:12]
    try:
        return dbtRunner().invoke(
            [
                *args,
                "--project-dir", str(project_dir),
                "--profiles-dir", str(project_dir),
                "--target-path", str(_alias_root() / f"target-{project}"),
                "--log-path", str(data_dir / "logs"),
                "--no-send-anonymous-usage-stats",
                "--quiet",
            ]
        )  # fmt: skip
    finally:
        _release_duckdb()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open in-process after a run; close it so that this process
    (and the next run, with another data dir) can open the file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("dbt_fixture")
    build_raw_zone(data_dir)
    result = run_dbt(data_dir, "build")
    failures = [
        f"{r.node.name}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success and not failures, failures or result.exception
    # loads leave the unit tests out (LOAD_BUILD); this build is where they run
    assert any(r.node.resource_type == "unit_test" for r in result.result)
    connection = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    yield connection
    connection.close()


def rows(connection, sql: str) -> list[tuple]:
    return connection.sql(sql).fetchall()


def customer_of(connection, system: str, entity: str, source_id: str) -> str:
    (customer_id,) = rows(
        connection,
        "select customer_id from marts.bridge_customer_source "
        f"where system = '{system}' and entity = '{entity}' and source_id = '{source_id}'",
    )[0]
    return customer_id


def test_identity_merges_one_person_across_systems_but_not_a_household(warehouse):
    anna = customer_of(warehouse, "crm", "contacts", "CON-1")
    for system, entity, source_id in [
        ("crm", "accounts", "ACC-1"),
        ("erp", "customers", "C-1"),
        ("webshop", "users", "U-1"),
        ("pos", "loyalty_cards", "1000000000001"),
        ("support", "tickets", "T-1"),
    ]:
        assert customer_of(warehouse, system, entity, source_id) == anna
    assert customer_of(warehouse, "webshop", "users", "U-2") != customer_of(
        warehouse, "subscriptions", "subscribers", "SUB-1"
    )
    acme = customer_of(warehouse, "crm", "accounts", "ACC-2")
    assert customer_of(warehouse, "erp", "customers", "C-2") == acme
    assert customer_of(warehouse, "crm", "contacts", "CON-2") == acme
    assert rows(warehouse, "select count(*) from marts.dim_customers") == [(5,)]


def test_golden_record_survivorship_and_opt_outs(warehouse):
    anna = customer_of(warehouse, "crm", "contacts", "CON-1")
    acme = customer_of(warehouse, "erp", "customers", "C-2")
    dim = {
        r[0]: r[1:]
        for r in rows(
            warehouse,
            "select customer_id, customer_name, customer_segment, phone, email, "
            "is_email_opted_out, source_systems from marts.dim_customers",
        )
    }
    # CRM wins; the contact's latest version by updated_at wins over the later-loaded older one
    assert dim[anna] == (
        "Anna Müller", "B2C", "+49301234567", "anna.mueller@example.com", True,
        "crm,erp,pos,support,webshop",
    )  # fmt: skip
    assert dim[acme][:2] == ("Acme GmbH", "B2B")
    household = rows(
        warehouse,
        "select bool_and(is_email_opted_out) from marts.dim_customers "
        "where email = 'mueller.family@example.com'",
    )
    assert household == [(True,)]


def test_revenue_per_customer(warehouse):
    revenue = dict(
        rows(
            warehouse,
            "select customer_name, lifetime_revenue from marts.mart_revenue_per_customer",
        )
    )
    assert revenue == {
        "Acme GmbH": Decimal("360.00"),  # 540 invoiced - 180 credited; cancelled INV-3 ignored
        "Anna Müller": Decimal("226.50"),  # INV-1 13.00 (= WO-1, once) + B-1 13.50 + WO-2 200
        "Lena Müller": Decimal("29.70"),
        "John Smith": Decimal("12.75"),  # 10.20 GBP at 0.80 GBP per EUR
        "Peter Müller": Decimal("5.00"),
    }
    core = rows(
        warehouse,
        "select customer_name from marts.mart_revenue_per_customer "
        "where is_core_customer order by revenue_rank",
    )
    assert core == [("Acme GmbH",), ("Anna Müller",)]
    anna = rows(
        warehouse,
        "select order_count, average_order_value, channels, product_lines "
        "from marts.mart_revenue_per_customer where customer_name = 'Anna Müller'",
    )
    assert anna == [(3, Decimal("75.50"), "pos,webshop", "coffee,machines,tea")]


def test_webshop_order_invoiced_by_erp_counted_once(warehouse):
    assert rows(
        warehouse,
        "select count(*) from marts.fct_revenue where system = 'webshop' and source_id = 'WO-1'",
    ) == [(0,)]
    assert rows(
        warehouse,
        "select sum(amount) from marts.fct_revenue where system = 'erp' and source_id = 'INV-1'",
    ) == [(Decimal("13.00"),)]
    assert rows(warehouse, "select count(*) from marts.fct_revenue") == [(14,)]


def test_fx_uses_the_rate_of_the_revenue_day_and_rounds_per_line(warehouse):
    fx = dict(
        rows(
            warehouse,
            "select source_id, amount_reporting from marts.fct_revenue where currency = 'GBP'",
        )
    )
    assert fx == {"WO-4": Decimal("12.75"), "B-4": Decimal("3.00")}
    machine = rows(
        warehouse,
        "select cost_reporting, margin_reporting from marts.fct_revenue where source_id = 'WO-2'",
    )
    assert machine == [(Decimal("100.00"), Decimal("100.00"))]  # 95 CHF at 0.95 CHF per EUR


def test_anonymous_baskets_are_kept_with_utc_dates(warehouse):
    anonymous = rows(
        warehouse,
        "select source_id, cast(revenue_date as varchar), amount_reporting "
        "from marts.fct_revenue where customer_id is null order by source_id",
    )
    assert anonymous == [
        ("B-2", "2026-02-14", Decimal("5.00")),
        ("B-3", "2026-02-28", Decimal("4.50")),  # 00:30 on 1 March in Berlin
        ("B-4", "2026-03-15", Decimal("3.00")),  # 2.40 GBP at 0.80
    ]


def test_retention_cohorts(warehouse):
    january = rows(
        warehouse,
        "select months_since_acquisition, cohort_size, customers_active, revenue, "
        "net_revenue_retention from marts.mart_customer_retention "
        "where dimension = 'all' and cohort_month = date '2026-01-01' order by 1",
    )
    assert january == [
        (0, 3, 3, Decimal("27.90"), 1.0),
        (1, 3, 2, Decimal("23.40"), round(23.40 / 27.90, 6)),
        (2, 3, 2, Decimal("209.90"), round(209.90 / 27.90, 6)),
    ]
    january_gross = rows(
        warehouse,
        "select revenue_retention from marts.mart_customer_retention "
        "where dimension = 'all' and cohort_month = date '2026-01-01' "
        "and months_since_acquisition = 2",
    )
    # Anna min(200, 13) + Lena min(9.90, 9.90) + Peter 0, over 27.90
    assert january_gross == [(round(22.90 / 27.90, 6),)]
    b2b = rows(
        warehouse,
        "select cast(cohort_month as varchar), months_since_acquisition, customers_active "
        "from marts.mart_customer_retention "
        "where dimension = 'segment' and dimension_value = 'B2B' order by 1, 2",
    )
    assert b2b == [("2026-02-01", 0, 1), ("2026-02-01", 1, 0)]
    first_lines = rows(
        warehouse,
        "select dimension_value, sum(cohort_size) from marts.mart_customer_retention "
        "where dimension = 'first_product_line' and months_since_acquisition = 0 group by 1 "
        "order by 1",
    )
    assert first_lines == [("coffee", 3), ("machines", 1), ("tea", 1)]


def test_uniqueness_tests_find_a_duplicated_key(warehouse, tmp_path: Path):
    """The uniqueness tests (two-pass on DuckDB: the duplicated hashes, then the exact keys) fail
    on a duplicated row of a keyed table and of a pair table."""
    [(path,)] = rows(
        warehouse, "select path from duckdb_databases() where database_name = current_database()"
    )
    shutil.copy(path, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as copy:
        for table in ("marts.fct_revenue", "intermediate.int_identity__candidate_pairs"):
            copy.execute(f"insert into {table} select * from {table} limit 1")
    tests = (
        "unique_fct_revenue_revenue_line_id",
        "unique_combination_int_identity__candidate_pairs_record_key_l__record_key_r",
    )
    result = run_dbt(tmp_path, "test", "--select", *tests)
    outcomes = [(r.node.name, str(r.status), r.failures) for r in result.result]
    assert sorted(o for o in outcomes if o[0] in tests) == [
        (name, "fail", 1) for name in sorted(tests)
    ]
