"""Running loads through Dagster from the CLI: the same jobs the schedule and sensor start."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from orchestration.partitions import load_dates

LAUNCHER_TAG = "cdw/launcher"
PID_TAG = "cdw/pid"

# Step-by-step DEBUG events belong in the run history (Dagster UI), not on the operator's screen.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
FULL_REFRESH = {"ops": {"warehouse_models": {"config": {"full_refresh": True}}}}


@dataclass(frozen=True)
class LoadReport:
    load_dates: tuple[date, ...]
    run_ids: tuple[str, ...] = ()
    failures: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    @property
    def succeeded(self) -> bool:
        return not self.failures


def run_load(
    dates: Sequence[date],
    *,
    instance: dg.DagsterInstance,
    on_date: Callable[[date, int, int], None] | None = None,
    full_refresh: bool = False,
) -> LoadReport:
    """Ingest every date in order, then build the warehouse once (a backfill is one dbt build);
    `full_refresh` rebuilds the incremental models (identity resolution) from scratch."""
    from orchestration.definitions import defs  # dbt parsing happens on import: only when loading

    ordered = sorted(set(dates))
    if not ordered:
        return LoadReport(load_dates=())
    release_orphaned_runs(instance)
    keys = [d.isoformat() for d in ordered]
    instance.add_dynamic_partitions(load_dates.name, keys)
    run_ids: list[str] = []
    warnings: list[str] = []
    for position, load_date in enumerate(ordered, start=1):
        if on_date:
            on_date(load_date, position, len(ordered))
        builds = position == len(ordered)  # the last date's run builds the warehouse
        refresh = FULL_REFRESH if builds and full_refresh else {}
        job_name = "daily_load" if builds else "ingest_load_date"
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance,
            partition_key=load_date.isoformat(),
            run_config=QUIET | refresh,
            tags={LAUNCHER_TAG: "cli", PID_TAG: str(os.getpid())},
            raise_on_error=False,
        )
        run_ids.append(result.run_id)
        warnings.extend(_failed_checks(result, dg.AssetCheckSeverity.WARN))
        failures = _failures(result)
        if failures:
            return LoadReport(tuple(ordered), tuple(run_ids), failures, tuple(warnings))
    return LoadReport(tuple(ordered), tuple(run_ids), warnings=tuple(warnings))


def release_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the in-process runs whose process died (a killed `cdw load`) and free their slots.

    A run executed in process keeps the `warehouse` pool's only slot until it ends; a SIGKILL
    means it never ends, and every later load would wait for that slot forever. Only runs that
    `cdw` itself launched are touched, and only when their process is gone.
    """
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED],
            tags={LAUNCHER_TAG: "cli"},
        )
    )
    released = []
    for record in records:
        run = record.dagster_run
        pid = int(run.tags.get(PID_TAG, "0"))
        if pid and not _process_alive(pid):
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            instance.report_run_failed(run, message=f"its process {pid} died (killed load)")
            released.append(run.run_id)
    return released


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _failures(result: dg.ExecuteInProcessResult) -> tuple[str, ...]:
    steps = [
        f"{event.step_key}: {_first_line(event.step_failure_data.error.message)}"
        for event in result.get_step_failure_events()
        if event.step_failure_data.error
    ]
    return tuple(steps) + _failed_checks(result, dg.AssetCheckSeverity.ERROR)


def _failed_checks(
    result: dg.ExecuteInProcessResult, severity: dg.AssetCheckSeverity
) -> tuple[str, ...]:
    return tuple(
        f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed"
        + (f" ({evaluation.description})" if evaluation.description else "")
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == severity
    )


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else message
