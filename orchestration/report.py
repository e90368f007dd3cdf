"""The executive revenue-per-customer report: one self-contained HTML file per published load.

Reads only the published serving database (opened read-only, so a BI reader or the next publish
is never blocked) and the ledger (source freshness and what the gates rejected in the load). Every
figure is computed here from the marts; nothing is typed in. Periods are anchored on the latest
revenue date in the data (the marts' T12M window), never on the wall clock, so a replayed history
gives the same report.

Definitions (also printed in the report):
- current period: the trailing twelve months up to the latest revenue date; previous period: the
  twelve months before it;
- customers: customers with at least one sale line in the period; revenue and margin: every revenue
  line of a customer in the period (credit notes reduce it), in the reporting currency;
- net revenue retention: the same-quarter-year-on-year figure of `cdw demo`
  (`summaries.NET_REVENUE_RETENTION`), compared with the quarter before;
- churn rate: customers whose churn (mart_customer_churn.churned_date) falls in the period, over
  the customers who had bought before the period and had not churned by its start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

import duckdb

from orchestration import charts
from orchestration.contracts import load_contracts
from orchestration.settings import Settings
from orchestration.status import Freshness, freshness

REPORT_PREFIX = "revenue-per-customer"
TOP_AT_RISK = 10
TOP_COUNTRIES = 10
COHORT_ROWS = 12
COHORT_MONTHS = 12


class NoServingData(RuntimeError):
    """Nothing was published yet: the report has nothing to read."""


class NoRevenue(NoServingData):
    """The published marts hold no revenue line yet: no period to report on."""


@dataclass(frozen=True)
class Kpi:
    name: str
    current: float | None
    previous: float | None
    kind: str  # money | count | share
    higher_is_better: bool = True
    note: str = ""

    @property
    def change(self) -> float | None:
        """Relative change for money and counts, difference in points for shares."""
        if self.current is None or self.previous is None:
            return None
        if self.kind == "share":
            return self.current - self.previous
        return (self.current - self.previous) / abs(self.previous) if self.previous else None


@dataclass(frozen=True)
class GroupRow:
    label: str
    customers: int
    revenue: float

    @property
    def revenue_per_customer(self) -> float:
        return self.revenue / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class Rejection:
    system: str
    entity: str
    files: int
    rows_read: int
    rows_quarantined: int
    files_rejected: int
    reasons: str


@dataclass(frozen=True)
class ReportData:
    currency: str
    as_of_date: date  # latest load date published
    published_at: datetime
    period_start: date
    period_end: date
    previous_start: date
    previous_end: date
    kpis: tuple[Kpi, ...]
    monthly: tuple[tuple[date, float, int], ...]  # month, revenue, customers
    by_segment: tuple[GroupRow, ...]
    by_tier: tuple[GroupRow, ...]
    by_country: tuple[GroupRow, ...]
    pareto: tuple[float, ...]  # cumulative revenue share, best customer first
    core_customers: int
    cohorts: tuple[tuple[date, int, tuple[float | None, ...]], ...]  # month, size, retention
    churn_by_reason: tuple[tuple[str, int, float], ...]  # reason, customers, lost annual revenue
    at_risk: tuple[dict, ...]
    freshness: tuple[Freshness, ...]
    rejections: tuple[Rejection, ...]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def report_path(settings: Settings, as_of_date: date) -> Path:
    return settings.reports_dir / f"{REPORT_PREFIX}-{as_of_date.isoformat()}.html"


def build_report(settings: Settings, now: datetime | None = None) -> Path:
    """Collect from the serving file and the ledger, render, write atomically; return the path."""
    data = collect(settings, now=now)
    path = report_path(settings, data.as_of_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(data), encoding="utf-8")
    tmp.replace(path)
    return path


def connect_serving(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The serving file attached read-only as `marts`, so `marts.<table>` reads as in dbt."""
    if not settings.serving_path.exists():
        raise NoServingData(
            f"{settings.serving_path}: nothing published yet; run `cdw load` (or `cdw demo`) first"
        )
    db = duckdb.connect()
    db.execute(f"attach '{_sql_str(settings.serving_path)}' as marts (read_only)")
    return db


