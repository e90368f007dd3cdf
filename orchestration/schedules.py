"""The daily schedule: a safety net that loads the day's delivery if the sensor has not."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import daily_load
from orchestration.partitions import load_dates


@dg.schedule(
    job=daily_load,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every morning at 06:00 UTC, load the day's delivery once it is registered.",
)
def daily_load_schedule(context: dg.ScheduleEvaluationContext):
    load_date = context.scheduled_execution_time.date().isoformat()
    if not context.instance.has_dynamic_partition(load_dates.name, load_date):
        return dg.SkipReason(f"no delivery registered for load date {load_date} yet")
    return dg.RunRequest(partition_key=load_date, run_key=f"schedule:{load_date}")
