"""kill -9 of a run's worker while it labels, and while it trains; then `uae materialize` again, with no
manual step: the dead run is closed (failed, pool slots freed, its MLflow run KILLED), the labels it
committed are kept, and the new run completes."""

import os
import signal
import time

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from uae_assets.recovery import worker_pid

pytestmark = pytest.mark.slow


def _latest_run(world):
    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        return runs[0].run_id if runs else None


def _wait_for_log(world, run_id: str, fragment: str, timeout: float = 300) -> int:
    """Wait until the run logs a message containing `fragment`; return its worker pid."""
    os.environ["DAGSTER_HOME"] = world.env["DAGSTER_HOME"]
    deadline = time.time() + timeout
    with DagsterInstance.get() as instance:
        while time.time() < deadline:
            for record in instance.get_records_for_run(run_id).records:
                if fragment in (record.event_log_entry.user_message or ""):
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
    proc = world.popen("materialize", "--config", str(config))
    deadline = time.time() + 120
    run_id = None
    while run_id is None and time.time() < deadline:
        run_id = _latest_run(world)
        time.sleep(0.5)
    assert run_id, "no run was created"
    pid = _wait_for_log(world, run_id, fragment)
    os.kill(pid, signal.SIGKILL)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1 and f"error: its run worker (pid {pid}) is gone" in output, output[-3000:]
    return run_id, output


def test_kill_during_labeling_then_rerun_completes_and_keeps_the_labels(world):
    config = world.run_config(candidate_sets={"k": 8}, utility_labels={"chunk_pairs": 16})
    killed, _ = _kill_while(world, config, "utility labels:")
    assert _status(world, killed) == DagsterRunStatus.FAILURE  # closed: it blocks nothing
    rerun = world.uae("materialize", "--config", str(config))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    labels = _metadata(world, "utility_labels")
    assert labels["pairs_reused"] > 0  # what the killed run committed was kept, not relabeled
    assert labels["pairs_reused"] + labels["pairs_labeled_now"] == labels["pairs_total"]


def test_kill_during_training_then_rerun_completes_and_ends_the_mlflow_run(world):
    from mlflow import MlflowClient

    long_training = world.run_config(uae_encoder={"epochs": 40})  # long enough to be killed mid-way
    killed, _ = _kill_while(world, long_training, "training steps:")
    assert _status(world, killed) == DagsterRunStatus.FAILURE
    rerun = world.uae("materialize", "--config", str(world.run_config()))  # same labels, a short training
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    labels = _metadata(world, "utility_labels")
    assert labels["teacher_requests"] == 0  # every label survived the kill
    uri = f"sqlite:///{world.root / 'data' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("uae-good").experiment_id])
    statuses = {r.data.tags.get("dagster_run_id"): r.info.status for r in runs}
    assert statuses[killed] == "KILLED" and "RUNNING" not in statuses.values()
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