def collect(settings: Settings, now: datetime | None = None) -> ReportData:
    now = now or datetime.now(UTC)
    with closing(connect_serving(settings)) as db:
        published_at, as_of = db.execute(
            "select max(published_at), max(last_load_date) from marts._published"
        ).fetchone()
        currency = (
            db.execute(
                "select any_value(reporting_currency) from marts.mart_revenue_per_customer"
            ).fetchone()[0]
            or settings.reporting_currency
        )
        anchor = db.execute("select max(revenue_date) from marts.fct_revenue").fetchone()[0]
        if anchor is None:
            raise NoRevenue("the published marts hold no revenue yet: no report to build")
        bounds = _periods(db, anchor)
        data = ReportData(
            currency=currency,
            as_of_date=as_of or anchor,
            published_at=published_at,
            period_start=bounds["current_start"],
            period_end=anchor,
            previous_start=bounds["previous_start"],
            previous_end=bounds["previous_end"],
            kpis=tuple(_kpis(db, anchor)),
            monthly=tuple(_monthly(db, anchor)),
            by_segment=tuple(_groups(db, "r.customer_segment")),
            by_tier=tuple(_groups(db, "r.profitability_tier")),
            by_country=tuple(_countries(db)),
            pareto=tuple(_pareto(db)),
            core_customers=db.execute(
                "select count(*) from marts.mart_revenue_per_customer where is_core_customer"
            ).fetchone()[0],
            cohorts=tuple(_cohorts(db)),
            churn_by_reason=tuple(_churn_by_reason(db)),
            at_risk=tuple(_at_risk(db)),
            freshness=tuple(freshness(settings, load_contracts(), now)),
            rejections=tuple(gate_rejections(settings, as_of or anchor)),
            generated_at=now,
        )
    return data


def _periods(db: duckdb.DuckDBPyConnection, anchor: date) -> dict[str, date]:
    row = db.execute(
        """
        select cast(? - interval 12 month + interval 1 day as date),
               cast(? - interval 24 month + interval 1 day as date),
               cast(? - interval 12 month as date)
        """,
        [anchor, anchor, anchor],
    ).fetchone()
    return {"current_start": row[0], "previous_start": row[1], "previous_end": row[2]}


# Revenue, margin and buying customers in the twelve months ending `months_back` before the anchor.
_PERIOD_TOTALS = """
    select count(distinct customer_id) filter (where is_sale and amount_reporting > 0),
           coalesce(sum(amount_reporting), 0),
           coalesce(sum(margin_reporting), 0)
    from marts.fct_revenue
    where customer_id is not null
      and revenue_date > cast(? as date) - to_months(? + 12)
      and revenue_date <= cast(? as date) - to_months(?)
"""

# The same definition as summaries.NET_REVENUE_RETENTION, at any anchor (tests check they agree).
_NRR_AT = """
    with periods as (
        select customer_id,
               sum(amount_reporting) filter (
                   where revenue_date > cast(? as date) - interval 15 month
                     and revenue_date <= cast(? as date) - interval 12 month) as previous_revenue,
               sum(amount_reporting) filter (
                   where revenue_date > cast(? as date) - interval 3 month
                     and revenue_date <= cast(? as date)) as current_revenue
        from marts.fct_revenue
        where customer_id is not null
        group by customer_id
    )
    select sum(coalesce(current_revenue, 0)) / nullif(sum(previous_revenue), 0)
    from periods
    where previous_revenue > 0
"""

