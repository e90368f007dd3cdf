"""Write-audit-publish: copy the audited marts into a new serving file and swap it in atomically.

dbt builds into `warehouse.duckdb` (the write); the publish asset checks that every blocking
check of the run passed (the audit, see `publish_assets.py`); `publish` then copies every table
of schema `marts` into a brand-new DuckDB file and `os.replace`s it onto `serving.duckdb`, and
writes the Parquet exports into a new `exports-<stamp>/` directory that the `exports` symlink is
swapped to. A BI reader that opened the old serving file keeps reading the old inode; a reader of
`exports/` sees either the old or the new generation, never a mix. See docs/serving.md.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration.locks import writer_lock
from orchestration.settings import Settings

MARTS_SCHEMA = "marts"
PUBLISHED_TABLE = "_published"
EXPORT_GENERATIONS_KEPT = 2
BUILD_RECORD = "warehouse.build.json"


class AuditFailed(RuntimeError):
    """A blocking check of the load failed (or did not run): nothing was published."""

    def __init__(self, failed_checks: Sequence[str], detail: str = "") -> None:
        self.failed_checks = tuple(failed_checks)
        names = "\n  ".join(self.failed_checks)
        super().__init__(
            f"audit failed, serving state left as it was; {len(self.failed_checks)} blocking "
            f"check(s) did not pass:\n  {names}"
            + (f"\n{detail}" if detail else "")
            + "\nFix the data or the model, re-run the load, and publish will follow."
        )


class NothingToPublish(RuntimeError):
    """The warehouse has no marts (never built): there is nothing to publish."""


@dataclass(frozen=True)
class PublishResult:
    serving_path: Path
    exports_dir: Path
    row_counts: dict[str, int]
    load_dates: tuple[date, ...]
    published_at: datetime
    checks_passed: int = 0
    exported_files: dict[str, Path] = field(default_factory=dict)


def publish(
    settings: Settings,
    *,
    checks_passed: int = 0,
    under_lock: Callable[[], None] | None = None,
) -> PublishResult:
    """Copy every table of schema `marts` into a new serving file and new exports, then swap.

    Holds the warehouse writer lock while it reads, so no dbt build changes the marts under it;
    `under_lock` runs first inside that lock (a last check that may raise). Any failure before
    the swap leaves the previous serving file and exports untouched.
    """
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    published_at = datetime.now(UTC)
    tmp_serving = data_dir / f"{settings.serving_path.name}.{token}.tmp"
    # Sortable to the microsecond: pruning keeps the newest generations by name.
    stamp = f"{published_at:%Y%m%dT%H%M%S%fZ}-{token[:8]}"
    tmp_exports = data_dir / f"exports.{token}.tmp"
    generation = data_dir / f"exports-{stamp}"
    load_dates = published_load_dates(settings)
    try:
        with writer_lock(data_dir / "warehouse.lock"):
            if under_lock is not None:
                under_lock()
            row_counts = _write_serving(
                settings.warehouse_path,
                tmp_serving,
                tmp_exports,
                load_dates,
                published_at,
                checks_passed,
            )
        _fsync_tree(tmp_exports)
        os.replace(tmp_exports, generation)
        _fsync_dir(data_dir)
        os.replace(tmp_serving, settings.serving_path)
        _fsync_dir(data_dir)
        _swap_symlink(settings.exports_dir, generation)
    except BaseException:
        tmp_serving.unlink(missing_ok=True)
        Path(f"{tmp_serving}.wal").unlink(missing_ok=True)
        shutil.rmtree(tmp_exports, ignore_errors=True)
        if generation.exists() and _link_target(settings.exports_dir) != generation:
            shutil.rmtree(generation, ignore_errors=True)
        raise
    _prune_generations(data_dir, keep=EXPORT_GENERATIONS_KEPT, current=generation)
    return PublishResult(
        serving_path=settings.serving_path,
        exports_dir=settings.exports_dir,
        row_counts=row_counts,
        load_dates=load_dates,
        published_at=published_at,
        checks_passed=checks_passed,
        exported_files={name: settings.exports_dir / f"{name}.parquet" for name in row_counts},
    )


@dataclass(frozen=True)
class PublishedState:
    """What the serving file holds now, read from its `_published` table (for the CLI)."""

    published_at: datetime
    row_counts: dict[str, int]
    first_load_date: date | None
    last_load_date: date | None


def last_published(settings: Settings) -> PublishedState | None:
    """The current serving state, or None when nothing was ever published."""
    if not settings.serving_path.exists():
        return None
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        rows = con.execute(
            f"select published_at, mart, row_count, first_load_date, last_load_date "
            f"from main.{PUBLISHED_TABLE} order by mart"
        ).fetchall()
    if not rows:
        return None
    return PublishedState(
        published_at=rows[0][0].replace(tzinfo=UTC),
        row_counts={mart: count for _, mart, count, _, _ in rows},
        first_load_date=rows[0][3],
        last_load_date=rows[0][4],
    )


def published_load_dates(settings: Settings) -> tuple[date, ...]:
    """Every load date present in the raw zone: what the warehouse was built from."""
    found = {
        date.fromisoformat(path.name.split("=", 1)[1])
        for path in settings.raw_dir.glob("*/*/load_date=*")
        if path.is_dir()
    }
    return tuple(sorted(found))


def _write_serving(
    warehouse: Path,
    target: Path,
    exports: Path,
    load_dates: tuple[date, ...],
    published_at: datetime,
    checks_passed: int,
) -> dict[str, int]:
    if not warehouse.exists():
        raise NothingToPublish(f"{warehouse}: no warehouse yet; run a load (`cdw load`) first")
    exports.mkdir(parents=True)
    con = duckdb.connect(str(target))
    try:
        con.execute(f"attach '{_sql_str(warehouse)}' as wh (read_only)")
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'wh' and schema_name = ? order by table_name",
                [MARTS_SCHEMA],
            ).fetchall()
        ]
        if not tables:
            raise NothingToPublish(
                f"{warehouse}: schema {MARTS_SCHEMA!r} has no tables; run a load first"
            )
        row_counts: dict[str, int] = {}
        for name in tables:
            con.execute(f'create table main."{name}" as select * from wh.{MARTS_SCHEMA}."{name}"')
            row_counts[name] = con.execute(f'select count(*) from main."{name}"').fetchone()[0]
            parquet = exports / f"{name}.parquet"
            con.execute(
                f"copy main.\"{name}\" to '{_sql_str(parquet)}' (format parquet, compression zstd)"
            )
        con.execute("detach wh")
        con.execute(
            f"create table main.{PUBLISHED_TABLE} (published_at timestamp, mart varchar, "
            "row_count bigint, load_dates date[], first_load_date date, last_load_date date, "
            "checks_passed integer)"
        )
        con.executemany(
            f"insert into main.{PUBLISHED_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    published_at.replace(tzinfo=None),
                    name,
                    count,
                    list(load_dates),
                    load_dates[0] if load_dates else None,
                    load_dates[-1] if load_dates else None,
                    checks_passed,
                ]
                for name, count in row_counts.items()
            ],
        )
        con.execute("checkpoint")
    finally:
        con.close()
    _fsync_file(target)
    return row_counts


def _swap_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically: a new symlink renamed over the old one."""
    if link.exists() and not link.is_symlink():
        # An exports directory from before the symlink layout: move it aside once.
        os.replace(link, link.with_name(f"{link.name}-legacy-{uuid.uuid4().hex[:8]}"))
    tmp_link = link.with_name(f"{link.name}.{uuid.uuid4().hex}.link")
    os.symlink(target.name, tmp_link)
    os.replace(tmp_link, link)
    _fsync_dir(link.parent)


