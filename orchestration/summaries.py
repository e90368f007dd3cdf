"""Figures the CLI prints after a load: row accounting from the ledger, headline numbers."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from orchestration.settings import Settings


@dataclass(frozen=True)
class EntityAccounting:
    system: str
    entity: str
    files: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    files_duplicate: int
    files_rejected: int

    @property
    def closes(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


def accounting(settings: Settings) -> list[EntityAccounting]:
    """Rows landed, loaded and quarantined per system/entity, over the current files."""
    if not settings.ledger_path.exists():
        return []
    with sqlite3.connect(f"file:{settings.ledger_path}?mode=ro", uri=True) as ledger:
        rows = ledger.execute(
            """
            select system, entity,
                   count(*) filter (where outcome in ('loaded', 'rejected')),
                   coalesce(sum(rows_read) filter (where outcome in ('loaded', 'rejected')), 0),
                   coalesce(sum(rows_loaded) filter (where outcome = 'loaded'), 0),
                   coalesce(sum(rows_quarantined)
                            filter (where outcome in ('loaded', 'rejected')), 0),
                   count(*) filter (where outcome = 'duplicate'),
                   count(*) filter (where outcome = 'rejected')
            from landed_files
            group by system, entity
            order by system, entity
            """
        ).fetchall()
    return [EntityAccounting(*row) for row in rows]


# Net revenue retention, same quarter year on year: what the customers who bought in a quarter
# a year ago spent in the latest quarter, over what they spent then (expansion minus contraction
# and churn). Comparing equal windows a year apart avoids crediting customers acquired part-way
# through a 12-month window with "growth". The anchor is the latest revenue date in the data, so
# a replayed history gives the same figure.
NET_REVENUE_RETENTION = """
    with bounds as (select max(revenue_date) as anchor from marts.fct_revenue),
    periods as (
        select customer_id,
               sum(amount_reporting) filter (
                   where revenue_date > anchor - interval 15 month
                     and revenue_date <= anchor - interval 12 month) as previous_revenue,
               sum(amount_reporting) filter (
                   where revenue_date > anchor - interval 3 month) as current_revenue
        from marts.fct_revenue, bounds
        where customer_id is not null
        group by customer_id
    )
    select sum(coalesce(current_revenue, 0)) / nullif(sum(previous_revenue), 0)
    from periods
    where previous_revenue > 0
"""


@dataclass(frozen=True)
class Headline:
    customers: int
    revenue: Decimal
    currency: str
    revenue_per_customer: Decimal
    net_revenue_retention: float | None


def headline(settings: Settings) -> Headline | None:
    """Top figures from the marts, read-only; None before the first successful build."""
    if not settings.warehouse_path.exists():
        return None
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as db:
        customers, revenue = db.execute(
            """
            select count(*), coalesce(sum(lifetime_revenue), 0)
            from marts.mart_revenue_per_customer
            where lifetime_revenue <> 0
            """
        ).fetchone()
        nrr = db.execute(NET_REVENUE_RETENTION).fetchone()[0]
    revenue = Decimal(revenue)
    per_customer = (revenue / customers).quantize(Decimal("0.01")) if customers else Decimal(0)
    return Headline(
        customers=customers,
        revenue=revenue,
        currency=settings.reporting_currency,
        revenue_per_customer=per_customer,
        net_revenue_retention=float(nrr) if nrr is not None else None,
    )
