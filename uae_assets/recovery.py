"""Runs whose worker died (kill -9, out of memory, a reboot) are found and closed before the next run starts,
so that nothing they held blocks it: the run is marked failed, its pool slots (duckdb, mlflow) are freed
and its MLflow runs are ended as KILLED. What they computed stays: labels are committed in chunks, and the
next run reuses every stored label and trains again.

Dagster's run monitoring (on in dagster_home/dagster.yaml) frees the slots of finished runs and times out
runs that never start, but the default run launcher cannot tell that a worker process died, and
`uae materialize` runs without the daemon; so the CLI checks the worker of every unfinished run launched
from this machine: its pid is in the run's first engine event.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
HOST_TAG = "uae/host"
START_TIMEOUT_SECONDS = 300  # a run with no worker pid after this long never started


@dataclass(frozen=True)
class StaleRun:
    run_id: str
    partition: str | None
    reason: str


def host_tags() -> dict[str, str]:
    """Tags for a run launched here: the host whose processes recovery may check."""
    return {HOST_TAG: socket.gethostname()}


def worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=20).records:
        data = record.event_log_entry.dagster_event.event_specific_data
        pid = getattr(data, "metadata", {}).get("pid") if data is not None else None
        if pid is not None:
            return int(pid.value)
    return None


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed worker stays one until its parent reaps it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): trust kill(0)


def worker_died(instance: DagsterInstance, run_id: str) -> str | None:
    """Why the run's worker is known to be gone (for a run in progress), else None."""
    pid = worker_pid(instance, run_id)
    return None if pid is None or _alive(pid) else f"its run worker (pid {pid}) is gone"


def find_stale_runs(instance: DagsterInstance) -> list[StaleRun]:
    """Unfinished runs launched from this host whose worker process is gone (or never appeared)."""
    stale = []
    for record in instance.get_run_records(RunsFilter(statuses=UNFINISHED, tags=host_tags())):
        run = record.dagster_run
        pid = worker_pid(instance, run.run_id)
        started = record.start_time or record.create_timestamp.timestamp()
        if pid is None and time.time() - started > START_TIMEOUT_SECONDS:
            reason = f"no run worker started within {START_TIMEOUT_SECONDS} s"
        elif pid is not None and not _alive(pid):
            reason = f"its run worker (pid {pid}) is gone"
        else:
            continue
        stale.append(StaleRun(run.run_id, run.tags.get("dagster/partition"), reason))
    return stale


def close_stale_runs(instance: DagsterInstance, mlflow_client=None) -> list[StaleRun]:
    """Mark stale runs failed, free their pool slots, end their MLflow runs as KILLED; returns them. Also
    frees the slots that finished runs still hold (what the daemon does when it runs) and ends the MLflow
    runs that ended Dagster runs left RUNNING."""
    stale = find_stale_runs(instance)
    for item in stale:
        close_run(instance, item, mlflow_client)
    free_slots_of_finished_runs(instance)
    if mlflow_client is not None:
        end_orphaned_mlflow_runs(instance, mlflow_client)
    return stale


def close_run(instance: DagsterInstance, item: StaleRun, mlflow_client=None) -> None:
    run = instance.get_run_by_id(item.run_id)
    if run is not None and not run.is_finished:
        instance.report_run_failed(run, f"closed by uae: {item.reason}")
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(item.run_id)
    if mlflow_client is not None:
        end_mlflow_runs(mlflow_client, item.run_id)


def free_slots_of_finished_runs(instance: DagsterInstance) -> list[str]:
    """Pool slots still held by runs that have ended (a worker killed while it held the duckdb or mlflow
    slot): freed, so the next run is not blocked on them. Returns those runs' ids."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = storage.get_concurrency_run_ids()
    freed = []
    for run_id in holders:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed


def end_mlflow_runs(client, dagster_run_id: str, status: str = "KILLED") -> int:
    """MLflow runs a dead Dagster run left RUNNING, ended as `status` (so `uae runs` and the UI do not list
    them as in progress)."""
    ended = 0
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id],
                                      filter_string=f"tags.dagster_run_id = '{dagster_run_id}'"):
            if run.info.status == "RUNNING":
                client.set_terminated(run.info.run_id, status=status)
                ended += 1
    return ended


def end_orphaned_mlflow_runs(instance: DagsterInstance, client) -> list[str]:
    """MLflow runs still RUNNING whose Dagster run has ended, ended as FAILED (a training whose own ending
    could not be written: the disk was full when it failed), or KILLED where the Dagster run was canceled
    (a user stopped it). Returns their Dagster run ids."""
    ended = []
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"):
            dagster_run = instance.get_run_by_id(run.data.tags.get("dagster_run_id", ""))
            if dagster_run is not None and dagster_run.is_finished:
                canceled = dagster_run.status == DagsterRunStatus.CANCELED
                client.set_terminated(run.info.run_id, status="KILLED" if canceled else "FAILED")
                ended.append(dagster_run.run_id)
    return ended


def live_runs_of(instance: DagsterInstance, partition: str) -> list[str]:
    """Runs of this domain that are in progress (after stale ones were closed)."""
    return [r.dagster_run.run_id for r in instance.get_run_records(
        RunsFilter(statuses=UNFINISHED + [DagsterRunStatus.QUEUED], tags={"dagster/partition": partition}))]
