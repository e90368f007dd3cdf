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


@dg.run_failure_sensor(
    name="run_failure_alert",
    minimum_interval_seconds=30,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run (job, failed steps, error) in data/alerts.jsonl; "
    "`cdw status` shows the latest.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, warehouse: WarehouseConfig) -> None:
    from orchestration.alerts import Alert, now_iso, record_alert

    steps = tuple(event.step_key for event in context.get_step_failure_events() if event.step_key)
    # The run's own failure message names what went wrong; a step's error is more precise.
    errors = [
        _root_cause(event.step_failure_data.error)
        for event in context.get_step_failure_events()
        if event.step_failure_data and event.step_failure_data.error
    ]
    message = errors[0] if errors else (context.failure_event.message or "run failed")
    path = record_alert(
        warehouse.settings(),
        Alert(
            run_id=context.dagster_run.run_id,
            job=context.dagster_run.job_name,
            failed_steps=steps,
            error=message,
            failed_at=now_iso(),
        ),
    )
    context.log.info(f"alert for run {context.dagster_run.run_id} recorded in {path}")


def _root_cause(error) -> str:
    """Dagster wraps a step's exception ("Error occurred while executing op"): keep the cause."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()