# Churned in the period over the customers who had bought before it and were not churned yet.
_CHURN_RATE = """
    with base as (
        select c.customer_id, c.churned_date
        from marts.mart_customer_churn c
        join marts.mart_revenue_per_customer r using (customer_id)
        where r.first_purchase_date < cast(? as date)
          and (c.churned_date is null or c.churned_date >= cast(? as date))
    )
    select count(*) filter (where churned_date <= cast(? as date)) / nullif(count(*), 0)
    from base
"""


def net_revenue_retention_at(db: duckdb.DuckDBPyConnection, anchor: date) -> float | None:
    value = db.execute(_NRR_AT, [anchor] * 4).fetchone()[0]
    return float(value) if value is not None else None


def _kpis(db: duckdb.DuckDBPyConnection, anchor: date) -> list[Kpi]:
    totals = {}
    for name, months_back in (("current", 0), ("previous", 12)):
        customers, revenue, margin = db.execute(
            _PERIOD_TOTALS, [anchor, months_back, anchor, months_back]
        ).fetchone()
        totals[name] = (customers, float(revenue), float(margin))
    churn = {}
    for name, months_back in (("current", 0), ("previous", 12)):
        start, end = db.execute(
            "select cast(cast(? as date) - to_months(? + 12) + interval 1 day as date), "
            "cast(cast(? as date) - to_months(?) as date)",
            [anchor, months_back, anchor, months_back],
        ).fetchone()
        value = db.execute(_CHURN_RATE, [start, start, end]).fetchone()[0]
        churn[name] = float(value) if value is not None else None
    previous_quarter = db.execute(
        "select cast(cast(? as date) - interval 3 month as date)", [anchor]
    ).fetchone()[0]
    (cur_c, cur_r, cur_m), (prev_c, prev_r, prev_m) = totals["current"], totals["previous"]
    return [
        Kpi("Customers", cur_c, prev_c, "count", note="with a purchase in the period"),
        Kpi("Revenue", cur_r, prev_r, "money"),
        Kpi("Revenue per customer", _ratio(cur_r, cur_c), _ratio(prev_r, prev_c), "money"),
        Kpi("Margin per customer", _ratio(cur_m, cur_c), _ratio(prev_m, prev_c), "money"),
        Kpi(
            "Net revenue retention",
            net_revenue_retention_at(db, anchor),
            net_revenue_retention_at(db, previous_quarter),
            "share",
            note="latest quarter vs same quarter a year earlier; change vs previous quarter",
        ),
        Kpi(
            "Churn rate",
            churn["current"],
            churn["previous"],
            "share",
            higher_is_better=False,
            note="of customers active at the start of the period",
        ),
    ]


