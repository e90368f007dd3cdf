"""Where the pipeline keeps its data, and the few knobs set by environment variables.

Nothing reads the environment at import time: call `Settings.from_env()` when you need them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# A load's dbt build (the warehouse asset's, and the benchmark's): the models and their data
# tests. Unit tests check the SQL, not the day's data, so they run where the SQL changes
# (`make test`: tests/test_dbt_build.py), not in every load, as dbt's docs advise for production
# builds; they were 5 s of a 100k-customer day.
LOAD_BUILD = ("build", "--exclude-resource-type", "unit_test")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    reporting_currency: str = "EUR"
    target: str = "duckdb"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=Path(os.environ.get("CDW_DATA_DIR", PROJECT_DIR / "data")).resolve(),
            reporting_currency=os.environ.get("CDW_REPORTING_CURRENCY", "EUR").upper(),
            target=os.environ.get("CDW_TARGET", "duckdb"),
        )

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def truth_dir(self) -> Path:
        return self.data_dir / "truth"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def dbt_target_dir(self) -> Path:
        return self.data_dir / "dbt_target"

    @property
    def serving_path(self) -> Path:
        return self.data_dir / "serving.duckdb"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"
