"""End to end with the real packaged models (MiniLM student, SmolLM2 teacher) on a slice of the real data:
materialize the whole graph into a temporary Dagster instance, DuckDB file and MLflow store, then check
what each store holds; materialize again and check that nothing is relabeled."""

import importlib.util
import json
import os
import subprocess
import sys

import duckdb
import faiss
import pytest

from tests.helpers import REPO, SHARED_DATA, needs_shared_data

pytestmark = [pytest.mark.integration, needs_shared_data]
ASSETS = ["raw_corpus", "passages", "queries", "candidate_sets", "utility_labels", "uae_encoder", "faiss_index",
          "eval_report"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    pool = json.loads((SHARED_DATA / "qasper" / "qasper-train-pool.json").read_text())
    keep = sorted(pool)[:40]
    (root / "slice.json").write_text(json.dumps({k: pool[k] for k in keep}))
    (root / "domains.yaml").write_text(f"default: slice\ndomains:\n  slice:\n    path: {root / 'slice.json'}\n"
                                       "    scope: corpus\n")
    (root / "run.yaml").write_text("ops:\n  candidate_sets: {config: {k: 4, max_train_queries: 8}}\n"
                                   "  uae_encoder: {config: {epochs: 1, batch_queries: 4}}\n")
    (root / "dh").mkdir()
    (root / "dh" / "dagster.yaml").write_text((REPO / "dagster_home" / "dagster.yaml").read_text())
    env = {**os.environ, "UAE_DOMAINS": str(root / "domains.yaml"), "UAE_DATA_DIR": str(root / "data"),
           "DAGSTER_HOME": str(root / "dh"), "HF_HUB_OFFLINE": "1"}
    return root, env


def _materialize(root, env):
    proc = subprocess.run([sys.executable, "-m", "uae_assets.cli", "materialize", "--config", str(root / "run.yaml")],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _latest(instance, key):
    from dagster import AssetKey
    event = instance.get_latest_materialization_event(AssetKey(key))
    assert event is not None, f"{key} was not materialized"
    return event.asset_materialization


@pytest.fixture(scope="module")
def first_run(workspace):
    root, env = workspace
    proc = _materialize(root, env)
    return root, env, proc


def test_every_asset_is_materialized_for_the_domain(first_run, monkeypatch):
    root, env, proc = first_run
    assert str(root / "data" / "reports" / "slice" / "eval_report.md") in proc.stdout
    # The clock: an estimate before the run, the time left after each asset, progress lines for encodes.
    assert "estimated run: ~" in proc.stderr and "if nothing is stored yet" in proc.stderr
    assert "candidate_sets: encode " in proc.stdout
    lines = proc.stdout.splitlines()
    clock = [i for i, line in enumerate(lines) if "left (finished steps took" in line]
    assert clock and all(lines[i - 1].endswith(" done") for i in clock)  # after the step that finished
    assert "Batches:" not in proc.stdout + proc.stderr  # bars go to the worker's log
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    from dagster import DagsterInstance
    with DagsterInstance.get() as instance:
        mats = {k: _latest(instance, k) for k in ASSETS}
    assert {m.partition for m in mats.values()} == {"slice"}
    meta = {k: {n: v.value for n, v in m.metadata.items()} for k, m in mats.items()}
    assert meta["passages"]["dagster/row_count"] > 50 and meta["queries"]["dagster/row_count"] > 20
    assert meta["candidate_sets"]["dagster/row_count"] == 8
    pairs = meta["candidate_sets"]["pairs"]
    assert meta["utility_labels"]["pairs_labeled_now"] == pairs and meta["utility_labels"]["pairs_reused"] == 0
    assert meta["uae_encoder"]["model_version"] == "1" and meta["uae_encoder"]["champion"] is True
    assert "uae" in meta["eval_report"]["metrics"]
    assert meta["faiss_index"]["fusion_tuning_questions"] > 0  # dev + the unseen documents' train questions


def test_no_step_is_silent_for_more_than_20_seconds(first_run, monkeypatch):
    """What a user watching the run sees: no step of the first run goes 20 s without a line in its event log
    (teacher loading, baselines, encodes and the report each say what they do while they do it)."""
    from bench.spine_run import step_silences

    _, env, _ = first_run
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    from dagster import DagsterInstance
    with DagsterInstance.get() as instance:
        first = instance.get_run_records()[-1].dagster_run  # newest first
        silences = step_silences(instance, first.run_id)
    assert {"utility_labels.label_shard[shard_0]", "uae_encoder", "eval_report"} <= set(silences)
    loud = {step: quiet for step, quiet in silences.items() if quiet.seconds > 20}
    assert not loud, loud


def test_duckdb_holds_one_label_per_candidate(first_run):
    root, _, _ = first_run
    con = duckdb.connect(str(root / "data" / "labels.duckdb"), read_only=True)
    (teachers,) = con.execute("SELECT count(*) FROM teachers").fetchone()
    n, distinct, finite, tid = con.execute(
        "SELECT count(*), count(DISTINCT (query_id, passage_id)), count(*) FILTER (WHERE isfinite(utility)), "
        "any_value(teacher_id) FROM utility_labels").fetchone()
    con.close()
    assert teachers == 1 and n == distinct == finite and 8 * 2 <= n <= 8 * 4
    assert tid.startswith("SmolLM2-135M-Instruct@")


def test_mlflow_has_the_run_the_model_and_the_champion(first_run, global_mlflow_uri_restored):
    root, _, _ = first_run
    from uae_core.tracking import runs
    uri = f"sqlite:///{root / 'data' / 'mlflow' / 'mlflow.db'}"
    client = runs.configure(uri)  # process-wide, as the UI and `mlflow.pyfunc.load_model` see the store
    version = client.get_model_version_by_alias("uae-encoder-slice", "champion")
    assert str(version.version) == "1"
    run = client.get_run(version.run_id)
    assert run.data.params["objective"] == "uae" and run.data.tags["domain"] == "slice"
    assert "test_uae_map" in run.data.metrics and "dev_map" in run.data.metrics
    assert len(client.get_metric_history(run.info.run_id, "train_loss")) == 2  # ceil(8 / 4) steps, 1 epoch
    files = {f.path for f in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/MLmodel", "model/requirements.txt", "model/model.sentence_transformer"} <= files  # the flavor
    weights = {f.path for f in client.list_artifacts(run.info.run_id, "model/model.sentence_transformer")}
    assert {f"model/model.sentence_transformer/{name}" for name in ("model.safetensors", "modules.json",
                                                                     "tokenizer.json")} <= weights
    eval_files = {f.path for f in client.list_artifacts(run.info.run_id, "eval")}
    assert eval_files == {"eval/eval_report.json", "eval/eval_report.md", "eval/test_metrics_table.json",
                          "eval/test_gains.png"}  # the report, and its table and figure for the MLflow UI
    saved = json.loads((root / "data" / "indexes" / "slice" / "v1" / "retriever.json").read_text())["fusion"]
    from uae_core.retrieval.fusion import UNTUNED  # a 40-paper slice has too few questions to tune on

    assert run.data.tags["fusion_method"] == saved["method"] and saved == {**UNTUNED.as_dict()}
    assert float(run.data.tags["fusion_dense_weight"]) == saved["dense_weight"]


def test_index_and_report_cover_every_passage_and_system(first_run):
    root, _, _ = first_run
    report = json.loads((root / "data" / "reports" / "slice" / "eval_report.json").read_text())
    index = faiss.read_index(str(root / "data" / "indexes" / "slice" / "v1" / "index.faiss"))
    assert index.ntotal == report["n_passages"] and index.d == 384
    assert set(report["systems"]) == {"bm25", "base", "uae", "hybrid", "hybrid_base"}
    for metrics in report["systems"].values():
        assert all(0.0 <= metrics[m] <= 1.0 for m in ("success@1", "success@5", "map", "mrr@10", "ndcg@10"))
        assert metrics["latency_ms_p50"] > 0
    assert report["n_queries"] > 0 and report["split"] == "test"
    assert (root / "data" / "reports" / "slice" / "eval_report.md").read_text().startswith("# UAE evaluation")


def test_second_run_asks_the_teacher_nothing_and_trains_nothing(first_run, monkeypatch):
    root, env, _ = first_run
    _materialize(root, env)
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    from dagster import DagsterInstance
    with DagsterInstance.get() as instance:
        labels = _latest(instance, "utility_labels").metadata
        encoder = _latest(instance, "uae_encoder").metadata
    assert labels["pairs_labeled_now"].value == 0 and labels["teacher_requests"].value == 0
    assert labels["pairs_reused"].value > 0 and labels["teacher_loaded"].value is False
    assert encoder["reused"].value is True and encoder["model_version"].value == "1"
    from mlflow import MlflowClient
    uri = f"sqlite:///{root / 'data' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert [str(v.version) for v in client.search_model_versions("name = 'uae-encoder-slice'")] == ["1"]


def test_evaluate_command_reproduces_eval_report_for_the_registered_version(first_run):
    root, env, _ = first_run
    out = root / "evaluate-out"
    proc = subprocess.run([sys.executable, "-m", "uae_assets.cli", "evaluate", "--model",
                           "models:/uae-encoder-slice@champion", "--data", str(root / "slice.json"),
                           "--scope", "corpus", "--split", "test", "--out", str(out)],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    evaluated = json.loads((out / "eval_report.json").read_text())
    pipeline = json.loads((root / "data" / "reports" / "slice" / "eval_report.json").read_text())
    assert evaluated["n_queries"] == pipeline["n_queries"]
    for metric in ("success@1", "success@5", "map", "mrr@10", "ndcg@10"):
        assert evaluated["systems"]["model"][metric] == pytest.approx(pipeline["systems"]["uae"][metric], abs=1e-6)
        assert evaluated["systems"]["bm25"][metric] == pytest.approx(pipeline["systems"]["bm25"][metric], abs=1e-6)


def test_bad_input_stops_with_file_paper_and_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"paper-9": {"full_text": [{"paragraphs": ["ok", 7]}], "qas": []}}))
    (tmp_path / "domains.yaml").write_text(f"domains:\n  broken:\n    path: {bad}\n")
    (tmp_path / "dh").mkdir()
    env = {**os.environ, "UAE_DOMAINS": str(tmp_path / "domains.yaml"), "UAE_DATA_DIR": str(tmp_path / "data"),
           "DAGSTER_HOME": str(tmp_path / "dh")}
    proc = subprocess.run([sys.executable, "-m", "uae_assets.cli", "materialize"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2  # bad input (1: a failure of the run itself)
    assert f"{bad}, paper 'paper-9', field 'full_text[0].paragraphs[1]': expected str, got int" in proc.stderr


def test_evaluate_command_adds_llm_reranking_and_token_f1_with_the_real_teacher(first_run):
    root, env, _ = first_run
    out = root / "evaluate-upr"
    proc = subprocess.run([sys.executable, "-m", "uae_assets.cli", "evaluate", "--model", "base", "--data",
                           str(root / "slice.json"), "--split", "test", "--max-queries", "3",
                           "--llm-rerank-depth", "5", "--answer-top-k", "1", "--out", str(out)],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "eval_report.json").read_text())
    assert report["n_queries"] == 3 and set(report["systems"]) == {"bm25", "base", "hybrid_base", "llm_rerank"}
    assert report["metrics"][-1] == "f1@1"
    upr, base = report["systems"]["llm_rerank"], report["systems"]["base"]
    assert upr["success@5"] == base["success@5"]  # re-ranking the top 5 keeps the same 5 passages
    assert all(0.0 <= s["f1@1"] <= 1.0 for s in report["systems"].values())
    assert upr["latency_ms_p50"] > 10 * base["latency_ms_p50"]  # the teacher reads 5 passages per question


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm is not installed (scripts/setup.sh does)")
def test_materialize_labels_the_domain_on_the_vllm_backend_like_transformers(first_run):
    """`uae materialize` with `backend: vllm` labels the same candidate pairs end to end (a Dagster run, the
    vLLM engine in its worker), under its own teacher_id, with the transformers run's utilities."""
    root, env, _ = first_run
    config = (root / "run.yaml").read_text() + "resources:\n  teacher:\n    config: {backend: vllm}\n"
    (root / "run-vllm.yaml").write_text(config)
    proc = subprocess.run([sys.executable, "-m", "uae_assets.cli", "materialize", "--config",
                           str(root / "run-vllm.yaml"),
                           "--select", "utility_labels"],  # on the first run's candidate sets
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    con = duckdb.connect(str(root / "data" / "labels.duckdb"), read_only=True)
    rows = con.execute("SELECT teacher_id, query_id, passage_id, utility FROM utility_labels").fetchall()
    con.close()
    by_teacher: dict[str, dict[tuple[str, str], float]] = {}
    for teacher_id, q, p, u in rows:
        by_teacher.setdefault(teacher_id, {})[(q, p)] = u
    assert len(by_teacher) == 2  # the backend is part of the teacher_id: both label sets are kept
    first, second = by_teacher.values()
    assert set(first) == set(second) and max(abs(first[k] - second[k]) for k in first) <= 1e-3

    def most_useful(labels: dict[tuple[str, str], float]) -> dict[str, str]:
        return {q: max((p2 for q2, p2 in labels if q2 == q), key=lambda p2: labels[(q, p2)]) for q, _ in labels}

    top_first, top_second = most_useful(first), most_useful(second)
    assert sum(top_first[q] == top_second[q] for q in top_first) / len(top_first) >= 0.95
