"""The simulator is the ground truth for every test: check it against its own landing files."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from simulator import simulate

END = date(2026, 11, 27)
ALL_CLASSES = {
    "malformed_record",
    "missing_required",
    "wrong_type",
    "unknown_currency",
    "impossible_amount",
    "impossible_date",
    "duplicate_key",
    "wrong_encoding",
    "truncated_file",
    "renamed_column",
    "extra_column",
    "redelivered_file",
    "corrected_file",
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    simulate(root, 600, 6, 11, defect_rate=0.0, end_date=END)
    return root


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("defective")
    simulate(root, 500, 6, 5, defect_rate=0.01, end_date=END)
    return root


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _db() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    return connection


def _truth(root: Path, name: str) -> list[dict]:
    return pq.read_table(root / "truth" / f"{name}.parquet").to_pylist()


# --- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        summary = simulate(tmp_path / name, 150, 3, seed, end_date=END)
        runs.append((summary, _hashes(tmp_path / name)))
    (first, files_a), (second, files_b), (_, files_c) = runs
    assert files_a == files_b
    assert first == second
    assert len(files_a) > 60
    assert files_a.keys() == files_c.keys() or files_a.keys() != files_c.keys()
    assert files_a != files_c
    assert sum(files_a[k] != files_c.get(k) for k in files_a) > len(files_a) // 2


def test_simulate_replaces_previous_world(tmp_path: Path) -> None:
    simulate(tmp_path, 120, 4, 1, end_date=END)
    summary = simulate(tmp_path, 120, 2, 1, end_date=END)
    folders = sorted(p.name for p in (tmp_path / "landing" / "erp").iterdir())
    assert folders == ["2026-11-25", "2026-11-26", "2026-11-27"]
    assert [d.isoformat() for d in summary.load_dates] == folders


# --- layout and formats --------------------------------------------------------------------


def test_initial_extract_then_daily_deltas_with_reference_data(clean: Path) -> None:
    landing = clean / "landing"
    first = landing / "reference" / "2026-11-21"
    fx = (
        _db()
        .execute(
            f"select count(distinct rate_date) d, count(distinct currency) c, "
            f"min(rate_date) lo from read_csv('{first}/fx_rates_*.csv')"
        )
        .fetchone()
    )
    assert fx is not None
    days, currencies, low = fx
    assert currencies == 11 and low == date(2024, 11, 21)
    assert days == (date(2026, 11, 21) - date(2024, 11, 21)).days + 1
    for day in ("2026-11-22", "2026-11-27"):
        daily = landing / "reference" / day / f"fx_rates_{day}.csv"
        assert len(daily.read_text().splitlines()) == 12
    assert (first / "products_2026-11-21.csv").exists()
    assert (landing / "pos" / "2026-11-21" / "stores_2026-11-21.parquet").exists()
    assert (landing / "subscriptions" / "2026-11-21" / "plans_2026-11-21.csv").exists()
    crm = sqlite3.connect(landing / "crm" / "2026-11-23" / "crm_2026-11-23.sqlite")
    tables = {r[0] for r in crm.execute("select name from sqlite_master where type='table'")}
    assert tables == {"accounts", "contacts", "contact_preferences"}
    header = (landing / "erp" / "2026-11-21" / "invoices_2026-11-21.csv").read_text().split("\n")[0]
    assert header.split(";")[0] == '"InvoiceNo"' and '"WebshopOrderRef"' in header
    order = json.loads(
        (landing / "webshop" / "2026-11-21" / "orders_2026-11-21.jsonl").read_text().split("\n")[0]
    )
    assert {"orderId", "userId", "orderedAt", "lines"} <= order.keys()
    assert order["orderedAt"][19] in "+-" and order["lines"][0]["lineNo"] == 1


# --- truth consistency -------------------------------------------------------------------


def _landed_customer_ids(root: Path) -> dict[tuple[str, str], set[str]]:
    landing = root / "landing"
    db = _db()
    found: dict[tuple[str, str], set[str]] = {}
    for sqlite_file in sorted(landing.glob("crm/*/*.sqlite")):
        connection = sqlite3.connect(sqlite_file)
        for table, key in (("accounts", "account_id"), ("contacts", "contact_id")):
            found.setdefault(("crm", table), set()).update(
                r[0] for r in connection.execute(f"select {key} from {table}")
            )
        connection.close()
    queries = {
        ("erp", "customers"): f"select CustomerNo from read_csv('{landing}/erp/*/customers_*.csv',"
        " delim=';', all_varchar=true)",
        ("webshop", "users"): f"select user_id from read_json('{landing}/webshop/*/users_*.jsonl',"
        " format='newline_delimited')",
        ("pos", "loyalty_cards"): f"select card_no from '{landing}/pos/*/loyalty_cards_*.parquet'",
        ("subscriptions", "subscribers"): f"select subscriber_id from read_csv("
        f"'{landing}/subscriptions/*/subscribers_*.csv')",
        ("support", "tickets"): f"select ticket_id from read_json('{landing}/support/*/"
        "tickets_*.jsonl', format='newline_delimited')",
    }
    for key, query in queries.items():
        found[key] = {r[0] for r in db.execute(query).fetchall()}
    return found


def test_every_customer_record_is_in_source_records_truth(clean: Path) -> None:
    truth: dict[tuple[str, str], set[str]] = {}
    for row in _truth(clean, "source_records"):
        truth.setdefault((row["system"], row["entity"]), set()).add(row["source_id"])
    landed = _landed_customer_ids(clean)
    assert landed.keys() == truth.keys()
    for key, ids in landed.items():
        assert ids == truth[key], key
        assert len(ids) > 5, key
    customers = {r["true_customer_id"] for r in _truth(clean, "customers")}
    mapped = {r["true_customer_id"] for r in _truth(clean, "source_records")}
    assert mapped == customers


REVENUE_SQL = """
with fx as (
  select rate_date, currency, units_per_eur from read_csv('{l}/reference/*/fx_rates_*.csv')),
