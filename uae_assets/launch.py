"""Launch a job's run against the code location in workspace.yaml, as the UI's "Materialize" does, and
follow it to the end from the terminal.

A run made this way is the job's run in every view of the UI (the job's Runs tab, the Overview timeline,
re-execution), carries its run config and tags, and runs in its own worker process through the
instance's run launcher. It is launched directly rather than queued, so no daemon is needed; the
instance's pools still keep the DuckDB and MLflow writers one at a time.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.events import DagsterEventType
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from uae_assets.domains import REPO_ROOT, data_dir

TERMINAL = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@contextmanager
def workspace(instance: DagsterInstance, output_log: Path | None = None) -> Iterator[WorkspaceRequestContext]:
    """The code location(s) of workspace.yaml, served the way `dagster dev` serves them. With `output_log`,
    the code server and the run workers it starts write their own output there (children_write_to)."""
    target = WorkspaceFileTarget(paths=[str(REPO_ROOT / "workspace.yaml")])
    with ExitStack() as stack:
        with children_write_to(output_log):
            process = stack.enter_context(WorkspaceProcessContext(
                instance, version="", read_only=False, workspace_load_target=target, code_server_log_level="WARNING"))
        yield process.create_request_context()


@contextmanager
def children_write_to(path: Path | None) -> Iterator[None]:
    """While open, this process's stdout and stderr (fds 1 and 2) are `path`, so the processes started
    meanwhile (the code server, and through it each run's worker) inherit it: their progress bars, library
    warnings and the stack traces a Ctrl-C raises in them go to a log file, not between the run's lines.
    The terminal gets the run's event log (the lines `_describe` prints) and this process's own output."""
    if path is None:
        yield
        return
    import os
    import sys

    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, log):
            os.close(fd)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C while a run was followed: the run was told to stop; what it stored stays."""

    def __init__(self, run_id: str, output_log: Path | None):
        super().__init__(run_id)
        self.run_id, self.output_log = run_id, output_log


@dataclass
class RunOutcome:
    run_id: str
    status: DagsterRunStatus
    failures: list[str] = field(default_factory=list)  # the failing steps' error messages, in order


class SelectionError(ValueError):
    """`--select` names an unknown asset, or an asset whose upstream is neither selected nor stored."""


def check_selection(instance: DagsterInstance, partition: str, assets: list[str]) -> None:
    """Refuse, in one line and before anything runs, a selection Dagster would fail with a stack trace:
    a name that is not an asset of the graph, or an asset whose inputs were never materialized for this
    domain and are not selected with it."""
    from uae_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    materializable = {k.to_user_string(): k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    unknown = [a for a in assets if a not in materializable]
    if unknown:
        raise SelectionError(f"--select {','.join(unknown)}: not an asset of the graph; the assets: "
                             f"{', '.join(sorted(materializable))}")
    missing: dict[str, list[str]] = {}
    for name in assets:
        for parent in graph.get(materializable[name]).parent_keys:
            label = parent.to_user_string()
            if label in assets or not graph.get(parent).is_materializable:
                continue
            if partition not in instance.get_materialized_partitions(parent):
                missing.setdefault(name, []).append(label)
    if missing:
        needs = "; ".join(f"{a} needs {', '.join(sorted(p))}" for a, p in missing.items())
        raise SelectionError(f"--select: {needs}, not materialized yet for domain {partition!r}; add them to "
                             "--select, or run without --select")


def launch_and_wait(instance: DagsterInstance, job_name: str, run_config: dict, tags: dict[str, str],
                    assets: list[str] | None = None, on_message: Callable[[str], None] = print,
                    poll_seconds: float = 1.0, output_log: Path | None = None, clock=None) -> RunOutcome:
    """Create the run from the workspace's job (optionally a subset of its assets), launch it, print its
    step and log events as they come, and return when it ends. Ctrl-C stops the run and raises
    RunInterrupted. The run's own console logger is set to WARNING unless the run config sets it: these
    lines replace its DEBUG stream; with `output_log`, the worker's own output goes to that file; with
    `clock` (run_estimate.RunClock), each materialized asset is followed by the time left for the run."""
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}, **run_config}
    with workspace(instance, output_log) as context:
        location = context.get_code_location(context.code_location_names[0])
        repository = next(iter(location.get_repositories().values()))
        selector = JobSubsetSelector(location.name, repository.name, job_name, None,
                                     asset_selection=[AssetKey(a) for a in assets] if assets else None)
        remote_job = location.get_job(selector)
        plan = location.get_execution_plan(remote_job, run_config, step_keys_to_execute=None, known_state=None,
                                           instance=instance)
        run = instance.create_run(
            job_name=job_name, run_id=None, run_config=run_config,
            resolved_op_selection=remote_job.resolved_op_selection,
            step_keys_to_execute=plan.execution_plan_snapshot.step_keys_to_execute, op_selection=None,
            status=None, root_run_id=None, parent_run_id=None, tags={**remote_job.tags, **tags},
            job_snapshot=remote_job.job_snapshot, execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot, remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_selection=frozenset(selector.asset_selection) if selector.asset_selection else None,
            asset_check_selection=None, asset_graph=repository.asset_graph)
        with ctrl_c_at_safe_points() as ctrl_c:
            instance.launch_run(run.run_id, context)
            try:
                outcome = _follow(instance, run.run_id, on_message, poll_seconds, clock, ctrl_c)
            except KeyboardInterrupt:
                if _stop(instance, run.run_id, ctrl_c=ctrl_c):
                    _end_tracking_killed(run.run_id)
                raise RunInterrupted(run.run_id, output_log) from None
        if any("DagsterExecutionInterruptedError" in f for f in outcome.failures):
            # The terminal's Ctrl-C reached the worker first and ended the run before this process saw it.
            _end_tracking_killed(run.run_id)
            raise RunInterrupted(run.run_id, output_log)
        return outcome


