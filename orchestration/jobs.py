"""Jobs: a day's load end to end, the ingest alone (for backfills), the warehouse alone."""

import dagster as dg

raw_assets = dg.AssetSelection.key_prefixes(["raw"])

daily_load = dg.define_asset_job(
    "daily_load",
    selection=dg.AssetSelection.all(),
    description="Ingest one load date from every system, then build and test the warehouse.",
)

ingest_only = dg.define_asset_job(
    "ingest_load_date",
    selection=raw_assets,
    description="Ingest one load date from every system into raw/ and quarantine/ (no dbt).",
)

build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all() - raw_assets,
    description="Build and test every dbt model over the whole raw zone.",
)

all_jobs = [daily_load, ingest_only, build_warehouse]
