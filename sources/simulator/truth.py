"""Ground truth written to data_dir/truth/: customers, source_records, revenue and defects.

Revenue definition (the warehouse computes exactly this):
1. ERP invoice lines of invoices whose final status is not `cancelled`: amount = line_amount,
   date = invoice_date;
2. ERP credit notes: amount = -amount, date = credit_date;
3. POS basket lines: amount = quantity x unit_price, date = UTC date of purchased_at;
4. webshop order lines of orders that no ERP invoice bills (no invoice with that
   webshop_order_id in the final state) and whose final status is not cancelled, returned or
   failed_delivery: amount = quantity x unit_price, date = UTC date of ordered_at;
5. subscription charges: amount, date = charge_date.
amount_reporting (EUR) per line = round(amount / units_per_eur(currency, date), 2), computed in
DuckDB as `round(CAST(amount AS DECIMAL(18,2)) / units_per_eur, 2)` (a DOUBLE division, rounded
half away from zero) and stored as DECIMAL(18,2). Records lost to injected defects are left out
(see simulator.defects for which ones).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator.frames import Records, arrow_text, first_of_each, sort_order
from simulator.people import People
from simulator.timeline import DAY, Timeline
from simulator.timezones import offsets_by_zone
from simulator.writers import decimal_array, write_parquet

CUSTOMER_ENTITIES: tuple[tuple[str, str], ...] = (
    ("crm", "accounts"),
    ("crm", "contacts"),
    ("erp", "customers"),
    ("webshop", "users"),
    ("pos", "loyalty_cards"),
    ("subscriptions", "subscribers"),
    ("support", "tickets"),
)
EXCLUDED_ORDER_STATUS = ("cancelled", "returned", "failed_delivery")


def _dates(days: np.ndarray) -> pa.Array:
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype("datetime64[D]"), mask=days < -30000, type=pa.date32())


def customers_table(people: People) -> pa.Table:
    def optional(day: np.ndarray) -> pa.Array:
        return pa.array(day.astype("datetime64[D]"), mask=day < 0, type=pa.date32())

    business = people["is_business"]
    return pa.table(
        {
            "true_customer_id": pa.array(people["true_customer_id"], pa.string()),
            "kind": pa.array(np.where(business, "business", "person"), pa.string()),
            "given_name": pa.array(np.where(business, None, people["given_name"]), pa.string()),
            "family_name": pa.array(
                np.where(business | (people["family_name"] == ""), None, people["family_name"]),
                pa.string(),
            ),
            "native_name": pa.array(
                np.where(
                    business,
                    None,
                    np.char.strip(
                        np.char.add(
                            np.char.add(people["given_native"].astype(str), " "),
                            people["family_native"].astype(str),
                        )
                    ),
                ),
                pa.string(),
            ),
            "company_name": pa.array(people["company_name"], pa.string()),
            "tax_id": pa.array(people["tax_id"], pa.string()),
            "email": pa.array(people["email"], pa.string()),
            "city": pa.array(people["city"], pa.string()),
            "country": pa.array(people["country"], pa.string()),
            "culture": pa.array(people["culture"], pa.string()),
            "segment": pa.array(people["segment"], pa.string()),
            "date_of_birth": pa.array(
                np.where(business, np.int64(-(10**6)), people["date_of_birth"]).astype(
                    "datetime64[D]"
                ),
                mask=business,
                type=pa.date32(),
            ),
            "acquired_date": optional(people["acquired_day"]),
            "churn_date": optional(people["churn_day"]),
            "churn_cause": pa.array(people["churn_cause"], pa.string()),
            "won_back_date": optional(people["won_back_day"]),
            "first_complaint_date": optional(people["complaint_day"]),
            "household_of": pa.array(
                np.where(
                    people["household_of"] >= 0,
                    people["true_customer_id"][np.maximum(people["household_of"], 0)],
                    None,
                ),
                pa.string(),
            ),
            "namesake_of": pa.array(
                np.where(
                    people["namesake_of"] >= 0,
                    people["true_customer_id"][np.maximum(people["namesake_of"], 0)],
                    None,
                ),
                pa.string(),
            ),
        }
    )


def _kept(records: Records, lost: np.ndarray | None) -> np.ndarray:
    if lost is None or not len(lost):
        return np.ones(len(records["_key"]), dtype=bool)
    keys = arrow_text(records["_key"])
    return ~pc.is_in(keys, value_set=arrow_text(lost)).to_numpy(zero_copy_only=False)


def source_records_table(
    entities: dict[tuple[str, str], Records],
    people: People,
    lost: dict[tuple[str, str], np.ndarray],
) -> pa.Table:
    parts = []
    for system, entity in CUSTOMER_ENTITIES:
        records = entities[(system, entity)]
        keep = _kept(records, lost.get((system, entity)))
        keys, first = first_of_each(records["_key"][keep])
        customer = records["_customer"][keep][first]
        parts.append(
            pa.table(
                {
                    "system": pa.array([system] * len(keys), pa.string()),
                    "entity": pa.array([entity] * len(keys), pa.string()),
                    "source_id": pa.array(keys, pa.string()),
                    "true_customer_id": pa.array(people["true_customer_id"][customer], pa.string()),
                }
            )
        )
    return pa.concat_tables(parts)


def _revenue_part(
    system: str,
    entity: str,
    source_id: np.ndarray,
    line_no: np.ndarray,
    customer: np.ndarray,
    day: np.ndarray,
    cents: np.ndarray,
    currency: np.ndarray,
    people: People,
) -> pa.Table:
    return pa.table(
        {
            "system": pa.array([system] * len(source_id), pa.string()),
            "entity": pa.array([entity] * len(source_id), pa.string()),
            "source_id": pa.array(source_id, pa.string()),
            "line_no": pa.array(np.asarray(line_no, dtype=np.int64)),
            "true_customer_id": pa.array(
                np.where(customer >= 0, people["true_customer_id"][np.maximum(customer, 0)], None),
                pa.string(),
            ),
            "revenue_date": pa.array(
                np.asarray(day, dtype=np.int64).astype("datetime64[D]"), pa.date32()
            ),
            "amount": decimal_array(np.asarray(cents, dtype=np.int64)),
            "currency": pa.array(currency, pa.string()),
        }
    )


def revenue_table(
    entities: dict[tuple[str, str], Records],
    final_invoice_status: np.ndarray,
    people: People,
    lost: dict[tuple[str, str], np.ndarray],
    fx: pa.Table,
    timeline: Timeline,
) -> pa.Table:
    parts = []
    lines = entities[("erp", "invoice_lines")]
    keep = _kept(lines, lost.get(("erp", "invoice_lines"))) & (
        final_invoice_status[lines["_invoice"]] != "cancelled"
    )
    parts.append(
        _revenue_part(
            "erp",
            "invoice_lines",
            lines["invoice_no"][keep],
            lines["line_no"][keep],
            lines["_customer"][keep],
            lines["_day"][keep],
            lines["line_amount"][keep],
            lines["currency"][keep],
            people,
        )
    )
    credits = entities[("erp", "credit_notes")]
    keep = _kept(credits, lost.get(("erp", "credit_notes")))
    parts.append(
        _revenue_part(
            "erp",
            "credit_notes",
            credits["credit_note_no"][keep],
            np.ones(int(keep.sum())),
            credits["_customer"][keep],
            credits["credit_date"][keep],
            -credits["amount"][keep],
            credits["currency"][keep],
            people,
        )
    )
    basket = entities[("pos", "basket_lines")]
    keep = _kept(basket, lost.get(("pos", "basket_lines")))
    local = basket["_local"][keep]
    utc = local - offsets_by_zone(basket["store_timezone"][keep], local, timeline.end_day + 3)
    parts.append(
        _revenue_part(
            "pos",
            "basket_lines",
            basket["basket_id"][keep],
            basket["line_no"][keep],
            basket["_customer"][keep],
            utc // DAY,
            basket["quantity"][keep] * basket["unit_price"][keep],
            basket["currency"][keep],
            people,
        )
    )
    parts.append(_webshop_revenue(entities, lost, people))
    charges = entities[("subscriptions", "charges")]
    keep = _kept(charges, lost.get(("subscriptions", "charges")))
    parts.append(
        _revenue_part(
            "subscriptions",
            "charges",
            charges["charge_id"][keep],
            np.ones(int(keep.sum())),
            charges["_customer"][keep],
            charges["charge_date"][keep],
            charges["amount"][keep],
            charges["currency"][keep],
            people,
        )
    )
    return _to_reporting(pa.concat_tables(parts), fx)


def _webshop_revenue(
    entities: dict[tuple[str, str], Records],
    lost: dict[tuple[str, str], np.ndarray],
    people: People,
) -> pa.Table:
    orders = entities[("webshop", "orders")]
    invoiced = set(entities[("erp", "invoices")]["webshop_order_id"].tolist()) - {None}
    # final state per order: the version with the latest update
    order = sort_order(orders["order_id"], orders["updated_at"])
    last = np.ones(len(order), dtype=bool)
    ids = orders["order_id"][order]
    last[:-1] = ids[1:] != ids[:-1]
    final = order[last]
    ok = ~np.isin(orders["status"][final].astype(str), EXCLUDED_ORDER_STATUS) & ~np.isin(
        orders["order_id"][final].astype(str), np.array(sorted(invoiced), dtype=str)
    )
    ok &= _kept({"_key": orders["_key"][final]}, lost.get(("webshop", "orders")))
    counted = final[ok]
    lines = entities[("webshop", "order_lines")]
    by_order = np.full(int(lines["_order"].max(initial=-1)) + 1, -1, dtype=np.int64)
    by_order[orders["_order"][counted]] = counted
    row = by_order[lines["_order"]] if len(lines["_order"]) else np.zeros(0, np.int64)
    take = row >= 0
    src = row[take]
    return _revenue_part(
        "webshop",
        "order_lines",
        orders["order_id"][src],
        lines["line_no"][take],
        orders["_customer"][src],
        orders["ordered_at"][src] // DAY,
        lines["quantity"][take] * lines["unit_price"][take],
        orders["currency"][src],
        people,
    )


def _to_reporting(revenue: pa.Table, fx: pa.Table) -> pa.Table:
    connection = duckdb.connect()
    try:
        connection.register("revenue", revenue)
        connection.register("fx", fx)
        result = connection.sql("""
            select r.*, cast(round(r.amount / f.units_per_eur, 2) as decimal(18, 2))
                   as amount_reporting
            from revenue r
            join fx f on f.currency = r.currency and f.rate_date = r.revenue_date
            order by r.system, r.entity, r.source_id, r.line_no
        """).arrow()
        return result if isinstance(result, pa.Table) else result.read_all()
    finally:
        connection.close()


def defects_table(log: list[dict[str, object]]) -> pa.Table:
    schema = pa.schema(
        [
            ("system", pa.string()),
            ("entity", pa.string()),
            ("file", pa.string()),
            ("source_row", pa.int64()),
            ("column_name", pa.string()),
            ("defect_class", pa.string()),
            ("description", pa.string()),
        ]
    )
    return pa.Table.from_pylist(log, schema=schema)


def write_truth(truth_dir: Path, tables: dict[str, pa.Table]) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_parquet(truth_dir / f"{name}.parquet", table)
