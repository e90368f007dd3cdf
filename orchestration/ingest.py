"""Contract-driven ingestion: landing/ -> raw/ + quarantine/, with the load ledger.

One call of `ingest_partition` builds one raw partition (system, entity, load date) from the
files landed in `landing/<system>/<load date>/`, file by file:

- a file whose bytes were already delivered under another path is a `duplicate` (not loaded);
- a file with the name of an earlier delivery but other bytes is a correction: it is loaded into
  the earlier file's partition, which is rebuilt (the earlier file becomes `superseded`);
- an unreadable file is copied to `quarantine/_files/` and `rejected`; a file missing a declared
  column is `rejected` with every record in quarantine (`missing_column`);
- otherwise records are conformed and checked by the entity's Great Expectations gate
  (`orchestration/gate.py`); good rows go to raw, bad ones to quarantine with a reason, and a
  file the gate rejects as a whole is `rejected` with every record in quarantine.

Re-running a partition replaces its raw and quarantine files and its ledger rows; the result is
the same. Per file, always: rows_read = rows_loaded + rows_quarantined.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.conform import (
    QUARANTINE_CORE,
    RowFailure,
    RowValidator,
    apply_validators,
    conform,
    reject_file,
    rejects_table,
)
from orchestration.contracts import Entity, SystemContract, load_contracts
from orchestration.gate import gate_validators
from orchestration.ledger import LandedFileRow, Ledger, LoadRow, now_utc
from orchestration.locks import raw_entity_lock_path, writer_lock
from orchestration.rawzone import (
    QUARANTINE_SCHEMA,
    PartitionWriter,
    commit_partition,
    copy_rejected_file,
    quarantine_partition_path,
    quarantine_rows,
    raw_partition_path,
    raw_schema,
    with_lineage,
)
from orchestration.readers import SOURCE_ROW, UnreadableFile, read_landed_file
from orchestration.settings import Settings

__all__ = [
    "FileResult",
    "PartitionResult",
    "ingest_all",
    "ingest_load_date",
    "ingest_partition",
    "landed_load_dates",
]


@dataclass(frozen=True)
class FileResult:
    path: str  # relative to landing/
    entity: str
    sha256: str
    size_bytes: int
    outcome: str  # loaded | duplicate | superseded | rejected
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    reason: str | None
    gate: str | None = None  # the gate's summary (JSON), when it ran on the file


@dataclass(frozen=True)
class PartitionResult:
    system: str
    entity: str
    load_date: date
    files: tuple[FileResult, ...]
    rows_read: int  # rows of this partition (a correction's rows count in its own partition)
    rows_loaded: int
    rows_quarantined: int
    rebuilt_partitions: tuple[date, ...]  # earlier partitions rebuilt for a corrected file


@dataclass(frozen=True)
class _Landed:
    path: Path
    rel: str
    name: str
    sha256: str
    size_bytes: int
    delivered: date  # the landing folder's date


@dataclass(frozen=True)
class _Counts:
    outcome: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    gate: str | None = None


# --------------------------------------------------------------------------- discovery


def landed_load_dates(settings: Settings, system: str | None = None) -> list[date]:
    """Every load date with a landing folder (of `system`, or of any system), in order."""
    systems = [settings.landing_dir / system] if system else _subdirs(settings.landing_dir)
    dates: set[date] = set()
    for folder in systems:
        for child in _subdirs(folder):
            try:
                dates.add(date.fromisoformat(child.name))
            except ValueError:
                continue  # not a delivery folder
    return sorted(dates)


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _landed_files(
    settings: Settings, contract: SystemContract, entity: Entity, load_date: date
) -> list[_Landed]:
    folder = settings.landing_dir / contract.system / load_date.isoformat()
    if not folder.is_dir():
        return []
    paths = sorted(
        p for p in folder.glob(entity.files) if p.is_file() and not p.name.startswith(".")
    )
    return [_describe(settings, path, load_date) for path in paths]


def _describe(settings: Settings, path: Path, delivered: date) -> _Landed:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return _Landed(
        path=path,
        rel=path.relative_to(settings.landing_dir).as_posix(),
        name=path.name,
        sha256=digest.hexdigest(),
        size_bytes=path.stat().st_size,
        delivered=delivered,
    )


# --------------------------------------------------------------------------- entry points


def ingest_all(
    settings: Settings,
    contracts: Sequence[SystemContract] | None = None,
    load_dates: Sequence[date] | None = None,
) -> list[PartitionResult]:
    """A backfill: every landed load date in order (corrections need the earlier ones first)."""
    dates = sorted(load_dates) if load_dates is not None else landed_load_dates(settings)
    results: list[PartitionResult] = []
    for load_date in dates:
        results += ingest_load_date(settings, load_date, contracts)
    return results


def ingest_load_date(
    settings: Settings, load_date: date, contracts: Sequence[SystemContract] | None = None
) -> list[PartitionResult]:
    """Every entity of every contract for one load date (systems that delivered nothing skip)."""
    results = []
    for contract in contracts if contracts is not None else load_contracts():
        if not (settings.landing_dir / contract.system / load_date.isoformat()).is_dir():
            continue
        for entity in contract.entities:
            results.append(ingest_partition(settings, contract, entity, load_date))
    return results


def ingest_partition(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    load_date: date,
    *,
    validators: Sequence[RowValidator] | None = None,
) -> PartitionResult:
    """Build raw/ and quarantine/ for one system/entity/load date; see the module docstring.

    `validators` default to the entity's Great Expectations gate (`orchestration/gate.py`);
    pass `()` to load without it.
    """
    ledger = Ledger(settings.ledger_path)
    started = now_utc()
    planner = _Planner(ledger, contract, entity, load_date)
    for landed in _landed_files(settings, contract, entity, load_date):
        planner.plan(settings, landed)
    if (
        not planner.results
        and not raw_partition_path(settings, contract.system, entity.name, load_date).exists()
    ):
        return PartitionResult(contract.system, entity.name, load_date, (), 0, 0, 0, ())
    try:
        checks = (
            gate_validators(settings, contract, entity, load_date)
            if validators is None
            else validators
        )
        counts = _write_partition(settings, contract, entity, load_date, planner.to_load, checks)
    except Exception:
        # The previous partition is intact; the run history says this attempt failed.
        ledger.record_failure(_load_row(contract, entity, load_date, [], started, "failed"))
        raise
    rows = planner.ledger_rows(counts)
    _record(ledger, contract, entity, load_date, rows, started)
    rebuilt = _rebuild(settings, contract, entity, sorted(planner.rebuild), validators)
    files = tuple(_file_result(entity, rebuilt.get(row.path, row)) for row in rows)
    own = [row for row in rows if row.partition_date == load_date.isoformat()]
    return PartitionResult(
        system=contract.system,
        entity=entity.name,
        load_date=load_date,
        files=files,
        rows_read=sum(r.rows_read for r in own),
        rows_loaded=sum(r.rows_loaded for r in own),
        rows_quarantined=sum(r.rows_quarantined for r in own),
        rebuilt_partitions=tuple(sorted(planner.rebuild)),
    )


# --------------------------------------------------------------------------- planning


class _Planner:
    """Decides, per landed file, whether it is loaded here, elsewhere, or not at all."""

    def __init__(
        self, ledger: Ledger, contract: SystemContract, entity: Entity, load_date: date
    ) -> None:
        self.ledger = ledger
        self.contract = contract
        self.entity = entity
        self.load_date = load_date
        self.results: list[tuple[_Landed, _Counts, date | None]] = []  # landed, counts, partition
        self.to_load: list[_Landed] = []  # files whose rows go into this partition, in order
        self.replaced: dict[str, _Landed] = {}  # rel of a corrected file -> its correction
        self.rebuild: set[date] = set()
        self.stale: list[LandedFileRow] = []  # earlier corrections replaced by a newer one

    def plan(self, settings: Settings, landed: _Landed) -> None:
        system, entity = self.contract.system, self.entity.name
        twin = self.ledger.identical(system, entity, landed.sha256, landed.rel, self.load_date)
        if twin is not None:
            reason = (
                f"identical re-delivery of {twin.path} (load date {twin.load_date}); "
                "not loaded again"
            )
            self.results.append((landed, _Counts("duplicate", reason=reason), None))
            return
        original = self.ledger.corrected_original(
            system, entity, landed.name, landed.sha256, self.load_date
        )
        if original is not None:
            target = date.fromisoformat(original.partition_date or original.load_date)
            reason = (
                f"corrected re-delivery of {original.path}; loaded into partition "
                f"load_date={target.isoformat()}, which was rebuilt"
            )
            self.results.append((landed, _Counts("loaded", reason=reason), target))
            self.rebuild.add(target)
            return
        corrections = self.ledger.corrections(system, entity, landed.name, self.load_date)
        if corrections:
            correction, *older = corrections
            self.stale += [
                replace(
                    row,
                    outcome="superseded",
                    rows_read=0,
                    rows_loaded=0,
                    rows_quarantined=0,
                    reason=f"superseded by the later corrected re-delivery {correction.path}",
                )
                for row in older
            ]
            newer = _Landed(
                path=settings.landing_dir / correction.path,
                rel=correction.path,
                name=correction.file_name,
                sha256=correction.sha256,
                size_bytes=correction.size_bytes,
                delivered=date.fromisoformat(correction.load_date),
            )
            reason = f"superseded by the corrected re-delivery {newer.rel}"
            self.results.append((landed, _Counts("superseded", reason=reason), None))
            self.replaced[landed.rel] = newer
            self.to_load.append(newer)
            return
        self.results.append((landed, _Counts("loaded"), self.load_date))
        self.to_load.append(landed)

    def ledger_rows(self, counts: dict[str, _Counts]) -> list[LandedFileRow]:
        """This partition's ledger rows, plus the rows of corrections loaded into it."""
        processed = now_utc().isoformat()
        rows = []
        for landed, planned, partition in self.results:
            actual = counts.get(landed.rel, planned)
            rows.append(_ledger_row(self, landed, actual, partition, processed))
            newer = self.replaced.get(landed.rel)
            if newer is not None:
                note = (
                    f"corrected re-delivery of {landed.rel}; loaded into partition "
                    f"load_date={self.load_date.isoformat()}"
                )
                loaded = counts[newer.rel]
                loaded = replace(loaded, reason="; ".join(filter(None, [note, loaded.reason])))
                rows.append(_ledger_row(self, newer, loaded, self.load_date, processed))
        return rows + [replace(row, processed_at=processed) for row in self.stale]


