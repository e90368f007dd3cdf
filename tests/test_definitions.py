"""The Dagster graph as a reviewed snapshot: an accidental change to it shows in the diff.

Regenerate after an intended change with `CDW_UPDATE_SNAPSHOTS=1 pytest tests/test_definitions.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs


def _graph(defs: dg.Definitions) -> dict[str, list[str]]:
    graph = defs.resolve_asset_graph()
    return {
        "assets": sorted(key.to_user_string() for key in graph.get_all_asset_keys()),
        "asset_checks": sorted(
            f"{check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys
        ),
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs()),
        "schedules": sorted(s.name for s in defs.schedules or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_definitions_match_snapshot(defs: dg.Definitions) -> None:
    current = _graph(defs)
    if os.environ.get("CDW_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_contract_entity_is_a_raw_asset_feeding_staging(defs: dg.Definitions) -> None:
    from orchestration.contracts import load_contracts

    graph = defs.resolve_asset_graph()
    for contract in load_contracts():
        for entity in contract.entities:
            key = dg.AssetKey(["raw", contract.system, entity.name])
            node = graph.get(key)
            assert node.partitions_def is not None, key
            children = {child.to_user_string() for child in node.child_keys}
            assert any(child.startswith("staging/") for child in children), (key, children)


def test_raw_assets_are_not_duplicated_by_dbt_sources(defs: dg.Definitions) -> None:
    # dbt sources resolve to the ingest assets' keys; a stray source key would be a second node.
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert not [k for k in keys if k.startswith("source") or k.count("/") == 0]
