"""The revenue lines, the identity records, the golden records and the lifecycle months built
incrementally equal a full build: a day that cancels an invoice, invoices a webshop order,
corrects a rate and a unit cost, adds baskets and a ticket, updates a shop user and corrects
earlier loads' files, and a customer whose id changed; then the day after, when two customers
merge; then a load six months on (the as-of month advancing), with a back-dated purchase, a
purchase in the new month, a ticket score added and one changed. Over the hand-made raw zone of
tests/raw_fixture.py."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from raw_fixture import (
    BASE_RATES,
    FIRST_LOAD,
    GBP_SPECIAL_DAY,
    LOADED_AT,
    SECOND_LOAD,
    _basket,
    _contact,
    _invoice,
    _line,
    _order,
    _table,
    build_raw_zone,
    utc,
)
from test_dbt_build import run_dbt

from orchestration.contracts import load_contracts

REVENUE = ("+fct_revenue", "+int_revenue__rejected_lines", "+dim_customers")
LIFECYCLE_MARTS = ("+mart_lifecycle_transitions",)
DAY = date(2026, 3, 3)
DAY_LOADED_AT = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)
CHANGED_AT = utc(2026, 3, 3, 9)
# the revenue tables the day's build writes incrementally, and those compared with a full build
# (with the identity records, which the day's corrected contacts file changes)
STAGING = (
    "staging.stg_erp__invoices",
    "staging.stg_erp__invoice_lines",
    "staging.stg_erp__credit_notes",
    "staging.stg_pos__basket_lines",
    "staging.stg_webshop__orders",
    "staging.stg_webshop__order_lines",
    "staging.stg_subscriptions__charges",
    "staging.stg_subscriptions__plans",
)
INCREMENTAL = (
    "intermediate.int_revenue__lines_converted",
    "intermediate.int_revenue__customer_lines",
    "marts.fct_revenue",
)
# the golden records, kept per customer, and the customer view they feed
CUSTOMERS = ("intermediate.int_customers__golden_records", "marts.dim_customers")
# the lifecycle months, kept per customer and month, and the transitions counted from them
LIFECYCLE = ("marts.mart_customer_lifecycle", "marts.mart_lifecycle_transitions")
COMPARED = (
    *STAGING,
    *INCREMENTAL,
    "intermediate.int_revenue__rejected_lines",
    "intermediate.int_identity__source_records",
    "intermediate.int_identity__clusters",
    *CUSTOMERS,
    *LIFECYCLE,
)
STALE_CUSTOMER = "CUS-stale"
# the day after: subscriber SUB-1 turns out to be John Smith (U-3), so two customers merge
NEXT_DAY = DAY + timedelta(days=1)
NEXT_DAY_LOADED_AT = DAY_LOADED_AT + timedelta(days=1)
# six months on: the as-of month moves from March to September
LATER_DAY = date(2026, 9, 10)
LATER_LOADED_AT = datetime(2026, 9, 10, 6, 0, tzinfo=UTC)


def _day() -> dict[tuple[str, str], list[dict]]:
    """INV-2 cancelled; WO-2 invoiced as INV-9 (its webshop line gives way to the invoice's);
    GBP on its special day re-delivered at another rate; SKU-1's unit cost raised; an anonymous
    basket, and one on Anna's loyalty card (a new purchase day of a customer); U-2 gave a phone
    number; John Smith (U-3) opened a ticket and scored it (a new record of a customer, its
    first score); Maria Rossi (U-4) signed up (a new customer)."""
    return {
        ("webshop", "users"): [
            {"user_id": "U-2", "email": "mueller.family@example.com", "first_name": "Peter",
             "last_name": "Müller", "phone": "+49 30 5550101", "country": "DE",
             "created_at": utc(2026, 1, 20, 8), "updated_at": CHANGED_AT},
            {"user_id": "U-4", "email": "maria.rossi@example.it", "first_name": "Maria",
             "last_name": "Rossi", "country": "IT", "created_at": utc(2026, 3, 2, 8),
             "updated_at": utc(2026, 3, 2, 8)},
        ],
        ("support", "tickets"): [
            {"ticket_id": "T-2", "requester_email": "john.smith@example.co.uk",
             "requester_name": "John Smith", "category": "question", "priority": "normal",
             "status": "resolved", "opened_at": CHANGED_AT, "resolved_at": CHANGED_AT,
             "satisfaction_score": 3, "updated_at": CHANGED_AT},
        ],
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
            _basket("B-10", "S-1", "1000000000001", utc(2026, 3, 2, 10), "Europe/Berlin",
                    "SKU-2", 1, "3.00", "EUR"),
        ],
    }  # fmt: skip


def _john_smith() -> dict:
    """SUB-1 as it is the day after: John Smith (U-3), no longer Lena Müller."""
    return {
        "subscriber_id": "SUB-1", "full_name": "John Smith", "email": "john.smith@example.co.uk",
        "country": "GB", "created_at": utc(2026, 1, 4, 9), "updated_at": NEXT_DAY_LOADED_AT,
    }  # fmt: skip


def _later() -> dict[tuple[str, str], list[dict]]:
    """Six months on (September): Anna's ticket T-1 re-scored 5 -> 2; John Smith's new ticket
    T-3 scored 4 and his order WO-6 in September; an invoice of Acme's (C-2) back-dated to
    February; Maria Rossi's ticket T-4 of January, unscored (she was first seen then, not in
    March). Peter Müller (U-2) is left alone: his months go on, and he lapses in July."""
    ticket = {
        "category": "question", "priority": "normal", "status": "resolved",
        "resolution": "answered", "updated_at": LATER_LOADED_AT,
    }  # fmt: skip
    september = [date(2026, 9, day) for day in range(1, 11)]
    return {
        ("support", "tickets"): [
            {**ticket, "ticket_id": "T-1", "requester_email": "anna.mueller@example.com",
             "requester_name": "Anna Müller", "opened_at": utc(2026, 3, 16, 9),
             "resolved_at": utc(2026, 3, 16, 12), "satisfaction_score": 2},
            {**ticket, "ticket_id": "T-3", "requester_email": "john.smith@example.co.uk",
             "requester_name": "John Smith", "opened_at": utc(2026, 9, 1, 9),
             "resolved_at": utc(2026, 9, 1, 12), "satisfaction_score": 4},
            {**ticket, "ticket_id": "T-4", "requester_email": "maria.rossi@example.it",
             "requester_name": "Maria Rossi", "opened_at": utc(2026, 1, 15, 9),
             "resolved_at": utc(2026, 1, 15, 12)},
        ],
        ("reference", "fx_rates"): [
            {"rate_date": day, "currency": currency, "units_per_eur": rate}
            for day in september for currency, rate in BASE_RATES.items()
        ],
        ("webshop", "orders"): [
            _order("WO-6", "U-3", utc(2026, 9, 5, 10), "EUR", "5.00", "delivered"),
        ],
        ("webshop", "order_lines"): [
            _line("order_id", "WO-6", 1, "SKU-1", 1, "5.00", currency="EUR"),
        ],
        ("erp", "invoices"): [
            _invoice("INV-10", "C-2", date(2026, 2, 10), "180.00", "paid", None, LATER_LOADED_AT),
        ],
        ("erp", "invoice_lines"): [
            _line("invoice_no", "INV-10", 1, "SKU-3", 1, "180.00", currency="EUR"),
        ],
    }  # fmt: skip


def _returned() -> dict[tuple[str, str], list[dict]]:
    """The second load, before the day: WO-5 returned."""
    returned = _order("WO-5", "U-2", utc(2026, 1, 20, 9), "EUR", "5.00", "returned")
    return {("webshop", "orders"): [{**returned, "updated_at": utc(2026, 2, 1, 9)}]}


def _corrected() -> dict[tuple[date, str, str], list[dict]]:
    """Earlier loads' files, corrected on the day (their partitions rebuilt): in the first
    load's basket lines B-2 was never sold and B-3 sold two; the second load's orders held
    WO-5's return in error (its delivered version is the latest again); the first load's
    contacts had CON-1's phone wrong and held CON-2 in error."""
    return {
        (FIRST_LOAD, "crm", "contacts"): [_contact(utc(2026, 2, 1, 8), "030 7777777")],
        (FIRST_LOAD, "pos", "basket_lines"): [
            _basket("B-1", "S-1", "1000000000001", utc(2026, 2, 14, 9), "Europe/Berlin",
                    "SKU-1", 3, "4.50", "EUR"),
            _basket("B-3", "S-1", None, utc(2026, 2, 28, 23, 30), "Europe/Berlin",
                    "SKU-1", 2, "4.50", "EUR"),
            _basket("B-4", "S-2", None, utc(2026, 3, 15, 18), "Europe/London",
                    "SKU-2", 1, "2.40", "GBP"),
        ],
        (SECOND_LOAD, "webshop", "orders"): [
            _order("WO-1", "U-1", utc(2026, 1, 9, 23, 30), "EUR", "13.00", "delivered"),
        ],
    }  # fmt: skip


