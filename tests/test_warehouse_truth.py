"""The warehouse against the simulator's ground truth: the small shared world (300 customers,
3 days, seed 7) loaded through the Dagster jobs (ingest with its gate, then dbt build), compared
with truth/ for revenue, identity and retention.

Defect rows are identified through truth/defects.parquet (file, record number): none of them may
reach fct_revenue, and every revenue line the warehouse rejects must be an injected defect.
"""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def warehouse(loaded_world):
    import duckdb

    data_dir = loaded_world.settings.data_dir
    failing = set(loaded_world.report.failures + loaded_world.report.warnings)
    con = duckdb.connect()
    con.sql(f"attach '{data_dir / 'warehouse.duckdb'}' as w (read_only)")
    for name in ("revenue", "defects", "source_records"):
        con.sql(f"create view truth_{name} as select * from '{data_dir}/truth/{name}.parquet'")
    con.sql(
        """create view leaked_lines as
        select f.* from w.marts.fct_revenue as f
        where exists (select 1 from truth_defects as d
                      where d.file = f.source_file and d.source_row = f.source_row)"""
    )
    con.sql(
        """create view fct as
        select * from w.marts.fct_revenue
        where revenue_line_id not in (select revenue_line_id from leaked_lines)"""
    )
    yield con, failing
    con.close()


def scalar(con, sql: str):
    return con.sql(sql).fetchall()[0][0]


def test_checks_pass_and_only_injected_defects_are_rejected(warehouse):
    con, failing = warehouse
    assert failing == set()
    not_defects = scalar(
        con,
        """select count(*) from w.intermediate.int_revenue__rejected_lines as r
        where not exists (select 1 from truth_defects as d
                          where d.file = r.source_file and d.source_row = r.source_row)""",
    )
    assert not_defects == 0
    assert scalar(con, "select count(*) from leaked_lines") == 0


def test_total_revenue_equals_truth_to_the_cent(warehouse):
    con, _ = warehouse
    by_entity = con.sql(
        """select coalesce(t.system, f.system), coalesce(t.entity, f.entity), t.amount, f.amount
        from (select system, entity, sum(amount_reporting) as amount from truth_revenue
              group by all) as t
        full join (select system, entity, sum(amount_reporting) as amount from fct
                   group by all) as f on t.system = f.system and t.entity = f.entity
        where t.amount is distinct from f.amount"""
    ).fetchall()
    assert by_entity == []
    assert scalar(con, "select sum(amount_reporting) from fct") == scalar(
        con, "select sum(amount_reporting) from truth_revenue"
    )


def test_no_revenue_line_lost_or_counted_twice(warehouse):
    con, _ = warehouse
    assert scalar(con, "select count(*) from fct") == scalar(
        con, "select count(*) from truth_revenue"
    )
    mismatched = con.sql(
        """select t.system, t.entity, t.source_id, t.line_no, f.system, f.source_id
        from truth_revenue as t
        full join fct as f
            on t.system = f.system and t.entity = f.entity and t.source_id = f.source_id
            and t.line_no = f.line_no
        where t.source_id is null or f.source_id is null
            or t.amount_reporting <> f.amount_reporting or t.revenue_date <> f.revenue_date"""
    ).fetchall()
    assert mismatched == []


