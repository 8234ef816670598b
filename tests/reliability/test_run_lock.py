"""One `uae materialize` per domain at a time, atomically (issue #27: two started in the same second both
ran): processes racing for a domain's run lock, exactly one wins; the others are refused at once with the
message that names the holder; a lock is free again when its holder exits, even by kill -9."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from uae_assets.run_lock import DomainBusy, domain_run_lock, lock_path


def _contender(folder: str, domain: str, start, results, hold_s: float) -> None:
    start.wait()
    try:
        with domain_run_lock(folder, domain):
            results.put(("won", os.getpid(), ""))
            time.sleep(hold_s)
    except DomainBusy as exc:
        results.put(("refused", os.getpid(), str(exc)))


def test_of_processes_started_at_once_exactly_one_proceeds(tmp_path):
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_contender, args=(str(tmp_path), "good", start, results, 1.5)) for _ in range(6)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    won = [o for o in outcomes if o[0] == "won"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(won) == 1 and len(refused) == 5
    for _, _, message in refused:
        assert "\n" not in message and message.startswith("domain 'good' has a run in progress")
        assert "wait for it, or stop it" in message


def test_other_domains_are_not_held_and_a_released_lock_is_free(tmp_path):
    with domain_run_lock(tmp_path, "good"):
        with domain_run_lock(tmp_path, "other"):
            pass
        with pytest.raises(DomainBusy, match=rf"pid {os.getpid()}"):
            _in_child(tmp_path, "good")
    with domain_run_lock(tmp_path, "good"):
        pass


def _in_child(folder, domain) -> None:
    """Try the lock from another process (flock is per open file: the same process would not conflict)."""
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(1), ctx.Queue()
    p = ctx.Process(target=_contender, args=(str(folder), domain, start, results, 0))
    p.start()
    kind, _, message = results.get(timeout=30)
    p.join(timeout=30)
    if kind == "refused":
        raise DomainBusy(message)


def test_a_killed_holder_frees_the_lock(tmp_path):
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(1), ctx.Queue()
    holder = ctx.Process(target=_contender, args=(str(tmp_path), "good", start, results, 60))
    holder.start()
    assert results.get(timeout=30)[0] == "won"
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(timeout=30)
    with domain_run_lock(tmp_path, "good"):  # no stale lock to clean up
        pass


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ""])
def test_a_domain_name_cannot_name_a_lock_outside_the_folder(tmp_path, name):
    with pytest.raises(ValueError, match="cannot name a lock file"):
        lock_path(tmp_path / "locks", name)
