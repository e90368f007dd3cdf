"""The benchmark worlds: simulator size, days and seed, and the targets they are judged by."""

from __future__ import annotations

from dataclasses import dataclass

SEED = 20261128
DAYS = 7


@dataclass(frozen=True)
class Scenario:
    scale: str
    customers: int
    days: int = DAYS
    seed: int = SEED


SCENARIOS = {
    "S": Scenario("S", 10_000),
    "M": Scenario("M", 100_000),
    "L": Scenario("L", 1_000_000),
    "XL": Scenario("XL", 10_000_000),  # for a bigger machine than the 2-core target
}


def scenario(scale: str, customers: int | None = None) -> Scenario:
    """The named scenario, or a custom size (`--customers`) under the name `custom-<n>`."""
    if customers is not None:
        return Scenario(f"custom-{customers}", customers)
    return SCENARIOS[scale.upper()]