def test_revenue_per_correctly_matched_customer(warehouse):
    con, _ = warehouse
    con.sql(
        """create or replace temp view matched as
        with pairs as (
            select b.customer_id, s.true_customer_id
            from w.marts.bridge_customer_source as b
            inner join truth_source_records as s using (system, entity, source_id)
        ),
        pure as (select customer_id, min(true_customer_id) as true_customer_id from pairs
                 group by customer_id having count(distinct true_customer_id) = 1),
        whole as (select true_customer_id from pairs
                  group by true_customer_id having count(distinct customer_id) = 1)
        select pure.* from pure inner join whole using (true_customer_id)"""
    )
    matched = scalar(con, "select count(*) from matched")
    assert matched >= 150  # deterministic matching resolves most customers exactly
    # Lines billed to a customer record the gate quarantined (a malformed row, a rejected file)
    # stay without a customer: no record, no match. The truth knows no such record either.
    con.sql(
        """create or replace temp view orphaned as
        select system, entity, source_id, line_no, customer_source_key from fct
        where customer_id is null and customer_source_key is not null"""
    )
    assert not con.sql(
        """select 1 from orphaned inner join truth_source_records as s
        on orphaned.customer_source_key = s.system || ':' || s.entity || ':' || s.source_id"""
    ).fetchall()
    differences = con.sql(
        """select m.customer_id, w_revenue, t_revenue from matched as m
        left join (select customer_id, sum(amount_reporting) as w_revenue from fct
                   group by 1) as f on m.customer_id = f.customer_id
        left join (select true_customer_id, sum(amount_reporting) as t_revenue
                   from truth_revenue
                   where (system, entity, source_id, line_no) not in (
                       select (system, entity, source_id, line_no) from orphaned)
                   group by 1) as t on m.true_customer_id = t.true_customer_id
        where coalesce(w_revenue, 0) <> coalesce(t_revenue, 0)"""
    ).fetchall()
    assert differences == []
    anonymous = "select count(*) from {} where {} is null and system = 'pos'"
    assert scalar(con, anonymous.format("fct", "customer_id")) == scalar(
        con, anonymous.format("truth_revenue", "true_customer_id")
    )


def _pandas_retention(lines: pd.DataFrame) -> pd.DataFrame:
    """Cohort retention computed independently: first purchase month, active months."""
    lines = lines.assign(month=lines["revenue_date"].dt.to_period("M"))
    purchases = lines[(lines["entity"] != "credit_notes") & (lines["amount"] > 0)]
    cohort = purchases.groupby("customer")["month"].min().rename("cohort")
    active = purchases[["customer", "month"]].drop_duplicates().join(cohort, on="customer")
    revenue = lines.groupby(["customer", "month"])["amount"].sum().reset_index()
    revenue = revenue.join(cohort, on="customer", how="inner")
    months = sorted(lines["month"].unique())
    rows = []
    for c, members in cohort.groupby(cohort):
        initial = revenue[(revenue["cohort"] == c) & (revenue["month"] == c)]["amount"].sum()
        for m in (m for m in months if m >= c):
            rows.append(
                {
                    "cohort": c, "months": (m - c).n, "size": len(members),
                    "active": int(((active["cohort"] == c) & (active["month"] == m)).sum()),
                    "revenue": revenue[(revenue["cohort"] == c) & (revenue["month"] == m)][
                        "amount"].sum(),
                    "initial": initial,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_retention_equals_an_independent_pandas_computation(warehouse):
    con, _ = warehouse
    # truth lines with the customer the warehouse resolved, plus the leaked defect lines exactly
    # as the warehouse holds them (the mart includes them until the gate quarantines them)
    lines = con.sql(
        """select f.customer_id as customer, t.entity, t.revenue_date,
            cast(t.amount_reporting as double) as amount
        from truth_revenue as t
        inner join fct as f
            on t.system = f.system and t.entity = f.entity and t.source_id = f.source_id
            and t.line_no = f.line_no
        where f.customer_id is not null
        union all
        select customer_id, entity, revenue_date, cast(amount_reporting as double)
        from leaked_lines where customer_id is not null"""
    ).df()
    lines["revenue_date"] = pd.to_datetime(lines["revenue_date"])
    expected = _pandas_retention(lines)
    mart = con.sql(
        """select cohort_month, months_since_acquisition as months, cohort_size as size,
            customers_active as active, cast(revenue as double) as revenue,
            net_revenue_retention as nrr
        from w.marts.mart_customer_retention where dimension = 'all'
        order by cohort_month, months"""
    ).df()
    assert len(mart) == len(expected)
    expected = expected.sort_values(["cohort", "months"]).reset_index(drop=True)
    assert mart["months"].tolist() == expected["months"].tolist()
    assert mart["size"].tolist() == expected["size"].tolist()
    assert mart["active"].tolist() == expected["active"].tolist()
    assert mart["revenue"].round(2).tolist() == expected["revenue"].round(2).tolist()
    nrr = (expected["revenue"] / expected["initial"]).round(6)
    assert mart["nrr"].tolist() == pytest.approx(nrr.tolist(), abs=1e-6)
