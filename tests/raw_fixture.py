"""A tiny, hand-made raw zone with known values, for building the dbt project in tests.

`build_raw_zone(data_dir)` writes `raw/<system>/<entity>/load_date=<d>/part-0.parquet` for every
contract entity, typed from the contracts exactly as ingestion does (docs/zones.md). The world:

- Anna Mueller (B2C): CRM person account + contact (two versions), webshop user, ERP customer,
  loyalty card, support ticket; matched by email, loyalty card, name + date of birth.
- The Mueller household: Peter (webshop) and Lena (subscriber) share one email and must NOT merge.
- Acme GmbH (B2B): CRM business account + contact, ERP customer with the same tax id (spelt
  differently); an invoice in two versions, a cancelled invoice and a credit note.
- John Smith: a British webshop user ordering in GBP on a day with its own FX rate.
- Anonymous POS baskets, one bought just after midnight local time (the UTC date is the day before).
- Webshop order WO-1 is invoiced in ERP (INV-1) and must be counted once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.contracts import Entity, load_contracts

LOADED_AT = datetime(2026, 3, 20, 6, 0, tzinfo=UTC)
FIRST_LOAD = date(2026, 3, 1)
SECOND_LOAD = date(2026, 3, 2)
FX_FIRST_DAY = date(2025, 12, 1)
FX_LAST_DAY = date(2026, 3, 31)
GBP_SPECIAL_DAY = date(2026, 3, 15)
GBP_SPECIAL_RATE = 0.80
BASE_RATES = {"EUR": 1.0, "GBP": 0.85, "CHF": 0.95}

_ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def d(text: str) -> Decimal:
    return Decimal(text)


def _fx_rows() -> list[dict]:
    rows, day = [], FX_FIRST_DAY
    while day <= FX_LAST_DAY:
        for currency, rate in BASE_RATES.items():
            if currency == "GBP" and day == GBP_SPECIAL_DAY:
                rate = GBP_SPECIAL_RATE
            rows.append({"rate_date": day, "currency": currency, "units_per_eur": rate})
        day += timedelta(days=1)
    return rows


def _contact(version_at: datetime, phone: str) -> dict:
    return {
        "contact_id": "CON-1", "account_id": "ACC-1", "first_name": " Anna ",
        "last_name": "Müller", "email": "Anna.Mueller@Example.com ", "phone": phone,
        "date_of_birth": date(1980, 5, 1), "street": "Hauptstr. 1", "postcode": "10115",
        "city": "Berlin", "country": "de", "created_at": utc(2025, 12, 1, 9),
        "updated_at": version_at,
    }  # fmt: skip


def _invoice(no, customer, day, total, status, order_id, updated_at) -> dict:
    return {
        "invoice_no": no, "customer_no": customer, "invoice_date": day, "currency": "EUR",
        "total_amount": d(total), "webshop_order_id": order_id, "status": status,
        "updated_at": updated_at,
    }  # fmt: skip


def _line(key: str, no: str, line_no: int, sku: str, qty: int, price: str, **extra) -> dict:
    amount = Decimal(price) * qty
    row = {key: no, "line_no": line_no, "sku": sku, "quantity": qty, "unit_price": d(price)}
    if key == "invoice_no":
        row["line_amount"] = amount
    return {**row, **extra}


def _order(no, user, at, currency, total, status) -> dict:
    return {
        "order_id": no, "user_id": user, "ordered_at": at, "currency": currency,
        "total_amount": d(total), "status": status, "updated_at": at,
    }  # fmt: skip


def _basket(no, store, card, at, zone, sku, qty, price, currency) -> dict:
    return {
        "basket_id": no, "line_no": 1, "store_id": store, "card_no": card, "purchased_at": at,
        "store_timezone": zone, "sku": sku, "quantity": qty, "unit_price": d(price),
        "currency": currency,
    }  # fmt: skip


def world() -> dict[tuple[str, str], dict[date, list[dict]]]:
    """(system, entity) -> load date -> rows (contract column names; missing ones are null)."""
    first, second = FIRST_LOAD, SECOND_LOAD
    return {
        ("reference", "fx_rates"): {first: _fx_rows()},
        ("reference", "products"): {first: [
            {"sku": "SKU-1", "product_name": "Espresso beans", "product_line": "coffee",
             "unit_cost": d("2.00"), "cost_currency": "EUR", "list_price": d("5.00")},
            {"sku": "SKU-2", "product_name": "Green tea", "product_line": "tea",
             "unit_cost": d("1.00"), "cost_currency": "EUR", "list_price": d("3.00")},
            {"sku": "SKU-3", "product_name": "Espresso machine", "product_line": "machines",
             "unit_cost": d("95.00"), "cost_currency": "CHF", "list_price": d("200.00")},
        ]},
        ("crm", "accounts"): {first: [
            {"account_id": "ACC-1", "account_type": "person", "country": "de",
             "created_at": utc(2025, 12, 1, 9), "updated_at": utc(2025, 12, 1, 9)},
            {"account_id": "ACC-2", "account_type": "business", "account_name": " Acme GmbH",
             "tax_id": "DE 123.456.789", "industry": "retail", "country": "De",
             "spend_potential": d("50000.00"), "spend_potential_currency": "eur",
             "created_at": utc(2025, 12, 2, 9), "updated_at": utc(2025, 12, 2, 9)},
        ]},
        ("crm", "contacts"): {
            # the newer version arrives first; the older one is a late re-send
            first: [_contact(utc(2026, 2, 1, 8), "030 1234567"),
                    {"contact_id": "CON-2", "account_id": "ACC-2", "first_name": "Bob",
                     "last_name": "Builder", "email": "bob@acme.example",
                     "phone": "+41 44 123 45 67", "country": "CH",
                     "created_at": utc(2025, 12, 2, 9), "updated_at": utc(2025, 12, 2, 9)}],
            second: [_contact(utc(2026, 1, 1, 8), "0049 30 7654321")],
        },
        ("crm", "contact_preferences"): {
            first: [{"contact_id": "CON-1", "channel": "email", "is_opted_in": True,
                     "updated_at": utc(2025, 12, 1, 9)}],
            second: [{"contact_id": "CON-1", "channel": "email", "is_opted_in": False,
                      "updated_at": utc(2026, 3, 1, 9)}],
        },
        ("erp", "customers"): {first: [
            {"customer_no": "C-1", "customer_name": "Müller, Anna", "is_company": False,
             "email": "anna.mueller@example.com", "country": "DE", "currency": "EUR",
             "created_at": utc(2026, 1, 9, 10), "updated_at": utc(2026, 1, 9, 10)},
            {"customer_no": "C-2", "customer_name": "ACME GmbH", "is_company": True,
             "tax_id": "de123456789", "email": "billing@acme.example", "country": "DE",
             "currency": "EUR", "created_at": utc(2026, 1, 15, 10),
             "updated_at": utc(2026, 1, 15, 10)},
        ]},
        ("erp", "invoices"): {
            first: [_invoice("INV-1", "C-1", date(2026, 1, 10), "13.00", "paid", "WO-1",
                             utc(2026, 1, 10, 9)),
                    _invoice("INV-2", "C-2", date(2026, 2, 1), "540.00", "issued", None,
                             utc(2026, 2, 1, 9)),
                    _invoice("INV-3", "C-2", date(2026, 3, 5), "180.00", "cancelled", None,
                             utc(2026, 3, 5, 9))],
            second: [_invoice("INV-2", "C-2", date(2026, 2, 1), "540.00", "paid", None,
                              utc(2026, 2, 25, 9))],
        },
        ("erp", "invoice_lines"): {first: [
            _line("invoice_no", "INV-1", 1, "SKU-1", 2, "5.00", currency="EUR"),
            _line("invoice_no", "INV-1", 2, "SKU-2", 1, "3.00", currency="EUR"),
            _line("invoice_no", "INV-2", 1, "SKU-3", 3, "180.00", currency="EUR"),
            _line("invoice_no", "INV-3", 1, "SKU-3", 1, "180.00", currency="EUR"),
        ]},
        ("erp", "credit_notes"): {first: [
            {"credit_note_no": "CN-1", "invoice_no": "INV-2", "customer_no": "C-2",
             "credit_date": date(2026, 2, 20), "currency": "EUR", "amount": d("180.00"),
             "sku": "SKU-3", "reason": "return"},
        ]},
        ("webshop", "users"): {first: [
            {"user_id": "U-1", "email": " Anna.Mueller@Example.com", "first_name": "Anna",
             "last_name": "Müller", "phone": "+49 (0)30 1234567", "country": "DE",
             "created_at": utc(2026, 1, 9, 20), "updated_at": utc(2026, 1, 9, 20)},
            {"user_id": "U-2", "email": "mueller.family@example.com", "first_name": "Peter",
             "last_name": "Müller", "country": "DE", "created_at": utc(2026, 1, 20, 8),
             "updated_at": utc(2026, 1, 20, 8)},
            {"user_id": "U-3", "email": "john.smith@example.co.uk", "first_name": "John",
             "last_name": "Smith", "phone": "07700 900123", "country": "GB",
             "created_at": utc(2026, 3, 14, 8), "updated_at": utc(2026, 3, 14, 8)},
        ]},
        ("webshop", "orders"): {first: [
            _order("WO-1", "U-1", utc(2026, 1, 9, 23, 30), "EUR", "13.00", "delivered"),
            _order("WO-2", "U-1", utc(2026, 3, 15, 10), "EUR", "200.00", "delivered"),
            _order("WO-3", "U-1", utc(2026, 3, 16, 10), "EUR", "5.00", "cancelled"),
            _order("WO-4", "U-3", utc(2026, 3, 15, 12), "GBP", "10.20", "shipped"),
            _order("WO-5", "U-2", utc(2026, 1, 20, 9), "EUR", "5.00", "delivered"),
        ]},
        ("webshop", "order_lines"): {first: [
            _line("order_id", "WO-1", 1, "SKU-1", 2, "5.00", currency="EUR"),
            _line("order_id", "WO-1", 2, "SKU-2", 1, "3.00", currency="EUR"),
            _line("order_id", "WO-2", 1, "SKU-3", 1, "200.00", currency="EUR"),
            _line("order_id", "WO-3", 1, "SKU-1", 1, "5.00", currency="EUR"),
            _line("order_id", "WO-4", 1, "SKU-2", 4, "2.55", currency="GBP"),
            _line("order_id", "WO-5", 1, "SKU-1", 1, "5.00", currency="EUR"),
        ]},
        ("pos", "stores"): {first: [
            {"store_id": "S-1", "store_name": "Berlin Mitte", "city": "Berlin", "country": "DE",
             "currency": "EUR", "timezone": "Europe/Berlin"},
            {"store_id": "S-2", "store_name": "London Soho", "city": "London", "country": "GB",
             "currency": "GBP", "timezone": "Europe/London"},
        ]},
        ("pos", "loyalty_cards"): {first: [
            {"card_no": "1000000000001", "holder_name": "Anna Muller", "postcode": "10115",
             "date_of_birth": date(1980, 5, 1), "store_id": "S-1",
             "issued_date": date(2026, 2, 14), "updated_at": utc(2026, 2, 14, 9)},
        ]},
        ("pos", "basket_lines"): {first: [
            _basket("B-1", "S-1", "1000000000001", utc(2026, 2, 14, 9), "Europe/Berlin",
                    "SKU-1", 3, "4.50", "EUR"),
            _basket("B-2", "S-1", None, utc(2026, 2, 14, 10), "Europe/Berlin",
                    "SKU-2", 2, "2.50", "EUR"),
            # 00:30 local on 1 March is 23:30 UTC on 28 February
            _basket("B-3", "S-1", None, utc(2026, 2, 28, 23, 30), "Europe/Berlin",
                    "SKU-1", 1, "4.50", "EUR"),
            _basket("B-4", "S-2", None, utc(2026, 3, 15, 18), "Europe/London",
                    "SKU-2", 1, "2.40", "GBP"),
        ]},
        ("subscriptions", "plans"): {first: [
            {"plan_id": "P-1", "plan_name": "Coffee club", "product_line": "coffee",
             "tier_rank": 1, "monthly_price": d("9.90"), "currency": "EUR"},
        ]},
        ("subscriptions", "subscribers"): {first: [
            {"subscriber_id": "SUB-1", "full_name": "Lena Müller",
             "email": "Mueller.Family@example.com", "country": "DE",
             "created_at": utc(2026, 1, 4, 9), "updated_at": utc(2026, 1, 4, 9)},
        ]},
        ("subscriptions", "subscription_events"): {first: [
            {"event_id": "E-1", "subscription_id": "SN-1", "subscriber_id": "SUB-1",
             "plan_id": "P-1", "event_type": "start", "occurred_at": utc(2026, 1, 4, 9)},
        ]},
        ("subscriptions", "charges"): {first: [
            {"charge_id": f"CH-{m}", "subscription_id": "SN-1", "subscriber_id": "SUB-1",
             "plan_id": "P-1", "charge_date": date(2026, m, 5), "amount": d("9.90"),
             "currency": "EUR"}
            for m in (1, 2, 3)
        ]},
        ("support", "tickets"): {first: [
            {"ticket_id": "T-1", "requester_email": "anna.mueller@example.com",
             "requester_name": "Anna Müller", "category": "question", "priority": "normal",
             "status": "resolved", "opened_at": utc(2026, 3, 16, 9),
             "resolved_at": utc(2026, 3, 16, 12), "satisfaction_score": 5,
             "updated_at": utc(2026, 3, 16, 12)},
        ]},
        ("marketing", "campaigns"): {first: [
            {"campaign_id": "CMP-1", "campaign_name": "Spring coffee", "channel": "email",
             "product_line": "coffee", "start_date": date(2026, 3, 1),
             "end_date": date(2026, 3, 31), "cost": d("1000.00"), "currency": "EUR"},
        ]},
        ("marketing", "campaign_events"): {first: [
            {"event_id": "EV-1", "campaign_id": "CMP-1", "email": "mueller.family@example.com",
             "event_type": "unsubscribe", "occurred_at": utc(2026, 3, 2, 9)},
            {"event_id": "EV-2", "campaign_id": "CMP-1", "email": "john.smith@example.co.uk",
             "event_type": "open", "occurred_at": utc(2026, 3, 2, 9)},
        ]},
    }  # fmt: skip


def arrow_schema(entity: Entity) -> pa.Schema:
    fields = []
    for column in entity.columns:
        if column.type == "decimal":
            arrow_type = pa.decimal128(18, column.scale)
        else:
            arrow_type = _ARROW_TYPES[column.type]
        fields.append(pa.field(column.name, arrow_type))
    return pa.schema(
        [
            *fields,
            pa.field("_source_file", pa.string()),
            pa.field("_source_row", pa.int64()),
            pa.field("_load_date", pa.date32()),
            pa.field("_loaded_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def _table(system: str, entity: Entity, load_date: date, rows: list[dict]) -> pa.Table:
    unknown = {key for row in rows for key in row} - set(entity.column_names)
    if unknown:
        raise ValueError(f"fixture {system}.{entity.name}: unknown columns {sorted(unknown)}")
    file = f"{system}/{load_date}/{entity.name}_{load_date}"
    records = [
        {
            **{name: row.get(name) for name in entity.column_names},
            "_source_file": file,
            "_source_row": number,
            "_load_date": load_date,
            "_loaded_at": LOADED_AT,
        }
        for number, row in enumerate(rows, start=1)
    ]
    return pa.Table.from_pylist(records, schema=arrow_schema(entity))


def build_raw_zone(data_dir: Path) -> Path:
    """Write the fixture's raw zone under `data_dir/raw`; every contract entity gets a file."""
    data = world()
    raw = Path(data_dir) / "raw"
    for contract in load_contracts():
        for entity in contract.entities:
            partitions = data.get((contract.system, entity.name)) or {FIRST_LOAD: []}
            for load_date, rows in partitions.items():
                folder = raw / contract.system / entity.name / f"load_date={load_date}"
                folder.mkdir(parents=True, exist_ok=True)
                table = _table(contract.system, entity, load_date, rows)
                pq.write_table(table, folder / "part-0.parquet")
    return raw
