"""Calibration/holdout check of the BG/NBD model (docs/customer-analytics.md).

The warehouse's purchase days (int_analytics__customer_purchase_days) are cut at as_of_date minus
365 days. The histories up to the cut-off go into int_analytics__customer_btyd of a scratch
warehouse, and dbt fits BG/NBD there and predicts each customer's purchase days in the 365.25
days after the cut-off (int_analytics__customer_clv.expected_purchases_12m). The predictions are
compared with the purchase days the customers made in the 365 days after the cut-off, in total
and by calibration frequency: the standard BTYD calibration/holdout table.

    .venv/bin/python -m benchmarks.btyd_holdout --data-dir <a loaded world> --work-dir /tmp/h
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

import duckdb

from benchmarks.run import DBT, PROJECT_DIR

HOLDOUT_DAYS = 365
# calibration frequencies shown one by one; higher ones share the last row
TOP_FREQUENCY = 7
MODELS = (
    "int_analytics__bgnbd_fit",
    "int_analytics__gamma_gamma_fit",
    "int_analytics__customer_clv",
)

HISTORIES = """
with days as (select * from w.intermediate.int_analytics__customer_purchase_days),
cut as (select max(as_of_date) - {holdout} as cutoff_date
        from w.intermediate.int_analytics__as_of_date),
calibration as (
    select days.customer_id, days.purchase_date, days.revenue_amount,
        row_number() over (partition by days.customer_id order by days.purchase_date) as day_number
    from days cross join cut where days.purchase_date <= cut.cutoff_date
)
select
    customer_id,
    count(*) - 1 as frequency,
    datediff('day', min(purchase_date), max(purchase_date)) as recency_days,
    datediff('day', min(purchase_date), any_value(cutoff_date)) as age_days,
    coalesce(avg(revenue_amount) filter (where day_number > 1), 0)
        as average_repeat_purchase_amount,
    max(revenue_amount) filter (where day_number = 1) as first_purchase_amount,
    any_value(cutoff_date) as cutoff_date
from calibration cross join cut
group by customer_id
"""

HOLDOUT_PURCHASES = """
select histories.customer_id, count(days.purchase_date) as holdout_purchases
from histories
left join w.intermediate.int_analytics__customer_purchase_days as days
    on days.customer_id = histories.customer_id
    and days.purchase_date > histories.cutoff_date
    and days.purchase_date <= histories.cutoff_date + {holdout}
group by histories.customer_id
"""


def holdout_table(warehouse: Path, work_dir: Path) -> list[tuple]:
    """(calibration frequency, customers, actual and predicted mean holdout purchase days) per
    frequency up to TOP_FREQUENCY (its row holds all higher ones), and a last 'all' row."""
    work_dir.mkdir(parents=True, exist_ok=True)
    scratch = work_dir / "warehouse.duckdb"
    scratch.unlink(missing_ok=True)
    with duckdb.connect(str(scratch)) as con:
        con.sql(f"attach '{warehouse}' as w (read_only)")
        con.sql(f"create table histories as {HISTORIES.format(holdout=HOLDOUT_DAYS)}")
        con.sql("create schema intermediate")
        con.sql(
            "create table intermediate.int_analytics__customer_btyd as "
            "select * exclude (cutoff_date) from histories"
        )
        con.sql(f"create table actual as {HOLDOUT_PURCHASES.format(holdout=HOLDOUT_DAYS)}")
    command = [DBT, "run", "--select", *MODELS, "--project-dir", str(PROJECT_DIR)]
    command += ["--profiles-dir", str(PROJECT_DIR), "--target-path", str(work_dir / "target")]
    command += ["--log-path", str(work_dir / "logs"), "--quiet"]
    subprocess.run(command, check=True, env={**os.environ, "CDW_DATA_DIR": str(work_dir)})
    with duckdb.connect(str(scratch), read_only=True) as con:
        return con.sql(
            f"""with joined as (
                select least(h.frequency, {TOP_FREQUENCY}) as frequency, a.holdout_purchases,
                    c.expected_purchases_12m
                from histories as h
                inner join actual as a using (customer_id)
                inner join intermediate.int_analytics__customer_clv as c using (customer_id))
            select cast(frequency as varchar), count(*), avg(holdout_purchases),
                avg(expected_purchases_12m)
            from joined group by frequency
            union all
            select 'all', count(*), avg(holdout_purchases), avg(expected_purchases_12m) from joined
            order by 1"""
        ).fetchall()


def render(rows: list[tuple]) -> str:
    lines = [
        "| calibration frequency | customers | actual | predicted | predicted / actual |",
        "|---|---|---|---|---|",
    ]
    for frequency, customers, actual, predicted in rows:
        label = f"{frequency}+" if frequency == str(TOP_FREQUENCY) else frequency
        ratio = predicted / actual if actual else float("nan")
        lines.append(f"| {label} | {customers:,} | {actual:.3f} | {predicted:.3f} | {ratio:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.btyd_holdout")
    parser.add_argument("--data-dir", type=Path, required=True, help="a loaded world")
    parser.add_argument("--work-dir", type=Path, required=True, help="scratch warehouse")
    args = parser.parse_args(argv)
    print(render(holdout_table(args.data_dir / "warehouse.duckdb", args.work_dir)))


if __name__ == "__main__":
    main()
