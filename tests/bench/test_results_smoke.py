"""The benchmark's plumbing end to end at its smoke size, on two synthetic domains with tiny random models:
every stage runs, every system lands in results.json with gains and intervals, and the page renders."""

import itertools
import json
import os
import subprocess
import sys

from tests.helpers import REPO, synthetic_qasper


def test_bench_smoke_runs_every_stage(tmp_path, tiny_student_dir, tiny_teacher_dir):
    for name, start in (("alpha", 0), ("beta", 100)):
        (tmp_path / f"{name}.json").write_text(json.dumps(synthetic_qasper(40, start=start)))
    (tmp_path / "domains.yaml").write_text(
        f"default: alpha\ndomains:\n  alpha:\n    path: {tmp_path / 'alpha.json'}\n"
        f"  beta:\n    path: {tmp_path / 'beta.json'}\n"
        "    run_config: {ops: {uae_encoder: {config: {lam: 0.6, promotion_metric: map}}}}\n")  # beta's own
    env = {**os.environ, "UAE_DOMAINS": str(tmp_path / "domains.yaml"), "UAE_DATA_DIR": str(tmp_path / "data"),
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "bench/results.py", "--size", "smoke", "--student", str(tiny_student_dir),
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
    assert set(results["answers"]["alpha"]["systems"]) >= {"bm25", "base", "llm_rerank", "uae"}
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
    """The GPU path (bench/device_results.sh): prepare and train where neither Dagster nor MLflow is installed,
    then the report and page here; the finals carry the dev sweep's chosen settings."""
    (tmp_path / "alpha.json").write_text(json.dumps(synthetic_qasper(40)))
    (tmp_path / "domains.yaml").write_text(f"default: alpha\ndomains:\n  alpha:\n    path: {tmp_path / 'alpha.json'}\n"
                                           "    run_config: {ops: {uae_encoder: {config: {tau_s: 0.07}}}}\n")
    (tmp_path / "block").mkdir()
    (tmp_path / "block" / "sitecustomize.py").write_text(BLOCK_DAGSTER_AND_MLFLOW)
    env = {**os.environ, "UAE_DOMAINS": str(tmp_path / "domains.yaml"), "UAE_DATA_DIR": str(tmp_path / "data"),
           "HF_HUB_OFFLINE": "1"}
    common = [sys.executable, "bench/results.py", "--size", "smoke", "--student", str(tiny_student_dir),
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
    # bench/decisive_questions.py on the same labels: its trainings are train_one's with decisive_fraction.
    decisive = [sys.executable, "bench/decisive_questions.py", "--domains", "alpha", "--results", str(workdir),
                "--student", str(tiny_student_dir)]
    for stage in (["analyse"], ["train", "--fractions", "0.5"], ["doc", "--out", str(tmp_path / "decisive.md")]):
        proc = subprocess.run([*decisive, "--stage", *stage], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=1200)
        assert proc.returncode == 0, proc.stderr[-4000:]
    trained = tmp_path / "data/results/decisive/train/alpha"
    half = json.loads((trained / "uae_decisive_fraction-0.5_seed-0.json").read_text())
    assert half["config"]["decisive_fraction"] == 0.5 and half["config"]["tau_s"] == 0.07  # the domain's own
    analysis = json.loads((tmp_path / "data/results/decisive/analysis.json").read_text())["alpha"]["quartiles"]
    assert sum(q["questions"] for q in analysis) == half["examples"] == record["examples"]
    assert all(q["gap_min"] >= q2["gap_max"] for q, q2 in itertools.pairwise(analysis))  # most decisive first
    doc = (tmp_path / "decisive.md").read_text()
    assert f"| UAE, fraction 0.5 | 0 | {round(half['examples'] / 2)} |" in doc
    assert "| UAE, fraction 1 (every question) | 0 |" in doc
    # bench/graded_signal.py: train_one with reranker_mix, the same labels and the domain's settings.
    graded = [sys.executable, "bench/graded_signal.py", "--domains", "alpha", "--results", str(workdir),
              "--student", str(tiny_student_dir)]
    for stage in (["train", "--mixes", "0.5"], ["doc", "--out", str(tmp_path / "graded.md")]):
        proc = subprocess.run([*graded, "--stage", *stage], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=1200)
        assert proc.returncode == 0, proc.stderr[-4000:]
    mixed = json.loads((tmp_path / "data/results/graded/train/alpha/uae_reranker_mix-0.5,folds-2_seed-0.json")
                       .read_text())
    assert mixed["config"]["reranker_mix"] == 0.5 and mixed["config"]["tau_s"] == 0.07  # the domain's own
    # both rounded to 0.1 s in the record: with tiny models they can tie
    assert 0 < mixed["reranker_seconds"] <= mixed["train_seconds"] and mixed["examples"] == record["examples"]
    doc = (tmp_path / "graded.md").read_text()
    assert "| UAE, reranker_mix 0.5 (cross-fitted, 2 folds) | 0 |" in doc
    assert "| UAE, reranker_mix 0 (the teacher's utilities) | 0 |" in doc


def _other_sources_relabel_only_new_pairs(common, env, workdir, tmp_path):
    """--sources with the `answer` source and --reuse-labels: only the pairs the new sets add go to the teacher
    (into a fresh label store), the reused ones keep their utilities; another teacher's file is refused."""
    first = json.loads((workdir / "prepared" / "alpha.json").read_text())
    assert first["sources"] == ["bm25", "dense"]  # the pipeline's default sources
    again = [*common, "--stage", "prepare", "--tracking", "none", "--sources", "answer,bm25,dense",
             "--reuse-labels", str(workdir / "prepared"), "--workdir", str(tmp_path / "hindsight"),
             "--labels", str(tmp_path / "hindsight.duckdb")]
    proc = subprocess.run(again, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    second = json.loads((tmp_path / "hindsight" / "prepared" / "alpha.json").read_text())
    assert second["sources"] == ["answer", "bm25", "dense"] and second["sets"] != first["sets"]
    pairs = {(q, p) for q, ps in second["sets"].items() for p in ps}
    old = {(q, p) for q, ps in first["utilities"].items() for p in ps}
    assert 0 < len(pairs & old) < len(pairs)
    assert second["pairs_reused_from_file"] == len(pairs & old)
    assert second["labeling"]["pairs_labeled_now"] == len(pairs - old)
    assert all(second["utilities"][q][p] == first["utilities"][q][p] for q, p in pairs & old)
    assert second["gold_recall"] > first["gold_recall"]  # the answers point at the evidence
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "alpha.json").write_text(json.dumps({**first, "teacher_id": "another-teacher"}))
    proc = subprocess.run([*again[:-5], str(foreign), "--workdir", str(tmp_path / "refused"), "--labels",
                           str(tmp_path / "refused.duckdb")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode != 0 and "foreign/alpha.json: field teacher_id is 'another-teacher'" in proc.stderr
    # bench/answer_candidates.py on the two workdirs: the recall table by sources and K, the trained rows.
    page = tmp_path / "answer_candidates.md"
    proc = subprocess.run([sys.executable, "bench/answer_candidates.py", "--domains", "alpha", "--before", str(workdir),
                           "--after", str(tmp_path / "hindsight"), "--student", common[common.index("--student") + 1],
                           "--out", str(page)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = page.read_text()
    assert "| answer,bm25,dense | " in text and "| bm25,dense | " in text
    assert f"| UAE | bm25,dense | {first['gold_recall']:.1%} |" in text  # the default run's labels
    assert "| hard-label (gold evidence) | gold evidence; negatives from bm25,dense | 100% | - | 0 (cpu) |" in text
