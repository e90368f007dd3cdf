"""The source contracts (sources/<system>.yml) as the simulator needs them: file patterns,
formats, CSV options and every column with its type and its name in the delivered file.

The simulator writes exactly what the contracts declare, so it reads them rather than
repeating them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CONTRACTS_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    source: str
    nullable: bool
    scale: int


@dataclass(frozen=True)
class EntitySpec:
    system: str
    name: str
    format: str
    files: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    delimiter: str = ","
    decimal_separator: str = "."
    encoding: str = "utf-8"
    table: str | None = None
    unnest: str | None = None
    timezone: str = "UTC"

    def file_name(self, day_text: str) -> str:
        return self.files.replace("*", day_text)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


@cache
def entity_specs() -> dict[tuple[str, str], EntitySpec]:
    specs: dict[tuple[str, str], EntitySpec] = {}
    for path in sorted(CONTRACTS_DIR.glob("*.yml")):
        contract = yaml.safe_load(path.read_text(encoding="utf-8"))
        system = contract["system"]
        for entity in contract["entities"]:
            csv = entity.get("csv", {})
            columns = tuple(
                ColumnSpec(
                    c["name"],
                    c["type"],
                    c.get("source") or c["name"],
                    c.get("nullable", True),
                    c.get("scale", 2),
                )
                for c in entity["columns"]
            )
            specs[(system, entity["name"])] = EntitySpec(
                system=system,
                name=entity["name"],
                format=entity["format"],
                files=entity["files"],
                columns=columns,
                primary_key=tuple(entity["primary_key"]),
                delimiter=csv.get("delimiter", ","),
                decimal_separator=csv.get("decimal_separator", "."),
                encoding=csv.get("encoding", "utf-8"),
                table=entity.get("table"),
                unnest=entity.get("unnest"),
                timezone=contract.get("timezone", "UTC"),
            )
    return specs


def spec(system: str, entity: str) -> EntitySpec:
    return entity_specs()[(system, entity)]
