"""The committed dbt source files are exactly what the contracts render."""

from __future__ import annotations

import yaml

from orchestration.contracts import load_contracts
from orchestration.dbt_sources import render_sources, sources_path, stale_dbt_sources


def test_generated_sources_are_in_sync_with_contracts():
    stale = stale_dbt_sources()
    assert not stale, (
        f"dbt sources out of sync with sources/*.yml: {[str(p) for p in stale]}; "
        "run `python -m orchestration.dbt_sources` and commit the result"
    )


def test_every_entity_maps_to_its_ingest_asset_and_raw_location():
    for contract in load_contracts():
        document = yaml.safe_load(render_sources(contract))
        (source,) = document["sources"]
        tables = {t["name"]: t for t in source["tables"]}
        assert set(tables) == {e.name for e in contract.entities}
        for entity in contract.entities:
            config = tables[entity.name]["config"]
            assert config["meta"]["dagster"]["asset_key"] == ["raw", contract.system, entity.name]
            assert f"/raw/{contract.system}/{entity.name}/" in config["meta"]["external_location"]
            assert config["loaded_at_field"] == "_loaded_at"
            columns = [c["name"] for c in tables[entity.name]["columns"]]
            assert columns[: len(entity.columns)] == entity.column_names


def test_a_changed_contract_makes_the_files_stale(tmp_path):
    for contract in load_contracts():
        text = contract.path.read_text(encoding="utf-8")
        (tmp_path / contract.path.name).write_text(text, encoding="utf-8")
    erp = tmp_path / "erp.yml"
    erp.write_text(erp.read_text().replace("Billing customers", "Bill-to parties"))
    assert sources_path("erp") in stale_dbt_sources(tmp_path)
