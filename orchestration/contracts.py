"""Source contracts: what each operational system delivers, declared in `sources/<system>.yml`.

A contract is the only thing needed to add a system: ingestion, the gate and the dbt sources are
all derived from it. Contracts are validated on load; errors name the file and the field.
"""

from __future__ import annotations

import logging
import os
import re
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "sources"

ColumnType = Literal["string", "integer", "double", "decimal", "date", "timestamp", "boolean"]
FileFormat = Literal["csv", "jsonl", "parquet", "sqlite", "postgres", "mysql"]
# Live databases: extracted into Parquet files in landing/ (orchestration/extract.py), then
# ingested like any delivered file. docs/live-sources.md.
LIVE_FORMATS = frozenset({"postgres", "mysql"})
LIVE_CONTRACTS_DIR = CONTRACTS_DIR / "live"
SemanticTag = Literal[
    "email",
    "phone",
    "person_name",
    "given_name",
    "family_name",
    "company_name",
    "address",
    "postcode",
    "city",
    "country",
    "date_of_birth",
    "tax_id",
    "loyalty_card",
    "currency",
    "amount",
    "pii",
]
# Tags identity resolution reads (docs/identity.md, "Adding a customer-like source"); the others
# (currency, amount, pii) describe columns but never identify a customer.
IDENTITY_TAGS: tuple[SemanticTag, ...] = (
    "person_name",
    "given_name",
    "family_name",
    "company_name",
    "email",
    "phone",
    "date_of_birth",
    "tax_id",
    "loyalty_card",
    "address",
    "postcode",
    "city",
    "country",
)
_log = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


