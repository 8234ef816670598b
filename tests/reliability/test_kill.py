"""A run stopped the ways runs stop: kill -9 of its worker while it labels and while it trains, and Ctrl-C
as a terminal sends it; then `uae materialize` again, with no manual step: the stopped run is closed
(failed, pool slots freed, its MLflow run KILLED), the labels it committed are kept, and the new run
completes. Ctrl-C prints one line (what was interrupted, what is kept, the command to resume) and exits
130: no stack traces, no progress bars after it. One world serves the four stops: each is under a minute of
startup, labeling and training on this CPU."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from tests.reliability.world import REPO
from uae_assets.recovery import worker_pid

pytestmark = pytest.mark.slow


def _new_run(world, started: float) -> str:
    """The run the command started at `started` (time.time()) created, once it exists."""
    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    deadline = time.time() + 120
    while time.time() < deadline:
        with DagsterInstance.get() as instance:
            runs = instance.get_runs(limit=1)
            if runs and instance.get_run_record_by_id(runs[0].run_id).create_timestamp.timestamp() >= started:
                return runs[0].run_id
        time.sleep(0.5)
    raise AssertionError("no run was created")


def _wait_for_log(world, run_id: str, fragment: str, timeout: float = 300) -> int:
    """Wait until the run logs a message matching the regex `fragment`; return its worker pid."""
    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    deadline = time.time() + timeout
    with DagsterInstance.get() as instance:
        while time.time() < deadline:
            for record in instance.get_records_for_run(run_id).records:
                if re.search(fragment, record.event_log_entry.user_message or ""):
                    return worker_pid(instance, run_id)
            time.sleep(0.5)
    raise AssertionError(f"run {run_id} never logged {fragment!r}")


def _metadata(world, key: str) -> dict:
    from dagster import AssetKey

    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey(key))
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def _status(world, run_id: str) -> DagsterRunStatus:
    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    with DagsterInstance.get() as instance:
        return instance.get_run_by_id(run_id).status


def _kill_while(world, config, fragment: str) -> tuple[str, str]:
    """Start `uae materialize`, kill -9 its run's worker once the run logs `fragment`; the run id and what
    that first command printed (it must notice the death and stop, not wait forever)."""
    started = time.time() - 1
    proc = world.popen("materialize", "--config", str(config))
    run_id = _new_run(world, started)
    pid = _wait_for_log(world, run_id, fragment)
    os.kill(pid, signal.SIGKILL)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1 and f"error: its run worker (pid {pid}) is gone" in output, output[-3000:]
    return run_id, output


def _ctrl_c_while(world, config, fragment: str) -> tuple[str, subprocess.CompletedProcess]:
    """Start `uae materialize` as a terminal's foreground job and press Ctrl-C (SIGINT to its whole process
    group: the CLI, the code server and the run's worker) once the run logs `fragment`."""
    started = time.time() - 1
    proc = subprocess.Popen([sys.executable, "-m", "uae_assets.cli", "materialize", "--config", str(config)],
                            env=world.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, like a terminal's foreground job
    run_id = _new_run(world, started)
    _wait_for_log(world, run_id, fragment)
    time.sleep(2)  # a few steps in
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=180)
    return run_id, subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _chunked(world) -> int:
    """Labeled pairs committed in chunks, baselines not counted (labeling writes Parquet chunks; the merge
    step stores them in DuckDB), so that it compares with utility_labels' `pairs_reused`."""
    import duckdb

    parts = world.root / "data" / "labels.shards"
    if not any(parts.rglob("*.parquet")):
        return 0
    with duckdb.connect() as con:
        return con.execute("SELECT count(DISTINCT (query_id, passage_id)) FROM read_parquet(?) WHERE kind = 'label'",
                           [f"{parts}/**/*.parquet"]).fetchone()[0]


def _assert_one_line(world, run_id: str, ctrl_c: subprocess.CompletedProcess) -> None:
    """Ctrl-C's output: exit 130, one `interrupted:` line last, naming the run, what is kept and the command
    to resume; no stack traces; the run ended."""
    out = ctrl_c.stdout + ctrl_c.stderr
    assert ctrl_c.returncode == 130, out[-3000:]
    for noise in ("Traceback", "DagsterExecutionInterruptedError", "KeyboardInterrupt"):
        assert noise not in out, out[-3000:]
    last = ctrl_c.stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted:") and run_id in last, out[-3000:]
    assert "labels" in last and "uae materialize" in last, last  # what is kept, and how to resume
    assert sum(line.startswith("interrupted") for line in ctrl_c.stderr.splitlines()) == 1, out[-3000:]
    assert _status(world, run_id) in (DagsterRunStatus.CANCELED, DagsterRunStatus.FAILURE)


