"""The benchmark's plumbing end to end at its smoke size, on two synthetic domains with tiny random models:
every stage runs, every system lands in results.json with gains and intervals, and the page renders."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, synthetic_qasper

pytestmark = pytest.mark.slow


def test_bench_smoke_runs_every_stage(tmp_path, tiny_student_dir, tiny_teacher_dir):
    for name, start in (("alpha", 0), ("beta", 100)):
        (tmp_path / f"{name}.json").write_text(json.dumps(synthetic_qasper(40, start=start)))
    (tmp_path / "domains.yaml").write_text(
        f"default: alpha\ndomains:\n  alpha:\n    path: {tmp_path / 'alpha.json'}\n"
        f"  beta:\n    path: {tmp_path / 'beta.json'}\n"
        "    run_config: {ops: {uae_encoder: {config: {lam: 0.6, promotion_metric: map}}}}\n")  # beta's own
    env = {**os.environ, "UAE_DOMAINS": str(tmp_path / "domains.yaml"), "UAE_DATA_DIR": str(tmp_path / "data"),
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "bench.results", "--size", "smoke", "--student", str(tiny_student_dir),
                           "--teacher", str(tiny_teacher_dir), "--out", str(tmp_path / "docs"), "--quiet"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((tmp_path / "data" / "results" / "smoke" / "results.json").read_text())
    assert list(results["domains"]) == ["alpha", "beta"]
    for domain in results["domains"].values():
        systems = domain["systems"]
        assert {"bm25", "base", "hybrid_base", "uae", "hybrid_uae", "hard_label"} <= set(systems)
        assert all(len(row["gain"]["map"]) == 3 for s, row in systems.items() if s != "base" and row["gain"]["map"])
        assert domain["labels"]["labeling"]["pairs_total"] > 0
    assert "uae_from_alpha" in results["domains"]["beta"]["systems"]  # the first domain's model, zero-shot
    answers = results["answers"]["alpha"]["systems"]  # eval_report's compare, plus UAE's recorded top 20
    assert list(answers) == ["bm25", "base", "llm_rerank", "uae"]
    assert {"f1@1", "f1@3", "success@1", "map"} <= set(answers["uae"]["mean"])
    assert "latency_ms_p50" not in answers["uae"]  # a lookup of recorded rankings: no latency to report
    assert answers["llm_rerank"]["latency_ms_p50"] > 0
    # The pipeline's steps: candidate_sets' build_sticky (its state file in the workdir), utility_labels' shard
    # path into the pipeline's store (every chunk merged, none left behind).
    assert (tmp_path / "data/results/smoke/candidates/alpha.json").is_file()
    assert (tmp_path / "data/labels.duckdb").is_file() and not list((tmp_path / "data").glob("labels.shards/*/*/*"))
    kept = json.loads((tmp_path / "data/results/smoke/answers/alpha.json").read_text())  # per domain, with the
    assert kept["uae_record"] and kept["systems"] == results["answers"]["alpha"]["systems"]  # model it read
    page = (tmp_path / "docs" / "results.md").read_text()
    assert "## Targets" in page and "## alpha: test split" in page
    assert (tmp_path / "docs" / "results_gains.png").is_file()
    from mlflow import MlflowClient  # every training is an MLflow run nested under the benchmark's run

    uri = f"sqlite:///{tmp_path / 'data' / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("uae-bench-smoke").experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and len(runs) - 1 == 4  # (uae, hard_label) x 1 seed x 2 domains (no sweep at smoke)
    # Each training kept the merge share that `uae_encoder` would: both shares scored on dev, the kept one in
    # the record, in its MLflow run and on the page.
    for domain in ("alpha", "beta"):
        record = json.loads((tmp_path / "data/results/smoke/train" / domain / "uae_seed-0.json").read_text())
        assert set(record["merge"]["dev_scores"]) == {"0.0", "0.5"}
        assert client.get_run(record["mlflow_run_id"]).data.metrics["merge_share"] == record["merge"]["share"]
        assert results["domains"][domain]["merge_shares"]["uae"] == [record["merge"]["share"]]
    assert "merge share toward the base (chosen on dev" in page
    # beta trains with its own pinned settings (as its pipeline runs would), alpha with the finals'.
    train = tmp_path / "data/results/smoke/train"
    lams = {(d, s): json.loads((train / d / f"{s}_seed-0.json").read_text())["config"]["lam"]
            for d in ("alpha", "beta") for s in ("uae", "hard_label")}
    assert lams == {("alpha", "uae"): 0.75, ("alpha", "hard_label"): 0.75, ("beta", "uae"): 0.6,
                    ("beta", "hard_label"): 0.6}
    assert results["domains"]["beta"]["domain_settings"] == {"lam": 0.6}
    assert not results["domains"]["alpha"]["domain_settings"]
    assert "own training settings (`run_config:` in domains.yaml) replace the finals' here: lam = 0.6" in page


BLOCK_DAGSTER_AND_MLFLOW = '''import sys
from importlib.machinery import PathFinder


class _WithoutDagsterOrMlflow(PathFinder):  # as if neither were installed: find_spec answers None
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0] in ("dagster", "mlflow"):
            return None
        return PathFinder.find_spec(name, path, target)


sys.meta_path[:] = [_WithoutDagsterOrMlflow if f is PathFinder else f for f in sys.meta_path]
'''


def test_bench_trains_without_dagster_or_mlflow_and_finals_use_the_sweeps_choice(tmp_path, tiny_student_dir,
                                                                                  tiny_teacher_dir):
    """The GPU path (bench/device/results.sh): prepare and train where neither Dagster nor MLflow is installed,
    then the report and page here; the finals carry the dev sweep's chosen settings."""
    (tmp_path / "alpha.json").write_text(json.dumps(synthetic_qasper(40)))
    (tmp_path / "domains.yaml").write_text(f"default: alpha\ndomains:\n  alpha:\n    path: {tmp_path / 'alpha.json'}\n"
                                           "    run_config: {ops: {uae_encoder: {config: {tau_s: 0.07}}}}\n")
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(BLOCK_DAGSTER_AND_MLFLOW)
    env = {**os.environ, "UAE_DOMAINS": str(tmp_path / "domains.yaml"), "UAE_DATA_DIR": str(tmp_path / "data"),
           "HF_HUB_OFFLINE": "1"}
    common = [sys.executable, "-m", "bench.results", "--size", "smoke", "--student", str(tiny_student_dir),
              "--teacher", str(tiny_teacher_dir), "--out", str(tmp_path / "docs"), "--quiet"]
    for stage in ("prepare", "train"):
        proc = subprocess.run([*common, "--stage", stage, "--tracking", "none"], cwd=REPO, capture_output=True,
                              text=True, timeout=1200, env={**env, "PYTHONPATH": str(tmp_path / "block")})
        assert proc.returncode == 0, proc.stderr[-4000:]
    workdir = tmp_path / "data" / "results" / "smoke"
    assert not (tmp_path / "data" / "mlflow").exists()  # nothing was tracked
    _other_sources_relabel_only_new_pairs(common, env, workdir, tmp_path)
    chosen = json.loads((workdir / "train" / "chosen.json").read_text())
    record = json.loads((workdir / "train" / "alpha" / "uae_seed-0.json").read_text())
    assert record["mlflow_run_id"] is None and record["device"] == "cpu"
    assert record["run"]["overrides"] == chosen["overrides"] and record["run"]["k"] == chosen["k"]
    assert record["config"]["tau_s"] == 0.07  # the domain's own setting, read without Dagster
    # Without MLflow the same training step: the merge share best on dev (ties keep the first) is kept ...
    scores = {float(k): v for k, v in record["merge"]["dev_scores"].items()}
    assert list(scores) == [0.0, 0.5] and all(v is not None for v in scores.values())
    assert record["merge"]["share"] == max(scores, key=lambda s: (scores[s], -s))
    # ... and the fusion is chosen as faiss_index chooses it: dev plus the unseen documents' train questions.
    from uae_core.data import load_corpus
    from uae_core.evaluation.compare import tuning_questions

    trained = list(json.loads((workdir / "prepared" / "alpha.json").read_text())["sets"])
    expected = tuning_questions(load_corpus(tmp_path / "alpha.json").queries, trained)
    dev = [q for q in expected if q.split == "dev"]
    assert record["scores"]["alpha"]["fusion_questions"] == len(expected) > len(dev)
    base = json.loads((workdir / "train" / "alpha" / "base.json").read_text())  # its hybrid: the same questions
    assert base["fusion_questions"] == len(expected)
    proc = subprocess.run([*common, "--stage", "report"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    proc = subprocess.run([*common, "--stage", "doc"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    page = (tmp_path / "docs" / "results.md").read_text()
    assert "the sweep's centre (`--no-sweep`: no sweep this run)" in page and "learning_rate = 1e-05" in page
    assert "train questions of documents no trained question came from" in page  # 16 of 40 documents' questions


def _other_sources_relabel_only_new_pairs(common, env, workdir, tmp_path):
    """--sources (here the base encoder alone) and --reuse-labels: only the pairs the new sets add go to the
    teacher (into a fresh label store), the reused ones keep their utilities; another teacher's file is refused."""
    first = json.loads((workdir / "prepared" / "alpha.json").read_text())
    assert first["sources"] == ["bm25", "dense"]  # the pipeline's default sources
    again = [*common, "--stage", "prepare", "--tracking", "none", "--sources", "dense",
             "--reuse-labels", str(workdir / "prepared"), "--workdir", str(tmp_path / "hindsight"),
             "--labels", str(tmp_path / "hindsight.duckdb")]
    proc = subprocess.run(again, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    second = json.loads((tmp_path / "hindsight" / "prepared" / "alpha.json").read_text())
    assert second["sources"] == ["dense"] and second["sets"] != first["sets"]
    pairs = {(q, p) for q, ps in second["sets"].items() for p in ps}
    old = {(q, p) for q, ps in first["utilities"].items() for p in ps}
    assert 0 < len(pairs & old) < len(pairs)
    assert second["pairs_reused_from_file"] == len(pairs & old)
    assert second["labeling"]["pairs_labeled_now"] == len(pairs - old)
    assert all(second["utilities"][q][p] == first["utilities"][q][p] for q, p in pairs & old)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "alpha.json").write_text(json.dumps({**first, "teacher_id": "another-teacher"}))
    proc = subprocess.run([*again[:-5], str(foreign), "--workdir", str(tmp_path / "refused"), "--labels",
                           str(tmp_path / "refused.duckdb")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode != 0 and "foreign/alpha.json: field teacher_id is 'another-teacher'" in proc.stderr
