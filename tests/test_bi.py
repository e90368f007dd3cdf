"""BI access: the serving file read the way a BI tool reads it, while loads publish.

A BI tool (Superset, Metabase through JDBC, a notebook) connects with SQLAlchemy through
duckdb-engine, read-only, and queries every mart. Publishes run in another process meanwhile
(the publish swaps the serving file atomically, docs/serving.md): no query may fail, and every
query sees complete marts (row counts equal to what the publish recorded in `_published`).
The example queries of docs/bi.md are run here too, so the documentation only shows statements
that work against the real marts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.pool import NullPool

from orchestration.publish import publish
from orchestration.settings import PROJECT_DIR, Settings

PUBLISHES = 3
PUBLISHER = """
import sys
from pathlib import Path
from orchestration.publish import publish
from orchestration.settings import Settings
for _ in range(int(sys.argv[2])):
    publish(Settings(data_dir=Path(sys.argv[1])))
"""


@pytest.fixture()
def serving_copy(loaded_world, tmp_path: Path) -> Settings:
    """A copy of the loaded world's warehouse to publish from, so the shared world stays as is."""
    data_dir = tmp_path / "data"
    shutil.copytree(
        loaded_world.settings.data_dir,
        data_dir,
        symlinks=True,
        ignore=shutil.ignore_patterns("*.lock", "landing", "truth", "quarantine", "dagster*"),
    )
    publish(Settings(data_dir=data_dir))
    return Settings(data_dir=data_dir)


def bi_engine(settings: Settings) -> sa.Engine:
    # NullPool: every checkout opens the file anew, as a BI tool's fresh query connection does.
    return sa.create_engine(
        f"duckdb:///{settings.serving_path}",
        connect_args={"read_only": True},
        poolclass=NullPool,
    )


def read_every_mart(connection: sa.Connection) -> tuple[object, dict[str, int], dict[str, int]]:
    """(published_at, rows counted, rows the publish recorded) over every published mart."""
    recorded = dict(
        connection.execute(sa.text("select mart, row_count from _published")).fetchall()
    )
    published_at = connection.execute(sa.text("select max(published_at) from _published")).scalar()
    counted = {
        mart: connection.execute(sa.text(f'select count(*) from "{mart}"')).scalar()
        for mart in recorded
    }
    return published_at, counted, recorded


def test_bi_reader_queries_every_mart_while_loads_publish(serving_copy: Settings):
    engine = bi_engine(serving_copy)
    with engine.connect() as held:  # a dashboard's long-lived connection
        first_published, first_counts, recorded = read_every_mart(held)
        assert first_counts == recorded and len(recorded) >= 10
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(serving_copy.data_dir), str(PUBLISHES)],
            cwd=PROJECT_DIR,
            stderr=subprocess.PIPE,
            text=True,
        )
        reads = 0
        while publisher.poll() is None or reads == 0:
            with engine.connect() as fresh:
                _, counted, recorded_now = read_every_mart(fresh)
            assert counted == recorded_now == first_counts
            held_at, held_counts, _ = read_every_mart(held)
            # The held connection keeps its snapshot: the file it opened, not a half-swapped one.
            assert (held_at, held_counts) == (first_published, first_counts)
            reads += 1
        assert publisher.wait() == 0, publisher.stderr.read()
    with engine.connect() as after:
        last_published, counted, recorded = read_every_mart(after)
    assert counted == recorded == first_counts
    assert last_published > first_published  # the publishes did happen under the reader
    engine.dispose()


def test_read_only_url_form_for_superset_refuses_writes(serving_copy: Settings):
    """The URL docs/bi.md gives Superset opens the file read-only."""
    engine = sa.create_engine(
        f"duckdb:///{serving_copy.serving_path}?access_mode=read_only", poolclass=NullPool
    )
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from dim_customers")).scalar() > 0
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            connection.execute(sa.text("create table scratch (x int)"))
    engine.dispose()


def doc_queries() -> list[str]:
    text = (PROJECT_DIR / "docs" / "bi.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)


def test_every_sql_example_in_docs_bi_runs_against_the_marts(loaded_world):
    queries = doc_queries()
    assert len(queries) >= 4
    engine = bi_engine(loaded_world.settings)
    with engine.connect() as connection:
        for query in queries:
            rows = connection.execute(sa.text(query)).fetchall()
            assert rows, f"no rows from the docs/bi.md example:\n{query}"
    engine.dispose()


def test_every_mart_and_column_is_documented():
    """What `make docs` shows BI users: a description for every mart and every column."""
    marts = PROJECT_DIR / "dbt_project" / "models" / "marts"
    models = {path.stem for path in marts.rglob("*.sql")}
    documented: dict[str, dict] = {}
    for path in marts.rglob("_*.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            documented[model["name"]] = model
    assert models <= documented.keys()
    for name in models:
        model = documented[name]
        assert (model.get("description") or "").strip(), f"{name}: no description"
        assert model.get("columns"), f"{name}: no columns documented"
        for column in model["columns"]:
            assert (column.get("description") or "").strip(), f"{name}.{column['name']}"