inv as (
  select InvoiceNo, Status, WebshopOrderRef from read_csv('{l}/erp/*/invoices_*.csv', delim=';',
    all_varchar=true)
  qualify row_number() over (partition by InvoiceNo order by UpdatedAt desc) = 1),
inv_lines as (
  select distinct InvoiceNo, cast(LineNo as int) line_no,
    cast(replace(LineAmount, ',', '.') as decimal(18,2)) amount, Currency,
    InvoiceDate::date d
  from read_csv('{l}/erp/*/invoice_lines_*.csv', delim=';', all_varchar=true) l
  join (select distinct InvoiceNo, InvoiceDate from read_csv('{l}/erp/*/invoices_*.csv',
        delim=';', all_varchar=true)) h using (InvoiceNo)),
credits as (
  select distinct CreditNoteNo, -cast(replace(Amount, ',', '.') as decimal(18,2)) amount,
    Currency, CreditDate::date d
  from read_csv('{l}/erp/*/credit_notes_*.csv', delim=';', all_varchar=true)),
pos as (
  select basket_id, line_no, quantity * unit_price amount, currency,
    cast(timezone(store_timezone, purchased_at) as date) d
  from '{l}/pos/*/basket_lines_*.parquet'),
orders as (
  select * from read_json('{l}/webshop/*/orders_*.jsonl', format='newline_delimited')
  qualify row_number() over (partition by orderId order by updatedAt::timestamptz desc) = 1),
shop as (
  select orderId, l.lineNo line_no, l.qty * cast(l.unitPrice as decimal(18,2)) amount, currency,
    cast(orderedAt::timestamptz as date) d
  from orders, unnest(lines) as u(l)
  where status not in ('cancelled', 'returned', 'failed_delivery')
    and orderId not in (select WebshopOrderRef from inv where WebshopOrderRef is not null)),
