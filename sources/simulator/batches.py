"""Delivered files before they are written: which records of which entities go into which file.

A batch is one file in one load-date folder. CRM's three tables share one SQLite file and
webshop orders carry their lines, so a batch can hold several entities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.frames import Records, Rows
from simulator.specs import EntitySpec, spec
from simulator.timeline import Timeline, iso_dates

# system -> files, each with the entities it holds (the first one names the file)
FILE_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "crm": (("accounts", "contacts", "contact_preferences"),),
    "erp": (("customers",), ("invoices",), ("invoice_lines",), ("credit_notes",)),
    "webshop": (("users",), ("orders", "order_lines")),
    "pos": (("stores",), ("loyalty_cards",), ("basket_lines",)),
    "support": (("tickets",),),
    "marketing": (("campaigns",), ("campaign_events",)),
    "subscriptions": (("plans",), ("subscribers",), ("subscription_events",), ("charges",)),
    "reference": (("fx_rates",), ("products",)),
}


@dataclass
class Batch:
    system: str
    entities: tuple[str, ...]
    load_day: int
    name: str
    records: dict[str, Records]
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return str(iso_dates(np.array([self.load_day]))[0])

    @property
    def path(self) -> str:
        """Relative to landing/."""
        return f"{self.system}/{self.folder}/{self.name}"

    @property
    def main(self) -> EntitySpec:
        return spec(self.system, self.entities[0])

    def rows(self, entity: str | None = None) -> int:
        records = self.records.get(entity or self.entities[0], {})
        if isinstance(records, Rows):
            return records.count
        return len(next(iter(records.values()))) if records else 0


INITIAL_ONLY: frozenset[str] = frozenset({"products", "stores", "plans"})


def split_batches(system: str, entities: dict[str, Records], timeline: Timeline) -> list[Batch]:
    """One batch per file group and load day (empty files too: a quiet day still delivers;
    master data that never changes is only in the initial extract)."""
    batches: list[Batch] = []
    days = np.arange(timeline.first_load_day, timeline.end_day + 1)
    for group in FILE_GROUPS[system]:
        if group[0] not in entities:
            continue
        main = entities[group[0]]
        for day in days:
            mask = main["_load_day"] == day
            if not mask.any() and group[0] in INITIAL_ONLY:
                continue
            records: dict[str, Records] = {group[0]: Rows(main, np.flatnonzero(mask))}
            if group == ("orders", "order_lines"):
                records["order_lines"] = entities["order_lines"]  # joined by `_order` on write
            for other in group[1:]:
                if other == "order_lines":
                    continue
                table = entities[other]
                records[other] = Rows(table, np.flatnonzero(table["_load_day"] == day))
            date_text = str(iso_dates(np.array([day]))[0])
            batches.append(
                Batch(system, group, int(day), spec(system, group[0]).file_name(date_text), records)
            )
    return batches
