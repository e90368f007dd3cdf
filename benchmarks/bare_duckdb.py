"""The bare-DuckDB baseline: the warehouse's core joins and aggregations written directly
against the raw Parquet zone, with no orchestration, gates, dbt, tests or documentation.

What it computes (the same rules as the dbt models it stands beside):
- the latest version of every raw record (change cursor, then load date, then file row);
- revenue lines: ERP invoice lines of invoices not cancelled, credit notes negated, POS basket
  lines, webshop order lines that ERP did not invoice (and not cancelled/returned/failed),
  subscription charges;
- FX conversion to EUR at the rate of the revenue date, rounded per line; lines the warehouse
  rejects (no rate, negative or implausible unit amounts) left out;
- revenue per customer on a simple identity key (the source record's normalised email, else
  the source record itself; no fuzzy matching);
- monthly acquisition cohorts x months since acquisition: customers active and revenue.

Run alone: `python -m benchmarks.bare_duckdb <data_dir>`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import duckdb

# system/entity -> (primary key, change cursor or None)
LATEST = {
    "erp/invoices": ("invoice_no", "updated_at"),
    "erp/invoice_lines": ("invoice_no, line_no", None),
    "erp/credit_notes": ("credit_note_no", None),
    "erp/customers": ("customer_no", "updated_at"),
    "pos/basket_lines": ("basket_id, line_no", None),
    "pos/loyalty_cards": ("card_no", "updated_at"),
    "webshop/orders": ("order_id", "updated_at"),
    "webshop/order_lines": ("order_id, line_no", None),
    "webshop/users": ("user_id", "updated_at"),
    "subscriptions/charges": ("charge_id", None),
    "subscriptions/plans": ("plan_id", None),
    "subscriptions/subscribers": ("subscriber_id", "updated_at"),
    "reference/fx_rates": ("rate_date, currency", None),
    "reference/products": ("sku", None),
}

REVENUE_SQL = """
create or replace table revenue_lines as
with invoiced as (
    select distinct webshop_order_id from erp_invoices where webshop_order_id is not null
)
select 'erp' as system, l.invoice_no as source_id, l.line_no, i.invoice_date as revenue_date,
       l.sku, l.quantity, l.unit_price as unit_amount, l.line_amount as amount,
       upper(trim(l.currency)) as currency, 'erp:customers:' || i.customer_no as record_key,
       true as is_sale
from erp_invoice_lines l join erp_invoices i using (invoice_no)
where lower(trim(i.status)) <> 'cancelled'
union all
select 'erp', c.credit_note_no, 1, c.credit_date, c.sku, null, c.amount, -c.amount,
       upper(trim(c.currency)), 'erp:customers:' || c.customer_no, false
from erp_credit_notes c
union all
select 'pos', b.basket_id, b.line_no, cast(b.purchased_at as date), b.sku, b.quantity,
       b.unit_price, b.quantity * b.unit_price, upper(trim(b.currency)),
       case when b.card_no is not null then 'pos:loyalty_cards:' || b.card_no end, true
from pos_basket_lines b
union all
select 'webshop', l.order_id, l.line_no, cast(o.ordered_at as date), l.sku, l.quantity,
       l.unit_price, l.quantity * l.unit_price, upper(trim(l.currency)),
       'webshop:users:' || o.user_id, true
from webshop_order_lines l join webshop_orders o using (order_id)
where l.order_id not in (select webshop_order_id from invoiced)
  and lower(trim(o.status)) not in ('cancelled', 'returned', 'failed_delivery')
union all
select 'subscriptions', c.charge_id, 1, c.charge_date, null, null, c.amount, c.amount,
       upper(trim(c.currency)), 'subscriptions:subscribers:' || c.subscriber_id, true
from subscriptions_charges c left join subscriptions_plans p using (plan_id);

