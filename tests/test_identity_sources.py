"""Identity resolution reads its sources from the contracts (identity blocks, semantic tags).

An unseen customer-like source, declared by a contract with tagged columns and given a staging
model, is matched without any change to the identity models (issue #5, "Matching").
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from raw_fixture import FIRST_LOAD, LOADED_AT, arrow_schema, build_raw_zone, utc
from test_dbt_build import run_dbt

from orchestration.contracts import CONTRACTS_DIR, ContractError, load_contract, load_contracts
from orchestration.dbt_sources import identity_sources, write_dbt_sources

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Column names no identity model knows: only the tags say what they hold.
LOYALTY_APP_CONTRACT = """\
system: loyalty_app
description: A loyalty app that signs customers up on their phones.
owner: tests
timezone: UTC
entities:
  - name: members
    description: App members.
    grain: one row per member
    format: jsonl
    files: "members_*.jsonl"
    primary_key: [member_id]
    cursor: updated_at
    identity: {trust_rank: 7, created_at: joined_at}
    columns:
      - {name: member_id, type: string, nullable: false, description: "Member id."}
      - {name: vorname, type: string, tags: [given_name, pii], description: "Given name."}
      - {name: nachname, type: string, tags: [family_name, pii], description: "Family name."}
      - {name: mail, type: string, tags: [email], description: "Email."}
      - {name: mobile, type: string, staged_as: mobile_e164, tags: [phone], description: "Phone."}
      - {name: lieblingsfarbe, type: string, description: "Favourite colour; not an identity."}
      - {name: joined_at, type: timestamp, nullable: false, description: "Sign-up time."}
      - {name: updated_at, type: timestamp, nullable: false, description: "Last change."}
"""

LOYALTY_APP_STAGING = """\
with source as (select * from {{ source('loyalty_app', 'members') }}),

final as (
    select
        member_id,
        {{ clean_name('vorname') }} as vorname,
        {{ clean_name('nachname') }} as nachname,
        {{ normalize_email('mail') }} as mail,
        {{ normalize_phone('mobile') }} as mobile_e164,
        lieblingsfarbe,
        {{ to_utc('joined_at') }} as joined_at,
        {{ to_utc('updated_at') }} as updated_at,
        {{ lineage_columns() }}
    from source
)