def _ledger_row(
    planner: _Planner, landed: _Landed, counts: _Counts, partition: date | None, processed: str
) -> LandedFileRow:
    return LandedFileRow(
        system=planner.contract.system,
        entity=planner.entity.name,
        load_date=landed.delivered.isoformat(),
        path=landed.rel,
        file_name=landed.name,
        size_bytes=landed.size_bytes,
        sha256=landed.sha256,
        outcome=counts.outcome,
        rows_read=counts.rows_read,
        rows_loaded=counts.rows_loaded,
        rows_quarantined=counts.rows_quarantined,
        reason=counts.reason,
        processed_at=processed,
        partition_date=partition.isoformat() if partition else None,
        gate=counts.gate,
    )


def _file_result(entity: Entity, row: LandedFileRow) -> FileResult:
    return FileResult(
        path=row.path,
        entity=entity.name,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        outcome=row.outcome,
        rows_read=row.rows_read,
        rows_loaded=row.rows_loaded,
        rows_quarantined=row.rows_quarantined,
        reason=row.reason,
        gate=row.gate,
    )


def _record(
    ledger: Ledger,
    contract: SystemContract,
    entity: Entity,
    load_date: date,
    rows: list[LandedFileRow],
    started: datetime,
) -> None:
    load = _load_row(contract, entity, load_date, rows, started, "success")
    ledger.record_partition(contract.system, entity.name, load_date, rows, load)


