"""A writer lock for the warehouse: DuckDB allows one writing process per database file.

Dagster pools serialise runs launched by the daemon; this lock also covers runs started from
the CLI or tests, so two loads never meet on the same file.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse writer lock for longer than we were willing to wait."""


@contextmanager
def writer_lock(lock_path: Path, timeout_s: float = 1800.0) -> Iterator[None]:
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
                        f"{lock_path}: another load has been writing the warehouse for over "
                        f"{timeout_s:.0f}s; wait for it to finish or stop it"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
