"""One ingest asset per system/entity, generated from the source contracts.

Adding a system is a contract, never code: every entity in `sources/*.yml` becomes an asset
`["raw", system, entity]`, partitioned by load date, with a blocking check that the partition's
row accounting closes (rows read = rows loaded + rows quarantined, for every file), and a
blocking `gate` check: no file was rejected whole by the entity's Great Expectations suite
(`expectations/<system>.<entity>.json`, run during ingestion by `orchestration/gate.py`).
"""

import json
from datetime import date

import dagster as dg

from orchestration.contracts import Entity, SystemContract, load_contracts, load_live_contracts
from orchestration.ingest import PartitionResult, ingest_partition
from orchestration.partitions import load_dates
from orchestration.resources import WarehouseConfig

ACCOUNTING_CHECK = "rows_accounted_for"
GATE_CHECK = "gate"


def raw_asset_key(system: str, entity: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", system, entity])


def build_ingest_asset(contract: SystemContract, entity: Entity) -> dg.AssetsDefinition:
    key = raw_asset_key(contract.system, entity.name)

    @dg.asset(
        key=key,
        partitions_def=load_dates,
        group_name=f"raw_{contract.system}",
        kinds={"parquet", entity.format},
        owners=[f"team:{contract.owner}"],
        description=f"{entity.description}\n\nGrain: {entity.grain}.",
        metadata={
            "contract": dg.MetadataValue.path(str(contract.path)),
            "primary_key": ", ".join(entity.primary_key),
            "files": entity.files,
        },
        check_specs=[
            dg.AssetCheckSpec(
                ACCOUNTING_CHECK,
                asset=key,
                blocking=True,
                description="Every landed row is either loaded or quarantined, file by file.",
            ),
            dg.AssetCheckSpec(
                GATE_CHECK,
                asset=key,
                blocking=True,
                description=(
                    "The Great Expectations gate (expectations/"
                    f"{contract.system}.{entity.name}.json) rejected no file as a whole; rows "
                    "failing an expectation are quarantined either way."
                ),
            ),
        ],
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: WarehouseConfig):
        # a live database is extracted into landing/ first (orchestration/extract.py)
        load = _load_live if entity.is_live else ingest_partition
        result = load(
            warehouse.settings(), contract, entity, date.fromisoformat(context.partition_key)
        )
        for rebuilt in result.rebuilt_partitions:
            context.log.info(f"corrected delivery: rebuilt partition load_date={rebuilt}")
        return dg.MaterializeResult(
            metadata=_metadata(result),
            check_results=[_accounting_check(result), _gate_check(result)],
        )

    return _ingest


def _load_live(*args) -> PartitionResult:
    from orchestration.extract import load_live_partition  # drivers load only when used

    return load_live_partition(*args)


def _metadata(result: PartitionResult) -> dict[str, object]:
    return {
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined,
        "files": len(result.files),
        "file_outcomes": dg.MetadataValue.md(
            "\n".join(
                f"- `{f.path}`: {f.outcome}, {f.rows_loaded} loaded, "
                f"{f.rows_quarantined} quarantined{f' ({f.reason})' if f.reason else ''}"
                for f in result.files
            )
            or "no file landed for this entity on this date"
        ),
        "rebuilt_partitions": ", ".join(str(d) for d in result.rebuilt_partitions) or "none",
    }


def _accounting_check(result: PartitionResult) -> dg.AssetCheckResult:
    open_files = [f.path for f in result.files if f.rows_read != f.rows_loaded + f.rows_quarantined]
    return dg.AssetCheckResult(
        check_name=ACCOUNTING_CHECK,
        passed=not open_files,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "files_not_accounted": ", ".join(open_files) or "none",
        },
    )


def _gate_check(result: PartitionResult) -> dg.AssetCheckResult:
    summaries = {f.path: json.loads(f.gate) for f in result.files if f.gate}
    rejected = {path: s["rejected"] for path, s in summaries.items() if s.get("rejected")}
    failed: dict[str, int] = {}
    for summary in summaries.values():
        for label, rows in summary.get("failed", {}).items():
            failed[label] = failed.get(label, 0) + rows
    return dg.AssetCheckResult(
        check_name=GATE_CHECK,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "files_checked": len(summaries),
            "files_rejected": dg.MetadataValue.md(
                "\n".join(f"- `{path}`: {rule}" for path, rule in rejected.items()) or "none"
            ),
            "expectations_failed": len(failed),
            "rows_quarantined_by_gate": sum(
                s["rows_checked"] if s.get("rejected") else s.get("rows_failed", 0)
                for s in summaries.values()
            ),
            "failed_expectations": dg.MetadataValue.md(
                "\n".join(f"- `{label}`: {rows} row(s)" for label, rows in sorted(failed.items()))
                or "none"
            ),
        },
    )


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    return [
        build_ingest_asset(contract, entity)
        for contract in [*load_contracts(), *load_live_contracts()]
        for entity in contract.entities
    ]