def _load_row(
    contract: SystemContract,
    entity: Entity,
    load_date: date,
    rows: list[LandedFileRow],
    started: datetime,
    status: str,
) -> LoadRow:
    own = [r for r in rows if r.partition_date == load_date.isoformat()]
    return LoadRow(
        system=contract.system,
        entity=entity.name,
        load_date=load_date.isoformat(),
        started_at=started.isoformat(),
        finished_at=now_utc().isoformat(),
        status=status,
        rows_read=sum(r.rows_read for r in own),
        rows_loaded=sum(r.rows_loaded for r in own),
        rows_quarantined=sum(r.rows_quarantined for r in own),
        files=len(rows),
    )


def _rebuild(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    dates: list[date],
    validators: Sequence[RowValidator] | None,
) -> dict[str, LandedFileRow]:
    """Rebuild earlier partitions that a corrected file replaces; return the ledger rows after."""
    for earlier in dates:
        ingest_partition(settings, contract, entity, earlier, validators=validators)
    if not dates:
        return {}
    ledger = Ledger(settings.ledger_path)
    return {row.path: row for row in ledger.files(contract.system, entity.name)}


# --------------------------------------------------------------------------- loading


def _write_partition(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    load_date: date,
    files: list[_Landed],
    validators: Sequence[RowValidator],
) -> dict[str, _Counts]:
    """Stream every file into the partition's aside files, then publish both atomically. The
    entity's raw lock is held from the stamp to the publish (orchestration/locks.py)."""
    system = contract.system
    counts: dict[str, _Counts] = {}
    with (
        writer_lock(raw_entity_lock_path(settings.data_dir, system, entity.name)),
        PartitionWriter(
            raw_partition_path(settings, system, entity.name, load_date), raw_schema(entity)
        ) as raw,
        PartitionWriter(
            quarantine_partition_path(settings, system, entity.name, load_date),
            QUARANTINE_SCHEMA,
            keep_empty=False,
        ) as quarantine,
    ):
        loaded_at = now_utc()
        # Several files in one partition (a correction beside a daily file, two extracts): a
        # key loaded from an earlier file is a duplicate in the later one as well.
        # A live source's extracts hold one version per key each; later runs of the day add
        # newer versions of the same keys, which raw keeps (staging takes the latest).
        keys = _PartitionKeys(entity) if len(files) > 1 and not entity.is_live else None
        checks = [*validators, keys] if keys else list(validators)
        for landed in files:
            for check in checks:  # validators that name the file in their reasons (the gate)
                if hasattr(check, "current_file"):
                    check.current_file = landed.rel
            counts[landed.rel] = _load_file(
                settings,
                contract,
                entity,
                landed,
                load_date,
                loaded_at,
                checks,
                raw,
                quarantine,
            )
        commit_partition(raw, quarantine)
    for check in validators:  # the gate's summary of each file goes to the ledger
        for rel, summary in getattr(check, "summaries", {}).items():
            if rel in counts:
                counts[rel] = replace(counts[rel], gate=summary.to_json())
    return counts


