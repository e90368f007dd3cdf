"""Dagster resources. Settings come from environment variables through `EnvVar`."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.settings import Settings


class WarehouseConfig(dg.ConfigurableResource):
    """Where the zones live and the reporting currency: the same knobs as the CLI."""

    data_dir: str
    reporting_currency: str = "EUR"

    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.data_dir).resolve(),
            reporting_currency=self.reporting_currency.upper(),
        )


def warehouse_config() -> WarehouseConfig:
    return WarehouseConfig(
        data_dir=dg.EnvVar("CDW_DATA_DIR"),
        reporting_currency=dg.EnvVar("CDW_REPORTING_CURRENCY"),
    )
