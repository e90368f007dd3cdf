"""Support tickets: complaints (poor satisfaction) shortly before many churns, and everyday
questions. Each ticket has an 'open' version and, once resolved, a 'resolved' version."""

from __future__ import annotations

import numpy as np

from simulator.frames import Records, numbered, repeat_index, repeated
from simulator.people import People
from simulator.timeline import DAY, Timeline

EVERYDAY = ("question", "delivery", "billing", "technical")


def draw_tickets(people: People, rng: np.random.Generator, timeline: Timeline) -> Records:
    complaint = np.flatnonzero(people["complaint_day"] >= 0)
    tenure = timeline.end_day - people["acquired_day"]
    counts = rng.poisson(0.35 * tenure / 365.0)
    owner, _ = repeat_index(counts)
    day = people["acquired_day"][owner] + (rng.random(len(owner)) * tenure[owner]).astype(np.int64)
    customer = np.concatenate([complaint, owner])
    opened_day = np.concatenate([people["complaint_day"][complaint], day])
    n_c = len(complaint)
    n = len(customer)
    category = np.concatenate(
        [
            repeated(n_c, "complaint"),
            rng.choice(
                np.array((*EVERYDAY, "cancellation"), dtype=object),
                len(owner),
                p=[0.45, 0.25, 0.15, 0.12, 0.03],
            ),
        ]
    )
    # complaints end in poor scores; everyday tickets mostly in good ones
    score = np.where(
        np.arange(n) < n_c,
        rng.choice([1, 2, 2, 3], n),
        rng.choice([1, 2, 3, 4, 5], n, p=[0.04, 0.06, 0.15, 0.35, 0.40]),
    )
    answered = rng.random(n) < 0.6
    opened = opened_day * DAY + rng.integers(6 * 3600, 22 * 3600, n)
    resolved = opened + rng.integers(1800, 5 * DAY, n)
    order = np.lexsort((customer, opened))
    customer, opened, resolved, category, score, answered = (
        a[order] for a in (customer, opened, resolved, category, score, answered)
    )
    priority = np.where(
        category == "complaint",
        rng.choice(np.array(["high", "urgent"], dtype=object), n),
        rng.choice(np.array(["low", "normal", "high"], dtype=object), n, p=[0.3, 0.6, 0.1]),
    )
    resolution = np.where(
        category == "complaint",
        rng.choice(np.array(["apology sent", "voucher issued", "refund issued"], dtype=object), n),
        rng.choice(np.array(["answered", "replacement sent", "fixed"], dtype=object), n),
    )
    return {
        "ticket_id": numbered("T-", np.arange(1, n + 1) + 40_000_000, 8),
        "_customer": customer,
        "category": category,
        "priority": priority.astype(object),
        "opened_at": opened,
        "_resolved_at": resolved,
        "_csat": np.where(answered, score, -1),
        "_resolution": resolution.astype(object),
    }


def ticket_versions(tickets: Records, timeline: Timeline) -> Records:
    """'open' when opened; 'resolved' (with score) when resolved, if that happened yet."""
    n = len(tickets["ticket_id"])
    done = tickets["_resolved_at"] < (timeline.end_day + 1) * DAY
    idx = np.concatenate([np.arange(n), np.flatnonzero(done)])
    is_resolved = np.concatenate([np.zeros(n, dtype=bool), np.ones(int(done.sum()), dtype=bool)])
    out = {k: v[idx] for k, v in tickets.items()}
    out["status"] = np.where(is_resolved, "resolved", "open").astype(object)
    out["resolved_at"] = np.where(is_resolved, out["_resolved_at"], -1)
    out["satisfaction_score"] = np.where(is_resolved, out["_csat"], -1)
    out["resolution"] = np.where(is_resolved, out["_resolution"], None).astype(object)
    out["updated_at"] = np.where(is_resolved, out["_resolved_at"], out["opened_at"])
    out["_day"] = out["updated_at"] // DAY
    return out
