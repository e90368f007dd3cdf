"""The calendar of a simulated world: history start, first load date (initial extract) and end.

Dates are handled as numpy `datetime64[D]`, timestamps as int64 seconds since the epoch (UTC),
because every bulk computation in the simulator is vectorised over numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

DAY = 86_400


@dataclass(frozen=True)
class Timeline:
    history_start: date
    first_load: date
    end: date

    @classmethod
    def build(cls, end: date, days: int, history_months: int) -> Timeline:
        first_load = end - timedelta(days=days)
        month = first_load.month - 1 - history_months
        year = first_load.year + month // 12
        start = date(year, month % 12 + 1, min(first_load.day, 28))
        return cls(history_start=start, first_load=first_load, end=end)

    @property
    def start_day(self) -> int:
        return day_number(self.history_start)

    @property
    def first_load_day(self) -> int:
        return day_number(self.first_load)

    @property
    def end_day(self) -> int:
        return day_number(self.end)

    @property
    def load_dates(self) -> list[date]:
        return [
            self.first_load + timedelta(days=i)
            for i in range((self.end - self.first_load).days + 1)
        ]

    @property
    def all_days(self) -> np.ndarray:
        """Every calendar day of the world, history start to end, as day numbers."""
        return np.arange(self.start_day, self.end_day + 1, dtype=np.int64)


def day_number(value: date) -> int:
    return (value - date(1970, 1, 1)).days


def day_date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=int(day))


def iso_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers to 'YYYY-MM-DD' strings."""
    return np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")