def _link_target(link: Path) -> Path | None:
    if not link.is_symlink():
        return None
    return link.parent / os.readlink(link)


def _prune_generations(data_dir: Path, *, keep: int, current: Path) -> None:
    generations = sorted(
        (
            path
            for path in data_dir.glob("exports-*")
            if path.is_dir() and not path.is_symlink() and "-legacy-" not in path.name
        ),
        key=lambda path: path.name,
    )
    for old in generations[:-keep]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomically(target: Path, text: str) -> None:
    """Write `target` whole or not at all: a crash leaves the previous file (or none) or this one.
    A temporary file beside it, fsynced, renamed over it, then the directory fsynced."""
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        _fsync_file(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def _fsync_tree(root: Path) -> None:
    for path in root.iterdir():
        if path.is_file():
            _fsync_file(path)
    _fsync_dir(root)


# --------------------------------------------------------------------------- republishing


class RepublishRefused(RuntimeError):
    """The last build cannot be republished as it is; the message is one line saying why."""


@dataclass(frozen=True)
class BuildRecord:
    """What the dbt build of run `run_id` left: its outcome and the warehouse file it wrote.

    Written by the `warehouse_models` asset when `dbt build` ends, whether it passed or not, so
    that `republish` can audit a build without re-running it.
    """

    run_id: str
    finished_at: str
    completed: bool  # dbt build ran to the end (no model error, no crash)
    passed_checks: tuple[str, ...]  # "asset/key:check" of every check that passed
    failed_blocking: tuple[str, ...]  # ERROR-severity checks that failed
    warehouse: dict[str, int]  # fingerprint of warehouse.duckdb after the build


def warehouse_fingerprint(settings: Settings) -> dict[str, int]:
    """Identity of the warehouse file as written: any later write changes one of these.

    Not the inode: a data directory restored from a copy (mtimes kept) is the same build.
    """
    stat = settings.warehouse_path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def record_build(
    settings: Settings,
    run_id: str,
    *,
    completed: bool,
    passed_checks: Sequence[str],
    failed_blocking: Sequence[str],
) -> BuildRecord:
    """Write the build record atomically (a crash leaves the previous one or this one)."""
    record = BuildRecord(
        run_id=run_id,
        finished_at=datetime.now(UTC).isoformat(),
        completed=completed,
        passed_checks=tuple(sorted(passed_checks)),
        failed_blocking=tuple(sorted(failed_blocking)),
        warehouse=warehouse_fingerprint(settings) if settings.warehouse_path.exists() else {},
    )
    write_text_atomically(settings.data_dir / BUILD_RECORD, json.dumps(record.__dict__, indent=1))
    return record


def read_build(settings: Settings) -> BuildRecord | None:
    path = settings.data_dir / BUILD_RECORD
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return BuildRecord(
        **{
            **data,
            "passed_checks": tuple(data["passed_checks"]),
            "failed_blocking": tuple(data["failed_blocking"]),
        }
    )


def republish(settings: Settings, required_checks: set[str]) -> PublishResult:
    """Publish the last build again without rebuilding, if its audit holds.

    Refuses (`RepublishRefused`, one line) when no build was recorded, the build did not run to
    the end, a blocking check of it failed, a required blocking check was not evaluated in it,
    or the warehouse file changed since (another build started, a crash mid-build).
    """
    record = read_build(settings)
    if record is None or not settings.warehouse_path.exists():
        raise RepublishRefused("no recorded warehouse build to publish; run `cdw load` first")
    build = f"build of run {record.run_id[:8]} ({record.finished_at[:19]})"
    if warehouse_fingerprint(settings) != record.warehouse:
        raise RepublishRefused(
            f"the warehouse changed since the {build}; run `cdw load` to build and audit again"
        )
    if record.failed_blocking:
        raise RepublishRefused(
            f"the {build} failed {len(record.failed_blocking)} blocking check(s): "
            + ", ".join(record.failed_blocking)
        )
    if not record.completed:
        raise RepublishRefused(f"the {build} did not complete; run `cdw load` again")
    missing = sorted(required_checks - set(record.passed_checks))
    if missing:
        raise RepublishRefused(
            f"the {build} did not pass {len(missing)} blocking check(s): " + ", ".join(missing)
        )

    def unchanged() -> None:
        # Checked again under the writer lock: no build may have touched the warehouse since.
        if warehouse_fingerprint(settings) != record.warehouse:
            raise RepublishRefused(f"the warehouse changed since the {build}; run `cdw load`")

    return publish(settings, checks_passed=len(required_checks), under_lock=unchanged)