class _PartitionKeys:
    """A validator remembering the primary keys loaded from earlier files of the partition."""

    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.current_file = ""
        self.seen: list[tuple[str, pa.Array]] = []

    def __call__(self, table: pa.Table) -> list[RowFailure]:
        keys = _key_strings(table, self.entity.primary_key)
        failures = []
        for earlier, loaded in self.seen:
            repeated = pc.is_in(keys, value_set=loaded).to_numpy(zero_copy_only=False)
            for index in np.flatnonzero(repeated):
                failures.append(self._failure(int(index), table, earlier))
        failed = {f.index for f in failures}
        kept = np.setdiff1d(np.arange(table.num_rows), np.fromiter(failed, dtype=np.int64))
        self.seen.append((self.current_file, keys.take(pa.array(kept, pa.int64()))))
        return failures

    def _failure(self, index: int, table: pa.Table, earlier: str) -> RowFailure:
        shown = ", ".join(f"{k}={table[k][index].as_py()}" for k in self.entity.primary_key)
        single = len(self.entity.primary_key) == 1
        return RowFailure(
            index,
            self.entity.primary_key[0] if single else None,
            "duplicate_key",
            f"{self.current_file} row {table[SOURCE_ROW][index].as_py()}: duplicate primary key "
            f"({shown}), already loaded from {earlier} in this partition; deliver each record "
            "once",
        )