def _write(
    data_dir: Path,
    load_date: date,
    system: str,
    name: str,
    rows: list[dict],
    loaded_at: datetime = DAY_LOADED_AT,
) -> None:
    """A raw partition as the raw zone writes it (replacing one of the same load date)."""
    entity = {(c.system, e.name): e for c in load_contracts() for e in c.entities}[(system, name)]
    table = _table(system, entity, load_date, rows)
    stamps = pa.array([loaded_at] * len(rows), pa.timestamp("us", tz="UTC"))
    table = table.set_column(table.schema.get_field_index("_loaded_at"), "_loaded_at", stamps)
    folder = data_dir / "raw" / system / name / f"load_date={load_date}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-0.parquet")


def _write_day(data_dir: Path) -> None:
    for (system, name), rows in _day().items():
        _write(data_dir, DAY, system, name, rows)
    for (load_date, system, name), rows in _corrected().items():
        _write(data_dir, load_date, system, name, rows)


def _rows(data_dir: Path, table: str) -> set[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        # the build stamps differ between the builds (and the golden records' fingerprint holds
        # the newest stamp of their source records)
        columns = "lambda c: c not in ('resolved_at', 'members_resolved_at')"
        return set(con.sql(f"select columns({columns}) from {table}").fetchall())


def _row(data_dir: Path, sql: str) -> tuple:
    return _rows_where(data_dir, sql)[0]


def _rows_where(data_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the day built incrementally, the same raw zone then built in full)."""
    incremental = tmp_path_factory.mktemp("revenue_incremental")
    build_raw_zone(incremental)
    for (system, name), rows in _returned().items():
        _write(incremental, SECOND_LOAD, system, name, rows, loaded_at=LOADED_AT)
    assert run_dbt(incremental, "seed").success
    assert run_dbt(incremental, "run", "--select", *REVENUE, *LIFECYCLE_MARTS).success
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
    assert run_dbt(incremental, "run", "--select", *REVENUE, *LIFECYCLE_MARTS).success
    full = tmp_path_factory.mktemp("revenue_full") / "data"
    shutil.copytree(incremental, full)
    assert run_dbt(full, "run", "--select", *REVENUE, *LIFECYCLE_MARTS, "--full-refresh").success
    return incremental, full


@pytest.fixture(scope="module")
def next_day(builds, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the day after built incrementally on the day's build, then in full): SUB-1 turns out to
    be John Smith, so SUB-1's customer and U-3's (with ticket T-2) merge, and one id is gone."""
    incremental = tmp_path_factory.mktemp("next_day") / "data"
    shutil.copytree(builds[0], incremental)
    _write(
        incremental, NEXT_DAY, "subscriptions", "subscribers", [_john_smith()], NEXT_DAY_LOADED_AT
    )
    assert run_dbt(incremental, "run", "--select", *LIFECYCLE_MARTS).success
    full = tmp_path_factory.mktemp("next_day_full") / "data"
    shutil.copytree(incremental, full)
    assert run_dbt(full, "run", "--select", *LIFECYCLE_MARTS, "--full-refresh").success
    return incremental, full


@pytest.fixture(scope="module")
def later_month(next_day, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(six months on built incrementally on the day after's build, then in full): the as-of
    month moves from March to September (_later)."""
    incremental = tmp_path_factory.mktemp("later_month") / "data"
    shutil.copytree(next_day[0], incremental)
    for (system, name), rows in _later().items():
        _write(incremental, LATER_DAY, system, name, rows, LATER_LOADED_AT)
    assert run_dbt(incremental, "run", "--select", *LIFECYCLE_MARTS).success
    full = tmp_path_factory.mktemp("later_month_full") / "data"
    shutil.copytree(incremental, full)
    assert run_dbt(full, "run", "--select", *LIFECYCLE_MARTS, "--full-refresh").success
    return incremental, full


@pytest.mark.parametrize("table", COMPARED)
def test_a_day_built_incrementally_equals_a_full_build(builds, table: str):
    incremental, full = builds
    assert _rows(incremental, table) == _rows(full, table)


@pytest.mark.parametrize("table", CUSTOMERS + LIFECYCLE)
def test_a_merge_built_incrementally_equals_a_full_build(next_day, table: str):
    incremental, full = next_day
    assert _rows(incremental, table) == _rows(full, table)


@pytest.mark.parametrize("table", LIFECYCLE)
def test_a_new_month_built_incrementally_equals_a_full_build(later_month, table: str):
    incremental, full = later_month
    assert _rows(incremental, table) == _rows(full, table)


def test_the_lifecycle_reworks_changed_customers_and_adds_new_months(builds, later_month):
    """The day rewrites some customers' months, not all. Six months on, Peter Müller (U-2),
    unchanged, keeps his rows up to March and gets April to September, lapsing in July (his
    one purchase day is 20 January); Anna's re-scored ticket rewrites her March; Maria Rossi's
    months start in January now."""
    lifecycle = "marts.mart_customer_lifecycle"
    last_build = f"(select max(resolved_at) from {lifecycle})"
    written, total = _row(
        builds[0],
        f"select count(*) filter (where resolved_at = {last_build}), count(*) from {lifecycle}",
    )
    assert 0 < written < total
    customer = (
        "(select customer_id from intermediate.int_identity__customers where record_key = '{}')"
    )
    peter = _rows_where(
        later_month[0],
        f"select activity_month, lifecycle_stage, previous_stage, resolved_at = {last_build} "
        f"from {lifecycle} where customer_id = {customer.format('webshop:users:U-2')} "
        "order by activity_month",
    )
    assert [row[1:] for row in peter] == [
        ("first_time_buyer", None, False),
        ("first_time_buyer", "first_time_buyer", False),
        ("first_time_buyer", "first_time_buyer", False),
        *[("first_time_buyer", "first_time_buyer", True)] * 3,
        ("lapsed", "first_time_buyer", True),
        ("lapsed", "lapsed", True),
        ("lapsed", "lapsed", True),
    ]
    assert [row[0] for row in peter] == [date(2026, month, 1) for month in range(1, 10)]
    anna_march = _row(
        later_month[0],
        f"select average_satisfaction_score, resolved_at = {last_build} from {lifecycle} "
        f"where customer_id = {customer.format('webshop:users:U-1')} "
        "and activity_month = date '2026-03-01'",
    )
    assert anna_march == (2.0, True)
    maria = _row(
        later_month[0],
        f"select min(activity_month) from {lifecycle} "
        f"where customer_id = {customer.format('webshop:users:U-4')}",
    )
    assert maria == (date(2026, 1, 1),)


def test_a_merged_customer_loses_its_golden_record(builds, next_day):
    customers = (
        "select count(distinct customer_id) from intermediate.int_identity__customers "
        "where record_key in ('webshop:users:U-3', 'support:tickets:T-2', "
        "'subscriptions:subscribers:SUB-1')"
    )
    assert _row(builds[0], customers) == (2,)  # T-2 joined U-3's customer on the day
    assert _row(next_day[0], customers) == (1,)
    golden = (
        "select count(*), count(distinct customer_id), "
        "(select count(distinct customer_id) from intermediate.int_identity__customers) "
        "from intermediate.int_customers__golden_records"
    )
    rows, customers, identities = _row(next_day[0], golden)
    assert rows == customers == identities == _row(builds[0], golden)[0] - 1


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
    assert ("B-2", 1) not in facts  # gone from the corrected file
    assert facts[("B-3", 1)][0] == Decimal("9.00")  # two sold, by the corrected file
    assert ("WO-5", 1) in facts  # its return withdrawn by the corrected file
    assert ("WO-2", 1) not in facts and ("INV-9", 1) in facts  # invoiced by ERP
    assert facts[("WO-4", 1)][0] == Decimal("13.60")  # 10.20 GBP at the corrected 0.75
    assert facts[("INV-1", 1)][1] == Decimal("5.00")  # 2 x SKU-1 at the new unit cost 2.50
    assert ("B-9", 1) in facts
    assert STALE_CUSTOMER not in {customer for *_, customer in facts.values()}
