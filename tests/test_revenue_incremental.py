"""The revenue lines built incrementally equal a full build: a day that cancels an invoice,
invoices a webshop order, corrects a rate and a unit cost and adds a basket, and a customer whose
id changed, over the hand-made raw zone of tests/raw_fixture.py."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from raw_fixture import GBP_SPECIAL_DAY, _invoice, _line, _table, build_raw_zone, utc
from test_dbt_build import run_dbt

from orchestration.contracts import load_contracts

REVENUE = ("+fct_revenue", "+int_revenue__rejected_lines")
DAY = date(2026, 3, 3)
DAY_LOADED_AT = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)
CHANGED_AT = utc(2026, 3, 3, 9)
# the revenue tables the day's build writes incrementally, and those compared with a full build
INCREMENTAL = (
    "intermediate.int_revenue__lines_converted",
    "intermediate.int_revenue__customer_lines",
    "marts.fct_revenue",
)
COMPARED = (*INCREMENTAL, "intermediate.int_revenue__rejected_lines")
STALE_CUSTOMER = "CUS-stale"


def _day() -> dict[tuple[str, str], list[dict]]:
    """INV-2 cancelled; WO-2 invoiced as INV-9 (its webshop line gives way to the invoice's);
    GBP on its special day re-delivered at another rate; SKU-1's unit cost raised; a basket."""
    return {
        ("erp", "invoices"): [
            _invoice("INV-2", "C-2", date(2026, 2, 1), "540.00", "cancelled", None, CHANGED_AT),
            _invoice("INV-9", "C-1", date(2026, 3, 16), "200.00", "paid", "WO-2", CHANGED_AT),
        ],
        ("erp", "invoice_lines"): [
            _line("invoice_no", "INV-9", 1, "SKU-3", 1, "200.00", currency="EUR"),
        ],
        ("reference", "fx_rates"): [
            {"rate_date": GBP_SPECIAL_DAY, "currency": "GBP", "units_per_eur": 0.75},
        ],
        ("reference", "products"): [
            {"sku": "SKU-1", "product_name": "Espresso beans", "product_line": "coffee",
             "unit_cost": Decimal("2.50"), "cost_currency": "EUR", "list_price": Decimal("5.00")},
        ],
        ("pos", "basket_lines"): [
            {"basket_id": "B-9", "line_no": 1, "store_id": "S-1", "purchased_at": CHANGED_AT,
             "store_timezone": "Europe/Berlin", "sku": "SKU-2", "quantity": 2,
             "unit_price": Decimal("2.50"), "currency": "EUR"},
        ],
    }  # fmt: skip


def _write_day(data_dir: Path) -> None:
    entities = {(c.system, e.name): e for c in load_contracts() for e in c.entities}
    for (system, name), rows in _day().items():
        table = _table(system, entities[(system, name)], DAY, rows)
        loaded_at = pa.array([DAY_LOADED_AT] * len(rows), pa.timestamp("us", tz="UTC"))
        table = table.set_column(
            table.schema.get_field_index("_loaded_at"), "_loaded_at", loaded_at
        )
        folder = data_dir / "raw" / system / name / f"load_date={DAY}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "part-0.parquet")


def _rows(data_dir: Path, table: str) -> set[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return set(con.sql(f"select columns(lambda c: c <> 'resolved_at') from {table}").fetchall())


def _row(data_dir: Path, sql: str) -> tuple:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()[0]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the day built incrementally, the same raw zone then built in full)."""
    incremental = tmp_path_factory.mktemp("revenue_incremental")
    build_raw_zone(incremental)
    assert run_dbt(incremental, "seed").success
    assert run_dbt(incremental, "run", "--select", *REVENUE).success
    _write_day(incremental)
    with duckdb.connect(str(incremental / "warehouse.duckdb")) as con:
        # as if the subscription charges, which the day leaves alone, had been written before
        # their customer's id changed (a merge, a split)
        stale = con.sql(
            f"update intermediate.int_revenue__customer_lines set customer_id = '{STALE_CUSTOMER}' "
            "where system = 'subscriptions'"
        ).fetchall()[0][0]
    assert stale > 0
    # a build stopped after the converted lines: the next build's later models catch up
    assert run_dbt(incremental, "run", "--select", "+int_revenue__lines_converted").success
    assert run_dbt(incremental, "run", "--select", *REVENUE).success
    full = tmp_path_factory.mktemp("revenue_full") / "data"
    shutil.copytree(incremental, full)
    assert run_dbt(full, "run", "--select", *REVENUE, "--full-refresh").success
    return incremental, full


@pytest.mark.parametrize("table", COMPARED)
def test_a_day_built_incrementally_equals_a_full_build(builds, table: str):
    incremental, full = builds
    assert _rows(incremental, table) == _rows(full, table)


def test_the_day_rewrites_only_its_changed_lines(builds):
    """Each incremental table's last build wrote some of its lines, not all."""
    incremental, _ = builds
    for table in INCREMENTAL:
        written, total = _row(
            incremental,
            f"select count(*) filter (where resolved_at = (select max(resolved_at) from {table})), "
            f"count(*) from {table}",
        )
        assert 0 < written < total, table


def test_the_days_changes_reach_fct_revenue(builds):
    incremental, _ = builds
    facts = {
        (row[0], row[1]): row[2:]
        for row in duckdb.connect(str(incremental / "warehouse.duckdb"), read_only=True)
        .sql(
            "select source_id, line_no, amount_reporting, cost_reporting, customer_id "
            "from marts.fct_revenue where entity <> 'credit_notes'"
        )
        .fetchall()
    }
    assert ("INV-2", 1) not in facts  # cancelled
    assert ("WO-2", 1) not in facts and ("INV-9", 1) in facts  # invoiced by ERP
    assert facts[("WO-4", 1)][0] == Decimal("13.60")  # 10.20 GBP at the corrected 0.75
    assert facts[("INV-1", 1)][1] == Decimal("5.00")  # 2 x SKU-1 at the new unit cost 2.50
    assert ("B-9", 1) in facts
    assert STALE_CUSTOMER not in {customer for *_, customer in facts.values()}