class ContractError(ValueError):
    """A contract file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Strict):
    name: str
    type: ColumnType
    description: str
    source: str | None = Field(
        default=None,
        description="Name (or dotted path into a nested JSON record) in the delivered file; "
        "defaults to `name`.",
    )
    nullable: bool = True
    tags: tuple[SemanticTag, ...] = ()
    scale: int = Field(default=2, ge=0, le=9, description="Digits after the point, for decimal.")
    format: str | None = Field(
        default=None, description="strptime format for date/timestamp text, when not ISO 8601."
    )
    timezone: str | None = Field(
        default=None,
        description="Zone of timestamps delivered without an offset; defaults to the system's.",
    )
    timezone_column: str | None = Field(
        default=None, description="Column holding a per-row IANA zone for naive timestamps."
    )
    accepted_values: tuple[str, ...] | None = None
    staged_as: str | None = Field(
        default=None,
        description="Name of the column in the staging model, when staging renames it "
        "(e.g. date_of_birth staged as birth_date); defaults to `name`.",
    )

    @property
    def source_name(self) -> str:
        return self.source or self.name

    @property
    def staged_name(self) -> str:
        return self.staged_as or self.name

    @property
    def is_pii(self) -> bool:
        return bool({"pii", "email", "phone", "person_name", "date_of_birth"} & set(self.tags))

    @field_validator("name", "staged_as")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError(f"column name {value!r} must be lower_snake_case")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            _check_zone(value)
        return value


class CsvOptions(_Strict):
    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    encoding: str = "utf-8"
    decimal_separator: Literal[".", ","] = "."


class Freshness(_Strict):
    warn_after_hours: int = Field(default=30, gt=0)
    error_after_hours: int = Field(default=54, gt=0)


class GatePolicy(_Strict):
    max_failed_row_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A batch with a larger share of bad rows is rejected whole.",
    )
    min_row_ratio: float | None = Field(
        default=None,
        ge=0,
        description="Reject a batch smaller than this share of the previous load (row collapse).",
    )


class Deletes(_Strict):
    """How deleted rows of a live table show.

    `soft`: `column` is a boolean (true = deleted) or a timestamp (set = deleted) of the table.
    `key_diff`: rows are removed for real; every extraction also reads all primary keys in the
    same snapshot, and keys still current in raw/ but gone from the table get a tombstone version
    with `column` (a boolean contract column the extractor fills) set to true.
    """

    mode: Literal["soft", "key_diff"]
    column: str


class Identity(_Strict):
    """Marks a customer-like entity: each of its records takes part in identity resolution.

    Its identity attributes come from the columns' semantic tags (IDENTITY_TAGS); this block says
    what tags cannot. Column names here are contract column names (`staged_as` is followed).
    """

    trust_rank: int = Field(
        ge=1, description="Survivorship order in dim_customers: 1 = the most trusted source."
    )
    business_when: str | None = Field(
        default=None,
        description="SQL boolean over the staging model's columns that is true for a business "
        "record (e.g. `is_company`); absent: every record is a person. A person_name column of a "
        "business record is its company name when the entity has no company_name column.",
    )
    created_at: str = Field(
        default="created_at",
        description="Column telling when the record was created (a date is cast to a timestamp).",
    )
    updated_at: str = Field(default="updated_at", description="Column of the record's last change.")
    group_key: str | None = Field(
        default=None,
        description="Column holding the group the record belongs to within its system (the CRM "
        "account of a contact or an account): records of one system and group are one customer "
        "(int_identity__links, rule group).",
    )
    deduplicated: bool = Field(
        default=False,
        description="The system keeps one record per customer (it merges its own duplicates): "
        "two of its records are never linked directly, and a record links to one of its records "
        "at most, the best-scoring one if that record scores it best too (int_identity__links).",
    )

    @property
    def columns(self) -> tuple[str, ...]:
        """The contract columns this block names."""
        return (self.created_at, self.updated_at, *([self.group_key] if self.group_key else []))


class Entity(_Strict):
    name: str
    description: str
    grain: str
    format: FileFormat
    files: str = Field(description="Glob, relative to landing/<system>/<YYYY-MM-DD>/.")
    table: str | None = Field(default=None, description="Table name, for sqlite deliveries.")
    query: str | None = Field(
        default=None, description="Live sources: a SELECT to extract instead of `table`."
    )
    deletes: Deletes | None = Field(default=None, description="Live sources: how deletes show.")
    overlap_minutes: int = Field(
        default=10,
        ge=0,
        description="Live sources: re-read this far below the watermark, for transactions that "
        "commit after rows with a later cursor were extracted.",
    )
    unnest: str | None = Field(
        default=None,
        description="jsonl only: a list field of each record; one output row per element.",
    )
    csv: CsvOptions = CsvOptions()
    primary_key: tuple[str, ...]
    cursor: str | None = Field(default=None, description="Change cursor column (e.g. updated_at).")
    freshness: Freshness = Freshness()
    gate: GatePolicy = GatePolicy()
    columns: tuple[Column, ...]
    identity: Identity | None = Field(
        default=None,
        description="Present on customer-like entities only: their records are matched into "
        "customers (docs/identity.md).",
    )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def tagged(self, tag: str) -> list[Column]:
        return [c for c in self.columns if tag in c.tags]

    @model_validator(mode="after")
    def _consistent(self) -> Entity:
        names = self.column_names
        if len(set(names)) != len(names):
            raise ValueError(f"entity {self.name!r} declares a column twice")
        for key in (*self.primary_key, *([self.cursor] if self.cursor else [])):
            if key not in names:
                raise ValueError(f"entity {self.name!r}: key/cursor {key!r} is not a column")
        for column in self.columns:
            if column.timezone_column and column.timezone_column not in names:
                raise ValueError(
                    f"column {column.name!r}: timezone_column {column.timezone_column!r} "
                    "is not a column"
                )
        if self.format == "sqlite" and not self.table:
            raise ValueError(f"entity {self.name!r}: format sqlite needs `table`")
        if self.unnest and self.format != "jsonl":
            raise ValueError(f"entity {self.name!r}: `unnest` is for jsonl deliveries")
        if self.format in LIVE_FORMATS:
            self._check_live(names)
        if self.identity:
            self._check_identity(self.identity, names)
        return self

    def _check_identity(self, identity: Identity, names: list[str]) -> None:
        if len(self.primary_key) != 1:
            raise ValueError(
                f"entity {self.name!r}: a customer-like entity (identity) needs a one-column "
                "primary key, its records' source_id"
            )
        for column in identity.columns:
            if column not in names:
                raise ValueError(
                    f"entity {self.name!r}: identity column {column!r} is not a column"
                )
        for tag in IDENTITY_TAGS:
            tagged = [c.name for c in self.tagged(tag)]
            if len(tagged) > 1:
                raise ValueError(
                    f"entity {self.name!r}: identity tag {tag!r} is on {len(tagged)} columns "
                    f"({', '.join(tagged)}); a customer-like entity tags one column per attribute"
                )

    def identity_columns(self) -> dict[str, Column]:
        """Identity tag -> the column carrying it, for the tags this entity has."""
        return {tag: self.tagged(tag)[0] for tag in IDENTITY_TAGS if self.tagged(tag)}

    def _check_live(self, names: list[str]) -> None:
        if bool(self.table) == bool(self.query):
            raise ValueError(f"entity {self.name!r}: a live source needs `table` or `query`")
        if not self.cursor:
            raise ValueError(f"entity {self.name!r}: a live source needs a `cursor` column")
        if not self.files.endswith(".parquet"):
            raise ValueError(
                f"entity {self.name!r}: `files` of a live source globs its extracts (*.parquet)"
            )
        if self.deletes and self.deletes.column not in names:
            raise ValueError(
                f"entity {self.name!r}: deletes column {self.deletes.column!r} is not a column"
            )
        deletes = self.deletes
        if deletes and deletes.mode == "key_diff" and self.column(deletes.column).type != "boolean":
            raise ValueError(f"entity {self.name!r}: a key_diff deletes column is boolean")

    @property
    def is_live(self) -> bool:
        return self.format in LIVE_FORMATS


class SystemContract(_Strict):
    system: str
    description: str
    owner: str
    timezone: str = Field(default="UTC", description="Zone of naive timestamps in this system.")
    connection_env: str | None = Field(
        default=None,
        description="Live sources: the environment variable holding the connection URL "
        "(never the URL itself).",
    )
    live_form_of: str | None = Field(
        default=None,
        description="Live sources: the delivered-file system (`sources/<system>.yml`) this "
        "database is the live form of. While the connection variable is set, each live entity "
        "replaces the file entity of the same name downstream (identity resolution, revenue): a "
        "deployment takes an entity from its files or from its database, never both.",
    )
    entities: tuple[Entity, ...]
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("system")
    @classmethod
    def _system_identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(f"system name {value!r} must be lower_snake_case")
        return value

    @field_validator("timezone")
    @classmethod
    def _system_zone(cls, value: str) -> str:
        return _check_zone(value)

    @model_validator(mode="after")
    def _live_connection(self) -> SystemContract:
        live = any(e.is_live for e in self.entities)
        if live and not self.connection_env:
            raise ValueError("a system with live entities needs `connection_env`")
        if self.live_form_of and not live:
            raise ValueError("`live_form_of` is for systems with live entities")
        return self

    def entity(self, name: str) -> Entity:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(f"system {self.system!r} has no entity {name!r}")


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def load_contract(path: Path) -> SystemContract:
    """Read and validate one contract file; raise ContractError naming file and field."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ContractError(f"{path}: a contract is a mapping with `system` and `entities`")
    try:
        contract = SystemContract.model_validate({**document, "path": path})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ContractError(f"{path}: invalid contract: {problems}") from exc
    if contract.system != path.stem:
        raise ContractError(
            f"{path}: system {contract.system!r} must match the file name {path.stem!r}"
        )
    return contract


def load_contracts(directory: Path | None = None) -> list[SystemContract]:
    """Every contract in `directory` (default: the repo's `sources/`), sorted by system."""
    return list(_load_all(Path(directory or CONTRACTS_DIR).resolve()))


@cache
def _load_all(directory: Path) -> tuple[SystemContract, ...]:
    paths = sorted(directory.glob("*.yml"))
    return tuple(load_contract(path) for path in paths)


def load_live_contracts(directory: Path | None = None) -> list[SystemContract]:
    """Live-database contracts (`sources/live/*.yml`) whose connection variable is set.

    A contract whose variable is unset is skipped with one log line, so the embedded default
    (`make demo`, no database servers) never needs them.
    """
    contracts = []
    for contract in _load_all(Path(directory or LIVE_CONTRACTS_DIR).resolve()):
        if os.environ.get(contract.connection_env or ""):
            contracts.append(contract)
        else:
            _log.info(
                "live source %s skipped: %s is not set", contract.system, contract.connection_env
            )
    return contracts
