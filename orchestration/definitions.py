"""The Dagster code location: gathers what the modules named for them define."""

import dagster as dg

from orchestration.freshness import build_freshness_checks
from orchestration.ingest_assets import build_ingest_assets
from orchestration.jobs import all_jobs
from orchestration.publish_assets import serving_marts
from orchestration.report_assets import revenue_per_customer_report
from orchestration.resources import warehouse_config
from orchestration.schedules import daily_load_schedule
from orchestration.sensors import new_delivery_sensor, run_failure_alert
from orchestration.warehouse_assets import dbt_resource, warehouse_models

defs = dg.Definitions(
    assets=[*build_ingest_assets(), warehouse_models, serving_marts, revenue_per_customer_report],
    asset_checks=[build_freshness_checks()],
    jobs=all_jobs,
    schedules=[daily_load_schedule],
    sensors=[new_delivery_sensor, run_failure_alert],
    resources={"warehouse": warehouse_config(), "dbt": dbt_resource()},
)
