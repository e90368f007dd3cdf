"""What a `cdw` process left in its Dagster instance, read back by a fresh instance.

`run_histories(dagster_home)` opens the instance as the UI would (`DagsterInstance.get()` with
`DAGSTER_HOME` pointing at it) and, per run, compares what the run planned with what its own
event log and the instance-wide index (the asset and check records the UI's asset pages read)
recorded. A storage that lost events shows as a planned materialization or check without its
event, or an event without its index record.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

EVALUATED = (AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED)


@dataclass(frozen=True)
class RunHistory:
    job_name: str
    status: dg.DagsterRunStatus
    storage: str  # the event log storage's class
    planned: frozenset[dg.AssetKey]
    materialized: frozenset[dg.AssetKey]
    indexed: frozenset[dg.AssetKey]  # materializations of this run found in the asset index
    checks_planned: frozenset[dg.AssetCheckKey]
    checks_evaluated: frozenset[dg.AssetCheckKey]
    checks_indexed: frozenset[dg.AssetCheckKey]  # evaluated in the check executions table


@contextmanager
def _dagster_home(home: Path) -> Iterator[None]:
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved


def run_histories(dagster_home: Path) -> list[RunHistory]:
    with _dagster_home(dagster_home), dg.DagsterInstance.get() as instance:
        return [_history(instance, record.dagster_run) for record in instance.get_run_records()]


def _history(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunHistory:
    events = [entry.dagster_event for entry in instance.all_logs(run.run_id) if entry.dagster_event]

    def of(kind: DagsterEventType) -> list:
        return [event.event_specific_data for event in events if event.event_type == kind]

    materialized = frozenset(
        data.materialization.asset_key for data in of(DagsterEventType.ASSET_MATERIALIZATION)
    )
    evaluated = frozenset(
        data.asset_check_key for data in of(DagsterEventType.ASSET_CHECK_EVALUATION)
    )
    storage = instance.event_log_storage
    return RunHistory(
        job_name=run.job_name,
        status=run.status,
        storage=type(storage).__name__,
        planned=frozenset(
            data.asset_key for data in of(DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        ),
        materialized=materialized,
        indexed=frozenset(
            key
            for key in materialized
            if any(
                record.run_id == run.run_id
                for record in instance.fetch_materializations(key, limit=100).records
            )
        ),
        checks_planned=frozenset(
            data.asset_check_key for data in of(DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED)
        ),
        checks_evaluated=evaluated,
        checks_indexed=frozenset(
            key
            for key in evaluated
            if any(
                record.run_id == run.run_id and record.status in EVALUATED
                for record in storage.get_asset_check_execution_history(key, limit=100)
            )
        ),
    )


def assert_fully_recorded(history: RunHistory) -> None:
    """A successful run's every planned materialization and check is in its log and the index."""
    assert history.status == dg.DagsterRunStatus.SUCCESS, history.job_name
    assert history.planned and history.planned == history.materialized == history.indexed
    assert history.checks_planned
    assert history.checks_planned == history.checks_evaluated == history.checks_indexed
