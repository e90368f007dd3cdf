"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check.

dbt sources carry `meta.dagster.asset_key` (generated from the contracts), so they resolve to
the ingest assets `["raw", system, entity]` and the whole pipeline is one lineage graph.
"""

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.contracts import load_live_contracts
from orchestration.locks import writer_lock
from orchestration.publish import record_build
from orchestration.resources import WarehouseConfig
from orchestration.settings import LOAD_BUILD, PROJECT_DIR

WAREHOUSE_POOL = "warehouse"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR)
dbt_project.prepare_if_dev()


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys and groups from dbt metadata: `meta.dagster`, else the model's top folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        declared = _dagster_meta(dbt_resource_props).get("asset_key")
        if declared:
            return dg.AssetKey(declared)
        return dg.AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return _dagster_meta(dbt_resource_props).get("group") or _layer(dbt_resource_props)


def _dagster_meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    config_meta = props.get("config", {}).get("meta", {}) or {}
    return {**(props.get("meta") or {}), **config_meta}.get("dagster", {}) or {}


def _layer(props: Mapping[str, Any]) -> str:
    # fqn is [project, folder, ..., name]; the first folder under models/ is the layer.
    fqn = props.get("fqn") or []
    return fqn[1] if len(fqn) > 2 else props["resource_type"]


def dbt_resource() -> DbtCliResource:
    # The venv's dbt, whether or not the venv is activated (`.venv/bin/cdw` from make).
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def ensure_manifest() -> None:
    """Parse the dbt project when its manifest is missing (a fresh clone), older than a model, or
    parsed with another set of live sources enabled (their models follow the connection variable,
    and the graph Dagster loads must hold every model `dbt build` will run)."""
    manifest = dbt_project.manifest_path
    parsed_with = manifest.with_name("cdw_live_sources.json")
    live = sorted(contract.system for contract in load_live_contracts())
    stale = (
        not manifest.exists()
        or manifest.stat().st_mtime < _newest_dbt_file_mtime()
        or not parsed_with.exists()
        or json.loads(parsed_with.read_text()) != live
    )
    if stale:
        dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
        parsed_with.write_text(json.dumps(live))


def _newest_dbt_file_mtime() -> float:
    files = [
        PROJECT_DIR / "dbt_project.yml",
        PROJECT_DIR / "profiles.yml",
        *(path for path in (PROJECT_DIR / "dbt_project").rglob("*") if path.is_file()),
    ]
    return max(path.stat().st_mtime for path in files if path.exists())


ensure_manifest()


class WarehouseBuildConfig(dg.Config):
    """How a load builds the warehouse."""

    full_refresh: bool = False
    """Rebuild the incremental models (identity resolution) from scratch: the match parameters
    are estimated again and every record is matched, instead of matching the new records into
    the last resolution. Customer ids still follow the last build."""


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
)
def warehouse_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseConfig,
    config: WarehouseBuildConfig,
) -> Iterator[Any]:
    settings = warehouse.settings()
    passed: list[str] = []
    failed_blocking: list[str] = []
    completed = False
    with writer_lock(settings.data_dir / "warehouse.lock"):
        try:
            args = [*LOAD_BUILD, "--full-refresh"] if config.full_refresh else [*LOAD_BUILD]
            # One target directory per data directory, not dagster-dbt's new one per run: the
            # runs' artifacts no longer pile up in the project, and the next build parses only
            # what changed (the profile holds the data directory, so the project's own
            # partial-parse file serves a build only in the directory it was parsed for).
            target = settings.dbt_target_dir
            for event in dbt.cli(args, context=context, target_path=target).stream():
                if isinstance(event, dg.AssetCheckResult):
                    _note_check(event, passed, failed_blocking)
                yield event
            completed = True
        finally:
            # What `cdw publish` audits to republish this build later without re-running it.
            record_build(
                settings,
                context.run.run_id,
                completed=completed,
                passed_checks=passed,
                failed_blocking=failed_blocking,
            )


def check_name(asset_key: dg.AssetKey, check: str) -> str:
    return f"{asset_key.to_user_string()}:{check}"


def _note_check(result: dg.AssetCheckResult, passed: list[str], failed: list[str]) -> None:
    name = check_name(result.asset_key, result.check_name)
    if result.passed:
        passed.append(name)
    elif result.severity == dg.AssetCheckSeverity.ERROR:
        failed.append(name)
