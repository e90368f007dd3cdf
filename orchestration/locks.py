"""Writer locks between processes (an exclusive `flock` on a lock file).

The warehouse: DuckDB allows one writing process per database file. Dagster pools serialise runs
launched by the daemon; this lock also covers runs started from the CLI or tests, so two loads
never meet on the same file.

A raw entity: the incremental models read the raw rows stamped (`_loaded_at`) after their newest
row, so the partitions of one entity must become visible in the order of their stamps. A
partition is stamped when its writing starts and appears when it ends; two loads of one entity
at once (two load dates of a backfill) could otherwise show the later stamp first, and a build
between them would leave the other below its watermark for good.

A new Dagster home: its `dagster.yaml` and instance storage are made by one process at a time
(orchestration/cli.py).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another process holds a writer lock for longer than we were willing to wait."""


@contextmanager
def writer_lock(lock_path: Path, timeout_s: float = 1800.0, poll_s: float = 0.5) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    with lock_path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"{lock_path}: another process has held it for over "
                        f"{timeout_s:.0f}s; wait for it to finish or stop it"
                    ) from None
                time.sleep(poll_s)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def raw_entity_lock_path(data_dir: Path, system: str, entity: str) -> Path:
    """The lock a load of `system`.`entity` holds from stamping its partition to publishing it."""
    return data_dir / "locks" / f"raw-{system}-{entity}.lock"