def _ratio(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _monthly(db: duckdb.DuckDBPyConnection, anchor: date) -> list[tuple[date, float, int]]:
    return db.execute(
        """
        select date_trunc('month', revenue_date)::date as month,
               sum(amount_reporting)::double,
               count(distinct customer_id) filter (where is_sale and amount_reporting > 0)
        from marts.fct_revenue
        where customer_id is not null
          and revenue_date > cast(? as date) - interval 24 month
        group by 1 order by 1
        """,
        [anchor],
    ).fetchall()


def _groups(db: duckdb.DuckDBPyConnection, expression: str, join: str = "") -> list[GroupRow]:
    rows = db.execute(
        f"""
        select coalesce({expression}, 'unknown') as label,
               count(*) filter (where r.t12m_revenue > 0),
               coalesce(sum(r.t12m_revenue), 0)::double
        from marts.mart_revenue_per_customer r {join}
        group by 1
        having count(*) filter (where r.t12m_revenue > 0) > 0
        order by 3 desc
        """
    ).fetchall()
    return [GroupRow(*row) for row in rows]


def _countries(db: duckdb.DuckDBPyConnection) -> list[GroupRow]:
    rows = _groups(db, "d.country", "join marts.dim_customers d using (customer_id)")
    if len(rows) <= TOP_COUNTRIES:
        return rows
    rest = rows[TOP_COUNTRIES - 1 :]
    other = GroupRow(
        f"other ({len(rest)})", sum(r.customers for r in rest), sum(r.revenue for r in rest)
    )
    return [*rows[: TOP_COUNTRIES - 1], other]


def _pareto(db: duckdb.DuckDBPyConnection) -> list[float]:
    rows = db.execute(
        """
        select sum(lifetime_revenue) over (
                   order by lifetime_revenue desc, customer_id rows unbounded preceding)
               / sum(lifetime_revenue) over ()
        from marts.mart_revenue_per_customer
        where lifetime_revenue > 0
        order by lifetime_revenue desc, customer_id
        """
    ).fetchall()
    return [float(row[0]) for row in rows]


def _cohorts(
    db: duckdb.DuckDBPyConnection,
) -> list[tuple[date, int, tuple[float | None, ...]]]:
    latest = db.execute(
        "select max(activity_month) from marts.mart_customer_retention where dimension = 'all'"
    ).fetchone()[0]
    if latest is None:  # revenue but no positive sale yet: no cohort was acquired
        return []
    cohorts = db.execute(
        """
        select distinct cohort_month, cohort_size
        from marts.mart_customer_retention
        where dimension = 'all'
        order by cohort_month desc limit ?
        """,
        [COHORT_ROWS],
    ).fetchall()
    cells = {
        (cohort, months): float(retention)
        for cohort, months, retention in db.execute(
            """
            select cohort_month, months_since_acquisition, logo_retention
            from marts.mart_customer_retention
            where dimension = 'all' and months_since_acquisition <= ?
            """,
            [COHORT_MONTHS],
        ).fetchall()
    }
    result = []
    for cohort, size in sorted(cohorts):
        observable = (latest.year - cohort.year) * 12 + latest.month - cohort.month
        # The mart has no row for a month without purchases from the cohort: that month is 0%.
        row = tuple(
            cells.get((cohort, m), 0.0) if m <= observable else None
            for m in range(COHORT_MONTHS + 1)
        )
        result.append((cohort, size, row))
    return result


def _churn_by_reason(db: duckdb.DuckDBPyConnection) -> list[tuple[str, int, float]]:
    return db.execute(
        """
        select churn_reason, sum(churned_customers)::bigint,
               coalesce(sum(lost_annual_revenue_amount), 0)::double
        from marts.mart_churn_by_reason
        group by 1 order by 2 desc, 1
        """
    ).fetchall()


def _at_risk(db: duckdb.DuckDBPyConnection) -> list[dict]:
    cursor = db.execute(
        """
        select c.customer_id, r.customer_name, c.customer_segment,
               c.lifetime_revenue_amount::double as lifetime_revenue,
               r.t12m_revenue::double as t12m_revenue,
               c.churn_status_rule, c.unresolved_ticket_count, c.days_since_last_purchase
        from marts.mart_customer_churn c
        join marts.mart_revenue_per_customer r using (customer_id)
        where c.churn_status = 'at_risk' and c.lifetime_revenue_amount > 0
        order by c.lifetime_revenue_amount desc, c.customer_id
        limit ?
        """,
        [TOP_AT_RISK],
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def gate_rejections(settings: Settings, load_date: date) -> list[Rejection]:
    """Per source entity, what the gates turned away from the files of `load_date`."""
    if not settings.ledger_path.exists():
        return []
    uri = f"file:{settings.ledger_path}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=60)) as ledger:
        rows = ledger.execute(
            """
            select system, entity,
                   count(*) filter (where outcome in ('loaded', 'rejected')),
                   coalesce(sum(rows_read) filter (where outcome in ('loaded', 'rejected')), 0),
                   coalesce(sum(rows_quarantined)
                            filter (where outcome in ('loaded', 'rejected')), 0),
                   count(*) filter (where outcome = 'rejected'),
                   coalesce(group_concat(distinct reason), '')
            from landed_files
            where load_date = ?
            group by system, entity
            order by system, entity
            """,
            (load_date.isoformat(),),
        ).fetchall()
    return [Rejection(*row) for row in rows]


# ---------------------------------------------------------------------------------------------
# Rendering


def render(data: ReportData) -> str:
    sections = [
        _header(data),
        _kpi_section(data),
        _trend_section(data),
        _breakdown_section(data),
        _middle_sections(data),
        _operations_section(data),
        _definitions(data),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Revenue per customer — {data.as_of_date.isoformat()}</title>"
        f"<style>{_CSS}</style></head><body><main>" + "".join(sections) + "</main></body></html>"
    )


def _money(value: float | None, currency: str, *, compact: bool = False) -> str:
    if value is None:
        return "n/a"
    if compact and abs(value) >= 1_000_000:
        return f"{value / 1_000_000:,.2f}M {currency}"
    if compact and abs(value) >= 10_000:
        return f"{value / 1_000:,.0f}k {currency}"
    return f"{value:,.0f} {currency}" if abs(value) >= 1000 else f"{value:,.2f} {currency}"


def _value(kpi: Kpi, value: float | None, currency: str) -> str:
    if value is None:
        return "n/a"
    if kpi.kind == "money":
        return _money(value, currency, compact=True)
    if kpi.kind == "share":
        return f"{value:.1%}"
    return f"{value:,.0f}"


def _change(kpi: Kpi) -> str:
    change = kpi.change
    if change is None:
        return "<span class='delta flat'>no comparison</span>"
    text = f"{change * 100:+.1f} pts" if kpi.kind == "share" else f"{change:+.1%}"
    good = (change > 0) == kpi.higher_is_better
    css = "flat" if abs(change) < 0.0005 else ("up" if good else "down")
    arrow = "▲" if change > 0 else ("▼" if change < 0 else "■")
    return f"<span class='delta {css}'>{arrow} {escape(text)}</span>"


def _header(data: ReportData) -> str:
    return (
        "<header><div><h1>Revenue per customer</h1>"
        f"<p class='sub'>Executive report · data as of load date "
        f"<strong>{data.as_of_date:%d %B %Y}</strong> · amounts in "
        f"<strong>{escape(data.currency)}</strong></p></div>"
        f"<div class='period'>Period <strong>{data.period_start:%d %b %Y} &ndash; "
        f"{data.period_end:%d %b %Y}</strong><br>compared with "
        f"{data.previous_start:%d %b %Y} &ndash; "
        f"{data.previous_end:%d %b %Y}</div></header>"
    )


def _kpi_section(data: ReportData) -> str:
    cards = "".join(
        f"<div class='kpi'><div class='label'>{escape(k.name)}</div>"
        f"<div class='value'>{_value(k, k.current, data.currency)}</div>{_change(k)}"
        f"<div class='prev'>previous: {_value(k, k.previous, data.currency)}</div>"
        + (f"<div class='note'>{escape(k.note)}</div>" if k.note else "")
        + "</div>"
        for k in data.kpis
    )
    return f"<section class='kpis'>{cards}</section>"


def _trend_section(data: ReportData) -> str:
    chart = charts.column_line_chart(
        "monthly-revenue",
        "Revenue (columns) and buying customers (line) per month",
        [f"{m:%b %y}" for m, _, _ in data.monthly],
        [float(r) for _, r, _ in data.monthly],
        [float(c) for _, _, c in data.monthly],
        column_label=lambda v: _money(v, data.currency, compact=True),
        line_label=lambda v: f"{v:,.0f} buyers",
    )
    return _card(
        "Revenue and buying customers per month",
        chart,
        "Columns: revenue in the month; line: customers with a purchase in the month "
        "(last 24 months).",
        wide=True,
    )


def _group_table(rows: Sequence[GroupRow], currency: str, label: str) -> str:
    body = "".join(
        f"<tr><td>{escape(r.label)}</td><td class='num'>{r.customers:,}</td>"
        f"<td class='num'>{_money(r.revenue, currency, compact=True)}</td>"
        f"<td class='num'>{_money(r.revenue_per_customer, currency)}</td></tr>"
        for r in rows
    )
    return (
        f"<table><thead><tr><th>{escape(label)}</th><th class='num'>Customers</th>"
        "<th class='num'>Revenue</th><th class='num'>Per customer</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _group_chart(name: str, title: str, rows: Sequence[GroupRow], currency: str) -> str:
    return charts.bar_chart(
        name,
        title,
        [(r.label, r.revenue_per_customer, _money(r.revenue_per_customer, currency)) for r in rows],
    )


def _breakdown_section(data: ReportData) -> str:
    caption = "Trailing twelve months; customers with positive revenue in the period."
    cards = [
        _card(
            f"Revenue per customer by {title}",
            _group_chart(name, f"Revenue per customer by {title}", rows, data.currency)
            + _group_table(rows, data.currency, label),
            caption,
            css=css,
        )
        for name, title, rows, label, css in (
            ("revenue-per-customer-by-segment", "segment", data.by_segment, "Segment", ""),
            ("revenue-per-customer-by-tier", "profitability tier", data.by_tier, "Tier", ""),
            ("revenue-per-customer-by-country", "country", data.by_country, "Country", "span"),
        )
    ]
    return "<section class='grid two'>" + "".join(cards) + "</section>"


def _concentration(data: ReportData) -> str:
    n = len(data.pareto)
    top20 = data.pareto[max(0, round(0.2 * n) - 1)] if n else 0.0
    chart = charts.pareto_chart("pareto", "Cumulative share of lifetime revenue", data.pareto)
    text = (
        f"<p class='lead'><span class='big'>{top20:.0%}</span> of lifetime revenue comes from "
        f"the top 20% of the {n:,} customers with revenue; <strong>{data.core_customers:,}"
        "</strong> core customers (the smallest set) make 80%.</p>"
    )
    return _card(
        "Revenue concentration (Pareto)",
        text + chart,
        "Customers ordered by lifetime revenue, largest first.",
    )


def _retention_section(data: ReportData) -> str:
    chart = charts.heat_map(
        "cohort-retention",
        "Share of each monthly cohort buying again, by months since acquisition",
        [f"{c:%b %Y}" for c, _, _ in data.cohorts],
        [f"M{m}" for m in range(COHORT_MONTHS + 1)],
        [row for _, _, row in data.cohorts],
        row_notes=[f"{size:,}" for _, size, _ in data.cohorts],
    )
    return _card(
        "Cohort retention",
        chart,
        "Rows: month of first purchase (with cohort size); columns: months since; cells: share "
        "of the cohort with a purchase in that month. Blank: not observed yet.",
    )


def _churn_by_reason_card(data: ReportData) -> str:
    reasons = charts.bar_chart(
        "churn-by-reason",
        "Churned customers by stated reason",
        [
            (reason, customers, f"{customers:,} · {_money(lost, data.currency, compact=True)}")
            for reason, customers, lost in data.churn_by_reason
        ],
    )
    churned = sum(customers for _, customers, _ in data.churn_by_reason)
    lost = sum(amount for _, _, amount in data.churn_by_reason)
    return _card(
        "Churn by reason",
        f"<p class='lead'><strong>{churned:,}</strong> churned customers took "
        f"<strong>{_money(lost, data.currency, compact=True)}</strong> of yearly revenue with "
        "them.</p>" + reasons,
        "Customers and their revenue in the 12 months before churn (mart_churn_by_reason); "
        "'not stated': churn by inactivity, not by a cancel.",
    )


def _middle_sections(data: ReportData) -> str:
    return (
        "<section class='grid two'>"
        + _concentration(data)
        + _churn_by_reason_card(data)
        + "</section>"
        + _retention_section(data)
        + _at_risk_section(data)
    )


def _at_risk_section(data: ReportData) -> str:
    rows = (
        "".join(
            f"<tr><td><strong>{escape(str(c['customer_name'] or c['customer_id']))}</strong>"
            f"<div class='muted'>{escape(c['customer_id'])}</div></td>"
            f"<td>{escape(c['customer_segment'] or '')}</td>"
            f"<td class='num'>{_money(c['lifetime_revenue'], data.currency)}</td>"
            f"<td class='num'>{_money(c['t12m_revenue'], data.currency)}</td>"
            f"<td>{escape(c['churn_status_rule'].replace('_', ' '))}</td>"
            f"<td class='num'>{c['unresolved_ticket_count']}</td>"
            f"<td class='num'>{_blank_none(c['days_since_last_purchase'])}</td></tr>"
            for c in data.at_risk
        )
        or "<tr><td colspan='7'>No customer is at risk.</td></tr>"
    )
    table = (
        "<table><thead><tr><th>Customer</th><th>Segment</th><th class='num'>Lifetime revenue"
        "</th><th class='num'>Last 12 months</th><th>Why at risk</th>"
        "<th class='num'>Open tickets</th><th class='num'>Days since purchase</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return _card(
        f"Top {TOP_AT_RISK} at-risk customers by lifetime revenue",
        table,
        "churn_status at_risk in mart_customer_churn (the first rule that matched); act before "
        "they churn.",
    )


def _operations_section(data: ReportData) -> str:
    fresh = "".join(
        f"<tr><td>{escape(f.system)}/{escape(f.entity)}</td>"
        f"<td class='nowrap'>{f.latest_load_date.isoformat() if f.latest_load_date else 'never'}"
        "</td>"
        f"<td class='num'>{'' if f.age_hours is None else f'{f.age_hours:,.0f} h'}</td>"
        f"<td><span class='state {f.state}'>{f.state}</span></td></tr>"
        for f in data.freshness
    )
    rejected = (
        "".join(
            f"<tr class='first'><td>{escape(r.system)}/{escape(r.entity)}</td>"
            f"<td class='num'>{r.files}</td><td class='num'>{r.rows_read:,}</td>"
            f"<td class='num'>{r.rows_quarantined:,}</td><td class='num'>{r.files_rejected}</td>"
            f"</tr><tr><td colspan='5' class='muted reasons' title='{escape(r.reasons)}'>"
            f"{escape(_clip(r.reasons, 240))}</td></tr>"
            for r in data.rejections
            if r.rows_quarantined or r.files_rejected
        )
        or "<tr><td colspan='5'>The gates rejected nothing in this load.</td></tr>"
    )
    total_read = sum(r.rows_read for r in data.rejections)
    total_q = sum(r.rows_quarantined for r in data.rejections)
    return (
        "<section class='grid two ops'>"
        + _card(
            "How up to date each source is",
            "<table><thead><tr><th>Source</th><th>Latest delivery</th><th class='num'>Age</th>"
            f"<th>State</th></tr></thead><tbody>{fresh}</tbody></table>",
            "Age of the latest load date delivered, at the time this report was built.",
        )
        + _card(
            f"What the gates rejected in this load ({data.as_of_date.isoformat()})",
            f"<p>{total_q:,} of {total_read:,} rows quarantined.</p>"
            "<table><thead><tr><th>Source</th><th class='num'>Files</th>"
            "<th class='num'>Rows read</th><th class='num'>Quarantined</th>"
            "<th class='num'>Files rejected</th></tr></thead>"
            f"<tbody>{rejected}</tbody></table>",
            "Quarantined rows are kept with their failed rule; `cdw quarantine` shows them.",
        )
        + "</section>"
    )


def _definitions(data: ReportData) -> str:
    return (
        "<footer><h2>Definitions</h2><ul>"
        f"<li>All amounts in {escape(data.currency)}, converted at the warehouse's FX rates; "
        "credit notes reduce revenue.</li>"
        f"<li>Period: the twelve months up to the latest revenue date ({data.period_end:%d %b %Y});"
        " previous period: the twelve months before.</li>"
        "<li>Customers: customers with at least one purchase in the period; revenue and margin "
        "per customer divide the period's revenue and margin by them.</li>"
        "<li>Net revenue retention: revenue in the latest quarter from customers who bought in "
        "the same quarter a year earlier, over what they spent then; compared with the quarter "
        "before.</li>"
        "<li>Churn rate: customers whose churn date falls in the period, over customers who had "
        "bought before the period and were not churned at its start. A customer counts as "
        "churned once the churn rule confirms it (e.g. a long gap without purchase), so the "
        "latest months undercount churn.</li>"
        "</ul>"
        f"<p class='muted'>Built {data.generated_at:%Y-%m-%d %H:%M} UTC from the serving database "
        f"published {data.published_at:%Y-%m-%d %H:%M} UTC.</p></footer>"
    )


def _blank_none(value: object) -> str:
    return "" if value is None else str(value)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _card(title: str, body: str, caption: str, *, wide: bool = False, css: str = "") -> str:
    classes = " ".join(["card", *(["wide"] if wide else []), *([css] if css else [])])
    return (
        f"<article class='{classes}'><h2>{escape(title)}</h2>{body}"
        + (f"<p class='caption'>{escape(caption)}</p>" if caption else "")
        + "</article>"
    )


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--accent:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
 font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 24px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;
 border-bottom:3px solid var(--accent);padding-bottom:14px;margin-bottom:20px}
h1{margin:0;font-size:28px;letter-spacing:-.01em}
h2{font-size:15px;margin:0 0 12px;color:var(--ink)}
.sub{margin:4px 0 0;color:var(--muted)}
.period{text-align:right;color:var(--muted);font-size:13px}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-bottom:16px}
.kpi{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.kpi .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:22px;font-weight:700;margin:4px 0 2px;white-space:nowrap}
.kpi .prev,.kpi .note{color:var(--muted);font-size:11.5px}
.delta{font-size:12.5px;font-weight:600}
.delta.up{color:#047857}.delta.down{color:#b91c1c}.delta.flat{color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:16px;margin-bottom:16px}
.grid.two{grid-template-columns:1fr 1fr}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px;
 margin-bottom:16px;break-inside:avoid;overflow-x:auto}
.grid .card{margin-bottom:0}
.card svg{display:block;margin-bottom:8px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{text-align:left;padding:5px 6px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:11.5px;text-transform:uppercase}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.muted{color:var(--muted);font-size:11.5px}
.caption{color:var(--muted);font-size:12px;margin:8px 0 0}
.big{font-size:30px;font-weight:700;color:var(--accent)}
.lead{margin:0 0 10px;font-size:13.5px}
.grid .span{grid-column:1/-1;display:grid;grid-template-columns:1fr 1fr;column-gap:28px}
.span h2,.span .caption{grid-column:1/-1}
.state{padding:1px 8px;border-radius:10px;font-size:11.5px;font-weight:600}
.state.ok{background:#d1fae5;color:#065f46}.state.warn{background:#fef3c7;color:#92400e}
.state.error{background:#fee2e2;color:#991b1b}
tr.first td{border-bottom:none}
td.reasons{padding-top:0;word-break:break-word}
.nowrap{white-space:nowrap}
footer{color:var(--muted);font-size:12.5px;border-top:1px solid var(--line);margin-top:8px}
footer h2{color:var(--muted);margin-top:14px}
@media (max-width:1000px){.kpis{grid-template-columns:repeat(3,1fr)}
 .grid,.grid.two{grid-template-columns:1fr}}
@media print{@page{size:A4 landscape;margin:12mm}body{background:#fff;font-size:11px}
 main{max-width:none;padding:0}.card,.kpi{border-color:#ccc;box-shadow:none}
 .kpis{grid-template-columns:repeat(6,1fr)}.grid{grid-template-columns:repeat(3,1fr)}
 .grid.two{grid-template-columns:1fr 1fr}section,article{break-inside:avoid}}
"""
