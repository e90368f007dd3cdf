"""Shared fixtures: small simulated worlds with known truth, loaded through the real pipeline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.loads import LoadReport
from orchestration.settings import Settings

SMALL_WORLD = {"customers": 300, "days": 3, "seed": 7}


@contextmanager
def pipeline_environment(data_dir: Path) -> Iterator[Settings]:
    """Point the pipeline (Dagster resources, dbt profile) at `data_dir` for the block."""
    saved = {key: os.environ.get(key) for key in ("CDW_DATA_DIR", "CDW_REPORTING_CURRENCY")}
    os.environ["CDW_DATA_DIR"] = str(data_dir)
    os.environ["CDW_REPORTING_CURRENCY"] = "EUR"
    try:
        yield Settings(data_dir=data_dir)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def simulated_world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small world in landing/ and truth/, not yet loaded. Treat it as read-only."""
    from simulator import simulate

    data_dir = tmp_path_factory.mktemp("world")
    simulate(data_dir, **SMALL_WORLD)
    return Settings(data_dir=data_dir)


@dataclass(frozen=True)
class LoadedWorld:
    settings: Settings
    report: LoadReport


@pytest.fixture(scope="session")
def loaded_world(simulated_world: Settings) -> Iterator[LoadedWorld]:
    """The small world loaded end to end through the Dagster jobs (ingest, then dbt build).

    It loads the simulated world's own data directory: tests that only read can share both.
    """
    import dagster as dg

    from orchestration.ingest import landed_load_dates
    from orchestration.loads import run_load

    with pipeline_environment(simulated_world.data_dir) as settings:
        with dg.DagsterInstance.ephemeral() as instance:
            report = run_load(landed_load_dates(settings), instance=instance)
        assert report.succeeded, report.failures
        yield LoadedWorld(settings, report)
