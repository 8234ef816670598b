"""The shipped Postgres-backed Dagster instance (deploy/dagster/dagster.local-postgres.yaml) on a real
PostgreSQL server: `uae materialize` runs the whole chain for a small synthetic domain with tiny random
models, and the run, the partition and every asset materialization are in PostgreSQL, read back through a
second DagsterInstance and directly with psycopg2; nothing fell back to the SQLite files."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.helpers import REPO, synthetic_qasper

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Found version mismatch")]

CHAIN = ["raw_corpus", "passages", "queries", "candidate_sets", "utility_labels", "uae_encoder", "faiss_index",
         "eval_report"]


def pg_env(postgres, db: str) -> dict[str, str]:
    """What deploy/dagster/*.yaml read: DAGSTER_PG_{HOST,PORT,DB,USER,PASSWORD}."""
    return {"DAGSTER_PG_HOST": postgres.host, "DAGSTER_PG_PORT": str(postgres.port), "DAGSTER_PG_DB": db,
            "DAGSTER_PG_USER": postgres.user, "DAGSTER_PG_PASSWORD": postgres.password}


@pytest.fixture(scope="module")
def materialized(tmp_path_factory, postgres, tiny_student_dir, tiny_teacher_dir):
    root = tmp_path_factory.mktemp("pg_instance")
    db = "dagster_chain"
    postgres.create_database(db)
    (root / "tiny.json").write_text(json.dumps(synthetic_qasper(20)))
    (root / "domains.yaml").write_text("default: tiny\ndomains:\n  tiny:\n    path: tiny.json\n    scope: corpus\n")
    run_config = {"resources": {"teacher": {"config": {"model": str(tiny_teacher_dir), "batch_size": 16}},
                                "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}},
                  "ops": {"candidate_sets": {"config": {"k": 3, "max_train_queries": 0}},
                          "uae_encoder": {"config": {"epochs": 1, "max_seq_length": 64}}}}
    (root / "run.yaml").write_text(json.dumps(run_config))  # JSON is YAML
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "deploy" / "dagster" / "dagster.local-postgres.yaml").read_text())
    env = {**os.environ, **pg_env(postgres, db), "UAE_DOMAINS": str(root / "domains.yaml"),
           "UAE_DATA_DIR": str(root / "data"), "DAGSTER_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("UAE_MLFLOW_TRACKING_URI", None)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "uae_assets.cli", "materialize", "--config", str(root / "run.yaml")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"uae materialize on the Postgres instance: {time.monotonic() - start:.1f} s")
    return root, home, db, proc


def test_the_run_and_every_materialization_are_recorded_in_postgres(materialized, postgres, monkeypatch):
    root, home, db, proc = materialized
    assert str(root / "data" / "reports" / "tiny" / "eval_report.md") in proc.stdout
    for name, value in pg_env(postgres, db).items():
        monkeypatch.setenv(name, value)
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    with DagsterInstance.from_config(str(home)) as instance:  # a second process's view of the same instance
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        runs = instance.get_runs()
        assert [(r.job_name, r.status, r.tags.get("dagster/partition")) for r in runs] == [
            ("uae_pipeline", DagsterRunStatus.SUCCESS, "tiny")]
        assert runs[0].run_id in proc.stdout
        assert instance.get_dynamic_partitions("domain") == ["tiny"]
        for key in CHAIN:
            event = instance.get_latest_materialization_event(AssetKey(key))
            assert event is not None and event.run_id == runs[0].run_id, key
            assert event.asset_materialization.partition == "tiny"
        labels = instance.get_latest_materialization_event(AssetKey("utility_labels")).asset_materialization
        assert labels.metadata["pairs_labeled_now"].value > 0
        # the versions `uae materialize` observed (as the domain sensor would) are there too
        for key in ("domain_file", "teacher_model"):
            assert instance.get_latest_data_version_record(AssetKey(key)) is not None, key


def test_postgres_tables_hold_the_rows(materialized, postgres):
    _, home, db, _ = materialized
    con = postgres.connect(db)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT status, pipeline_name FROM runs")
            assert cur.fetchall() == [("SUCCESS", "uae_pipeline")]
            cur.execute("SELECT asset_key, partition FROM event_logs WHERE dagster_event_type = "
                        "'ASSET_MATERIALIZATION' ORDER BY id")
            rows = cur.fetchall()
            assert sorted(json.loads(key)[0] for key, _ in rows) == sorted(CHAIN)
            assert {partition for _, partition in rows} == {"tiny"}
            cur.execute("SELECT step_key FROM event_logs WHERE dagster_event_type = 'STEP_SUCCESS'")
            steps = {step for (step,) in cur.fetchall()}
            # one multi-asset step makes passages and queries; utility_labels is a graph of four steps
            labeling = {"utility_labels.select_label_pairs", "utility_labels.plan_label_shards",
                        "utility_labels.label_shard[shard_0]", "utility_labels.merge_label_shards"}
            assert steps == set(CHAIN) - {"passages", "queries", "utility_labels"} | {"corpus"} | labeling
            cur.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'STEP_FAILURE'")
            assert cur.fetchone()[0] == 0
            cur.execute("SELECT partitions_def_name, partition FROM dynamic_partitions")
            assert cur.fetchall() == [("domain", "tiny")]
            cur.execute("SELECT asset_key FROM asset_keys")
            assert {json.loads(k)[0] for (k,) in cur.fetchall()} >= set(CHAIN) | {"domain_file", "teacher_model"}
    finally:
        con.close()
    # Nothing went to the embedded SQLite files instead.
    assert not list(home.rglob("*.db")), sorted(str(p) for p in home.rglob("*.db"))