class CtrlC:
    """Ctrl-Cs counted by a SIGINT handler, for loops that check between their steps."""

    def __init__(self) -> None:
        self.count, self.event = 0, threading.Event()

    def __call__(self, signum, frame) -> None:
        self.count += 1
        self.event.set()

    def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or raise KeyboardInterrupt as soon as Ctrl-C was pressed."""
        if self.event.wait(seconds):
            raise KeyboardInterrupt


@contextmanager
def ctrl_c_at_safe_points() -> Iterator[CtrlC]:
    """While following a run, Ctrl-C sets a flag the poll loop checks instead of raising wherever the main
    thread happens to be: raised inside SQLAlchemy closing the event log's connection, it printed that
    library's stack trace before our one line (CI, 2026-12-03). Outside the main thread: left as it is."""
    ctrl_c = CtrlC()
    if threading.current_thread() is not threading.main_thread():
        yield ctrl_c
        return
    previous = signal.signal(signal.SIGINT, ctrl_c)
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(instance: DagsterInstance, run_id: str, wait_seconds: float = 30, ctrl_c: CtrlC | None = None) -> bool:
    """Ask the run to stop (its worker may already be stopping: a terminal's Ctrl-C reaches the whole
    process group) and wait until it has, so that the next command finds no run in progress; whether it
    has. A second Ctrl-C ends the wait (the next command closes a run left behind, recovery.py)."""
    from uae_assets.recovery import worker_died

    with suppress(Exception):  # the code server got the same Ctrl-C and is gone: the worker stops on its own
        instance.run_launcher.terminate(run_id)
    deadline, pressed = time.monotonic() + wait_seconds, ctrl_c.count if ctrl_c else 0
    while time.monotonic() < deadline and not (ctrl_c and ctrl_c.count > pressed):
        run = instance.get_run_by_id(run_id)
        if run is None or run.status in TERMINAL or worker_died(instance, run_id):
            return True  # a run left STARTED by a dead worker is closed by the next command (recovery.py)
        time.sleep(0.5)
    return False


def _end_tracking_killed(run_id: str) -> None:
    """The stopped run's MLflow runs still RUNNING, ended KILLED: its worker ends its training's run so when
    the interruption reaches it, but a worker stopped harder (a second signal while it writes that) leaves
    it RUNNING, and the next command would close it as FAILED."""
    from uae_assets.recovery import end_mlflow_runs

    with suppress(Exception):  # best effort: the next command's recovery ends what is left
        end_mlflow_runs(_mlflow_client(), run_id, "KILLED")


