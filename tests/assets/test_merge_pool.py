"""The merge shares told apart on a pool of passages where that pays (evaluation.screen): a domain whose
corpus is large against its dev split. Real Dagster instance and MLflow store, tiny random models."""

import json

import pytest

from tests.helpers import alpha_instance, make_paper, run_alpha, synthetic_qasper
from uae_assets.resources import MLflowResource, TeacherResource
from uae_assets.sync import apply_sync, plan_sync

pytestmark = pytest.mark.slow


def test_a_large_corpus_scores_the_merge_shares_on_a_pool(tmp_path, monkeypatch, tiny_student_dir, tiny_teacher_dir):
    instance = alpha_instance(tmp_path, monkeypatch)
    papers = synthetic_qasper(20)  # 60 passages with questions, and 480 more in papers without any
    papers.update({f"filler-{i:03d}": make_paper([f"Filler paper {i} part {j} on topic {i * 4 + j}." for j in range(4)],
                                                 []) for i in range(120)})
    (tmp_path / "alpha.json").write_text(json.dumps(papers))
    teacher = {"model": str(tiny_teacher_dir), "batch_size": 16}
    apply_sync(instance, plan_sync(instance, TeacherResource(**teacher)))
    config = {"resources": {"teacher": {"config": teacher},
                            "student": {"config": {"model": str(tiny_student_dir), "max_seq_length": 64}}},
              "ops": {"candidate_sets": {"config": {"k": 2, "max_train_queries": 0}},
                      "uae_encoder": {"config": {"epochs": 1, "max_seq_length": 64, "block_if_worse": False}}}}
    _, meta = run_alpha(instance, config)
    encoder, passages = meta["uae_encoder"], meta["passages"]["dagster/row_count"]
    pooled = int(encoder["merge_scored_on"].split()[3])  # "a pool of N passages"
    assert encoder["merge_scored_on"].startswith("a pool of") and 0 < 2 * pooled <= passages / 2
    assert set(encoder["merge_dev_scores"]) == {"0", "0.5"} and encoder["merge_share"] in (0.0, 0.5)
    client = MLflowResource().client()
    run_id = client.get_model_version("uae-encoder-alpha", "1").run_id
    assert {m.step for m in client.get_metric_history(run_id, "merge_screen_score")} == {0, 50}
    assert "dev_map" in client.get_run(run_id).data.metrics  # the kept share's, on the whole corpus
    instance.dispose()
