"""The Dagster instance storage `cdw` configures: Dagster's SQLite files, pooled connections.

orchestration/dagster_storage.py keeps the event log's connections open between statements. What
must not change with it: every event a run stores reaches its run database and the cross-run
index (also when two processes write at once), the UI's live view of a run still hears of each
commit, and a forked child or a wiped instance never writes through a stale connection. And a new
home is created by one process, also when two start on it together.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster_history import assert_fully_recorded, run_histories

from orchestration.cli import _ensure_dagster_home
from orchestration.dagster_storage import PooledSqliteEventLogStorage

REPO = Path(__file__).resolve().parent.parent


def _entry(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None, level=20, user_message=message, run_id=run_id, timestamp=time.time()
    )


def _messages(base_dir: Path, run_id: str) -> list[str]:
    """The run's events as a fresh storage, with Dagster's own connections, reads them."""
    return [
        entry.user_message
        for entry in SqliteEventLogStorage(str(base_dir)).get_logs_for_run(run_id)
    ]


def test_cdw_writes_the_pooled_sqlite_storage_or_postgres_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    home = tmp_path / "sqlite_home"
    _ensure_dagster_home(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert instance.get_runs() == []
    # Dagster's default layout: an instance made before keeps its history.
    for path in ("history/runs.db", "history/runs/index.db", "schedules/schedules.db"):
        assert (home / path).is_file(), path

    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql+psycopg2://u:p@127.0.0.1:1/dagster")
    pg_home = tmp_path / "pg_home"
    _ensure_dagster_home(pg_home)
    config = yaml.safe_load((pg_home / "dagster.yaml").read_text())
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_URL"}}}
    ref = InstanceRef.from_dir(str(pg_home))  # reads the configuration, connects to nothing
    assert ref.storage_data is not None
    assert ref.storage_data.class_name == "DagsterPostgresStorage"


def test_an_existing_dagster_yaml_is_left_alone_without_taking_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    _ensure_dagster_home(home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"]  # no lock, no storage


# A small asset job (an asset, its check) for the scripts below, named by argv[1].
ASSET_JOB = textwrap.dedent("""
    import sys
    import dagster as dg

    @dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
    def numbers():
        yield dg.MaterializeResult(metadata={"writer": sys.argv[1]})
        yield dg.AssetCheckResult(passed=True)

    job = dg.Definitions(assets=[numbers]).resolve_implicit_global_asset_job_def()
""")

# Two processes run the job on one instance, at the same time.
WRITER = ASSET_JOB + textwrap.dedent("""
    with dg.DagsterInstance.get() as instance:
        for _ in range(int(sys.argv[2])):
            assert job.execute_in_process(instance=instance).success
""")


def test_two_processes_storing_runs_at_once_lose_no_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    home = tmp_path / "dagster_home"
    _ensure_dagster_home(home)
    # _ensure_dagster_home created the storage: Dagster's does not survive two processes creating
    # its tables at once ("table run_tags already exists"; the new-home test), with or without ours.
    assert run_histories(home) == []
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    runs_each = 6
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name, str(runs_each)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("a", "b")
    ]
    for writer in writers:
        out, _ = writer.communicate(timeout=300)
        assert writer.returncode == 0, out
    histories = run_histories(home)
    assert len(histories) == 2 * runs_each
    for history in histories:
        assert history.storage == "PooledSqliteEventLogStorage"
        assert_fully_recorded(history)


def test_the_ui_watcher_hears_of_every_commit_of_a_pooled_writer(tmp_path: Path) -> None:
    """With its connection kept open, the writer's commits go to the write-ahead log and the run's
    database file is left alone until a checkpoint: Dagster's own watcher, which waits for that
    file to change, would see none of these events."""
    base = tmp_path / "runs"
    writer = PooledSqliteEventLogStorage(str(base))
    writer.store_event(_entry("r1", "before the watch"))
    watcher = PooledSqliteEventLogStorage(str(base))
    heard: list[str] = []
    watcher.watch("r1", None, lambda entry, cursor: heard.append(entry.user_message))
    try:
        time.sleep(0.5)  # the observer's inotify watch in place
        for n in range(3):
            writer.store_event(_entry("r1", f"during {n}"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "during 2" not in heard:
            time.sleep(0.05)
    finally:
        watcher.dispose()
        writer.dispose()
    assert heard == ["before the watch", "during 0", "during 1", "during 2"]


def test_a_forked_child_and_a_wipe_never_write_through_a_stale_connection(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    storage = PooledSqliteEventLogStorage(str(base))
    storage.store_event(_entry("r1", "parent, before the fork"))
    pid = os.fork()
    if pid == 0:  # the child: its own connection, the parent's left alone
        code = 1
        try:
            storage.store_event(_entry("r1", "child"))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    storage.store_event(_entry("r1", "parent, after the fork"))
    assert _messages(base, "r1") == ["parent, before the fork", "child", "parent, after the fork"]

    # Dagster's wipe deletes the run databases: the next event starts a new one, not a deleted one.
    storage.wipe()
    storage.store_event(_entry("r1", "after the wipe"))
    assert _messages(base, "r1") == ["after the wipe"]
    storage.dispose()


def test_commits_in_wal_mode_do_not_wait_for_the_disk(tmp_path: Path) -> None:
    """synchronous=NORMAL on every pooled connection, the index's and a new run's, once the
    database is in WAL mode (a new run database is created in rollback-journal mode)."""
    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    storage.store_event(_entry("r1", "a new run database"))
    for connection in (storage.index_connection(), storage.run_connection("r1")):
        with connection as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL (FULL: 2)
    storage.dispose()


# One `cdw` process on a new home, started at the same moment as another (the barrier): it creates
# the home as the CLI's callback does, then stores a run as a load would. Imports come first, so
# that the two meet where the home is made, not in Python's start-up.
NEW_HOME = ASSET_JOB + textwrap.dedent("""
    import os, time
    from pathlib import Path
    from orchestration.cli import _ensure_dagster_home

    name, barrier, failures = sys.argv[1], Path(sys.argv[2]), 0
    for home in map(Path, sys.argv[3:]):
        (barrier / f"{home.name}.{name}").touch()
        while len(list(barrier.glob(f"{home.name}.*"))) < 2:
            time.sleep(0.0005)
        os.environ["DAGSTER_HOME"] = str(home)
        try:
            _ensure_dagster_home(home)
            with dg.DagsterInstance.get() as instance:
                assert job.execute_in_process(instance=instance).success
        except Exception as error:
            failures += 1
            print(f"{home.name}: {type(error).__name__}: {error}".splitlines()[0])
    sys.exit(failures)
""")


def test_two_processes_creating_one_new_home_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both created Dagster's SQLite schema at once ("table run_tags already exists"), and one
    could read the other's half-written dagster.yaml. Several new homes, two processes each."""
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    homes = [tmp_path / f"home{n}" for n in range(5)]
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ}
    env.pop("DAGSTER_HOME", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", NEW_HOME, name, str(barrier), *map(str, homes)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,  # a line per failed home
            stderr=subprocess.PIPE,  # Dagster's run logs; their tail if a process crashed
            text=True,
        )
        for name in ("a", "b")
    ]
    outcomes = [(*process.communicate(timeout=300), process.returncode) for process in processes]
    assert [code for *_, code in outcomes] == [0, 0], "\n".join(
        out + err[-2000:] for out, err, _ in outcomes
    )
    for home in homes:
        histories = run_histories(home)
        assert len(histories) == 2
        for history in histories:
            assert history.storage == "PooledSqliteEventLogStorage"
            assert_fully_recorded(history)
