"""One `uae materialize` per domain at a time, atomically: an exclusive `flock` on `<folder>/<domain>.lock`
(folder: the Dagster home's `locks/`), taken before the command looks for runs in progress and held until
its run ends. The kernel releases it when the process exits, however it exits (kill -9 included), so a
stale lock cannot exist. A second command finds it held and is refused in one line.

The lock covers commands on one machine (one Dagster home); runs launched from the UI or by the automation
are still seen by the instance's run check (cli.materialize, recovery.live_runs_of)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DomainBusy(Exception):
    """Another process holds the domain's run lock; the message names it."""


def lock_path(folder: str | Path, domain: str) -> Path:
    """`<folder>/<domain>.lock`, refused (ValueError) if the name would leave the folder."""
    root = Path(folder).resolve()
    path = (root / f"{domain}.lock").resolve()
    if path.parent != root or "/" in domain or domain in ("", ".", ".."):
        raise ValueError(f"domain name {domain!r} cannot name a lock file in {root}")
    return path


@contextmanager
def domain_run_lock(folder: str | Path, domain: str) -> Iterator[Path]:
    """Hold the domain's run lock for the `with` block, or raise DomainBusy at once (never waits). The
    file stays (removing it would let two processes lock two different files); it holds the holder's pid."""
    path = lock_path(folder, domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise DomainBusy(f"domain {domain!r} has a run in progress (started by `uae materialize`, pid "
                             f"{holder}, lock {path}); wait for it, or stop it in the UI (Runs) or with Ctrl-C "
                             "in its terminal") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