create or replace table revenue_converted as
select l.*,
       cast(round(l.amount / r.units_per_eur, 2) as decimal(18, 2)) as amount_eur,
       coalesce(cast(round(p.unit_cost * l.quantity / cr.units_per_eur, 2) as decimal(18, 2)), 0)
           as cost_eur
from revenue_lines l
left join reference_products p using (sku)
left join reference_fx_rates r
    on upper(trim(r.currency)) = l.currency and r.rate_date = l.revenue_date
left join reference_fx_rates cr
    on upper(trim(cr.currency)) = upper(trim(p.cost_currency)) and cr.rate_date = l.revenue_date
-- the lines the warehouse rejects: unknown currency or no rate, negative or implausible amounts
where r.units_per_eur is not null
  and coalesce(l.unit_amount, 0) >= 0
  and coalesce(l.unit_amount / r.units_per_eur, 0) <= 100000;

create or replace table identity_keys as
select record_key, coalesce(nullif(lower(trim(email)), ''), record_key) as customer_key
from (
    select 'erp:customers:' || customer_no as record_key, email from erp_customers
    union all select 'webshop:users:' || user_id, email from webshop_users
    union all select 'pos:loyalty_cards:' || card_no, email from pos_loyalty_cards
    union all select 'subscriptions:subscribers:' || subscriber_id, email
    from subscriptions_subscribers
);

create or replace table revenue_per_customer as
select coalesce(k.customer_key, r.record_key) as customer_key,
       sum(r.amount_eur) as revenue_eur, sum(r.amount_eur - r.cost_eur) as margin_eur,
       count(distinct r.system || ':' || r.source_id) as orders,
       min(r.revenue_date) as first_purchase_date, max(r.revenue_date) as last_purchase_date
from revenue_converted r left join identity_keys k using (record_key)
where r.record_key is not null
group by 1;

create or replace table customer_months as
select coalesce(k.customer_key, r.record_key) as customer_key,
       date_trunc('month', r.revenue_date) as revenue_month, sum(r.amount_eur) as revenue_eur
from revenue_converted r left join identity_keys k using (record_key)
where r.record_key is not null
group by 1, 2;

create or replace table retention as
with cohorts as (
    select customer_key, min(revenue_month) as cohort_month
    from customer_months where revenue_eur > 0 group by 1
)
select c.cohort_month,
       datediff('month', c.cohort_month, m.revenue_month) as months_since_acquisition,
       count(distinct m.customer_key) as customers_active, sum(m.revenue_eur) as revenue_eur
from customer_months m join cohorts c using (customer_key)
group by 1, 2;
"""


def run_bare(raw_dir: Path, database: Path) -> dict[str, Any]:
    """Build the baseline tables in `database` (replaced); return row counts and the total."""
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        con.execute("set TimeZone = 'UTC'")
        rows_in = 0
        for path, (key, cursor) in LATEST.items():
            files = raw_dir / path / "*" / "*.parquet"
            order = f"{cursor} desc, " if cursor else ""
            table = path.replace("/", "_")
            con.execute(f"""
                create or replace table {table} as
                select * from read_parquet('{files}', hive_partitioning = false,
                                           union_by_name = true)
                qualify row_number() over (
                    partition by {key} order by {order}_load_date desc, _source_row desc) = 1
            """)
            rows_in += con.execute(
                f"select count(*) from read_parquet('{files}', hive_partitioning = false)"
            ).fetchone()[0]
        con.execute(REVENUE_SQL)
        counts = {
            table: con.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("revenue_lines", "revenue_per_customer", "retention")
        }
        total = con.execute("select sum(amount_eur) from revenue_converted").fetchone()[0]
    return {
        "rows": rows_in,
        "tables": counts,
        "total_revenue_eur": str(total),
        "seconds_inside": time.perf_counter() - started,
    }


if __name__ == "__main__":
    data_dir = Path(sys.argv[1])
    print(run_bare(data_dir / "raw", data_dir / "bare.duckdb"))
