"""The publish step of write-audit-publish as a Dagster asset: `["serving", "marts"]`.

Blocking happens twice. Dagster itself fails the dbt step when a blocking check (every dbt test
of severity `error`, as dagster-dbt declares it) fails, and a failed step skips this asset. The
asset then audits again from the run's own event log before it copies anything: every blocking
check on the marts and on the models upstream of them must have been evaluated in this run and
passed, and no ERROR-severity check anywhere in the run (the ingest gate included) may have
failed. Otherwise it raises `AuditFailed` naming the checks, and the serving state stays as it was.
"""

from collections.abc import Iterable

import dagster as dg

from orchestration.publish import AuditFailed, PublishResult, publish
from orchestration.resources import WarehouseConfig
from orchestration.warehouse_assets import WAREHOUSE_POOL, check_name, warehouse_models

MARTS_GROUP = "marts"
SERVING_KEY = dg.AssetKey(["serving", "marts"])


def mart_keys(models: dg.AssetsDefinition = warehouse_models) -> list[dg.AssetKey]:
    """The dbt models in group `marts` (from the dbt manifest through the translator)."""
    return sorted(spec.key for spec in models.specs if spec.group_name == MARTS_GROUP)


def audited_check_keys(models: dg.AssetsDefinition = warehouse_models) -> set[dg.AssetCheckKey]:
    """Blocking checks on the marts and every dbt model upstream of them."""
    deps = {spec.key: {dep.asset_key for dep in spec.deps} for spec in models.specs}
    audited: set[dg.AssetKey] = set()
    pending = list(mart_keys(models))
    while pending:
        key = pending.pop()
        if key in audited or key not in deps:
            continue
        audited.add(key)
        pending.extend(deps[key])
    return {spec.key for spec in models.check_specs if spec.blocking and spec.asset_key in audited}


def audited_check_names() -> set[str]:
    """`audited_check_keys` as the build record names them ("asset/key:check")."""
    return {check_name(key.asset_key, key.name) for key in audited_check_keys()}


def audit_run(
    evaluations: Iterable[dg.AssetCheckEvaluation], required: set[dg.AssetCheckKey]
) -> int:
    """Raise `AuditFailed` unless every required check passed in these evaluations.

    Also fails on any ERROR-severity failure among the evaluations (e.g. the ingest gate's
    blocking checks of a daily load). Returns how many required checks passed.
    """
    latest: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation] = {}
    for evaluation in evaluations:
        latest[evaluation.asset_check_key] = evaluation
    failed = [
        f"{key.asset_key.to_user_string()}:{key.name}"
        for key, evaluation in sorted(latest.items(), key=lambda item: item[0].to_user_string())
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    missing = sorted(
        f"{key.asset_key.to_user_string()}:{key.name} (not evaluated in this run)"
        for key in required - latest.keys()
    )
    if failed or missing:
        raise AuditFailed([*failed, *missing])
    return len(required)


def run_check_evaluations(
    instance: dg.DagsterInstance, run_id: str
) -> list[dg.AssetCheckEvaluation]:
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [
        record.dagster_event.event_specific_data
        for record in records
        if record.dagster_event is not None
    ]


@dg.asset(
    key=SERVING_KEY,
    deps=mart_keys(),
    group_name="serving",
    kinds={"duckdb", "parquet"},
    pool=WAREHOUSE_POOL,
    description=(
        "The audited marts, published atomically into serving.duckdb and the Parquet exports "
        "(write-audit-publish). Runs only when every blocking check of the run passed."
    ),
)
def serving_marts(
    context: dg.AssetExecutionContext, warehouse: WarehouseConfig
) -> dg.MaterializeResult:
    evaluations = run_check_evaluations(context.instance, context.run.run_id)
    checks_passed = audit_run(evaluations, audited_check_keys())
    result = publish(warehouse.settings(), checks_passed=checks_passed)
    context.log.info(
        f"published {len(result.row_counts)} marts to {result.serving_path} "
        f"after {checks_passed} blocking checks passed"
    )
    return dg.MaterializeResult(metadata=_metadata(result))


def _metadata(result: PublishResult) -> dict[str, object]:
    return {
        "serving_path": dg.MetadataValue.path(str(result.serving_path)),
        "exports_dir": dg.MetadataValue.path(str(result.exports_dir)),
        "published_at": result.published_at.isoformat(),
        "load_dates": [d.isoformat() for d in result.load_dates],
        "row_counts": dict(result.row_counts),
        "blocking_checks_passed": result.checks_passed,
    }
