"""utility_labels in shards on a real Dagster instance (sqlite, temporary DAGSTER_HOME), real DuckDB and
Parquet, and tiny random models: two shards under the multiprocess executor store exactly the labels that
one shard stores in process, and their two label_shard steps ran at the same time, in two processes.

The teacher scores one request per forward pass (batch_size=1) so that the floats can be compared for
equality: which requests share a padded batch depends on the chunking (tests/labeling/test_shards.py).
"""

import json

import duckdb
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, execute_job, reconstructable

from tests.helpers import REPO, synthetic_qasper
from uae_assets.definitions import defs

pytestmark = pytest.mark.slow

UP_TO_LABELS = [AssetKey(k) for k in ("raw_corpus", "passages", "queries", "candidate_sets", "utility_labels")]
COLUMNS = "teacher_id, query_id, passage_id, ll_with, ll_without, n_answer_tokens, utility, input_sha"


def pipeline_under_uae_executor():
    """The uae_pipeline job with the executor $UAE_EXECUTOR names (reconstructable: each step process
    imports this module and calls it again)."""
    from uae_assets.definitions import _executor

    return defs.resolve_job_def("uae_pipeline").with_executor_def(_executor())


@pytest.fixture
def domain(tmp_path, monkeypatch, tiny_student_dir, tiny_teacher_dir):
    (tmp_path / "alpha.json").write_text(json.dumps(synthetic_qasper(100)))
    (tmp_path / "domains.yaml").write_text("domains:\n  alpha:\n    path: alpha.json\n")
    monkeypatch.setenv("UAE_DOMAINS", str(tmp_path / "domains.yaml"))
    monkeypatch.setenv("UAE_PROGRESS_SECONDS", "0")
    # One torch thread per process, in this one and in the step processes: two shards on a small machine do
    # not fight over its cores (threads spinning on busy cores make a forward pass 100x slower), and every
    # process computes its matrix products the same way.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    config = {"resources": {"teacher": {"config": {"model": str(tiny_teacher_dir), "batch_size": 1}},
                            "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}},
              "ops": {"candidate_sets": {"config": {"k": 4, "max_train_queries": 0}}}}
    yield tmp_path, monkeypatch, config
    torch.set_num_threads(threads)


def instance_in(root):
    home = root / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())  # the shipped config
    instance = DagsterInstance.local_temp(str(home))
    instance.add_dynamic_partitions("domain", ["alpha"])
    return instance


def stored(db) -> tuple[list[tuple], list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute(f"SELECT {COLUMNS} FROM utility_labels ORDER BY query_id, passage_id").fetchall(),
                con.execute("SELECT teacher_id, query_id, ll_without, n_answer_tokens, input_sha FROM answer_baselines "
                            "ORDER BY query_id").fetchall())
    finally:
        con.close()


def step_times(instance, run_id: str) -> dict[str, tuple[float, float]]:
    """step key -> (start, end) timestamps, from the run's events."""
    times: dict[str, list[float]] = {}
    for record in instance.get_records_for_run(run_id).records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.event_type in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS):
            times.setdefault(event.step_key, []).append(record.event_log_entry.timestamp)
    return {k: (min(v), max(v)) for k, v in times.items()}


def labels_metadata(instance) -> dict:
    event = instance.get_latest_materialization_event(AssetKey("utility_labels"))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_two_shards_side_by_side_store_exactly_the_labels_of_one(domain):
    root, monkeypatch, config = domain
    monkeypatch.setenv("UAE_DATA_DIR", str(root / "data"))
    instance = instance_in(root)
    pipeline = defs.resolve_job_def("uae_pipeline")
    assert pipeline.execute_in_process(run_config=config, instance=instance, partition_key="alpha",
                                       asset_selection=UP_TO_LABELS[:-1]).success

    def labels(store: str, shards: int) -> dict:
        """The run config that labels into <root>/<store>.duckdb in `shards` shards."""
        return {**config, "resources": {**config["resources"], "labels": {"config": {"path": str(root / store)}}},
                "ops": {**config["ops"], "utility_labels": {"config": {"shards": shards, "chunk_pairs": 8}}}}

    # One shard, in process (the default executor): the reference.
    assert pipeline.execute_in_process(run_config=labels("serial.duckdb", 1), instance=instance,
                                       partition_key="alpha", asset_selection=UP_TO_LABELS[-1:]).success
    serial = labels_metadata(instance)
    assert serial["shards"] == 1 and serial["pairs_labeled_now"] == serial["pairs_total"] > 0

    # Two shards under UAE_EXECUTOR=multiprocess: each step in its own process, the shards side by side.
    monkeypatch.setenv("UAE_EXECUTOR", "multiprocess")
    with execute_job(reconstructable(pipeline_under_uae_executor), instance,
                     run_config={**labels("sharded.duckdb", 2), "execution": {"config": {
                         "max_concurrent": 2,
                         # step processes fork from one that has imported the code once: they start in a
                         # second instead of re-importing torch and the code location each
                         "start_method": {"forkserver": {"preload_modules": [__name__]}}}}},
                     tags={"dagster/partition": "alpha"}, asset_selection=UP_TO_LABELS[-1:]) as run:
        assert run.success
        run_id = run.run_id
    meta = labels_metadata(instance)
    assert meta["shards"] == 2 and meta["chunks_merged"] > 2
    for key in ("pairs_total", "pairs_labeled_now", "baselines_labeled_now", "teacher_requests", "queries"):
        assert meta[key] == serial[key], key
    checks = [r.event_log_entry.dagster_event.asset_check_evaluation_data for r in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records]
    assert [(c.check_name, c.passed) for c in checks] == [("labels_cover_candidates", True)]

    # The DuckDB label tables are identical, and no chunk is left once merged.
    assert stored(root / "sharded.duckdb") == stored(root / "serial.duckdb")
    assert len(stored(root / "sharded.duckdb")[0]) == meta["pairs_total"]
    assert not any((root / "sharded.shards").rglob("*.parquet"))

    # The two shards ran side by side: each started before the other finished, in two processes.
    starts = {r.event_log_entry.step_key: r.event_log_entry.dagster_event.pid for r in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.STEP_START).records}
    times = step_times(instance, run_id)
    shard_steps = [f"utility_labels.label_shard[shard_{k}]" for k in (0, 1)]
    (a_start, a_end), (b_start, b_end) = (times[k] for k in shard_steps)
    assert a_start < b_end and b_start < a_end, times
    assert len({starts[k] for k in shard_steps}) == 2
    instance.dispose()
