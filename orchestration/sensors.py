"""React to deliveries: a new load-date folder in landing/ registers a partition and loads it."""

import dagster as dg

from orchestration.ingest import landed_load_dates
from orchestration.jobs import daily_load
from orchestration.partitions import load_dates
from orchestration.resources import WarehouseConfig


@dg.sensor(
    job=daily_load,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a daily load when a new delivery folder lands in data/landing/.",
)
def new_delivery_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseConfig
) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions(load_dates.name))
    landed = [d.isoformat() for d in landed_load_dates(warehouse.settings())]
    new = [d for d in landed if d not in known]
    if not new:
        return dg.SensorResult(skip_reason=f"no new delivery ({len(landed)} load dates known)")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=d, run_key=f"delivery:{d}") for d in new],
        dynamic_partitions_requests=[load_dates.build_add_request(new)],
    )