def test_a_run_killed_interrupted_and_killed_again_resumes_each_time(world):
    """One world, four stops, each followed by the next `uae materialize` with no manual step: kill -9 while
    it labels (the committed labels are kept), Ctrl-C while it labels and while it trains (one line, exit
    130, labels kept), kill -9 while it trains (its MLflow run KILLED); the last run completes and the teacher
    labeled each pair once."""
    from mlflow import MlflowClient

    short = world.run_config(candidate_sets={"k": 8}, utility_labels={"chunk_pairs": 16})
    long = world.run_config(candidate_sets={"k": 8}, utility_labels={"chunk_pairs": 16},
                            uae_encoder={"epochs": 40})  # long enough to be stopped mid-way

    killed_labeling, _ = _kill_while(world, short, r"utility labels: \d+/")  # counted: a chunk is committed
    assert _status(world, killed_labeling) == DagsterRunStatus.FAILURE  # closed: it blocks nothing
    after_kill = _chunked(world)
    assert after_kill > 0

    interrupted_labeling, ctrl_c = _ctrl_c_while(world, short, r"utility labels: \d+/")
    _assert_one_line(world, interrupted_labeling, ctrl_c)
    after_ctrl_c = _chunked(world)
    assert after_ctrl_c > after_kill  # its committed chunks kept beside the killed run's

    interrupted, ctrl_c = _ctrl_c_while(world, long, r"training steps: \d+/")
    labels = _metadata(world, "utility_labels")  # materialized by the interrupted run, before training
    assert labels["pairs_reused"] >= after_ctrl_c  # what both stopped runs committed was kept, not relabeled
    assert labels["pairs_reused"] + labels["pairs_labeled_now"] == labels["pairs_total"]
    _assert_one_line(world, interrupted, ctrl_c)

    killed_training, _ = _kill_while(world, long, r"training steps: \d+/")
    assert _status(world, killed_training) == DagsterRunStatus.FAILURE

    rerun = world.uae("materialize", "--config", str(short))  # the same labels, a short training
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _metadata(world, "utility_labels")["teacher_requests"] == 0  # every label survived the stops
    uri = f"sqlite:///{world.root / 'data' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("uae-good").experiment_id])
    statuses = {r.data.tags.get("dagster_run_id"): r.info.status for r in runs}
    assert statuses[interrupted] == "KILLED" and statuses[killed_training] == "KILLED", statuses
    assert "RUNNING" not in statuses.values()
    assert [str(v.version) for v in client.search_model_versions("name = 'uae-encoder-good'")] == ["1"]


def test_a_run_left_started_by_a_dead_worker_is_closed_by_the_next_command(world):
    """When nothing watched the run (its terminal was closed too), the next `uae materialize` closes it:
    failed, its pool slots freed, so the new run is not blocked."""
    from dagster import MetadataValue
    from dagster._core.events import EngineEventData
    from dagster._core.storage.dagster_run import DagsterRun

    from uae_assets.recovery import close_stale_runs, host_tags

    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)  # a pid that no longer exists
    with DagsterInstance.get() as instance:
        run = instance.add_run(DagsterRun(job_name="uae_pipeline", run_id="deadbeef-0000-0000-0000-000000000000",
                                          status=DagsterRunStatus.STARTED,
                                          tags={"dagster/partition": "good", **host_tags()}))
        instance.report_engine_event("Started process for run", run,
                                     EngineEventData(metadata={"pid": MetadataValue.text(str(dead))}))
        instance.event_log_storage.set_concurrency_slots("duckdb", 1)
        claim = instance.event_log_storage.claim_concurrency_slot("duckdb", run.run_id, "utility_labels")
        assert claim.is_claimed
        closed = close_stale_runs(instance)
        assert [c.run_id for c in closed] == [run.run_id] and "is gone" in closed[0].reason
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info("duckdb").active_slot_count == 0


def test_a_training_left_running_by_an_ended_run_is_killed_if_canceled_and_failed_otherwise(world):
    """An MLflow run its worker could not end (stopped harder than the interruption it handles, or the disk
    full when it failed) is ended by the next command: KILLED where the user canceled the Dagster run,
    FAILED where it failed; never left RUNNING."""
    from dagster._core.storage.dagster_run import DagsterRun
    from mlflow import MlflowClient

    from uae_assets.recovery import close_stale_runs

    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    store = world.root / "data" / "mlflow"
    store.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{store / 'orphans.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("orphans", artifact_location=str(store / "orphans"))
    trainings = {}
    with DagsterInstance.get() as instance:
        for status in (DagsterRunStatus.CANCELED, DagsterRunStatus.FAILURE, DagsterRunStatus.SUCCESS):
            run = instance.add_run(DagsterRun(job_name="uae_pipeline", status=status))
            trainings[status] = client.create_run(experiment, tags={"dagster_run_id": run.run_id}).info.run_id
        close_stale_runs(instance, client)
    ended = {status: client.get_run(run_id).info.status for status, run_id in trainings.items()}
    assert ended == {DagsterRunStatus.CANCELED: "KILLED", DagsterRunStatus.FAILURE: "FAILED",
                     DagsterRunStatus.SUCCESS: "FAILED"}, ended
