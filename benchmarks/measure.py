"""Run one phase in a fresh child process and measure it: wall time and peak memory.

Peak RSS is taken two ways and the larger is kept:
- the kernel's `ru_maxrss` of the child as returned by `wait4` (the largest single process of
  the child's tree that was waited for: dbt, or a Python phase);
- the sum of VmRSS over the child's whole process tree, sampled every 0.1 s from /proc (Linux;
  psutil is not a dependency of the project). A sampled sum can miss a spike shorter than 0.1 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    peak_rss_bytes: int
    maxrss_bytes: int  # ru_maxrss from wait4
    tree_rss_bytes: int  # sampled sum over the process tree
    returncode: int
    output: dict[str, Any]  # what the phase wrote to its result file
    log_tail: str


def run_child(
    command: list[str], *, env: dict[str, str], cwd: Path, result_file: Path, log_file: Path
) -> ChildRun:
    """Run `command`; it may write a JSON object to `result_file` (handed over in `output`)."""
    result_file.unlink(missing_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        sampler = _TreeSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    maxrss = int(usage.ru_maxrss) * 1024  # Linux reports KiB
    output = json.loads(result_file.read_text()) if result_file.exists() else {}
    return ChildRun(
        wall_s=wall,
        peak_rss_bytes=max(maxrss, sampler.peak),
        maxrss_bytes=maxrss,
        tree_rss_bytes=sampler.peak,
        returncode=process.returncode,
        output=output,
        log_tail=_tail(log_file),
    )


class _TreeSampler(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, tree_rss(self.root))
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self.join()


def tree_rss(root: int) -> int:
    """Sum of resident memory of `root` and all its descendants, in bytes (0 if unreadable)."""
    total, pending, seen = 0, [root], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss(pid)
        pending += _children(pid)
    return total


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError):
        pass
    return children


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def directory_bytes(path: Path, pattern: str = "*") -> int:
    """Bytes of the files under `path` matching `pattern` (0 when it does not exist)."""
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob(pattern) if p.is_file())
