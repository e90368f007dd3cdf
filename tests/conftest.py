"""Shared fixtures: small simulated worlds with known truth, loaded through the real pipeline."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.loads import LoadReport
from orchestration.settings import Settings

SMALL_WORLD = {"customers": 300, "days": 3, "seed": 7}
# Test data goes to memory when there is room: every load commits Dagster's event log, the ledger
# and DuckDB with an fsync each, and on a shared disk those waits were most of a `cdw load`'s wall
# time. A killed process loses nothing either way (the page cache outlives it), so the
# crash-safety proofs hold on tmpfs as on disk. Only the root moves: pytest still numbers its
# runs there (concurrent runs never share a directory) and keeps what pyproject.toml says.
MEMORY_TMP = Path("/dev/shm")
MEMORY_TMP_MIN_FREE = 4 * 2**30
# `make test` hands each worker a whole file (pytest-xdist --dist loadfile: its module fixtures
# built once) and the longest first (by `--durations` on one core: the crash test alone about
# 6 minutes), so that none of them starts last and keeps one worker busy while the other idles.
# The files sharing the session's simulated world count as one; the rest follow in file order.
# The files sharing the session's world go to one worker as one unit (WorldFirstScheduling), so
# the world is simulated and loaded once, not once per worker. The scheduler sees node ids only,
# hence the list of file names; collection fails if a file using the world is missing from it.
# (xdist_group marks would do this, but xdist 3.8 cannot read them from pytest 9's node ids.)
WORLD_FIXTURES = {"simulated_world", "loaded_world"}
WORLD_FILES = frozenset({
    "test_bi.py", "test_customer_analytics.py", "test_gate.py", "test_identity.py",
    "test_ingest_simulated.py", "test_live_sources.py", "test_publish.py", "test_report.py",
    "test_warehouse_truth.py",
})  # fmt: skip
WORLD_SCOPE = "simulated_world"
LONGEST_FIRST = (
    "test_crash_safety.py", WORLD_SCOPE, "test_spark_parity.py", "test_cli.py", "test_bench.py",
)  # fmt: skip


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Whole files to each worker, the world's files together as one unit."""
    from xdist.scheduler import LoadFileScheduling

    class WorldFirstScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return WORLD_SCOPE if Path(path).name in WORLD_FILES else path

    return WorldFirstScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _let_pyspark_connect_import_in_a_worker()
    # Read by pytest's tmp_path factory when it first makes a directory; --basetemp still wins.
    if "PYTEST_DEBUG_TEMPROOT" not in os.environ and _memory_has_room():
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_TMP)


def _memory_has_room() -> bool:
    return MEMORY_TMP.is_dir() and shutil.disk_usage(MEMORY_TMP).free >= MEMORY_TMP_MIN_FREE


def _let_pyspark_connect_import_in_a_worker() -> None:
    """Great Expectations imports pyspark.sql.connect when pyspark is installed; that module calls
    sys.exit(0) when `__main__` has neither `__spec__` nor `__file__`, which it takes for a doctest
    run. An xdist worker's `__main__` (execnet's bootstrap) has neither: name it."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = "<pytest-xdist worker>"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (Makefile `test`), the longest files first; see LONGEST_FIRST."""
    world = {item.path for item in items if WORLD_FIXTURES & set(getattr(item, "fixturenames", ()))}
    unlisted = sorted(path.name for path in world if path.name not in WORLD_FILES)
    if unlisted:
        raise pytest.UsageError(f"tests/conftest.py: add {unlisted} to WORLD_FILES")
    if not hasattr(config, "workerinput"):
        return  # not an xdist worker: the order xdist hands files out in is the workers' order
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}

    def position(item: pytest.Item) -> int:
        return rank.get(WORLD_SCOPE if item.path.name in WORLD_FILES else item.path.name, len(rank))

    items.sort(key=position)  # stable: the order of files and tests within a rank is kept


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