def _follow(instance: DagsterInstance, run_id: str, on_message: Callable[[str], None],
            poll_seconds: float, clock=None, ctrl_c: CtrlC | None = None) -> RunOutcome:
    from uae_assets.recovery import StaleRun, close_run, worker_died

    cursor, failures, checked = None, [], time.monotonic()
    while True:
        connection = instance.get_records_for_run(run_id, cursor=cursor)
        records, cursor = connection.records, connection.cursor
        for record in records:
            line = _describe(record.event_log_entry)
            if line:
                on_message(line)
            event = record.event_log_entry.dagster_event
            if clock is not None and event is not None:
                _tick(clock, event, on_message)
            if event is not None and event.event_type == DagsterEventType.STEP_FAILURE:
                failures.append(f"{event.step_key}: {_error_message(event)}")
            elif event is not None and event.event_type == DagsterEventType.RUN_FAILURE and not failures:
                failures.append(_error_message(event) or "the run failed")  # e.g. its worker was killed
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in TERMINAL and not records:
            died = worker_died(instance, run_id) if run.status == DagsterRunStatus.FAILURE else None
            if died:  # marked failed from outside (the code server saw its worker die): say why
                close_run(instance, StaleRun(run_id, run.tags.get("dagster/partition"), died), _mlflow_client())
                failures = [died, *failures]
            return RunOutcome(run_id, run.status, failures)
        if time.monotonic() - checked > 5:  # a worker killed (OOM, kill -9) never reports its end
            checked = time.monotonic()
            died = worker_died(instance, run_id)
            if died:
                close_run(instance, StaleRun(run_id, run.tags.get("dagster/partition"), died), _mlflow_client())
                on_message(f"run FAILED: {died}")
                return RunOutcome(run_id, DagsterRunStatus.FAILURE, [*failures, died])
        if ctrl_c is None:
            time.sleep(poll_seconds)
        else:
            ctrl_c.wait(poll_seconds)


def _tick(clock, event, on_message: Callable[[str], None]) -> None:
    """Feed the run clock: an asset's first step starting, the asset materialized; the run's time left is
    printed after the step that materialized it says `done`."""
    asset = (event.step_key or "").split(".")[0]
    if event.event_type == DagsterEventType.STEP_START and asset:
        clock.started(asset)
    elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
        clock.pending[asset] = clock.done(event.asset_key.path[-1], asset)
    elif event.event_type == DagsterEventType.STEP_SUCCESS and clock.pending.get(asset):
        on_message(f"{time.strftime('%H:%M:%S')} {clock.pending.pop(asset)}")


def _mlflow_client():
    from uae_assets.resources import MLflowResource

    return MLflowResource().client()


def _describe(entry) -> str | None:
    """One terminal line for the events a user follows: steps starting and ending, and asset log lines."""
    event = entry.dagster_event
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.timestamp))
    if event is None:  # a context.log message from an asset
        return f"{stamp} {entry.step_key or ''}: {entry.user_message}" if entry.level >= 20 else None
    kinds = {DagsterEventType.STEP_START: "started", DagsterEventType.STEP_SUCCESS: "done",
             DagsterEventType.STEP_FAILURE: "FAILED", DagsterEventType.RUN_FAILURE: "run FAILED",
             DagsterEventType.RUN_SUCCESS: "run succeeded", DagsterEventType.RUN_CANCELED: "run canceled"}
    if event.event_type == DagsterEventType.ENGINE_EVENT and "blocked by limit for pool" in (event.message or ""):
        pool = event.message.rsplit(" ", 1)[-1]
        return (f"{stamp} {event.step_key} waits: another run holds the `{pool}` pool (one writer at a time); "
                "it starts when that run's step ends")
    if event.event_type not in kinds:
        return None
    failed = event.event_type in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE)
    if failed and "DagsterExecutionInterruptedError" in _error_message(event):
        return None  # a Ctrl-C: the CLI says it once (RunInterrupted), not as a failure
    detail = f" ({_error_message(event)})" if failed and _error_message(event) else ""
    return f"{stamp} {event.step_key or ''} {kinds[event.event_type]}{detail}".replace("  ", " ")


DISK_FULL = ("No space left on device", "database or disk is full", "Errno 28", "ENOSPC")
# SQLAlchemy's detail lines after its message: the statement, its parameters, a link; none says the cause.
DETAIL_LINE = re.compile(r"^(\(Background on this error at: \S+\)|\[SQL: .*|\[parameters: .*)$")


def _error_message(event) -> str:
    error = getattr(event.event_specific_data, "error", None)
    chain, seen = [], error
    while seen is not None:
        chain.append(seen)
        seen = seen.cause or getattr(seen, "context", None)
    if any(mark in (e.message or "") for e in chain for mark in DISK_FULL):
        return (f"the disk is full (No space left on device) under {data_dir()}: free space there, then run the "
                "same command; the labels, models and indexes stored so far are kept")
    while error is not None and error.cause is not None and "dagster" in (error.cls_name or "").lower():
        error = error.cause  # Dagster wraps the user's exception: show the user's one
    if error is None:
        return event.message or ""
    lines = [line for line in error.message.strip().splitlines() if not DETAIL_LINE.match(line.strip())]
    return (lines or [""])[-1]