charges as (
  select distinct charge_id, cast(amount as decimal(18,2)) amount, currency, charge_date d
  from read_csv('{l}/subscriptions/*/charges_*.csv')),
lines as (
  select 'erp' s, amount, Currency currency, d from inv_lines
    where InvoiceNo in (select InvoiceNo from inv where Status <> 'cancelled')
  union all select 'erp', amount, Currency, d from credits
  union all select 'pos', amount, currency, d from pos
  union all select 'webshop', amount, currency, d from shop
  union all select 'subscriptions', amount, currency, d from charges)
select s, count(*) n, sum(cast(round(amount / units_per_eur, 2) as decimal(18, 2))) eur
from lines join fx on fx.currency = lines.currency and fx.rate_date = lines.d
group by s order by s
"""


def test_revenue_truth_reproduces_from_landing_files(clean: Path) -> None:
    computed = {
        s: (n, eur)
        for s, n, eur in _db().execute(REVENUE_SQL.format(l=clean / "landing")).fetchall()
    }
    truth = (
        _db()
        .execute(
            f"select system, count(*), sum(amount_reporting) from "
            f"'{clean}/truth/revenue.parquet' group by 1"
        )
        .fetchall()
    )
    expected = {s: (n, eur) for s, n, eur in truth}
    assert computed.keys() == {"erp", "pos", "subscriptions", "webshop"}
    for system, (n, eur) in expected.items():
        assert computed[system][0] == n, system
        assert computed[system][1] == eur, system


def test_webshop_orders_invoiced_by_erp_are_counted_once(clean: Path) -> None:
    landing = clean / "landing"
    db = _db()
    refs = {
        r[0]
        for r in db.execute(
            f"select distinct WebshopOrderRef from read_csv("
            f"'{landing}/erp/*/invoices_*.csv', delim=';', all_varchar=true)"
            " where WebshopOrderRef is not null"
        ).fetchall()
    }
    orders = {
        r[0]: r[1]
        for r in db.execute(
            f"select orderId, status from read_json('{landing}/webshop/*/orders_*.jsonl', "
            "format='newline_delimited') qualify row_number() over (partition by orderId "
            "order by updatedAt::timestamptz desc) = 1"
        ).fetchall()
    }
    assert refs <= orders.keys()
    delivered = [o for o, s in orders.items() if s in ("delivered", "returned")]
    share = len(refs & set(delivered)) / len(delivered)
    assert 0.55 < share < 0.8
    webshop_revenue = {r["source_id"] for r in _truth(clean, "revenue") if r["system"] == "webshop"}
    assert webshop_revenue and not webshop_revenue & refs
    erp_lines = {r["source_id"] for r in _truth(clean, "revenue") if r["entity"] == "invoice_lines"}
    assert len(erp_lines) > len(refs) // 2


# --- defects -------------------------------------------------------------------------------


def test_every_defect_class_is_injected_and_logged(defective: Path) -> None:
    log = _truth(defective, "defects")
    classes = Counter(r["defect_class"] for r in log)
    assert set(classes) == ALL_CLASSES
    landing = defective / "landing"
    for row in log:
        assert (landing / row["file"]).exists(), row
    by_class = {r["defect_class"]: r for r in log}
    encoded = (landing / by_class["wrong_encoding"]["file"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        encoded.decode("utf-8")
    truncated = (landing / by_class["truncated_file"]["file"]).read_bytes()
    assert not truncated.endswith(b"\n")
    renamed = (landing / by_class["renamed_column"]["file"]).read_text()
    assert '"EMail"' in renamed.split("\n")[0]
    extra = (landing / by_class["extra_column"]["file"]).read_text()
    assert extra.split("\n")[0].endswith('"Note"')
    redelivered = by_class["redelivered_file"]["file"]
    name = Path(redelivered).name
    copies = sorted(landing.glob(f"*/*/{name}"))
    assert len(copies) == 2 and copies[0].read_bytes() == copies[1].read_bytes()
    corrected = sorted(landing.glob(f"*/*/{Path(by_class['corrected_file']['file']).name}"))
    assert len(corrected) == 2 and corrected[0].read_bytes() != corrected[1].read_bytes()


def test_row_defects_point_at_the_damaged_record(defective: Path) -> None:
    landing = defective / "landing"
    rows = [
        r
        for r in _truth(defective, "defects")
        if r["defect_class"]
        in ("unknown_currency", "duplicate_key", "malformed_record", "missing_required")
    ]
    checked = Counter()
    for row in rows:
        path = landing / row["file"]
        if path.suffix not in (".csv", ".jsonl"):
            continue
        lines = path.read_text(encoding="utf-8").split("\n")
        line = lines[row["source_row"]] if path.suffix == ".csv" else lines[row["source_row"] - 1]
        if row["defect_class"] == "unknown_currency":
            assert any(code in line for code in ("XXX", "EUX", "EURO")), row
        elif row["defect_class"] == "duplicate_key":
            assert line in lines[: row["source_row"] - (path.suffix == ".jsonl")], row
        elif row["defect_class"] == "malformed_record" and path.suffix == ".jsonl":
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
        checked[row["defect_class"]] += 1
    assert checked["duplicate_key"] >= 1 and checked["malformed_record"] >= 1
    total = sum(1 for r in _truth(defective, "defects") if r["source_row"] is not None)
    assert total >= 8


def test_defective_records_are_not_in_truth(defective: Path) -> None:
    log = _truth(defective, "defects")
    lost_users = [
        r
        for r in log
        if r["entity"] == "users" and r["defect_class"] in ("malformed_record", "missing_required")
    ]
    known = {r["source_id"] for r in _truth(defective, "source_records")}
    for row in lost_users:
        line = (defective / "landing" / row["file"]).read_text().split("\n")[row["source_row"] - 1]
        user_id = line.split('"user_id"')[1].split('"')[1] if '"user_id"' in line else None
        assert user_id is None or user_id not in known
    assert _truth(defective, "revenue")


def test_defect_rate_zero_injects_nothing(clean: Path) -> None:
    assert _truth(clean, "defects") == []


# --- traps and behaviour -------------------------------------------------------------------


def test_identity_traps_are_present(clean: Path) -> None:
    customers = _truth(clean, "customers")
    emails = Counter(c["email"] for c in customers)
    assert any(n >= 2 for n in emails.values())
    names = Counter((c["given_name"], c["family_name"]) for c in customers if c["kind"] == "person")
    assert any(n >= 2 for n in names.values())
    business = {c["true_customer_id"] for c in customers if c["kind"] == "business"}
    contacts = Counter(
        r["true_customer_id"]
        for r in _truth(clean, "source_records")
        if r["entity"] == "contacts" and r["true_customer_id"] in business
    )
    assert business and max(contacts.values()) >= 2
    holders = " ".join(
        r[0] or ""
        for r in _db()
        .execute(f"select holder_name from '{clean}/landing/pos/*/loyalty_cards_*.parquet'")
        .fetchall()
    )
    assert any("\u0600" <= ch <= "\u06ff" for ch in holders)  # Arabic script
    assert any("\u05d0" <= ch <= "\u05ea" for ch in holders)  # Hebrew script
    assert any("\u4e00" <= ch <= "\u9fff" for ch in holders)  # Hanzi
    families = [c["family_name"] or "" for c in customers]
    assert any(f.startswith(("bin ", "binti ")) for f in families)


def test_revenue_is_pareto_shaped(clean: Path) -> None:
    shares = (
        _db()
        .execute(f"""
        with c as (select true_customer_id, sum(amount_reporting) r
                   from '{clean}/truth/revenue.parquet' where true_customer_id is not null
                   group by 1),
             ranked as (select r, row_number() over (order by r desc) rn, count(*) over () n
                        from c)
        select sum(r) filter (where rn <= n * 0.2) / sum(r) from ranked""")
        .fetchone()
    )
    assert shares is not None and shares[0] >= 0.6


def test_complaints_come_before_churn_and_drive_it(clean: Path) -> None:
    customers = _truth(clean, "customers")
    complainers = [c for c in customers if c["first_complaint_date"] is not None]
    others = [c for c in customers if c["first_complaint_date"] is None]
    rate = lambda group: sum(c["churn_date"] is not None for c in group) / len(group)  # noqa: E731
    assert rate(complainers) > 2 * rate(others)
    service = [c for c in customers if c["churn_cause"] == "poor_service"]
    assert service
    assert all(c["first_complaint_date"] < c["churn_date"] for c in service)
    ticket_dates = {
        r[0]: r[1]
        for r in _db()
        .execute(
            f"select requester.email, min(openedAt::timestamptz)::date from read_json("
            f"'{clean}/landing/support/*/tickets_*.jsonl', format='newline_delimited') "
            "where category = 'complaint' group by 1"
        )
        .fetchall()
    }
    assert len(ticket_dates) >= len(service) // 2
    assert any(c["won_back_date"] is not None for c in customers)
    reasons = {
        r[0]
        for r in _db()
        .execute(
            f"select distinct cancel_reason from read_csv("
            f"'{clean}/landing/subscriptions/*/subscription_events_*.csv') "
            "where event_type = 'cancel'"
        )
        .fetchall()
    }
    assert "poor_service" in reasons and len(reasons) >= 3


def test_marketing_and_opt_outs(clean: Path) -> None:
    kinds = Counter(
        r[0]
        for r in _db()
        .execute(
            f"select event_type from read_csv('{clean}/landing/marketing/*/campaign_events_*.csv')"
        )
        .fetchall()
    )
    assert kinds["send"] > kinds["open"] > kinds["click"] > 0 and kinds["unsubscribe"] > 0
    opted_out = 0
    for sqlite_file in (clean / "landing" / "crm").glob("*/*.sqlite"):
        connection = sqlite3.connect(sqlite_file)
        opted_out += connection.execute(
            "select count(*) from contact_preferences where is_opted_in = 0"
        ).fetchone()[0]
        connection.close()
    assert opted_out > 0


def test_tiny_worlds_and_bad_arguments(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "tiny", 3, 0, 2, end_date=END)
    assert summary.customers == 3 and summary.load_dates == (END,)
    assert sum(summary.source_records.values()) > 0
    with pytest.raises(ValueError, match="customers >= 1"):
        simulate(tmp_path / "none", 0, 1, 2)


def test_text_helpers_match_numpy_at_scale() -> None:
    """Large numpy string arrays reach Arrow in chunks (as in 1M-customer worlds): the helpers
    that replace numpy string code must cope and give numpy's answers."""
    import numpy as np

    from simulator.delivery import key_codes
    from simulator.frames import arrow_text, few_objects, joined, numbered, sort_order

    codes = np.array(["PL-COF-1-EUR", "PL-SER-2-CHF", "PL-COF-3-GBP"])[np.arange(3_000_000) % 3]
    assert len(arrow_text(codes)) == len(codes)
    shared = few_objects(codes)
    assert shared.tolist()[:4] == codes.tolist()[:4] and len({id(v) for v in shared[:99]}) == 3
    keys = np.array(["b|2", "a|10", "b|2", "a|9"], dtype=object)
    assert (
        joined(np.array(["b", "a", "b", "a"], dtype=object), np.array([2, 10, 2, 9]), "|") == keys
    ).all()
    assert (sort_order(keys) == np.argsort(keys.astype(str), kind="stable")).all()
    assert key_codes(keys)[0] == key_codes(keys)[2] and len(set(key_codes(keys))) == 3
    assert numbered("INV-", np.array([7, 1234567]), 7).tolist() == ["INV-0000007", "INV-1234567"]