def _key_strings(table: pa.Table, key: Sequence[str]) -> pa.Array:
    parts = [pc.fill_null(pc.cast(table[k], pa.string()), "\x00null") for k in key]
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _load_file(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    landed: _Landed,
    load_date: date,
    loaded_at: datetime,
    validators: Sequence[RowValidator],
    raw: PartitionWriter,
    quarantine: PartitionWriter,
) -> _Counts:
    try:
        result = read_landed_file(
            landed.path, entity, shared_fields=_shared_fields(contract, entity)
        )
    except UnreadableFile as exc:
        return _reject_unreadable(
            settings, contract, landed, load_date, loaded_at, str(exc), quarantine
        )
    rejected = rejects_table(result.rejects, landed.rel)
    warnings = list(result.warnings)
    if result.missing_columns:
        missing = result.missing_columns[0]
        reason = _missing_reason(
            contract, entity, landed, result.missing_columns, result.found_columns
        )
        bad = reject_file(result.rows, entity, column=missing, rule="missing_column", reason=reason)
        core = _sorted_concat(rejected, bad)
        quarantine.write(quarantine_rows(core, landed.rel, load_date, loaded_at))
        return _Counts("rejected", result.rows_read, 0, core.num_rows, reason)
    rows_read = result.rows_read
    conformed = conform(
        result.rows, entity, system_timezone=contract.timezone, source_file=landed.rel
    )
    del result  # one file's text at a time
    if validators:
        conformed = apply_validators(conformed, validators, source_file=landed.rel)
    if conformed.rejected:
        core = _sorted_concat(rejected, conformed.quarantine)
        quarantine.write(quarantine_rows(core, landed.rel, load_date, loaded_at))
        return _Counts("rejected", rows_read, 0, core.num_rows, conformed.rejected)
    raw.write(with_lineage(conformed.good, entity, landed.rel, load_date, loaded_at))
    core = _sorted_concat(rejected, conformed.quarantine)
    quarantine.write(quarantine_rows(core, landed.rel, load_date, loaded_at))
    return _Counts(
        "loaded",
        rows_read,
        conformed.good.num_rows,
        core.num_rows,
        _summary(core, warnings),
    )


def _shared_fields(contract: SystemContract, entity: Entity) -> frozenset[str]:
    """Top-level fields of files that other entities of the system read too."""
    fields: set[str] = set()
    for other in contract.entities:
        if other.name != entity.name and other.files == entity.files:
            fields |= {c.source_name.split(".")[0] for c in other.columns}
            fields |= {other.unnest} if other.unnest else set()
    return frozenset(fields)


def _reject_unreadable(
    settings: Settings,
    contract: SystemContract,
    landed: _Landed,
    load_date: date,
    loaded_at: datetime,
    problem: str,
    quarantine: PartitionWriter,
) -> _Counts:
    kept = (
        settings.quarantine_dir
        / "_files"
        / contract.system
        / landed.delivered.isoformat()
        / landed.name
    )
    copy_rejected_file(landed.path, kept)
    reason = (
        f"{landed.rel}: unreadable file ({problem}); a copy is kept at "
        f"{kept.relative_to(settings.data_dir).as_posix()}; ask {contract.owner} to re-deliver it"
    )
    # One quarantine row with no record number says the whole file failed; it holds no records,
    # so the file's row counts stay 0 = 0 + 0.
    core = pa.table(
        {
            SOURCE_ROW: pa.array([None], pa.int64()),
            "column_name": pa.array([None], pa.string()),
            "rule": ["unreadable_file"],
            "reason": [reason],
            "raw_record": pa.array([None], pa.string()),
        },
        schema=QUARANTINE_CORE,
    )
    quarantine.write(quarantine_rows(core, landed.rel, load_date, loaded_at))
    return _Counts("rejected", 0, 0, 0, reason)


def _missing_reason(
    contract: SystemContract,
    entity: Entity,
    landed: _Landed,
    missing: tuple[str, ...],
    found: tuple[str, ...],
) -> str:
    named = ", ".join(
        f"{name!r}"
        + (f" (source {src!r})" if (src := entity.column(name).source_name) != name else "")
        for name in missing
    )
    return (
        f"{landed.rel}: declared column(s) {named} missing from the file; columns found: "
        f"{', '.join(found) or 'none'}. The whole file is rejected: a renamed column? Ask "
        f"{contract.owner} to re-deliver with the declared columns, or update sources/"
        f"{contract.system}.yml"
    )


def _sorted_concat(first: pa.Table, second: pa.Table) -> pa.Table:
    if not first.num_rows:
        return second
    if not second.num_rows:
        return first
    return pa.concat_tables([first, second]).sort_by(SOURCE_ROW)


def _summary(core: pa.Table, warnings: list[str]) -> str | None:
    parts = list(warnings)
    if core.num_rows:
        rules = Counter(core["rule"].to_pylist())
        detail = ", ".join(f"{rule}: {n}" for rule, n in sorted(rules.items()))
        parts.append(f"{core.num_rows} record(s) quarantined ({detail})")
    return "; ".join(parts) or None
