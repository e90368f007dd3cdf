"""Source freshness per entity, judged in every load as a Dagster asset check on the raw assets.

Freshness is measured against the load date being loaded, not against the wall clock: as of the
end of load date D (D + 1 day, 00:00 UTC, when D's deliveries are complete), the age of an entity
is the time since the start of the latest load date <= D that delivered it (a raw partition
exists; a file of zero rows counts, a file rejected whole does not). A daily source that delivered
on D is 24 h old, one missed day makes it 48 h, two make it 72 h; the contracts' default 30/54 h
thus warn after one missed day and fail after two. A backfill of last year, a re-run of an old
date, or a test of a world simulated up to 2026-11-27 is judged by what had arrived by that date,
never as stale merely because time passed. An entity that never delivered is as old as the
history (since the first load date of any source).

Why not `dbt source freshness`: it compares `max(loaded_at_field)` with the database's now(), i.e.
with the wall clock and with when the pipeline wrote the rows (`_loaded_at`), so a backfill would
look fresh and a replay of an old world stale. The contracts' thresholds stay in the generated
dbt sources (documentation, and `dbt source freshness` for whoever wants the wall-clock view).

Severity: over `warn_after_hours` the check fails with WARN (the load publishes; the warning is in
the load report and `cdw status`); over `error_after_hours` it fails with ERROR and, being
blocking, stops the dbt build and the publish, leaving serving as it was.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from orchestration.contracts import Entity, SystemContract, load_contracts, load_live_contracts
from orchestration.partitions import load_dates
from orchestration.resources import WarehouseConfig
from orchestration.settings import Settings

FRESHNESS_CHECK = "freshness"


@dataclass(frozen=True)
class EntityFreshness:
    system: str
    entity: str
    as_of: datetime  # end of the load date judged
    latest_load_date: date | None  # latest delivery on or before that load date
    age_hours: float
    warn_after_hours: int
    error_after_hours: int

    @property
    def state(self) -> str:
        if self.age_hours > self.error_after_hours:
            return "error"
        if self.age_hours > self.warn_after_hours:
            return "warn"
        return "ok"


def end_of(load_date: date) -> datetime:
    return datetime.combine(load_date + timedelta(days=1), time(), tzinfo=UTC)


def delivered_dates(settings: Settings, system: str, entity: str) -> list[date]:
    """Load dates with a raw partition of the entity (what was delivered and not rejected)."""
    found = []
    for part in (settings.raw_dir / system / entity).glob("load_date=*/part-0.parquet"):
        try:
            found.append(date.fromisoformat(part.parent.name.removeprefix("load_date=")))
        except ValueError:
            continue
    return sorted(found)


def first_load_date(settings: Settings) -> date | None:
    dates = []
    for folder in settings.raw_dir.glob("*/*/load_date=*"):
        try:
            dates.append(date.fromisoformat(folder.name.removeprefix("load_date=")))
        except ValueError:
            continue
    return min(dates, default=None)


def entity_freshness(
    settings: Settings, system: str, entity: Entity, load_date: date, *, history_start: date
) -> EntityFreshness:
    as_of = end_of(load_date)
    delivered = [d for d in delivered_dates(settings, system, entity.name) if d <= load_date]
    latest = delivered[-1] if delivered else None
    since = datetime.combine(latest or history_start, time(), tzinfo=UTC)
    return EntityFreshness(
        system=system,
        entity=entity.name,
        as_of=as_of,
        latest_load_date=latest,
        age_hours=(as_of - since).total_seconds() / 3600,
        warn_after_hours=entity.freshness.warn_after_hours,
        error_after_hours=entity.freshness.error_after_hours,
    )


def freshness_as_of(
    settings: Settings, contracts: Sequence[SystemContract], load_date: date
) -> list[EntityFreshness]:
    """Every entity of the contracts, judged as of the end of `load_date`."""
    start = min(first_load_date(settings) or load_date, load_date)
    return [
        entity_freshness(settings, contract.system, entity, load_date, history_start=start)
        for contract in contracts
        for entity in contract.entities
    ]


def check_result(fresh: EntityFreshness) -> dg.AssetCheckResult:
    state = fresh.state
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(["raw", fresh.system, fresh.entity]),
        check_name=FRESHNESS_CHECK,
        passed=state == "ok",
        severity=dg.AssetCheckSeverity.ERROR if state == "error" else dg.AssetCheckSeverity.WARN,
        description=_describe(fresh),
        metadata={
            "as_of": fresh.as_of.isoformat(),
            "latest_load_date": str(fresh.latest_load_date or "never"),
            "age_hours": round(fresh.age_hours, 1),
            "warn_after_hours": fresh.warn_after_hours,
            "error_after_hours": fresh.error_after_hours,
            "state": state,
        },
    )


def _describe(fresh: EntityFreshness) -> str:
    latest = fresh.latest_load_date or "never"
    return (
        f"{fresh.system}/{fresh.entity}: latest delivery {latest}, {fresh.age_hours:.0f} h old "
        f"as of {fresh.as_of:%Y-%m-%d %H:%M} UTC (warn after {fresh.warn_after_hours} h, "
        f"error after {fresh.error_after_hours} h)"
    )


def _contracts() -> list[SystemContract]:
    return [*load_contracts(), *load_live_contracts()]


def build_freshness_checks(
    contracts: Sequence[SystemContract] | None = None,
) -> dg.AssetChecksDefinition:
    """One blocking `freshness` check per raw asset, evaluated together in one step per run."""
    contracts = list(contracts) if contracts is not None else _contracts()
    specs = [
        dg.AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=dg.AssetKey(["raw", contract.system, entity.name]),
            blocking=True,
            description=(
                f"Latest delivery as of the end of the load date: WARN after "
                f"{entity.freshness.warn_after_hours} h, blocking ERROR after "
                f"{entity.freshness.error_after_hours} h (contract {contract.system}.yml)."
            ),
        )
        for contract in contracts
        for entity in contract.entities
    ]

    @dg.multi_asset_check(specs=specs, name="source_freshness", can_subset=True)
    def source_freshness(context: dg.AssetCheckExecutionContext, warehouse: WarehouseConfig):
        load_date = date.fromisoformat(_partition_key(context))
        selected = context.selected_asset_check_keys
        for fresh in freshness_as_of(warehouse.settings(), contracts, load_date):
            result = check_result(fresh)
            if dg.AssetCheckKey(result.asset_key, FRESHNESS_CHECK) in selected:
                yield result

    return source_freshness


def _partition_key(context: dg.AssetCheckExecutionContext) -> str:
    # The check is unpartitioned (a multi-asset check takes no partitions_def) but runs inside
    # a load date's run: the run's partition tag names the date being loaded.
    key = context.run.tags.get("dagster/partition")
    if not key:
        raise dg.Failure(
            f"source freshness needs a load date: run it in a run of one `{load_dates.name}` "
            "partition"
        )
    return key