select * from final
"""

# Anna Mueller of tests/raw_fixture.py (CRM contact CON-1, webshop user U-1, ERP C-1, ...).
MEMBER = {
    "member_id": "M-1", "vorname": " Anna", "nachname": "Müller ",
    "mail": "ANNA.MUELLER@example.com", "mobile": "+49 30 1234567", "lieblingsfarbe": "blue",
    "joined_at": utc(2026, 2, 3, 10), "updated_at": utc(2026, 2, 3, 10),
}  # fmt: skip


def _contracts_with_loyalty_app(directory: Path) -> Path:
    directory.mkdir()
    for path in CONTRACTS_DIR.glob("*.yml"):
        shutil.copy(path, directory / path.name)
    (directory / "loyalty_app.yml").write_text(LOYALTY_APP_CONTRACT, encoding="utf-8")
    return directory


def test_the_customer_like_entities_are_those_with_an_identity_block():
    specs = identity_sources(load_contracts())
    assert [(s["system"], s["entity"], s["trust_rank"]) for s in specs] == [
        ("crm", "accounts", 1),
        ("crm", "contacts", 1),
        ("erp", "customers", 2),
        ("webshop", "users", 3),
        ("subscriptions", "subscribers", 4),
        ("pos", "loyalty_cards", 5),
        ("support", "tickets", 6),
    ]
    staging = PROJECT_DIR / "dbt_project" / "models" / "staging"
    for spec in specs:
        assert (staging / spec["system"] / f"{spec['model']}.sql").is_file(), spec["model"]
    by_entity = {(s["system"], s["entity"]): s for s in specs}
    erp = by_entity["erp", "customers"]
    assert erp["business_when"] == "is_company"
    assert erp["columns"]["person_name"] == "customer_name"
    assert "company_name" not in erp["columns"]
    # staging renames date_of_birth; the spec names what the staging model has
    assert by_entity["crm", "contacts"]["columns"]["date_of_birth"] == "birth_date"
    assert by_entity["crm", "contacts"]["group_key"] == "account_id"
    cards = by_entity["pos", "loyalty_cards"]
    assert (cards["created_at"], cards["created_at_is_date"]) == ("issued_date", True)
    assert by_entity["support", "tickets"]["created_at"] == "opened_at"
    # one record per customer in the master-data sources, not in contacts or tickets
    assert {key for key, spec in by_entity.items() if spec["deduplicated"]} == {
        ("crm", "accounts"),
        ("erp", "customers"),
        ("webshop", "users"),
        ("subscriptions", "subscribers"),
        ("pos", "loyalty_cards"),
    }


def test_an_unseen_tagged_source_gets_its_spec_from_the_contract(tmp_path):
    contracts = load_contracts(_contracts_with_loyalty_app(tmp_path / "sources"))
    (member_spec,) = [s for s in identity_sources(contracts) if s["system"] == "loyalty_app"]
    assert member_spec == {
        "model": "stg_loyalty_app__members",
        "system": "loyalty_app",
        "entity": "members",
        "live": False,
        "source_id": "member_id",
        "trust_rank": 7,
        "business_when": None,
        "created_at": "joined_at",
        "created_at_is_date": False,
        "updated_at": "updated_at",
        "group_key": None,
        "deduplicated": False,
        "columns": {
            "given_name": "vorname",
            "family_name": "nachname",
            "email": "mail",
            "phone": "mobile_e164",
        },
    }


@pytest.mark.parametrize(
    ("original", "changed", "message"),
    [
        ("created_at: joined_at}", "created_at: signed_up}", "identity column 'signed_up'"),
        ("primary_key: [member_id]", "primary_key: [member_id, mail]", "one-column primary key"),
        ("lieblingsfarbe, type: string,", "lieblingsfarbe, type: string, tags: [email],",
         "identity tag 'email' is on 2 columns"),
        ("trust_rank: 7", "trust_rank: 0", "trust_rank"),
        ("staged_as: mobile_e164", "staged_as: Mobile", "lower_snake_case"),
    ],
)  # fmt: skip
def test_an_identity_block_the_models_cannot_use_is_refused(tmp_path, original, changed, message):
    assert original in LOYALTY_APP_CONTRACT
    path = tmp_path / "loyalty_app.yml"
    path.write_text(LOYALTY_APP_CONTRACT.replace(original, changed), encoding="utf-8")
    with pytest.raises(ContractError, match=message):
        load_contract(path)


# --------------------------------------------------------------------------- built by dbt


# What the identity models read: a copy of these alone parses in half the time of the whole project
# (marts and their tests are downstream; data flows one way).
PROJECT_PARTS = ("macros", "seeds", "models/staging", "models/intermediate/identity")


def _project_with_loyalty_app(root: Path) -> Path:
    """A copy of the dbt project up to the identity models, with the loyalty_app contract, its
    staging model and the files the generator derives from contracts."""
    project = root / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for part in PROJECT_PARTS:
        shutil.copytree(PROJECT_DIR / "dbt_project" / part, project / "dbt_project" / part)
    contracts_dir = _contracts_with_loyalty_app(root / "sources")
    staging = project / "dbt_project" / "models" / "staging"
    macros = project / "dbt_project" / "macros" / "generated"
    written = write_dbt_sources(contracts_dir, staging, macros)
    assert written == [
        staging / "loyalty_app" / "_loyalty_app__sources.yml",
        macros / "identity_sources.sql",
    ]
    (staging / "loyalty_app" / "stg_loyalty_app__members.sql").write_text(
        LOYALTY_APP_STAGING, encoding="utf-8"
    )
    return project


def _loyalty_app_raw_zone(data_dir: Path) -> None:
    build_raw_zone(data_dir)
    contract = load_contract(data_dir.parent / "sources" / "loyalty_app.yml")
    (entity,) = contract.entities
    folder = data_dir / "raw" / "loyalty_app" / "members" / f"load_date={FIRST_LOAD}"
    folder.mkdir(parents=True)
    row = {
        **MEMBER,
        "_source_file": f"loyalty_app/{FIRST_LOAD}/members_{FIRST_LOAD}.jsonl",
        "_source_row": 1,
        "_load_date": FIRST_LOAD,
        "_loaded_at": LOADED_AT,
    }
    table = pa.Table.from_pylist([row], schema=arrow_schema(entity))
    pq.write_table(table, folder / "part-0.parquet")


def test_an_unseen_tagged_source_is_matched_without_code(tmp_path):
    project = _project_with_loyalty_app(tmp_path)
    data_dir = tmp_path / "data"
    _loyalty_app_raw_zone(data_dir)

    result = run_dbt(
        data_dir, "build", "--select", "+int_identity__clusters",
        "--indirect-selection", "cautious", project_dir=project,
    )  # fmt: skip
    failures = [
        f"{r.node.name}: {r.status} {r.message}"
        for r in (result.result or [])
        if str(r.status) not in ("success", "pass")
    ]
    assert result.success and not failures, failures or result.exception

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        member = connection.sql(
            "select system, entity, source_id, trust_rank, is_business, person_name, "
            "given_name, family_name, email, phone, created_at, name_key, email_key "
            "from intermediate.int_identity__source_records where system = 'loyalty_app'"
        ).fetchall()
        clusters = dict(
            connection.sql(
                "select record_key, cluster_key from intermediate.int_identity__clusters"
            ).fetchall()
        )
    assert member == [
        (
            "loyalty_app", "members", "M-1", 7, False, "Anna Müller", "Anna", "Müller",
            "anna.mueller@example.com", "+49301234567", datetime(2026, 2, 3, 10), "anna muller",
            "anna.mueller@example.com",
        )
    ]  # fmt: skip
    # matched: the member is Anna, in the cluster of her CRM contact and webshop user
    assert clusters["loyalty_app:members:M-1"] == clusters["crm:contacts:CON-1"]
    assert clusters["loyalty_app:members:M-1"] == clusters["webshop:users:U-1"]
